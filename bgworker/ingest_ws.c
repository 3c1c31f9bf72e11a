/*
 * ingest_ws.c
 *	  The ingest worker's libwebsockets (4.1) client: one lws context per
 *	  connection attempt, ws:// or wss:// (system CAs or
 *	  triggerstock.ingest_ca_file), subscribe messages sent once the
 *	  handshake is done, lws PINGs on idle links.
 *
 * Invariants:
 *	- the callback runs inside lws_service(): it only copies bytes into
 *	  the malloc'd frame queue, sets flags in ws_state and writes queued
 *	  messages; no palloc, no ereport, no SQL;
 *	- a message larger than triggerstock.ingest_max_frame_bytes is kept
 *	  truncated and flagged (its total length is still counted), so one
 *	  hostile frame cannot exhaust memory;
 *	- the lws context is owned by ws_cxt: resetting that memory context
 *	  (tsk_ingest_ws_close, or process exit) destroys the context, and with it
 *	  the socket; tsk_ingest_ws_generation() changes whenever the socket may
 *	  have changed, so the loop rebuilds its WaitEventSet;
 *	- lws_service() is always called with a negative timeout (never
 *	  blocks); the loop waits on the latch and the socket instead;
 *	- the URL is parsed by ws_url.c (default port and path, query kept,
 *	  token appended percent-encoded); the token lives only in ws_token and
 *	  in the request lws sends: every message and lws log line that could
 *	  carry it goes through tsk_ws_url_redact() first (the one home of URL
 *	  parsing and redaction);
 *	- the host is checked against triggerstock.allowed_hosts, resolved, and
 *	  the connection goes to the first allowed address (no redirects).
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <libwebsockets.h>

#include "storage/ipc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "bgworker/ingest.h"
#include "bgworker/ingest_book.h"
#include "common/bytebuf.h"
#include "common/hostcheck.h"
#include "guc.h"
#include "ingest/ws_assemble.h"
#include "ingest/ws_url.h"

/* Everything the callback may touch: plain memory, no palloc. */
typedef struct ws_state
{
	struct lws_context *context;
	struct lws *wsi;
	/* outgoing messages, '\n'-separated, LWS_PRE headroom before each write */
	char	   *tx;
	size_t		tx_len;
	size_t		tx_pos;
	bool		want_write;
	/* the message being assembled, complete ones waiting for the loop */
	tsk_ws_assembler in;
	ingest_ws_events ev;
	uint64		generation;
} ws_state;

static ws_state ws = {0};
static MemoryContext ws_cxt = NULL;
static MemoryContextCallback ws_cleanup;
static char ws_target[WS_URL_PART_MAX * 2];	/* request target, token included */
static char ws_host_header[WS_URL_HOST_MAX + 8];
static char ws_ip[INET6_ADDRSTRLEN];	/* the address connected to: checked */
static char ws_token[1024];		/* the secret, for redaction; "" if none */

/* lws PINGs after 20 s without traffic, hangs up after 60 s. */
static const lws_retry_bo_t ws_retry = {
	.secs_since_valid_ping = 20,
	.secs_since_valid_hangup = 60,
};

/*
 * ws_receive
 *	  One fragment of a message: assemble (ws_assemble.c, fuzzed on its
 *	  own), and queue the message when final.
 */
static void
ws_receive(struct lws *wsi, const char *in, size_t len)
{
	bool		final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;

	tsk_ws_assemble(&ws.in, in, len, lws_frame_is_binary(wsi), final,
					(size_t) tsk_ingest_max_frame_bytes, final ? GetCurrentTimestamp() : 0);
}

/*
 * ws_write_next
 *	  Write the next queued outgoing message; ask for another writable
 *	  callback while messages remain.  Returns -1 to close on error.
 */
static int
ws_write_next(struct lws *wsi)
{
	char	   *start = ws.tx + ws.tx_pos;
	char	   *end;
	size_t		n;
	unsigned char *buf;
	int			written;

	if (ws.tx == NULL || ws.tx_pos >= ws.tx_len)
	{
		ws.want_write = false;
		return 0;
	}
	end = memchr(start, '\n', ws.tx_len - ws.tx_pos);
	n = end ? (size_t) (end - start) : ws.tx_len - ws.tx_pos;
	buf = malloc(LWS_PRE + n);
	if (buf == NULL)
		return -1;
	memcpy(buf + LWS_PRE, start, n);
	written = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
	free(buf);
	if (written < (int) n)
	{
		snprintf(ws.ev.reason, sizeof(ws.ev.reason), "could not send the subscribe message");
		return -1;
	}
	ws.tx_pos += n + (end ? 1 : 0);
	ws.want_write = ws.tx_pos < ws.tx_len;
	if (ws.want_write)
		lws_callback_on_writable(wsi);
	return 0;
}

