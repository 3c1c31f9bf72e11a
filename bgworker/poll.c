/*
 * poll.c
 *	  The poll worker's loop: libcurl multi interface driven by
 *	  curl_multi_socket_action, waiting on the latch, postmaster death and
 *	  curl's sockets together in one WaitEventSet (no threads of our own).
 *
 * Rules this file keeps (see DESIGN.md):
 *	- curl callbacks only touch malloc'd memory and fixed arrays: no palloc,
 *	  no ereport; the body is collected with a size cap (tsk_poll_max_body) and
 *	  acted upon after curl_multi_socket_action returns;
 *	- no transaction is open while waiting; each completed transfer is
 *	  stored in its own short transaction (poll_store.c);
 *	- the curl multi handle and every easy handle in flight are freed by a
 *	  reset callback of the worker's poll memory context;
 *	- http and https only, redirects followed here (not by curl) so that
 *	  every hop's host is checked against triggerstock.allowed_hosts (feeds,
 *	  quotes and backfill pages alike), redirect limit, total timeout; a
 *	  failed poll records last_error on its row and the worker carries on;
 *	  SIGTERM ends the loop between transfers;
 *	- backfill jobs (bgworker/backfill.c) hand their page requests to this
 *	  loop through a fetch function and get each response back whole.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "bgworker/backfill.h"
#include "bgworker/poll.h"
#include "bgworker/workers.h"
#include "common/bytebuf.h"
#include "common/hostcheck.h"
#include "guc.h"
#include "news/http_header.h"

#define POLL_MAX_SOCKETS 256
#define POLL_MAX_INFLIGHT 64
#define POLL_HEADER_LEN TSK_HTTP_HEADER_LEN
/* A due target waiting longer than this for a slot is reported late. */
#define POLL_LATE_MS 1000

/* One transfer; malloc'd because the curl callbacks write into it. */
typedef struct poll_request
{
	CURL	   *easy;
	struct curl_slist *headers;
	poll_kind	kind;
	int64		id;				/* target id, or backfill job id */
	tsk_bytebuf body;			/* the response body, up to triggerstock.poll_max_body */
	tsk_http_validators validators; /* ETag, Last-Modified, rate limits (news/http_header.c) */
	char		errbuf[CURL_ERROR_SIZE];
	int			redirects;		/* redirects followed to get here */
	char		host[TSK_HOST_NAME_MAX + 1];	/* of this request's URL */
	char		refused[256];	/* why the open-socket callback refused */
} poll_request;

/* curl's sockets, maintained by the socket callback (fixed array). */
typedef struct poll_socket
{
	curl_socket_t fd;
	int			what;			/* CURL_POLL_IN / OUT / INOUT */
} poll_socket;

static CURLM *poll_multi = NULL;
static poll_request *poll_inflight[POLL_MAX_INFLIGHT];
static int	poll_ninflight = 0;
static poll_socket poll_sockets[POLL_MAX_SOCKETS];
static int	poll_nsockets = 0;
static bool poll_sockets_changed = true;
static long poll_timer_ms = -1;	/* from the timer callback; -1 = none */
static TimestampTz poll_timer_set_at = 0;
static bool poll_reload = true;
static MemoryContext poll_cxt = NULL;

PGDLLEXPORT void triggerstock_poll_main(Datum main_arg);


/*
 * poll_request_free
 *	  Detach and free one transfer (safe on partially built requests).
 */
static void
poll_request_free(poll_request *req)
{
	if (req == NULL)
		return;
	if (req->easy != NULL)
	{
		if (poll_multi != NULL)
			(void) curl_multi_remove_handle(poll_multi, req->easy);
		curl_easy_cleanup(req->easy);
	}
	curl_slist_free_all(req->headers);
	tsk_bytebuf_free(&req->body);
	free(req);
}

/*
 * poll_cleanup_callback
 *	  Reset callback of the poll context: frees every curl handle.
 */
