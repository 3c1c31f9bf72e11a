/*
 * sentiment_api.c
 *	  Pure-C client of a sentiment model server (see sentiment_api.h):
 *
 *	  openai       POST {url} {"model":M,"temperature":0,"messages":[system,
 *	               user]}; the answer choices[0].message.content must be one
 *	               number in [-1, 1], nothing else;
 *	  huggingface  POST {url} {"inputs":text}; the answer is
 *	               [[{"label","score"}...]] or [{"label","score"}...] and the
 *	               score is P(positive) - P(negative) (labels compared
 *	               case-insensitively, any other label ignored).
 *
 * Rules this file keeps: no Postgres headers, malloc/free only; the curl
 * write callback (tsk_bytebuf_curl_write, common/bytebuf.c) only appends to a
 * malloc'd buffer with a size cap; every libcurl and cJSON return code is
 * checked; http and https only, a total timeout, HTTP status 2xx required;
 * the easy handle, header list and JSON trees are freed on every path.
 * Errors are messages in the caller's buffer.
 */
#include "common/hostcheck.h"
#include "sentiment/sentiment_api.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "common/bytebuf.h"

#define SAPI_SYSTEM_PROMPT \
	"You rate the financial sentiment of news for traders. Answer with one number " \
	"from -1 (very negative) to 1 (very positive) for the financial sentiment of " \
	"the user's text, and nothing else."

static int	sapi_error(char *err, size_t errlen, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/*
 * sapi_error
 *	  printf into the caller's error buffer (always NUL-terminated); -1.
 */
static int
sapi_error(char *err, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * sapi_excerpt
 *	  A short printable excerpt of s (at most 40 bytes, controls as '?').
 */
static void
sapi_excerpt(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t		i;

	if (n > 40)
		n = 40;
	if (n >= dstlen)
		n = dstlen - 1;
	for (i = 0; i < n; i++)
		dst[i] = (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	dst[n] = '\0';
}

/*
 * tsk_sentiment_api_request
 *	  See sentiment_api.h.
 */
char *
tsk_sentiment_api_request(const sentiment_api_config *cfg, const char *text)
{
	cJSON	   *root = cJSON_CreateObject();
	cJSON	   *messages,
			   *msg;
	char	   *out = NULL;
	int			ok;

	if (root == NULL)
		return NULL;
	if (cfg->api == SENTIMENT_API_HUGGINGFACE)
		ok = cJSON_AddStringToObject(root, "inputs", text) != NULL;
	else
	{
		ok = (cfg->model == NULL || cfg->model[0] == '\0' ||
			  cJSON_AddStringToObject(root, "model", cfg->model) != NULL) &&
			cJSON_AddNumberToObject(root, "temperature", 0) != NULL &&
			(messages = cJSON_AddArrayToObject(root, "messages")) != NULL;
		if (ok)
		{
			ok = (msg = cJSON_CreateObject()) != NULL &&
				cJSON_AddItemToArray(messages, msg) &&
				cJSON_AddStringToObject(msg, "role", "system") != NULL &&
				cJSON_AddStringToObject(msg, "content", SAPI_SYSTEM_PROMPT) != NULL;
			ok = ok && (msg = cJSON_CreateObject()) != NULL &&
				cJSON_AddItemToArray(messages, msg) &&
				cJSON_AddStringToObject(msg, "role", "user") != NULL &&
				cJSON_AddStringToObject(msg, "content", text) != NULL;
		}
	}
	if (ok)
		out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}

/*
 * sapi_strict_number
 *	  Parse s (surrounding whitespace allowed) as one decimal number:
 *	  [+-]digits[.digits][e[+-]digits]; no hex, inf, nan or trailing text.
 */
static int
sapi_strict_number(const char *s, double *out)
{
	const char *p = s,
			   *start;
	char	   *end;
	int			digits = 0;

	while (isspace((unsigned char) *p))
		p++;
	start = p;
	if (*p == '+' || *p == '-')
		p++;
	while (isdigit((unsigned char) *p))
		p++, digits++;
	if (*p == '.')
		for (p++; isdigit((unsigned char) *p); p++)
			digits++;
	if (digits == 0)
		return -1;
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char) *p))
			return -1;
		while (isdigit((unsigned char) *p))
			p++;
	}
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		return -1;
	*out = strtod(start, &end);
	return isfinite(*out) ? 0 : -1;
}