/*
 * ws_callback
 *	  The protocol callback: runs inside lws_service().  See the invariants.
 */
static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	switch (reason)
	{
		case LWS_CALLBACK_CLIENT_ESTABLISHED:
			ws.ev.established = true;
			ws.generation++;
			if (ws.tx_len > 0)
			{
				ws.want_write = true;
				lws_callback_on_writable(wsi);
			}
			break;
		case LWS_CALLBACK_CLIENT_RECEIVE:
			ws_receive(wsi, (const char *) in, len);
			break;
		case LWS_CALLBACK_CLIENT_WRITEABLE:
			return ws_write_next(wsi);
		case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
			{
				char		text[256];

				snprintf(text, sizeof(text), "connection error: %.*s",
						 in ? (int) Min(len, 200) : 7, in ? (const char *) in : "unknown");
				tsk_ws_url_redact(text, ws_token, ws.ev.reason, sizeof(ws.ev.reason));
			}
			ws.ev.closed = true;
			ws.wsi = NULL;
			ws.generation++;
			break;
		case LWS_CALLBACK_CLIENT_CLOSED:
			if (ws.ev.reason[0] == '\0')
				snprintf(ws.ev.reason, sizeof(ws.ev.reason), "connection closed by the server");
			ws.ev.closed = true;
			ws.wsi = NULL;
			ws.generation++;
			break;
		case LWS_CALLBACK_WSI_DESTROY:
			if (wsi == ws.wsi)
			{
				ws.ev.closed = true;
				ws.wsi = NULL;
				ws.generation++;
			}
			break;
		default:
			break;
	}
	return 0;
}

static const struct lws_protocols ws_protocols[] = {
	{"triggerstock-ingest", ws_callback, 0, 65536, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0}
};

/*
 * ws_destroy_context
 *	  Memory-context reset callback of ws_cxt: destroy the lws context.
 */
static void
ws_destroy_context(void *arg)
{
	if (ws.context != NULL)
	{
		struct lws_context *context = ws.context;

		ws.context = NULL;
		lws_context_destroy(context);	/* runs the callbacks: flags only */
	}
	ws.wsi = NULL;
	ws.generation++;
	free(ws.tx);
	ws.tx = NULL;
	ws.tx_len = ws.tx_pos = 0;
	ws.want_write = false;
	tsk_ws_assembler_reset(&ws.in);
	memset(&ws.ev, 0, sizeof(ws.ev));	/* a close we asked for is no event */
	memset(ws_target, 0, sizeof(ws_target));	/* it held the token */
}

/*
 * ws_on_exit
 *	  Process exit: close the connection.
 */
static void
ws_on_exit(int code, Datum arg)
{
	tsk_ingest_ws_close();
}

/*
 * ws_log
 *	  libwebsockets' log sink: the line, redacted, to stderr (the server
 *	  log).  Runs inside lws: no palloc, no ereport.
 */
static void
ws_log(int level, const char *line)
{
	char		safe[1024];

	tsk_ws_url_redact(line, ws_token, safe, sizeof(safe));
	fprintf(stderr, "triggerstock ingest (libwebsockets): %s%s", safe,
			safe[0] && safe[strlen(safe) - 1] == '\n' ? "" : "\n");
}

/*
 * ws_prepare_request
 *	  Parse cfg->url and fill ws_host_header and ws_target
 *	  (Binance: a URL without a path streams the instruments' combined
 *	  stream, or /stream for a depth-only source, whose book streams are
 *	  subscribed by message).  False with a message in err (the URL
 *	  redacted).
 */