static void
poll_cleanup_callback(void *arg)
{
	for (int i = 0; i < poll_ninflight; i++)
		poll_request_free(poll_inflight[i]);
	poll_ninflight = 0;
	if (poll_multi != NULL)
		(void) curl_multi_cleanup(poll_multi);
	poll_multi = NULL;
	poll_nsockets = 0;
}

/*
 * poll_header_cb
 *	  CURLOPT_HEADERFUNCTION: keep ETag, Last-Modified, Retry-After and the
 *	  Binance used weight of the response.
 */
static size_t
poll_header_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	poll_request *req = (poll_request *) userdata;
	size_t		n = size * nmemb;

	tsk_http_header_line(&req->validators, data, n);
	return n;
}

/*
 * poll_opensocket_cb
 *	  CURLOPT_OPENSOCKETFUNCTION: refuse an address triggerstock.allowed_hosts
 *	  does not allow (after name resolution: a name that resolves to an
 *	  internal address is caught), else open the socket as curl would.
 */
static curl_socket_t
poll_opensocket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	poll_request *req = clientp;

	if (!tsk_host_addr_allowed(tsk_allowed_hosts_policy, req->host, &address->addr,
							   req->refused, sizeof(req->refused)))
		return CURL_SOCKET_BAD;
	return socket(address->family, address->socktype, address->protocol);
}

/*
 * poll_socket_cb
 *	  CURLMOPT_SOCKETFUNCTION: track which sockets to wait on (fixed array).
 */
static int
poll_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	int			i;

	for (i = 0; i < poll_nsockets && poll_sockets[i].fd != fd; i++)
		;
	if (what == CURL_POLL_REMOVE)
	{
		if (i < poll_nsockets)
			poll_sockets[i] = poll_sockets[--poll_nsockets];
	}
	else if (i < poll_nsockets)
		poll_sockets[i].what = what;
	else if (poll_nsockets < POLL_MAX_SOCKETS)
	{
		poll_sockets[poll_nsockets].fd = fd;
		poll_sockets[poll_nsockets++].what = what;
	}
	poll_sockets_changed = true;
	return 0;
}

/*
 * poll_timer_cb
 *	  CURLMOPT_TIMERFUNCTION: remember when curl wants to be called back.
 */
static int
poll_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	poll_timer_ms = timeout_ms;
	poll_timer_set_at = GetCurrentTimestamp();
	return 0;
}

/*
 * poll_relcache_cb
 *	  A configuration table may have changed: re-read the targets.
 */
static void
poll_relcache_cb(Datum arg, Oid relid)
{
	poll_reload = true;
}

/*
 * poll_setopt_failed
 *	  Whether any curl_easy_setopt in the array failed.
 */
static bool
poll_setopt_failed(const CURLcode *rc, int n)
{
	for (int i = 0; i < n; i++)
		if (rc[i] != CURLE_OK)
			return true;
	return false;
}

/*
 * poll_new_request
 *	  A transfer of url for (kind, id), the redirects-th hop, added to the
 *	  multi handle (a slot must be free); takes ownership of headers.  NULL
 *	  with *err set (palloc'd) if its host is not allowed (*refused set
 *	  too) or curl refused.
 *	  Redirects are not followed by curl: poll_finish checks each target
 *	  before it starts the next hop here.
 */
static poll_request *
poll_new_request(poll_kind kind, int64 id, const char *url, int redirects,
				 struct curl_slist *headers, char **err, bool *refused)
{
	poll_request *req;
	CURLcode	rc[20];
	int			n = 0;

