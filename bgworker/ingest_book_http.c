/*
 * ingest_book_http.c
 *	  A small non-blocking HTTP GET for the ingest worker (the Binance REST
 *	  depth snapshot): requests run in one curl multi handle, advanced by
 *	  tsk_ingest_http_poll() between the worker's waits, so no wait ever
 *	  blocks the WebSocket loop and no transaction is open meanwhile.  Kept
 *	  behind this four-function interface so the poll worker's HTTP client
 *	  can replace it.
 *
 * Invariants:
 *	- curl callbacks only append to malloc'd buffers (no palloc, ereport or
 *	  SQL) and refuse bodies beyond INGEST_BOOK_REST_BODY;
 *	- at most INGEST_BOOK_REST_MAX requests are in flight; each has a 10 s
 *	  timeout; handles live in process memory and are freed when done or
 *	  cancelled (tsk_ingest_http_cancel_all, also at process exit);
 *	- the URL is never logged (it may carry a key); errors say what failed;
 *	- triggerstock.allowed_hosts is checked as for every other destination:
 *	  the host name before the request starts, the address curl resolved
 *	  before it connects (CURLOPT_OPENSOCKETFUNCTION); redirects are not
 *	  followed.
 * Also builds the Binance REST depth URL of an instrument.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "storage/ipc.h"

#include "bgworker/ingest_book.h"
#include "common/hostcheck.h"
#include "guc.h"

typedef struct http_req
{
	CURL	   *easy;
	int			key;
	char	   *body;
	size_t		len;
	size_t		cap;
	bool		too_big;
	char		errbuf[CURL_ERROR_SIZE];
	char		host[TSK_HOST_NAME_MAX + 1];	/* of the URL */
	char		refused[256];	/* why its address was refused, or "" */
} http_req;

static CURLM *http_multi = NULL;
static http_req *http_reqs[INGEST_BOOK_REST_MAX];
static bool http_exit_registered = false;

/*
 * http_write_cb
 *	  Append received bytes (curl callback: malloc only).
 */
static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	http_req   *r = userdata;
	size_t		n = size * nmemb;

	if (r->len + n > INGEST_BOOK_REST_BODY)
	{
		r->too_big = true;
		return 0;
	}
	if (r->len + n + 1 > r->cap)
	{
		size_t		cap = Max(r->cap * 2, r->len + n + 65536);
		char	   *p = realloc(r->body, cap);

		if (p == NULL)
			return 0;
		r->body = p;
		r->cap = cap;
	}
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/*
 * http_opensocket_cb
 *	  CURLOPT_OPENSOCKETFUNCTION: refuse an address triggerstock.allowed_hosts
 *	  does not allow (a name that resolves to an internal address is caught
 *	  here), else open the socket as curl would.
 */
static curl_socket_t
http_opensocket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	http_req   *r = clientp;

	if (!tsk_host_addr_allowed(tsk_allowed_hosts_policy, r->host, &address->addr,
							   r->refused, sizeof(r->refused)))
		return CURL_SOCKET_BAD;
	return socket(address->family, address->socktype, address->protocol);
}

/*
 * http_free
 *	  Release one request (removed from the multi handle first).
 */
static void
http_free(http_req *r)
{
	if (r == NULL)
		return;
	if (r->easy)
	{
		if (http_multi)
			(void) curl_multi_remove_handle(http_multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	free(r->body);
	free(r);
}

/*
 * tsk_ingest_http_cancel_all
 *	  Drop every request in flight.
 */
void
tsk_ingest_http_cancel_all(void)
{
	for (int i = 0; i < INGEST_BOOK_REST_MAX; i++)
	{
		http_free(http_reqs[i]);
		http_reqs[i] = NULL;
	}
}

/*
 * http_on_exit
 *	  Process exit: free curl's handles.
 */
static void
http_on_exit(int code, Datum arg)
{
	tsk_ingest_http_cancel_all();
	if (http_multi)
		(void) curl_multi_cleanup(http_multi);
	http_multi = NULL;
}

/*
 * tsk_ingest_http_active
 *	  Requests in flight.
 */
int
tsk_ingest_http_active(void)
{
	int			n = 0;

	for (int i = 0; i < INGEST_BOOK_REST_MAX; i++)
		n += http_reqs[i] != NULL;
	return n;
}

/*
 * tsk_ingest_http_start
 *	  Start GET url; false (err set) if no slot is free, its host is not
 *	  allowed (triggerstock.allowed_hosts) or curl refused.
 */
bool
tsk_ingest_http_start(int key, const char *url, char *err, size_t errsz)
{
	http_req   *r;
	int			slot = -1;
	CURLcode	rc = CURLE_OK;

	for (int i = 0; i < INGEST_BOOK_REST_MAX && slot < 0; i++)
		if (http_reqs[i] == NULL)
			slot = i;
	if (slot < 0)
	{
		snprintf(err, errsz, "too many REST requests in flight");
		return false;
	}
	if (http_multi == NULL)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (http_multi = curl_multi_init()) == NULL)
		{
			snprintf(err, errsz, "could not initialise libcurl");
			return false;
		}
		if (!http_exit_registered)
		{
			on_proc_exit(http_on_exit, (Datum) 0);
			http_exit_registered = true;
		}
	}
	if ((r = calloc(1, sizeof(http_req))) == NULL || (r->easy = curl_easy_init()) == NULL)
	{
		free(r);
		snprintf(err, errsz, "out of memory");
		return false;
	}
	if (!tsk_url_host(url, r->host, sizeof(r->host)) ||
		!tsk_host_name_allowed(tsk_allowed_hosts_policy, r->host, r->refused, sizeof(r->refused)))
	{
		snprintf(err, errsz, "destination not allowed: %s", r->refused[0] ? r->refused : "no host in the URL");
		http_free(r);
		return false;
	}
	r->key = key;
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(r->easy, CURLOPT_URL, url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(r->easy, CURLOPT_OPENSOCKETFUNCTION, http_opensocket_cb);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(r->easy, CURLOPT_OPENSOCKETDATA, r);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, 10000L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(r->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) INGEST_BOOK_REST_BODY);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, http_write_cb);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "triggerstock/0.2");
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(r->easy, CURLOPT_ACCEPT_ENCODING, "");
	if (rc == CURLE_OK && tsk_ingest_ca_file && tsk_ingest_ca_file[0])
		rc = curl_easy_setopt(r->easy, CURLOPT_CAINFO, tsk_ingest_ca_file);
	if (rc != CURLE_OK || curl_multi_add_handle(http_multi, r->easy) != CURLM_OK)
	{
		snprintf(err, errsz, "could not start the request: %s", curl_easy_strerror(rc));
		http_free(r);
		return false;
	}
	http_reqs[slot] = r;
	return true;
}

