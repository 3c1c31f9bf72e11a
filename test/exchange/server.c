/*
 * server.c
 *	  the libwebsockets protocol: connections, batching, pacing, drops and
 *	  resume.
 *
 * Each writeable callback builds one batch: queued control frames first,
 * then stream frames from the connection's cursor, framed by us, up to
 * SIM_BATCH_BYTES (or until the next frame is not due yet under --rate),
 * and hands it to lws in a single lws_write(LWS_WRITE_RAW).  lws keeps
 * whatever the socket does not take and calls back only once it is
 * flushed, so batches never interleave with lws's own control frames.
 * As fast as possible means: ask for the next writeable callback at once.
 * Under --rate the next due time advances by 1/rate (replay) or by an
 * exponential gap (simulate: Poisson arrivals), and an lws_sul timer wakes
 * the connection when the next frame is due.
 *
 * Drops and the end of data close only after the output is flushed, so a
 * client has every frame before the cursor when the socket closes; the
 * next connection starts --overlap frames before that cursor (or --gap
 * frames after it: a stretch of the stream no client ever gets).
 *
 * Invariants: a connection's cursor only moves forward; pace_sul and
 * hb_sul are cancelled before the connection's memory goes away; nothing
 * here blocks.
 */
#include "exchange_sim.h"

#include <stdlib.h>
#include <string.h>

#define SIM_SKIP_LIMIT 65536	/* filtered frames examined per callback */

static sim_conn *sim_live;		/* live connections */
static uint64_t sim_resume;		/* where the next connection starts */
static uint64_t sim_nconn;
static bool sim_ended;			/* a connection reached the end of data */
static sim_buf sim_out;			/* the batch; LWS_PRE bytes of headroom */
static sim_buf sim_fault;		/* an altered copy of a frame (book.c) */
static char sim_scratch[2 * SIM_MAX_RENDER];

/*
 * sim_conn_of
 *	  The connection owning a sul embedded at offset off.
 */
static sim_conn *
sim_conn_of(lws_sorted_usec_list_t *sul, size_t off)
{
	return (sim_conn *) (void *) ((char *) sul - off);
}

/*
 * sim_pace_cb
 *	  Pace timer: the next frame is due, ask for a writeable callback.
 */
static void
sim_pace_cb(lws_sorted_usec_list_t *sul)
{
	sim_conn   *c = sim_conn_of(sul, offsetof(sim_conn, pace_sul));

	if (lws_callback_on_writable(c->wsi) < 0)
		lwsl_warn("exchange_sim: cannot request a writeable callback\n");
}

/*
 * sim_hb_cb
 *	  Heartbeat timer: let the format queue its periodic frame, then re-arm.
 */
static void
sim_hb_cb(lws_sorted_usec_list_t *sul)
{
	sim_conn   *c = sim_conn_of(sul, offsetof(sim_conn, hb_sul));

	if (!c->closing && sim_cfg.fmt->on_heartbeat(c, sim_mono_us() - c->last_send_us) != 0)
		lwsl_warn("exchange_sim: heartbeat failed (out of memory)\n");
	lws_sul_schedule(lws_get_context(c->wsi), 0, &c->hb_sul, sim_hb_cb, c->hb_us);
}

/*
 * sim_gap_us
 *	  Gap to the next frame under --rate, in microseconds.
 */
static int64_t
sim_gap_us(sim_conn *c)
{
	double		mean = 1e6 / sim_cfg.rate;

	if (!sim_cfg.simulate)
		return (int64_t) mean;
	return (int64_t) (sim_rand_exp(&c->rng) * mean);
}

/*
 * sim_request_path
 *	  The request path with its query ("/stream?streams=a/b"), malloc'd.
 */
static char *
sim_request_path(struct lws *wsi)
{
	int			ulen = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI);
	int			alen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
	size_t		cap = (size_t) (ulen > 0 ? ulen : 0) + 2 * (size_t) (alen > 0 ? alen : 0) + 64;
	char	   *path = malloc(cap);
	size_t		len;

	if (path == NULL)
		return NULL;
	path[0] = '\0';
	if (ulen > 0 && lws_hdr_copy(wsi, path, (int) cap, WSI_TOKEN_GET_URI) < 0)
		path[0] = '\0';
	len = strlen(path);
	for (int i = 0; alen > 0; i++)
	{
		int			n;

		if (len + 2 >= cap)
			break;
		path[len] = i == 0 ? '?' : '&';
		n = lws_hdr_copy_fragment(wsi, path + len + 1, (int) (cap - len - 1),
								  WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n < 0)
		{
			path[len] = '\0';
			break;
		}
		len += 1 + (size_t) n;
	}
	return path;
}