/*
 * sapi_parse_openai
 *	  choices[0].message.content as a number in [-1, 1].
 */
static int
sapi_parse_openai(const cJSON *root, double *score, char *err, size_t errlen)
{
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	const cJSON *content;
	char		ex[48];

	if (!cJSON_IsArray(choices) || cJSON_GetArraySize(choices) < 1)
		return sapi_error(err, errlen, "response has no choices");
	content = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(choices, 0), "message"), "content");
	if (!cJSON_IsString(content) || content->valuestring == NULL)
		return sapi_error(err, errlen, "response has no choices[0].message.content string");
	sapi_excerpt(ex, sizeof(ex), content->valuestring, strlen(content->valuestring));
	if (sapi_strict_number(content->valuestring, score) != 0 || *score < -1 || *score > 1)
		return sapi_error(err, errlen, "model answered \"%s\", not one number in [-1, 1]", ex);
	return 0;
}

/*
 * sapi_parse_hf
 *	  [[{label, score}...]] or [{label, score}...] into P(pos) - P(neg).
 */
static int
sapi_parse_hf(const cJSON *root, double *score, char *err, size_t errlen)
{
	const cJSON *list = root,
			   *item;
	double		pos = 0,
				neg = 0;
	int			found = 0;

	if (cJSON_IsArray(root) && cJSON_IsArray(cJSON_GetArrayItem(root, 0)))
		list = cJSON_GetArrayItem(root, 0);
	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) < 1)
		return sapi_error(err, errlen, "response is not a list of {\"label\", \"score\"} objects");
	cJSON_ArrayForEach(item, list)
	{
		const cJSON *label = cJSON_GetObjectItemCaseSensitive(item, "label");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(item, "score");

		if (!cJSON_IsString(label) || label->valuestring == NULL || !cJSON_IsNumber(p) ||
			!isfinite(p->valuedouble) || p->valuedouble < 0 || p->valuedouble > 1)
			return sapi_error(err, errlen,
							  "response item is not {\"label\": string, \"score\": number in [0, 1]}");
		if (strcasecmp(label->valuestring, "positive") == 0)
			pos += p->valuedouble, found = 1;
		else if (strcasecmp(label->valuestring, "negative") == 0)
			neg += p->valuedouble, found = 1;
	}
	if (!found)
		return sapi_error(err, errlen, "response has neither a \"positive\" nor a \"negative\" label");
	*score = pos - neg;
	if (*score > 1)
		*score = 1;
	if (*score < -1)
		*score = -1;
	return 0;
}

/*
 * tsk_sentiment_api_parse
 *	  See sentiment_api.h.
 */
int
tsk_sentiment_api_parse(sentiment_api_kind api, const char *body, size_t len,
					double *score, char *err, size_t errlen)
{
	cJSON	   *root;
	int			rc;

	if (body == NULL || len == 0)
		return sapi_error(err, errlen, "empty response body");
	if ((root = cJSON_ParseWithLength(body, len)) == NULL)
		return sapi_error(err, errlen, "response is not valid JSON");
	rc = api == SENTIMENT_API_HUGGINGFACE ? sapi_parse_hf(root, score, err, errlen)
		: sapi_parse_openai(root, score, err, errlen);
	cJSON_Delete(root);
	return rc;
}

/*
 * tsk_sentiment_api_redact
 *	  A malloc'd copy of text with every occurrence of secret replaced by
 *	  "[redacted]" (a server may echo the key it was sent); NULL when out of
 *	  memory.  An empty or NULL secret copies text as it is.
 */