	Assert(poll_ninflight < POLL_MAX_INFLIGHT);
	if ((req = calloc(1, sizeof(poll_request))) == NULL || (req->easy = curl_easy_init()) == NULL)
	{
		curl_slist_free_all(headers);
		poll_request_free(req);
		*err = pstrdup("out of memory starting the HTTP request");
		return NULL;
	}
	req->kind = kind;
	req->id = id;
	req->redirects = redirects;
	req->headers = headers;
	req->body.max = (size_t) tsk_poll_max_body;
	/* a URL without a host (file://...) is left to curl, which refuses it */
	if (tsk_url_host(url, req->host, sizeof(req->host)) &&
		!tsk_host_name_allowed(tsk_allowed_hosts_policy, req->host, req->refused, sizeof(req->refused)))
	{
		*err = psprintf("destination not allowed: %s", req->refused);
		*refused = true;
		poll_request_free(req);
		return NULL;
	}
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_URL, url);
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_FOLLOWLOCATION, 0L);
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_OPENSOCKETFUNCTION, poll_opensocket_cb);
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_OPENSOCKETDATA, req);
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_TIMEOUT_MS, (long) tsk_poll_timeout);
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_NOSIGNAL, 1L);
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) tsk_poll_max_body);
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_WRITEFUNCTION, tsk_bytebuf_curl_write);
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_WRITEDATA, &req->body);
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_HEADERFUNCTION, poll_header_cb);
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_HEADERDATA, req);
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_ERRORBUFFER, req->errbuf);
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_USERAGENT, "triggerstock/0.1");
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_ACCEPT_ENCODING, "");
	rc[n++] = curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers);
	if (poll_setopt_failed(rc, n) || curl_multi_add_handle(poll_multi, req->easy) != CURLM_OK)
	{
		poll_request_free(req);
		*err = pstrdup("could not set up the HTTP request (invalid URL or option)");
		return NULL;
	}
	curl_easy_setopt(req->easy, CURLOPT_PRIVATE, req);
	poll_inflight[poll_ninflight++] = req;
	return req;
}

/*
 * poll_start_url
 *	  Start a transfer of url for target t (a slot must be free), the
 *	  redirects-th hop (see poll_new_request); false (error recorded) if
 *	  its host is not allowed or curl refused.
 */
static bool
poll_start_url(poll_target *t, const char *url, int redirects)
{
	struct curl_slist *headers = NULL;
	char	   *err = NULL;
	bool		refused = false;
	char		hdr[POLL_HEADER_LEN + 32];

	if (t->kind == POLL_FEED && t->etag != NULL && strlen(t->etag) < POLL_HEADER_LEN)
	{
		snprintf(hdr, sizeof(hdr), "If-None-Match: %s", t->etag);
		headers = curl_slist_append(headers, hdr);
	}
	if (t->kind == POLL_FEED && t->last_modified != NULL && strlen(t->last_modified) < POLL_HEADER_LEN)
	{
		snprintf(hdr, sizeof(hdr), "If-Modified-Since: %s", t->last_modified);
		headers = curl_slist_append(headers, hdr);
	}
	if (poll_new_request(t->kind, t->id, url, redirects, headers, &err, &refused) == NULL)
	{
		tsk_poll_record_status(t, 0, err);
		return false;
	}
	t->in_flight = true;
	return true;
}

/*
 * poll_start
 *	  Start a transfer of target t's URL (see poll_start_url).
 */
static bool
poll_start(poll_target *t)
{
	return poll_start_url(t, t->url, 0);
}

/*
 * poll_fetch_backfill
 *	  Start a GET of url for backfill job id (backfill_fetch_fn); false with
 *	  err set if no slot is free, curl refused or its host is not allowed
 *	  (then *final: retrying cannot help).
 */
static bool
poll_fetch_backfill(int64 id, const char *url, char *err, size_t errsz, bool *final)
{
	char	   *why = NULL;

	if (poll_ninflight >= POLL_MAX_INFLIGHT)
	{
		strlcpy(err, "too many HTTP requests in flight", errsz);
		return false;
	}
	if (poll_new_request(POLL_BACKFILL, id, url, 0, NULL, &why, final) == NULL)
	{
		strlcpy(err, why, errsz);
		return false;
	}
	return true;
}