/*
 * sim_on_established
 *	  New WebSocket connection: cursor, greeting, URL subscriptions, timers.
 */
static int
sim_on_established(struct lws *wsi, sim_conn *c)
{
	int			require = sim_cfg.require_subscribe >= 0 ?
		sim_cfg.require_subscribe : sim_cfg.fmt->needs_subscribe;
	int			hb_ms = sim_cfg.heartbeat_ms >= 0 ? sim_cfg.heartbeat_ms :
		sim_cfg.simulate ? sim_cfg.fmt->heartbeat_ms : 0;
	char	   *path;
	int			rc = 0;

	c->wsi = wsi;
	c->id = ++sim_nconn;
	c->pos = sim_resume < sim_stream_oldest() ? sim_stream_oldest() : sim_resume;
	c->rng = sim_cfg.seed ^ (c->id * 0x9E3779B97F4A7C15ULL);
	c->streaming = !require;
	c->last_send_us = c->next_due_us = sim_mono_us();
	c->hb_us = (int64_t) hb_ms * 1000;
	if ((path = sim_request_path(wsi)) == NULL)
		return -1;
	if (sim_cfg.verbose)
		lwsl_user("connection %llu: %s, starting at frame %llu\n",
				  (unsigned long long) c->id, path, (unsigned long long) c->pos);
	if (sim_cfg.fmt->on_connect != NULL)
		rc = sim_cfg.fmt->on_connect(c, path);
	free(path);
	if (rc != 0)
	{
		sim_buf_free(&c->ctl);
		return -1;
	}
	/* nothing fails from here on: the connection is live */
	c->established = true;
	c->next = sim_live;
	sim_live = c;
	sim_st.connections++;
	if (c->hb_us > 0 && sim_cfg.fmt->on_heartbeat != NULL)
		lws_sul_schedule(lws_get_context(wsi), 0, &c->hb_sul, sim_hb_cb, c->hb_us);
	if (c->streaming && lws_callback_on_writable(wsi) < 0)
		lwsl_warn("exchange_sim: cannot request a writeable callback\n");
	return 0;
}

/*
 * sim_on_receive
 *	  A piece of a client message: reassemble, then hand it to the format.
 */
static int
sim_on_receive(struct lws *wsi, sim_conn *c, const void *in, size_t len)
{
	cJSON	   *msg;
	int			rc;

	if (c->rx.len + len > SIM_MAX_RX)
	{
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
		return -1;
	}
	if (sim_buf_append(&c->rx, in, len) != 0)
		return -1;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
		return 0;
	sim_st.messages_in++;
	msg = lws_frame_is_binary(wsi) ? NULL : cJSON_ParseWithLength(c->rx.data, c->rx.len);
	if (sim_cfg.verbose)
		lwsl_user("connection %llu: received %.*s\n", (unsigned long long) c->id,
				  (int) (c->rx.len > 200 ? 200 : c->rx.len), c->rx.data);
	c->rx.len = 0;
	rc = sim_cfg.fmt->on_message(c, msg);
	cJSON_Delete(msg);
	return rc == 0 ? 0 : -1;
}

/*
 * sim_batch_frame
 *	  Append one framed payload to the batch (room was reserved).
 */
static void
sim_batch_frame(const char *payload, size_t len)
{
	size_t		h = sim_ws_header((unsigned char *) sim_out.data + sim_out.len, len);

	memcpy(sim_out.data + sim_out.len + h, payload, len);
	sim_out.len += h + len;
}

/*
 * sim_close_later
 *	  Mark the connection for closing once its output is flushed.
 */
static void
sim_close_later(sim_conn *c, int code)
{
	if (!c->closing && code == LWS_CLOSE_STATUS_GOINGAWAY)
		sim_st.drops++;
	c->closing = true;
	c->close_code = code;
}

/*
 * sim_fill
 *	  Add due stream frames to the batch.  Returns 1 if more are due right
 *	  away, 0 if the connection waits (timer armed, end, or drop), -1 on error.
 */
