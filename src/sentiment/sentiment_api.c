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
 * sapi_status_error
 *	  The message for a non-2xx answer, with the server's own error message
 *	  ({"error": "..."} or {"error": {"message": "..."}}) when it gave one.
 */
static int
sapi_status_error(long status, const tsk_bytebuf *buf, char *err, size_t errlen)
{
	cJSON	   *root = buf->len > 0 ? cJSON_ParseWithLength(buf->data, buf->len) : NULL;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	char		ex[48] = "";

	if (cJSON_IsObject(e))
		e = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (cJSON_IsString(e) && e->valuestring != NULL)
		sapi_excerpt(ex, sizeof(ex), e->valuestring, strlen(e->valuestring));
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
	tsk_bytebuf buf = {0};
	CURLcode	rc[16],
				prc;
	int			n = 0,
				ret = -1;
	long		status = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
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
	for (int i = 0; i < n; i++)
		if (rc[i] != CURLE_OK)
		{
			ret = sapi_error(err, errlen, "could not set up the request (option %d: %s)",
							 i, curl_easy_strerror(rc[i]));
			goto done;
		}
	if ((prc = curl_easy_perform(easy)) != CURLE_OK)
	{
		ret = sapi_transfer_error(cfg, prc, &buf, errbuf, err, errlen);
		goto done;
	}
	if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		ret = sapi_error(err, errlen, "no HTTP status in the response");
	else if (status < 200 || status > 299)
		ret = sapi_status_error(status, &buf, err, errlen);
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