/*
 * poll_due_cmp
 *	  qsort comparator of due targets: the longest overdue first, then by
 *	  kind and id (a stable order).
 */
static int
poll_due_cmp(const void *a, const void *b)
{
	const poll_target *x = *(poll_target *const *) a,
			   *y = *(poll_target *const *) b;

	if (x->next_due != y->next_due)
		return x->next_due < y->next_due ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->id < y->id ? -1 : (x->id > y->id ? 1 : 0);
}

/*
 * poll_start_due
 *	  Start the due targets, the longest overdue first, while transfer slots
 *	  are free.  A target that finds no slot stays due (its place in the
 *	  queue is its due time, so it is never pushed back behind later ones);
 *	  once it has waited POLL_LATE_MS its row says so in last_error.
 *	  Returns whether targets are left waiting.
 */
static bool
poll_start_due(List *targets, TimestampTz now)
{
	poll_target **due = palloc(sizeof(poll_target *) * Max(list_length(targets), 1));
	int			ndue = 0;
	bool		waiting = false;
	ListCell   *lc;

	foreach(lc, targets)
	{
		poll_target *t = lfirst(lc);

		if (!t->in_flight && t->next_due <= now)
			due[ndue++] = t;
	}
	qsort(due, ndue, sizeof(poll_target *), poll_due_cmp);
	for (int i = 0; i < ndue; i++)
	{
		poll_target *t = due[i];

		if (poll_ninflight >= POLL_MAX_INFLIGHT)
		{
			waiting = true;
			if (!t->late && TimestampDifferenceExceeds(t->next_due, now, POLL_LATE_MS))
			{
				t->late = true;
				tsk_poll_record_status(t, 0,
									   psprintf("late: waiting for a free transfer slot since %s "
												"(%d transfers in flight, the most the poll worker runs at once)",
												timestamptz_to_str(t->next_due), POLL_MAX_INFLIGHT));
			}
			continue;
		}
		t->late = false;
		t->next_due = TimestampTzPlusMilliseconds(now, t->interval_ms);
		(void) poll_start(t);
	}
	pfree(due);
	return waiting;
}

/*
 * poll_find
 *	  The target of (kind, id) in the current list, or NULL (removed).
 */
static poll_target *
poll_find(List *targets, poll_kind kind, int64 id)
{
	ListCell   *lc;

	foreach(lc, targets)
	{
		poll_target *t = lfirst(lc);

		if (t->kind == kind && t->id == id)
			return t;
	}
	return NULL;
}

/*
 * poll_error_message
 *	  A clear message for a failed transfer (palloc'd).
 */
static char *
poll_error_message(poll_request *req, CURLcode result)
{
	const char *detail = req->errbuf[0] ? req->errbuf : curl_easy_strerror(result);

	if (req->refused[0] != '\0')
		return psprintf("destination not allowed: %s", req->refused);
	if (req->body.too_large || result == CURLE_FILESIZE_EXCEEDED)
		return psprintf("response body larger than triggerstock.poll_max_body (%d bytes); nothing stored",
						tsk_poll_max_body);
	if (req->body.failed_alloc)
		return pstrdup("out of memory receiving the response body");
	switch (result)
	{
		case CURLE_OPERATION_TIMEDOUT:
			return psprintf("timed out after %d ms (triggerstock.poll_timeout): %s",
							tsk_poll_timeout, detail);
		case CURLE_TOO_MANY_REDIRECTS:
			return psprintf("too many redirects (more than triggerstock.poll_max_redirects = %d): %s",
							tsk_poll_max_redirects, detail);
		case CURLE_UNSUPPORTED_PROTOCOL:
			return psprintf("unsupported protocol (only http and https are polled): %s", detail);
		default:
			return psprintf("HTTP request failed (curl error %d): %s", (int) result, detail);
	}
}

/*
 * poll_redirect
 *	  Whether the completed transfer is a redirect (3xx with a Location);
 *	  if so *location is its target (palloc'd) and *error says why it is
 *	  not followed (too many hops, not http or https), or is NULL.
 */