/*
 * tsk_ingest_http_poll
 *	  Advance the transfers without blocking; move up to max finished ones
 *	  into done[] (the caller owns their bodies).  Returns how many.
 */
int
tsk_ingest_http_poll(ingest_http_result *done, int max)
{
	int			running = 0,
				left = 0,
				n = 0;
	CURLMsg    *msg;

	if (http_multi == NULL || tsk_ingest_http_active() == 0)
		return 0;
	(void) curl_multi_perform(http_multi, &running);
	while (n < max && (msg = curl_multi_info_read(http_multi, &left)) != NULL)
	{
		http_req   *r = NULL;
		int			slot = -1;

		if (msg->msg != CURLMSG_DONE)
			continue;
		for (int i = 0; i < INGEST_BOOK_REST_MAX; i++)
			if (http_reqs[i] && http_reqs[i]->easy == msg->easy_handle)
				slot = i;
		if (slot < 0)
			continue;
		r = http_reqs[slot];
		memset(&done[n], 0, sizeof(done[n]));
		done[n].key = r->key;
		(void) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &done[n].status);
		if (msg->data.result != CURLE_OK && r->refused[0] != '\0')
			snprintf(done[n].error, sizeof(done[n].error), "destination not allowed: %s", r->refused);
		else if (msg->data.result != CURLE_OK)
			snprintf(done[n].error, sizeof(done[n].error), "%s",
					 r->too_big ? "response body too large" :
					 r->errbuf[0] ? r->errbuf : curl_easy_strerror(msg->data.result));
		else if (done[n].status != 200)
			snprintf(done[n].error, sizeof(done[n].error), "HTTP status %ld", done[n].status);
		done[n].body = r->body;
		done[n].len = r->len;
		r->body = NULL;
		http_free(r);
		http_reqs[slot] = NULL;
		n++;
	}
	return n;
}

/*
 * tsk_ingest_book_rest_url
 *	  The REST depth URL of an instrument: base (book_rest_url) or, when
 *	  base is "", the endpoint of the stream URL's host (fstream -> fapi,
 *	  dstream -> dapi, binance.us, else spot), with symbol (upper case) and
 *	  limit appended to its query.
 */
void
tsk_ingest_book_rest_url(const char *base, const char *stream_url, const char *instrument, int limit,
						 char *url, size_t urlsz)
{
	char		sym[TD_INSTRUMENT_MAX];
	char		derived[512];

	strlcpy(sym, instrument, sizeof(sym));
	for (char *p = sym; *p; p++)
		*p = pg_ascii_toupper((unsigned char) *p);
	if (base[0] == '\0')
	{
		const char *h = strstr(stream_url, "://");

		h = h ? h + 3 : stream_url;
		if (strncmp(h, "fstream.", 8) == 0)
			snprintf(derived, sizeof(derived), "https://fapi.binance.com/fapi/v1/depth");
		else if (strncmp(h, "dstream.", 8) == 0)
			snprintf(derived, sizeof(derived), "https://dapi.binance.com/dapi/v1/depth");
		else if (strstr(h, "binance.us"))
			snprintf(derived, sizeof(derived), "https://api.binance.us/api/v3/depth");
		else
			snprintf(derived, sizeof(derived), "https://api.binance.com/api/v3/depth");
		base = derived;
	}
	snprintf(url, urlsz, "%s%csymbol=%s&limit=%d", base, strchr(base, '?') ? '&' : '?', sym, limit);
}
