/*
 * ws_url.h
 *	  WebSocket URLs as the ingest worker uses them (pure C, no Postgres
 *	  headers): parsing ws:// and wss:// URLs, the request target and Host
 *	  header sent to the exchange, and redaction of credentials wherever a
 *	  URL is shown.
 *
 * Parsing: scheme ws or wss (any case), then an authority of host (a name,
 * an IPv4 address or a bracketed IPv6 address) and an optional port (1 to
 * 65535; default 443 for wss, 80 for ws), then an optional path (default
 * "/"), query (kept as it is) and fragment (dropped: it is never sent).
 * Rejected: user:password@ (credentials belong in source_secrets), empty
 * hosts, bad ports, and any byte below 0x21 or above 0x7e, so nothing can
 * break the request line or inject a header.
 *
 * Request target: path, then "?" and the query parts joined by "&": an
 * extra query (the Binance stream list), the URL's own query, and
 * token=<percent-encoded token> when there is a token.
 *
 * Redaction: user:password@ and the values of query parameters whose
 * names look like credentials (token, key, apikey, api_key, secret,
 * password, passphrase, signature, access_token, auth; any case) become
 * "***", and so does any occurrence of a given secret, raw or
 * percent-encoded.  It works on any string, parseable or not.
 *
 * Invariants: every output is NUL-terminated and never longer than its
 * buffer; the functions return -1 (or a truncated result, for redaction)
 * instead of overflowing.
 */
#ifndef TRIGGERSTOCK_WS_URL_H
#define TRIGGERSTOCK_WS_URL_H

#include <stdbool.h>
#include <stddef.h>

#define WS_URL_HOST_MAX 256
#define WS_URL_PART_MAX 2048

typedef struct ws_url
{
	bool		tls;			/* wss */
	bool		ipv6;			/* host was bracketed */
	bool		port_explicit;
	int			port;
	char		host[WS_URL_HOST_MAX];	/* without brackets */
	char		path[WS_URL_PART_MAX];	/* starts with '/' */
	char		query[WS_URL_PART_MAX]; /* without '?', "" if none */
} ws_url;

/* Parse url; false with a reason in err (no part of the URL in it). */
extern bool tsk_ws_url_parse(const char *url, ws_url *out, char *err, size_t errsz);

/*
 * The request target: path (or path_override when not NULL), then the
 * query parts extra_query (may be NULL), the URL's query, and
 * token=<percent-encoded token> (token may be NULL).  Length, or -1 if it
 * does not fit outsz.
 */
extern int	tsk_ws_url_target(const ws_url *url, const char *path_override, const char *extra_query,
							  const char *token, char *out, size_t outsz);

/* The Host header: host ([host] for IPv6) and :port unless the default. */
extern int	tsk_ws_url_host_header(const ws_url *url, char *out, size_t outsz);

/* Append the percent-encoded form of s (all but A-Z a-z 0-9 - . _ ~). */
extern int	tsk_ws_url_encode(const char *s, char *out, size_t outsz);

/* url with credentials and `secret` (may be NULL) replaced by ***. */
extern void tsk_ws_url_redact(const char *url, const char *secret, char *out, size_t outsz);

#endif							/* TRIGGERSTOCK_WS_URL_H */