static bool
poll_redirect(poll_request *req, long status, char **location, char **error)
{
	char	   *url = NULL;

	*location = *error = NULL;
	if (status < 300 || status > 399 ||
		curl_easy_getinfo(req->easy, CURLINFO_REDIRECT_URL, &url) != CURLE_OK || url == NULL)
		return false;
	*location = pstrdup(url);
	if (req->redirects >= tsk_poll_max_redirects)
		*error = psprintf("too many redirects (more than triggerstock.poll_max_redirects = %d)",
						  tsk_poll_max_redirects);
	else if (pg_strncasecmp(url, "http://", 7) != 0 && pg_strncasecmp(url, "https://", 8) != 0)
		*error = psprintf("unsupported protocol (only http and https are polled): redirect to %s", url);
	return true;
}

/*
 * poll_finish
 *	  Act on one completed transfer (curl has returned): store or record.
 */
static void
poll_finish(List *targets, poll_request *req, CURLcode result)
{
	poll_target *t;
	long		status = 0;
	char	   *location = NULL;
	char	   *redirect_error;

	(void) curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
	if (req->kind == POLL_BACKFILL)
	{
		backfill_response r = {0};

		r.status = status;
		if (result == CURLE_OK && poll_redirect(req, status, &location, &redirect_error))
		{
			/* the next hop of the same page: the job stays in flight */
			if (redirect_error == NULL &&
				poll_new_request(POLL_BACKFILL, req->id, location, req->redirects + 1, NULL,
								 &redirect_error, &r.final) != NULL)
				return;
			r.error = redirect_error;
			r.final = true;		/* the exchange sends us where we may not go */
		}
		else
		{
			r.too_large = req->body.too_large || result == CURLE_FILESIZE_EXCEEDED;
			r.error = result != CURLE_OK ? poll_error_message(req, result) : NULL;
			r.final = req->refused[0] != '\0';	/* its address is not allowed */
			r.body = req->body.data;
			r.len = req->body.len;
		}
		r.retry_after = req->validators.retry_after;
		r.used_weight = req->validators.used_weight;
		tsk_backfill_finish(req->id, &r);
		return;
	}
	t = poll_find(targets, req->kind, req->id);
	if (t == NULL)
		return;					/* removed while in flight */
	t->in_flight = false;
	if (result != CURLE_OK)
		tsk_poll_record_status(t, status, poll_error_message(req, result));
	else if (t->kind == POLL_FEED && status == 304)
		tsk_poll_record_status(t, status, NULL);
	else if (poll_redirect(req, status, &location, &redirect_error))
	{
		/* a redirect: its target is checked like the first URL */
		if (redirect_error != NULL)
			tsk_poll_record_status(t, status, redirect_error);
		else
			(void) poll_start_url(t, location, req->redirects + 1);
	}
	else if (status < 200 || status > 299)
		tsk_poll_record_status(t, status, psprintf("HTTP status %ld; nothing stored", status));
	else if (t->kind == POLL_FEED)
	{
		int64		inserted = 0;
		char	   *err = tsk_poll_store_feed(t, req->body.data, req->body.len, status, req->validators.etag,
										  req->validators.last_modified, &inserted);

		if (err == NULL && inserted > 0)
			elog(DEBUG1, "triggerstock poll: feed %d: %lld new items", t->id, (long long) inserted);
	}
	else
	{
		bool		stored = false;

		(void) tsk_poll_store_quote(t, req->body.data, req->body.len, status, &stored);
	}
}

/*
 * poll_drain
 *	  Collect the completed transfers, detach them, then act on each.
 */