static bool
ws_prepare_request(const ingest_config *cfg, ws_url *url, char *err, size_t errsz)
{
	char		why[256];
	char		shown[512];
	char		streams[4096];
	const char *path = NULL;
	const char *query = NULL;

	if (!tsk_ws_url_parse(cfg->url, url, why, sizeof(why)))
	{
		tsk_ws_url_redact(cfg->url, ws_token, shown, sizeof(shown));
		snprintf(err, errsz, "invalid WebSocket URL \"%s\": %s", shown, why);
		return false;
	}
	if (cfg->decoder == TD_BINANCE && strcmp(url->path, "/") == 0 && !tsk_ingest_book_trades())
	{
		/* a depth-only source (ingest_book.c) subscribes by message only */
		path = "/stream";
	}
	else if (cfg->decoder == TD_BINANCE && strcmp(url->path, "/") == 0)
	{
		char	   *q;

		if (tsk_td_binance_stream_path(cfg->feed, (const char *const *) cfg->instruments,
									   cfg->ninstruments, streams, sizeof(streams)) >= (int) sizeof(streams) ||
			(q = strchr(streams, '?')) == NULL)
		{
			snprintf(err, errsz, "too many instruments for one Binance stream URL");
			return false;
		}
		*q = '\0';
		path = streams;
		query = q + 1;
	}
	if (tsk_ws_url_host_header(url, ws_host_header, sizeof(ws_host_header)) < 0 ||
		tsk_ws_url_target(url, path, query, ws_token, ws_target, sizeof(ws_target)) < 0)
	{
		snprintf(err, errsz, "WebSocket URL too long");
		return false;
	}
	return true;
}

/*
 * ws_subscribe_message
 *	  What to send once connected, in malloc'd memory of its own length
 *	  (*sub NULL: nothing); false with a message in err.  A length is checked
 *	  before every copy, none is taken from strlcpy (which returns the length
 *	  of its source, not what it copied).
 */
static bool
ws_subscribe_message(const ingest_config *cfg, char **sub, size_t *sublen, char *err, size_t errsz)
{
	*sub = NULL;
	*sublen = 0;
	if (cfg->decoder == TD_GENERIC)
	{
		if (cfg->subscribe != NULL && (*sublen = strlen(cfg->subscribe)) > 0)
		{
			if (*sublen > INGEST_SUBSCRIBE_MAX)
			{
				snprintf(err, errsz, "the subscribe message is %zu bytes, more than the limit of %d",
						 *sublen, INGEST_SUBSCRIBE_MAX);
				return false;
			}
			if ((*sub = malloc(*sublen)) == NULL)
			{
				snprintf(err, errsz, "out of memory");
				return false;
			}
			memcpy(*sub, cfg->subscribe, *sublen);
		}
	}
	else
	{
		int			n = 0,
					booklen;

		if ((*sub = malloc(INGEST_SUBSCRIBE_MAX + 1)) == NULL)
		{
			snprintf(err, errsz, "out of memory");
			return false;
		}
		/* Binance's trade streams are in the URL; its depth streams are not */
		if (cfg->decoder != TD_BINANCE && tsk_ingest_book_trades())
		{
			n = tsk_td_subscribe_message(cfg->feed, (const char *const *) cfg->instruments,
										 cfg->ninstruments, *sub, INGEST_SUBSCRIBE_MAX + 1);
			if (n <= 0 || n > INGEST_SUBSCRIBE_MAX)
			{
				free(*sub);
				*sub = NULL;
				snprintf(err, errsz, "could not build the subscribe message for %d instruments "
						 "(it would exceed %d bytes)", cfg->ninstruments, INGEST_SUBSCRIBE_MAX);
				return false;
			}
		}
		/* order books (ingest_book.c): their subscription follows, on its own line */
		if (n > 0 && tsk_ingest_book_enabled())
			(*sub)[n++] = '\n';
		booklen = tsk_ingest_book_subscribe(cfg, *sub + n, INGEST_SUBSCRIBE_MAX + 1 - n);
		if (booklen < 0 || booklen > INGEST_SUBSCRIBE_MAX - n)
		{
			free(*sub);
			*sub = NULL;
			snprintf(err, errsz, "could not build the book subscribe message for %d instruments "
					 "(it would exceed %d bytes)", cfg->ninstruments, INGEST_SUBSCRIBE_MAX);
			return false;
		}
		n += booklen;
		if (n > 0 && (*sub)[n - 1] == '\n')
			n--;
		if (n == 0)
		{
			free(*sub);
			*sub = NULL;
		}
		*sublen = (size_t) n;
	}
	return true;
}

/*
 * ws_resolve_allowed
 *	  Resolve host and keep in ws_ip the first address that
 *	  triggerstock.allowed_hosts allows (loopback and link-local only when
 *	  listed); the connection then goes to that address, with host in the
 *	  Host header and for TLS.  False with the reason in err.
 */