char *
tsk_sentiment_api_redact(const char *text, const char *secret)
{
	size_t		slen = secret ? strlen(secret) : 0;
	size_t		n = 0,
				cap;
	const char *p = text;
	char	   *out;

	if (slen == 0)
		return strdup(text);
	for (const char *q = strstr(p, secret); q != NULL; q = strstr(q + slen, secret))
		n++;
	cap = strlen(text) + n * sizeof("[redacted]") + 1;
	if ((out = malloc(cap)) == NULL)
		return NULL;
	out[0] = '\0';
	for (const char *q; (q = strstr(p, secret)) != NULL; p = q + slen)
	{
		strncat(out, p, (size_t) (q - p));
		strcat(out, "[redacted]");
	}
	strcat(out, p);
	return out;
}

/*
 * sapi_status_error
 *	  The message for a non-2xx answer, with the server's own error message
 *	  ({"error": "..."} or {"error": {"message": "..."}}) when it gave one,
 *	  the api key redacted from it.
 */
static int
sapi_status_error(long status, const tsk_bytebuf *buf, const char *api_key, char *err, size_t errlen)
{
	cJSON	   *root = buf->len > 0 ? cJSON_ParseWithLength(buf->data, buf->len) : NULL;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	char		ex[48] = "";

	if (cJSON_IsObject(e))
		e = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (cJSON_IsString(e) && e->valuestring != NULL)
	{
		char	   *safe = tsk_sentiment_api_redact(e->valuestring, api_key);

		if (safe != NULL)
			sapi_excerpt(ex, sizeof(ex), safe, strlen(safe));
		free(safe);
	}
	cJSON_Delete(root);
	if (ex[0] != '\0')
		return sapi_error(err, errlen, "HTTP status %ld: %s", status, ex);
	return sapi_error(err, errlen, "HTTP status %ld", status);
}

/*
 * sapi_transfer_error
 *	  The message for a failed curl_easy_perform.
 */
static int
sapi_transfer_error(const sentiment_api_config *cfg, CURLcode rc, const tsk_bytebuf *buf,
					const char *errbuf, char *err, size_t errlen)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	if (buf->too_large)
		return sapi_error(err, errlen, "response larger than %zu bytes", buf->max);
	if (buf->failed_alloc)
		return sapi_error(err, errlen, "out of memory receiving the response");
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return sapi_error(err, errlen, "timed out after %ld ms", cfg->timeout_ms);
	if (rc == CURLE_UNSUPPORTED_PROTOCOL)
		return sapi_error(err, errlen, "unsupported protocol (only http and https): %s", detail);
	return sapi_error(err, errlen, "request failed (curl error %d): %s", (int) rc, detail);
}

/* What the open-socket callback checks, and why it refused. */
typedef struct sapi_dest
{
	const tsk_host_policy *hosts;
	char		host[TSK_HOST_NAME_MAX + 1];
	char		refused[256];
} sapi_dest;

/*
 * sapi_opensocket_cb
 *	  CURLOPT_OPENSOCKETFUNCTION: refuse an address the policy does not
 *	  allow (after name resolution), else open the socket as curl would.
 */
static curl_socket_t
sapi_opensocket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	sapi_dest  *d = clientp;

	(void) purpose;
	if (!tsk_host_addr_allowed(d->hosts, d->host, &address->addr, d->refused, sizeof(d->refused)))
		return CURL_SOCKET_BAD;
	return socket(address->family, address->socktype, address->protocol);
}

/*
 * sapi_progress_cb
 *	  CURLOPT_XFERINFOFUNCTION: a non-zero return abandons the transfer
 *	  once the caller's abort flag is set (a shutdown must not wait for a
 *	  slow endpoint).
 */
static int
sapi_progress_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
				 curl_off_t ulnow)
{
	const volatile sig_atomic_t *flag = clientp;

	(void) dltotal, (void) dlnow, (void) ultotal, (void) ulnow;
	return flag != NULL && *flag ? 1 : 0;
}

/*
 * tsk_sentiment_api_score
 *	  See sentiment_api.h.
 */