static void
poll_drain(List *targets)
{
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(poll_multi, &left)) != NULL)
	{
		poll_request *req = NULL;
		CURLcode	result = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		(void) curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &req);
		for (int i = 0; i < poll_ninflight; i++)
			if (poll_inflight[i] == req)
				poll_inflight[i] = poll_inflight[--poll_ninflight];
		if (req == NULL)
			continue;
		(void) curl_multi_remove_handle(poll_multi, req->easy);
		poll_finish(targets, req, result);
		poll_request_free(req);
	}
}

/*
 * poll_reload_targets
 *	  Re-read the targets, keeping the schedule of those still present.
 */
static List *
poll_reload_targets(List *old, MemoryContext *targets_cxt)
{
	MemoryContext cxt = AllocSetContextCreate(poll_cxt, "triggerstock poll targets",
											  ALLOCSET_SMALL_SIZES);
	List	   *targets = tsk_poll_load_targets(cxt);
	ListCell   *lc;
	TimestampTz now = GetCurrentTimestamp();

	foreach(lc, targets)
	{
		poll_target *t = lfirst(lc);
		poll_target *prev = poll_find(old, t->kind, t->id);

		if (prev != NULL)
		{
			t->next_due = Min(prev->next_due, TimestampTzPlusMilliseconds(now, t->interval_ms));
			t->in_flight = prev->in_flight;
			t->late = prev->late;
			if (prev->has_last && (!t->has_last || prev->last_ts >= t->last_ts))
				t->has_last = true, t->last_price = prev->last_price, t->last_ts = prev->last_ts;
		}
		else
			t->next_due = t->last_polled == 0 ? now :
				TimestampTzPlusMilliseconds(t->last_polled, t->interval_ms);
	}
	if (*targets_cxt != NULL)
		MemoryContextDelete(*targets_cxt);
	*targets_cxt = cxt;
	return targets;
}

/*
 * poll_wait_timeout
 *	  Milliseconds until the next due target or curl timer (at most 1 s).
 *	  Targets waiting for a transfer slot do not count: a finishing
 *	  transfer wakes the loop through its socket.
 */
static long
poll_wait_timeout(List *targets, TimestampTz now, bool waiting)
{
	long		timeout = 1000;
	ListCell   *lc;

	foreach(lc, targets)
	{
		poll_target *t = lfirst(lc);

		if (!t->in_flight && !(waiting && t->next_due <= now))
			timeout = Min(timeout, Max(0, (long) ((t->next_due - now) / 1000)));
	}
	if (poll_timer_ms >= 0)
	{
		long		left = poll_timer_ms - (long) ((now - poll_timer_set_at) / 1000);

		timeout = Min(timeout, Max(0, left));
	}
	return timeout;
}

/*
 * poll_build_wait_set
 *	  A WaitEventSet of the latch, postmaster death and curl's sockets.
 */
static WaitEventSet *
poll_build_wait_set(void)
{
	WaitEventSet *set = CreateWaitEventSet(poll_cxt, 2 + poll_nsockets);

	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (int i = 0; i < poll_nsockets; i++)
	{
		uint32		ev = 0;

		if (poll_sockets[i].what & CURL_POLL_IN)
			ev |= WL_SOCKET_READABLE;
		if (poll_sockets[i].what & CURL_POLL_OUT)
			ev |= WL_SOCKET_WRITEABLE;
		if (ev != 0)
			AddWaitEventToSet(set, ev, poll_sockets[i].fd, NULL, NULL);
	}
	poll_sockets_changed = false;
	return set;
}

/*
 * poll_socket_action
 *	  Let curl act on a socket event or its timer; curl only calls our
 *	  callbacks from here (and from add/remove handle).
 */
static void
poll_socket_action(curl_socket_t fd, int flags)
{
	int			running = 0;
	CURLMcode	mc;

	if (fd == CURL_SOCKET_TIMEOUT)
		poll_timer_ms = -1;
	mc = curl_multi_socket_action(poll_multi, fd, flags, &running);
	if (mc != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("curl_multi_socket_action failed: %s", curl_multi_strerror(mc))));
}

