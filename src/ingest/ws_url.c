/*
 * ws_url.c
 *	  WebSocket URL parsing, request targets, Host headers and redaction
 *	  (see ws_url.h for the rules and invariants).
 */
#include "ingest/ws_url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest string the redaction works on; longer input is cut. */
#define WS_URL_REDACT_MAX 4096

/* Query parameter names whose values are credentials. */
static const char *const ws_url_secret_names[] = {
	"token", "key", "apikey", "api_key", "api-key", "secret", "password",
	"passphrase", "signature", "access_token", "auth"
};

/* A string builder over a caller's buffer; it remembers overflowing. */
typedef struct ws_buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		overflow;
} ws_buf;

/*
 * ws_buf_put
 *	  Append n bytes (as many as fit; overflow is remembered).
 */
static void
ws_buf_put(ws_buf *b, const char *s, size_t n)
{
	if (b->cap == 0)
		return;
	if (b->len + n >= b->cap)
	{
		n = b->cap - 1 - b->len;
		b->overflow = true;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/*
 * ws_buf_str
 *	  Append a NUL-terminated string.
 */
static void
ws_buf_str(ws_buf *b, const char *s)
{
	ws_buf_put(b, s, strlen(s));
}

/*
 * ws_buf_init
 *	  A builder writing into out[0..outsz), starting empty.
 */
static void
ws_buf_init(ws_buf *b, char *out, size_t outsz)
{
	b->data = out;
	b->len = 0;
	b->cap = outsz;
	b->overflow = false;
	if (outsz > 0)
		out[0] = '\0';
}

/*
 * ws_url_fail
 *	  Store a reason and return false.
 */
static bool
ws_url_fail(char *err, size_t errsz, const char *reason)
{
	snprintf(err, errsz, "%s", reason);
	return false;
}

/*
 * ws_url_copy
 *	  Copy s[0..n) into dst (dstsz bytes); false if it does not fit.
 */
static bool
ws_url_copy(char *dst, size_t dstsz, const char *s, size_t n)
{
	if (n >= dstsz)
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

/*
 * ws_url_parse_port
 *	  Parse s[0..n) as a port 1..65535.
 */
static bool
ws_url_parse_port(const char *s, size_t n, int *port)
{
	int			v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		if (!isdigit((unsigned char) s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*port = v;
	return true;
}

/*
 * ws_url_host_ok
 *	  True if a host name or address has only the characters it may have.
 */
static bool
ws_url_host_ok(const char *host, bool ipv6)
{
	if (host[0] == '\0')
		return false;
	for (const char *p = host; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || (ipv6 && (c == ':' || c == '%')))
			continue;
		return false;
	}
	return true;
}

/*
 * ws_url_parse_authority
 *	  Host and port from the authority s[0..n).
 */
static bool
ws_url_parse_authority(const char *s, size_t n, ws_url *out, char *err, size_t errsz)
{
	const char *port = NULL;
	size_t		hostlen;

	if (memchr(s, '@', n) != NULL)
		return ws_url_fail(err, errsz, "user:password in a WebSocket URL is not supported (store a token in source_secrets)");
	if (n > 0 && s[0] == '[')
	{
		const char *close = memchr(s, ']', n);

		if (close == NULL)
			return ws_url_fail(err, errsz, "unterminated [IPv6 address] in the URL");
		out->ipv6 = true;
		if (!ws_url_copy(out->host, sizeof(out->host), s + 1, close - s - 1))
			return ws_url_fail(err, errsz, "host name too long");
		if (close + 1 < s + n)
		{
			if (close[1] != ':')
				return ws_url_fail(err, errsz, "unexpected characters after the [IPv6 address]");
			port = close + 2;
		}
	}
	else
	{
		const char *colon = memchr(s, ':', n);

		hostlen = colon ? (size_t) (colon - s) : n;
		if (!ws_url_copy(out->host, sizeof(out->host), s, hostlen))
			return ws_url_fail(err, errsz, "host name too long");
		if (colon)
			port = colon + 1;
	}
	if (!ws_url_host_ok(out->host, out->ipv6))
		return ws_url_fail(err, errsz, "missing or invalid host name");
	out->port = out->tls ? 443 : 80;
	if (port != NULL)
	{
		if (!ws_url_parse_port(port, (size_t) (s + n - port), &out->port))
			return ws_url_fail(err, errsz, "invalid port (1 to 65535)");
		out->port_explicit = true;
	}
	return true;
}

/*
 * tsk_ws_url_parse
 *	  Parse a ws:// or wss:// URL (see ws_url.h).
 */
bool
tsk_ws_url_parse(const char *url, ws_url *out, char *err, size_t errsz)
{
	const char *p;
	const char *end;
	size_t		n;

	memset(out, 0, sizeof(*out));
	for (p = url; *p; p++)
		if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
			return ws_url_fail(err, errsz, "spaces, control or non-ASCII characters in the URL");
	if (strncasecmp(url, "wss://", 6) == 0)
	{
		out->tls = true;
		p = url + 6;
	}
	else if (strncasecmp(url, "ws://", 5) == 0)
		p = url + 5;
	else
		return ws_url_fail(err, errsz, "the URL must start with ws:// or wss://");

	n = strcspn(p, "/?#");
	if (!ws_url_parse_authority(p, n, out, err, errsz))
		return false;
	p += n;

	/* path: up to ? or #; default / */
	n = strcspn(p, "?#");
	if (n == 0)
		strcpy(out->path, "/");
	else if (!ws_url_copy(out->path, sizeof(out->path), p, n))
		return ws_url_fail(err, errsz, "URL path too long");
	p += n;

	/* query: up to #; the fragment is never sent */
	if (*p == '?')
	{
		p++;
		end = strchr(p, '#');
		n = end ? (size_t) (end - p) : strlen(p);
		if (!ws_url_copy(out->query, sizeof(out->query), p, n))
			return ws_url_fail(err, errsz, "URL query too long");
	}
	return true;
}

/*
 * tsk_ws_url_encode
 *	  Percent-encode s into out; length, or -1 if it does not fit.
 */
int
tsk_ws_url_encode(const char *s, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	ws_buf		b;

	ws_buf_init(&b, out, outsz);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
			ws_buf_put(&b, (const char *) p, 1);
		else
		{
			char		esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};

			ws_buf_put(&b, esc, 3);
		}
	}
	return b.overflow ? -1 : (int) b.len;
}

/*
 * tsk_ws_url_target
 *	  The request target (see ws_url.h).
 */
int
tsk_ws_url_target(const ws_url *url, const char *path_override, const char *extra_query,
				  const char *token, char *out, size_t outsz)
{
	const char *parts[2] = {extra_query, url->query};
	char		sep = '?';
	ws_buf		b;

	ws_buf_init(&b, out, outsz);
	ws_buf_str(&b, path_override ? path_override : url->path);
	for (int i = 0; i < 2; i++)
	{
		if (parts[i] == NULL || parts[i][0] == '\0')
			continue;
		ws_buf_put(&b, &sep, 1);
		ws_buf_str(&b, parts[i]);
		sep = '&';
	}
	if (token != NULL && token[0] != '\0')
	{
		ws_buf_put(&b, &sep, 1);
		ws_buf_str(&b, "token=");
		if (b.cap > b.len && tsk_ws_url_encode(token, b.data + b.len, b.cap - b.len) >= 0)
			b.len += strlen(b.data + b.len);
		else
			b.overflow = true;
	}
	return b.overflow ? -1 : (int) b.len;
}

/*
 * tsk_ws_url_host_header
 *	  The Host header value (see ws_url.h).
 */
int
tsk_ws_url_host_header(const ws_url *url, char *out, size_t outsz)
{
	int			n;

	if (url->port == (url->tls ? 443 : 80))
		n = snprintf(out, outsz, url->ipv6 ? "[%s]" : "%s", url->host);
	else
		n = snprintf(out, outsz, url->ipv6 ? "[%s]:%d" : "%s:%d", url->host, url->port);
	return n < 0 || (size_t) n >= outsz ? -1 : n;
}

/*
 * ws_url_replace
 *	  Copy s into b with every occurrence of needle (if non-empty) replaced
 *	  by ***.
 */
static void
ws_url_replace(ws_buf *b, const char *s, const char *needle)
{
	size_t		nlen = needle ? strlen(needle) : 0;
	const char *hit;

	while (nlen > 0 && (hit = strstr(s, needle)) != NULL)
	{
		ws_buf_put(b, s, hit - s);
		ws_buf_str(b, "***");
		s = hit + nlen;
	}
	ws_buf_str(b, s);
}

/*
 * ws_url_secret_name
 *	  True if the query parameter name s[0..n) names a credential.
 */
static bool
ws_url_secret_name(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(ws_url_secret_names) / sizeof(ws_url_secret_names[0]); i++)
		if (strlen(ws_url_secret_names[i]) == n && strncasecmp(s, ws_url_secret_names[i], n) == 0)
			return true;
	return false;
}

/*
 * tsk_ws_url_redact
 *	  url with credentials replaced by *** (see ws_url.h).
 */
void
tsk_ws_url_redact(const char *url, const char *secret, char *out, size_t outsz)
{
	char		raw[WS_URL_REDACT_MAX];
	char		encoded[WS_URL_REDACT_MAX];
	char		step[WS_URL_REDACT_MAX];
	ws_buf		b;
	const char *p;
	const char *scheme_end;

	/* the secret itself, as given and percent-encoded */
	ws_buf_init(&b, raw, sizeof(raw));
	ws_url_replace(&b, url, secret);
	ws_buf_init(&b, step, sizeof(step));
	if (secret != NULL && secret[0] != '\0' &&
		tsk_ws_url_encode(secret, encoded, sizeof(encoded)) > 0)
		ws_url_replace(&b, raw, encoded);
	else
		ws_buf_str(&b, raw);

	ws_buf_init(&b, out, outsz);
	p = step;
	/* user:password@ in the authority */
	scheme_end = strstr(p, "://");
	if (scheme_end != NULL && strcspn(p, "/?#") > (size_t) (scheme_end - p))
	{
		const char *auth = scheme_end + 3;
		size_t		alen = strcspn(auth, "/?#");
		const char *at = NULL;

		for (const char *q = auth; q < auth + alen; q++)
			if (*q == '@')
				at = q;
		ws_buf_put(&b, p, auth - p);
		if (at != NULL)
		{
			ws_buf_str(&b, "***");
			auth = at;
		}
		p = auth;
	}
	/* name=value pairs after ? or & */
	while (*p)
	{
		size_t		n;

		ws_buf_put(&b, p, 1);
		if (*p != '?' && *p != '&')
		{
			p++;
			continue;
		}
		p++;
		n = strcspn(p, "=&#");
		ws_buf_put(&b, p, n);
		p += n;
		if (*p == '=' && ws_url_secret_name(p - n, n))
		{
			ws_buf_str(&b, "=***");
			p++;
			p += strcspn(p, "&#");
		}
	}
}