static bool
ws_resolve_allowed(const char *host, char *err, size_t errsz)
{
	struct addrinfo hints,
			   *res = NULL;
	char		why[256] = "";
	int			rc;

	if (!tsk_host_name_allowed(tsk_allowed_hosts_policy, host, why, sizeof(why)))
	{
		snprintf(err, errsz, "destination not allowed: %s", why);
		return false;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0)
	{
		snprintf(err, errsz, "could not resolve host \"%s\": %s", host, gai_strerror(rc));
		return false;
	}
	ws_ip[0] = '\0';
	for (struct addrinfo *ai = res; ai != NULL && ws_ip[0] == '\0'; ai = ai->ai_next)
	{
		char		reason[256];
		const void *a = ai->ai_family == AF_INET
			? (const void *) &((struct sockaddr_in *) ai->ai_addr)->sin_addr
			: (const void *) &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr;

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
			!tsk_host_addr_allowed(tsk_allowed_hosts_policy, host, ai->ai_addr, reason, sizeof(reason)))
		{
			if (why[0] == '\0')
				strlcpy(why, ai->ai_family == AF_INET || ai->ai_family == AF_INET6 ? reason : "no IP address",
						sizeof(why));
			continue;
		}
		if (inet_ntop(ai->ai_family, a, ws_ip, sizeof(ws_ip)) == NULL)
			ws_ip[0] = '\0';
	}
	freeaddrinfo(res);
	if (ws_ip[0] == '\0')
	{
		snprintf(err, errsz, "destination not allowed: %s", why[0] ? why : "no usable address");
		return false;
	}
	return true;
}

/*
 * tsk_ingest_ws_shown_url
 *	  What the worker connects to, for the log: scheme, Host, request
 *	  target, with the token and any other credential redacted.
 */
void
tsk_ingest_ws_shown_url(const ingest_config *cfg, char *out, size_t outsz)
{
	char		full[sizeof(ws_target) + sizeof(ws_host_header) + 8];

	snprintf(full, sizeof(full), "%s://%s%s", strncasecmp(cfg->url, "wss:", 4) == 0 ? "wss" : "ws",
			 ws_host_header, ws_target);
	tsk_ws_url_redact(full, ws_token, out, outsz);
}

/*
 * tsk_ingest_ws_connect
 *	  Start connecting to cfg->url with a fresh context; the handshake and
 *	  the subscribe messages complete inside later tsk_ingest_ws_service()
 *	  calls.  False with a message in err if it could not even start.
 */
bool
tsk_ingest_ws_connect(const ingest_config *cfg, char *err, size_t errsz)
{
	struct lws_context_creation_info info;
	struct lws_client_connect_info ci;
	ws_url		url;
	bool		tls;
	char	   *sub = NULL;
	size_t		sublen = 0;

	tsk_ingest_ws_close();
	if (ws_cxt == NULL)
	{
		ws_cxt = AllocSetContextCreate(TopMemoryContext, "triggerstock ingest ws",
									   ALLOCSET_SMALL_SIZES);
		on_proc_exit(ws_on_exit, (Datum) 0);
	}
	ws_cleanup.func = ws_destroy_context;
	ws_cleanup.arg = NULL;
	MemoryContextRegisterResetCallback(ws_cxt, &ws_cleanup);
	memset(&ws.ev, 0, sizeof(ws.ev));

	if (cfg->token != NULL && strlen(cfg->token) >= sizeof(ws_token))
	{
		snprintf(err, errsz, "the token of source %d is longer than %zu bytes", cfg->id, sizeof(ws_token) - 1);
		return false;
	}
	strlcpy(ws_token, cfg->token ? cfg->token : "", sizeof(ws_token));
	if (!ws_prepare_request(cfg, &url, err, errsz))
		return false;
	tls = url.tls;
	if (!ws_resolve_allowed(url.host, err, errsz))
		return false;

	if (!ws_subscribe_message(cfg, &sub, &sublen, err, errsz))
		return false;
	if (sub != NULL)
	{
		ws.tx = sub;
		ws.tx_len = sublen;
		ws.tx_pos = 0;
	}

	lws_set_log_level(LLL_ERR, ws_log);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = ws_protocols;
	info.gid = -1;
	info.uid = -1;
	info.fd_limit_per_thread = 8;
	info.pt_serv_buf_size = 65536;
	info.options = tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
	if (tls && tsk_ingest_ca_file && tsk_ingest_ca_file[0])
		info.client_ssl_ca_filepath = tsk_ingest_ca_file;
	ws.context = lws_create_context(&info);
	if (ws.context == NULL)
	{
		snprintf(err, errsz, "could not create the libwebsockets context%s",
				 tls ? " (check triggerstock.ingest_ca_file)" : "");
		return false;
	}

	memset(&ci, 0, sizeof(ci));
	ci.context = ws.context;
	ci.address = ws_ip;			/* the checked address, not the name again */
	ci.port = url.port;
	ci.path = ws_target;
	ci.host = ws_host_header;
	ci.origin = ws_host_header;
	/* a redirect would go to a host nobody checked */
	ci.ssl_connection = (tls ? LCCSCF_USE_SSL : 0) | LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
	if (tls && cfg->tls_skip_hostname_check)
		ci.ssl_connection |= LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
	ci.local_protocol_name = ws_protocols[0].name;
	ci.retry_and_idle_policy = &ws_retry;
	ci.pwsi = &ws.wsi;
	ws.generation++;
	if (lws_client_connect_via_info(&ci) == NULL)
	{
		snprintf(err, errsz, "could not start connecting to %s%s%s",
				 ws_host_header, ws.ev.reason[0] ? ": " : "", ws.ev.reason);
		tsk_ingest_ws_close();
		return false;
	}
	return true;
}