int
tsk_sentiment_api_score(const sentiment_api_config *cfg, const char *text,
					double *score, char *err, size_t errlen)
{
	CURL	   *easy = NULL;
	struct curl_slist *headers = NULL,
			   *h;
	char	   *request = NULL;
	char	   *auth = NULL;
	char		errbuf[CURL_ERROR_SIZE] = "";
	sapi_dest	dest;
	tsk_bytebuf buf = {0};
	CURLcode	rc[24],
				prc;
	int			n = 0,
				ret = -1;
	long		status = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&dest, 0, sizeof(dest));
	buf.max = cfg->max_response ? cfg->max_response : SENTIMENT_API_DEFAULT_MAX_RESPONSE;
	if (cfg->url == NULL || cfg->url[0] == '\0')
		return sapi_error(err, errlen, "no URL configured");
	if ((request = tsk_sentiment_api_request(cfg, text != NULL ? text : "")) == NULL ||
		(easy = curl_easy_init()) == NULL)
	{
		ret = sapi_error(err, errlen, "out of memory building the request");
		goto done;
	}
	h = curl_slist_append(headers, "Content-Type: application/json");
	if (h != NULL)
		headers = h, h = curl_slist_append(headers, "Accept: application/json");
	if (h != NULL && cfg->api_key != NULL && cfg->api_key[0] != '\0')
	{
		size_t		alen = strlen(cfg->api_key) + 32;

		if ((auth = malloc(alen)) != NULL)
		{
			snprintf(auth, alen, "Authorization: Bearer %s", cfg->api_key);
			h = curl_slist_append(headers, auth);
		}
		else
			h = NULL;
	}
	if (h == NULL)
	{
		ret = sapi_error(err, errlen, "out of memory building the request headers");
		goto done;
	}
	headers = h;
	rc[n++] = curl_easy_setopt(easy, CURLOPT_URL, cfg->url);
	rc[n++] = curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	rc[n++] = curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	rc[n++] = curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
	rc[n++] = curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	rc[n++] = curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) buf.max);
	rc[n++] = curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request);
	rc[n++] = curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	rc[n++] = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, tsk_bytebuf_curl_write);
	rc[n++] = curl_easy_setopt(easy, CURLOPT_WRITEDATA, &buf);
	rc[n++] = curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	rc[n++] = curl_easy_setopt(easy, CURLOPT_USERAGENT, "triggerstock/0.1");
	if (cfg->check_hosts)
	{
		if (!tsk_url_host(cfg->url, dest.host, sizeof(dest.host)))
		{
			ret = sapi_error(err, errlen, "no host in the URL");
			goto done;
		}
		dest.hosts = cfg->hosts;
		if (!tsk_host_name_allowed(cfg->hosts, dest.host, dest.refused, sizeof(dest.refused)))
		{
			ret = sapi_error(err, errlen, "destination not allowed: %s", dest.refused);
			goto done;
		}
		rc[n++] = curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, sapi_opensocket_cb);
		rc[n++] = curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &dest);
	}
	if (cfg->abort_flag != NULL)
	{
		rc[n++] = curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
		rc[n++] = curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, sapi_progress_cb);
		rc[n++] = curl_easy_setopt(easy, CURLOPT_XFERINFODATA, (void *) cfg->abort_flag);
	}
	for (int i = 0; i < n; i++)
		if (rc[i] != CURLE_OK)
		{
			ret = sapi_error(err, errlen, "could not set up the request (option %d: %s)",
							 i, curl_easy_strerror(rc[i]));
			goto done;
		}
	if ((prc = curl_easy_perform(easy)) != CURLE_OK && dest.refused[0] != '\0')
	{
		ret = sapi_error(err, errlen, "destination not allowed: %s", dest.refused);
		goto done;
	}
	if (prc != CURLE_OK)
	{
		ret = sapi_transfer_error(cfg, prc, &buf, errbuf, err, errlen);
		goto done;
	}
	if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		ret = sapi_error(err, errlen, "no HTTP status in the response");
	else if (status < 200 || status > 299)
		ret = sapi_status_error(status, &buf, cfg->api_key, err, errlen);
	else
		ret = tsk_sentiment_api_parse(cfg->api, buf.data, buf.len, score, err, errlen);
done:
	if (easy != NULL)
		curl_easy_cleanup(easy);
	curl_slist_free_all(headers);
	free(auth);
	free(request);
	tsk_bytebuf_free(&buf);
	return ret;
}