static int
sim_fill(sim_conn *c, int64_t now)
{
	size_t		base = sim_out.len;
	int			skipped = 0;

	if (now < c->start_us)
	{
		lws_sul_schedule(lws_get_context(c->wsi), 0, &c->pace_sul, sim_pace_cb,
						 c->start_us - now);
		return 0;
	}
	if (sim_cfg.simulate && c->filtering && !sim_market_wanted(c))
		return 0;				/* until it subscribes a simulated symbol */
	if (sim_cfg.rate > 0 && c->next_due_us < now - 1000000)
		c->next_due_us = now;	/* no burst after a long stall */
	while (sim_out.len - base < SIM_BATCH_BYTES)
	{
		sim_item	it;
		enum sim_get r;
		size_t		lens[2];
		int			k;

		if (sim_cfg.drop_every > 0 && c->sent_stream >= sim_cfg.drop_every)
		{
			sim_close_later(c, LWS_CLOSE_STATUS_GOINGAWAY);
			return 0;
		}
		if (sim_cfg.rate > 0 && c->next_due_us > now)
		{
			lws_sul_schedule(lws_get_context(c->wsi), 0, &c->pace_sul, sim_pace_cb,
							 c->next_due_us - now);
			return 0;
		}
		r = sim_stream_get(c->pos, &it);
		if (r == SIM_GET_EVICTED)
		{
			c->pos = sim_stream_oldest();
			continue;
		}
		if (r == SIM_GET_END)
		{
			c->at_end = sim_ended = true;
			if (!sim_cfg.hold)
				sim_close_later(c, LWS_CLOSE_STATUS_NORMAL);
			return 0;
		}
		if (!sim_conn_wants(c, &it))
		{
			c->pos++;
			if (++skipped >= SIM_SKIP_LIMIT)
				return 1;		/* let other connections run */
			continue;
		}
		if (it.payload != NULL && sim_book_fault(c->pos, &it.payload, &it.len, &sim_fault))
		{
			c->pos++;			/* --drop-frame: lost on the way */
			continue;
		}
		if (it.payload != NULL)
		{
			if (sim_out.len > base && sim_out.len - base + it.len > SIM_BATCH_BYTES)
				return 1;		/* next batch */
			if (sim_buf_reserve(&sim_out, it.len + 10) != 0)
				return -1;
			sim_batch_frame(it.payload, it.len);
			k = 1;
		}
		else
		{
			if (sim_buf_reserve(&sim_out, sizeof(sim_scratch) + 20) != 0)
				return -1;
			k = sim_cfg.fmt->render(c, it.frame, sim_scratch, lens, 2);
			for (int i = 0, off = 0; i < k; off += (int) lens[i], i++)
				sim_batch_frame(sim_scratch + off, lens[i]);
		}
		c->pos++;
		c->sent_stream++;
		sim_st.stream_frames++;
		sim_st.frames_sent += (uint64_t) k;
		sim_st.trades_sent += (uint64_t) it.ntrades * (uint64_t) k;
		if (sim_cfg.rate > 0)
			c->next_due_us += sim_gap_us(c);
	}
	return 1;
}

/*
 * sim_on_writeable
 *	  Writeable: close if asked, else write control frames and a batch.
 */
static int
sim_on_writeable(struct lws *wsi, sim_conn *c)
{
	int64_t		now = sim_mono_us();
	int			more = 0;
	size_t		n;

	if (c->closing)
	{
		lws_close_reason(wsi, (enum lws_close_status) c->close_code, NULL, 0);
		return -1;
	}
	sim_out.len = LWS_PRE;
	if (c->ctl.len > 0)
	{
		if (sim_buf_append(&sim_out, c->ctl.data, c->ctl.len) != 0)
			return -1;
		c->ctl.len = 0;
	}
	if (c->streaming && !(c->at_end && sim_cfg.hold) &&
		(more = sim_fill(c, now)) < 0)
		return -1;
	n = sim_out.len - LWS_PRE;
	if (n > 0)
	{
		int			m = lws_write(wsi, (unsigned char *) sim_out.data + LWS_PRE, n,
								  LWS_WRITE_RAW);

		if (m < 0 || (size_t) m < n)
		{
			if (sim_cfg.verbose)
				lwsl_user("connection %llu: write failed (peer gone)\n",
					  (unsigned long long) c->id);
			return -1;
		}
		sim_st.bytes_sent += n;
		c->last_send_us = now;
	}
	if ((more || c->closing) && lws_callback_on_writable(wsi) < 0)
		return -1;
	return 0;
}

/*
 * sim_on_closed
 *	  Connection gone: stop its timers, leave the resume point, free buffers.
 */
static void
sim_on_closed(sim_conn *c)
{
	sim_conn  **pp;

	lws_sul_cancel(&c->pace_sul);
	lws_sul_cancel(&c->hb_sul);
	for (pp = &sim_live; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c)
		{
			*pp = c->next;
			break;
		}
	if (c->sent_stream > 0 && sim_cfg.gap > 0 && c->closing && c->close_code == LWS_CLOSE_STATUS_GOINGAWAY)
	{
		sim_resume = c->pos + sim_cfg.gap;	/* frames c->pos .. +gap are never sent */
		sim_st.skipped += sim_cfg.gap;
	}
	else if (c->sent_stream > 0)
		sim_resume = c->pos > sim_cfg.overlap ? c->pos - sim_cfg.overlap : 0;
	if (sim_cfg.verbose)
		lwsl_user("connection %llu closed after %llu frames, at frame %llu\n",
				  (unsigned long long) c->id, (unsigned long long) c->sent_stream,
				  (unsigned long long) c->pos);
	sim_buf_free(&c->ctl);
	sim_buf_free(&c->rx);
	c->established = false;
}