/*
 * tsk_ingest_ws_send
 *	  Queue one more text message on the open connection (order-book
 *	  resubscriptions); it is written from the next lws_service().  False
 *	  if there is no connection or no memory.
 */
bool
tsk_ingest_ws_send(const char *text)
{
	size_t		n = strlen(text);
	size_t		left;
	char	   *p;

	if (ws.context == NULL || ws.wsi == NULL || n == 0)
		return false;
	left = ws.tx ? ws.tx_len - ws.tx_pos : 0;
	p = malloc(left + n + 1);
	if (p == NULL)
		return false;
	if (left > 0)
	{
		memcpy(p, ws.tx + ws.tx_pos, left);
		p[left++] = '\n';
	}
	memcpy(p + left, text, n);
	free(ws.tx);
	ws.tx = p;
	ws.tx_len = left + n;
	ws.tx_pos = 0;
	ws.want_write = true;
	lws_callback_on_writable(ws.wsi);
	return true;
}

/*
 * tsk_ingest_ws_close
 *	  Drop the connection and its context (by resetting ws_cxt).
 */
void
tsk_ingest_ws_close(void)
{
	if (ws_cxt != NULL)
		MemoryContextReset(ws_cxt);
}

/*
 * tsk_ingest_ws_active
 *	  True while a context exists (connecting or connected).
 */
bool
tsk_ingest_ws_active(void)
{
	return ws.context != NULL;
}

/*
 * tsk_ingest_ws_fd
 *	  The connection's socket, or -1 if there is none (yet).
 */
int
tsk_ingest_ws_fd(void)
{
	if (ws.context == NULL || ws.wsi == NULL)
		return -1;
	return (int) lws_get_socket_fd(ws.wsi);
}

/*
 * tsk_ingest_ws_generation
 *	  Changes whenever the socket may have been replaced.
 */
uint64
tsk_ingest_ws_generation(void)
{
	return ws.generation;
}

/*
 * tsk_ingest_ws_wants_service
 *	  True if lws must run again without waiting for the socket: a pending
 *	  write, or data already buffered (TLS) that poll() would not report.
 */
bool
tsk_ingest_ws_wants_service(void)
{
	if (ws.context == NULL)
		return false;
	return ws.want_write || lws_service_adjust_timeout(ws.context, 1, 0) == 0;
}

/*
 * tsk_ingest_ws_service
 *	  Run lws without blocking, then hand every queued message to fn.
 *	  Returns the number of messages handed over, -1 if out of memory
 *	  (the connection is then closed and an event recorded).
 */
int
tsk_ingest_ws_service(ingest_frame_fn fn)
{
	size_t		pos = 0;
	int			n = 0;

	if (ws.context == NULL)
		return 0;
	if (lws_service(ws.context, -1) < 0)
	{
		ws.ev.closed = true;
		if (ws.ev.reason[0] == '\0')
			snprintf(ws.ev.reason, sizeof(ws.ev.reason), "lws_service failed");
	}
	for (;;)
	{
		tsk_ws_frame f;
		const char *data;

		if (!tsk_ws_next(&ws.in, &pos, &f, &data))
			break;
		fn(data, f.len, f.total_len, f.binary, (TimestampTz) f.received);
		n++;
	}
	tsk_ws_queue_clear(&ws.in);
	if (ws.in.oom)
	{
		ws.in.oom = false;
		ws.ev.closed = true;
		snprintf(ws.ev.reason, sizeof(ws.ev.reason), "out of memory while receiving");
		return -1;
	}
	return n;
}

/*
 * tsk_ingest_ws_events_take
 *	  Copy and clear what the callbacks recorded.
 */
void
tsk_ingest_ws_events_take(ingest_ws_events *ev)
{
	*ev = ws.ev;
	memset(&ws.ev, 0, sizeof(ws.ev));
}