/*
 * triggerstock_poll_main
 *	  Entry point of the poll worker (kind 'poll').
 */
void
triggerstock_poll_main(Datum main_arg)
{
	MemoryContextCallback *cb;
	MemoryContext targets_cxt = NULL;
	List	   *targets = NIL;
	WaitEventSet *set = NULL;
	MemoryContext iter_cxt;
	CURLcode	grc;

	(void) tsk_worker_attach(main_arg);
	tsk_worker_set_state("starting");

	if ((grc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not initialise libcurl: %s", curl_easy_strerror(grc))));
	poll_cxt = AllocSetContextCreate(TopMemoryContext, "triggerstock poll", ALLOCSET_DEFAULT_SIZES);
	cb = MemoryContextAllocZero(poll_cxt, sizeof(MemoryContextCallback));
	cb->func = poll_cleanup_callback;
	MemoryContextRegisterResetCallback(poll_cxt, cb);
	if ((poll_multi = curl_multi_init()) == NULL ||
		curl_multi_setopt(poll_multi, CURLMOPT_SOCKETFUNCTION, poll_socket_cb) != CURLM_OK ||
		curl_multi_setopt(poll_multi, CURLMOPT_TIMERFUNCTION, poll_timer_cb) != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not set up the libcurl multi handle")));
	CacheRegisterRelcacheCallback(poll_relcache_cb, (Datum) 0);
	iter_cxt = AllocSetContextCreate(TopMemoryContext, "triggerstock poll iteration",
									 ALLOCSET_DEFAULT_SIZES);

	while (!ShutdownRequestPending)
	{
		TimestampTz now;
		WaitEvent	events[16];
		int			nevents;
		bool		waiting;
		long		backfill_wait;

		MemoryContextReset(iter_cxt);
		MemoryContextSwitchTo(iter_cxt);

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		AcceptInvalidationMessages();
		if (poll_reload)
		{
			poll_reload = false;
			targets = poll_reload_targets(targets, &targets_cxt);
			tsk_backfill_reload(poll_cxt);
		}

		now = GetCurrentTimestamp();
		waiting = poll_start_due(targets, now);
		backfill_wait = tsk_backfill_tick(now, poll_fetch_backfill);
		tsk_worker_set_state(poll_ninflight > 0 ? "polling" : "idle");
		if (poll_timer_ms == 0)
			poll_socket_action(CURL_SOCKET_TIMEOUT, 0);
		poll_drain(targets);

		if (set == NULL || poll_sockets_changed)
		{
			if (set != NULL)
				FreeWaitEventSet(set);
			set = poll_build_wait_set();
		}
		now = GetCurrentTimestamp();
		nevents = WaitEventSetWait(set, Min(poll_wait_timeout(targets, now, waiting), backfill_wait), events,
								   lengthof(events), PG_WAIT_EXTENSION);
		for (int i = 0; i < nevents; i++)
		{
			if (events[i].events & WL_LATCH_SET)
				ResetLatch(MyLatch);
			else if (events[i].events & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
				poll_socket_action(events[i].fd,
								   ((events[i].events & WL_SOCKET_READABLE) ? CURL_CSELECT_IN : 0) |
								   ((events[i].events & WL_SOCKET_WRITEABLE) ? CURL_CSELECT_OUT : 0));
		}
		if (poll_timer_ms >= 0 &&
			GetCurrentTimestamp() >= TimestampTzPlusMilliseconds(poll_timer_set_at, poll_timer_ms))
			poll_socket_action(CURL_SOCKET_TIMEOUT, 0);
		poll_drain(targets);
	}

	tsk_worker_set_state("stopping");
	tsk_backfill_shutdown();	/* pages fetched but not stored yet */
	MemoryContextSwitchTo(TopMemoryContext);
	if (set != NULL)
		FreeWaitEventSet(set);
	MemoryContextDelete(poll_cxt);	/* the reset callback frees curl */
	curl_global_cleanup();
	proc_exit(0);
}