/*
 * sim_on_http
 *	  Plain HTTP: GET of a REST depth snapshot (Binance replay, book.c) is
 *	  answered from c->ctl over writeable callbacks; anything else is a 404.
 */
static int
sim_on_http(struct lws *wsi, sim_conn *c)
{
	char	   *path = sim_request_path(wsi);
	char	   *body = NULL;
	size_t		len = 0;
	int			status = 404;
	unsigned char hdr[LWS_PRE + 512];
	unsigned char *start = hdr + LWS_PRE,
			   *p = start,
			   *end = hdr + sizeof(hdr) - 1;

	if (path != NULL && !sim_cfg.simulate && sim_cfg.fmt == &sim_fmt_binance)
		status = sim_book_rest(path, sim_server_position(), &body, &len);
	if (sim_cfg.verbose && path)
		lwsl_user("HTTP GET %s: %d\n", path, status);
	free(path);
	if (status == 404 || body == NULL)
	{
		free(body);
		if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "WebSocket endpoint") != 0)
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	memset(c, 0, sizeof(*c));
	c->ctl.data = body;
	c->ctl.len = c->ctl.cap = len;
	c->pos = 0;
	if (lws_add_http_common_headers(wsi, (unsigned int) status, "application/json", len, &p, end) ||
		lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	sim_st.messages_in++;
	lws_callback_on_writable(wsi);
	return 0;
}

/*
 * sim_on_http_writeable
 *	  Write the next piece of an HTTP body; complete the transaction at its
 *	  end.
 */
static int
sim_on_http_writeable(struct lws *wsi, sim_conn *c)
{
	size_t		left = c->ctl.len - c->pos;
	size_t		n = left > 16384 ? 16384 : left;
	bool		last = n == left;

	if (sim_buf_reserve(&sim_out, LWS_PRE + n) != 0)
		return -1;
	memcpy(sim_out.data + LWS_PRE, c->ctl.data + c->pos, n);
	if (lws_write(wsi, (unsigned char *) sim_out.data + LWS_PRE, n,
				  last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int) n)
		return -1;
	c->pos += n;
	if (!last)
	{
		lws_callback_on_writable(wsi);
		return 0;
	}
	sim_buf_free(&c->ctl);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/*
 * sim_server_position
 *	  The stream position of the most advanced live connection (REST snapshots
 *	  are taken "now"), or the resume point when none is live.
 */
uint64_t
sim_server_position(void)
{
	uint64_t	pos = sim_resume;

	for (sim_conn *c = sim_live; c != NULL; c = c->next)
		if (c->pos > pos)
			pos = c->pos;
	return pos;
}

/*
 * sim_callback
 *	  The protocol callback: WebSocket events, REST depth, 404 for other HTTP.
 */
static int
sim_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			 void *in, size_t len)
{
	sim_conn   *c = user;

	switch (reason)
	{
		case LWS_CALLBACK_ESTABLISHED:
			return sim_on_established(wsi, c);
		case LWS_CALLBACK_RECEIVE:
			return sim_on_receive(wsi, c, in, len);
		case LWS_CALLBACK_SERVER_WRITEABLE:
			return sim_on_writeable(wsi, c);
		case LWS_CALLBACK_CLOSED:
			if (c != NULL && c->established)
				sim_on_closed(c);
			return 0;
		case LWS_CALLBACK_HTTP:
			return sim_on_http(wsi, c);
		case LWS_CALLBACK_HTTP_WRITEABLE:
			return sim_on_http_writeable(wsi, c);
		case LWS_CALLBACK_CLOSED_HTTP:
			if (c != NULL)
				sim_buf_free(&c->ctl);
			return 0;
		default:
			break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols sim_protocols[] = {
	{
		.name = "exchange-sim",
		.callback = sim_callback,
		.per_session_data_size = sizeof(sim_conn),
		.rx_buffer_size = 0,
		.tx_packet_size = 4 * SIM_BATCH_BYTES,
	},
	{NULL, NULL, 0, 0, 0, NULL, 0}
};

/*
 * sim_server_finished
 *	  Whether the run is over: end of data reached and every client gone.
 */
bool
sim_server_finished(void)
{
	return sim_ended && !sim_cfg.hold && sim_live == NULL;
}

/*
 * sim_server_shutdown
 *	  Release the batch buffer (after lws_context_destroy).
 */
void
sim_server_shutdown(void)
{
	sim_buf_free(&sim_out);
}
