/*
 * fmt_kraken.c
 *	  Kraken spot WebSocket v1 and v2.
 *
 * v1 (ws.kraken.com): {"event":"systemStatus",...} on connect;
 * {"event":"subscribe","pair":[..],"subscription":{"name":"trade"}} is
 * answered with one {"event":"subscriptionStatus","status":"subscribed"}
 * per pair; {"event":"heartbeat"} when the connection has been quiet for a
 * heartbeat period; trades are arrays
 * [channelID,[[price,volume,"sec.usec",side,orderType,misc],..],"trade",pair]
 * with side = the TAKER's side ("b"/"s").  A pair's channelID is the one the
 * capture used, if any, so replayed frames and acks agree.
 *
 * v2 (ws.kraken.com/v2): {"channel":"status",...} on connect;
 * {"method":"subscribe","params":{"channel":"trade","symbol":[..]}} is
 * answered per symbol with {"method":"subscribe","result":{..},
 * "success":true,...} and, when simulating, a trade snapshot; trades are
 * {"channel":"trade","type":"update","data":[{symbol,side,price,qty,
 * ord_type,trade_id,timestamp}]} with JSON-number prices, taker side.
 *
 * Invariants: pairs must look like BASE/QUOTE; acks keep the exchange's
 * (alphabetical) key order; connection ids are unsigned 64-bit numbers.
 */
#include "exchange_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * sim_kr_symbol_defaults
 *	  v1 prints 5 price decimals for large prices, 8 otherwise.
 */
static void
sim_kr_symbol_defaults(sim_symbol *s)
{
	if (strstr(s->name, "XBT") != NULL || strstr(s->name, "BTC") != NULL)
		s->tick = SIM_SCALE / 10;
	s->price_dec = s->price >= 1000 * SIM_SCALE ? 5 : 8;
	s->qty_lot = 1;
}

/*
 * sim_kr_pair_ok
 *	  Whether a pair looks like BASE/QUOTE.
 */
static bool
sim_kr_pair_ok(const cJSON *p)
{
	return cJSON_IsString(p) && strchr(p->valuestring, '/') != NULL &&
		strlen(p->valuestring) < 32;
}

/*
 * sim_kr_add_reqid
 *	  Add a copy of reqid / req_id (when the client sent one) to r.
 */
static bool
sim_kr_add_reqid(cJSON *r, const char *key, const cJSON *reqid)
{
	return reqid == NULL || cJSON_AddItemToObject(r, key, cJSON_Duplicate(reqid, true));
}

/*
 * sim_kr_greeting
 *	  Queue {"event":"systemStatus"} or the v2 status message with an id.
 */
static int
sim_kr_greeting(sim_conn *c, bool v2)
{
	char		buf[256];
	char	   *p = buf;
	uint64_t	st = sim_cfg.seed ^ (c->id * 0x2545F4914F6CDD1DULL);

	if (!v2)
	{
		p = sim_put_str(p, "{\"connectionID\":");
		p = sim_put_u64(p, sim_rand(&st));
		p = sim_put_str(p, ",\"event\":\"systemStatus\",\"status\":\"online\",\"version\":\"1.9.1\"}");
	}
	else
	{
		p = sim_put_str(p, "{\"channel\":\"status\",\"data\":[{\"api_version\":\"v2\",\"connection_id\":");
		p = sim_put_u64(p, sim_rand(&st));
		p = sim_put_str(p, ",\"system\":\"online\",\"version\":\"2.0.10\"}],\"type\":\"update\"}");
	}
	return sim_conn_send(c, buf, (size_t) (p - buf), 0);
}

/*
 * sim_kr_connect
 *	  v1 connect: systemStatus.
 */
static int
sim_kr_connect(sim_conn *c, const char *path)
{
	(void) path;
	return sim_kr_greeting(c, false);
}

/*
 * sim_kr2_connect
 *	  v2 connect: status.
 */
static int
sim_kr2_connect(sim_conn *c, const char *path)
{
	(void) path;
	return sim_kr_greeting(c, true);
}

/*
 * sim_kr_error
 *	  v1 error: {"errorMessage":..,"event":event[,"pair":..],"status":"error"}.
 */
static int
sim_kr_error(sim_conn *c, const char *event, const char *message,
			 const char *pair, const cJSON *reqid)
{
	cJSON	   *r = cJSON_CreateObject();

	sim_st.bad_messages++;
	if (r == NULL || !cJSON_AddStringToObject(r, "errorMessage", message) ||
		!cJSON_AddStringToObject(r, "event", event) ||
		(pair != NULL && !cJSON_AddStringToObject(r, "pair", pair)) ||
		!sim_kr_add_reqid(r, "reqid", reqid) ||
		!cJSON_AddStringToObject(r, "status", "error"))
	{
		cJSON_Delete(r);
		return -1;
	}
	return sim_conn_send_json(c, r);
}

/*
 * sim_kr_status
 *	  v1 subscriptionStatus for one pair.
 */
static int
sim_kr_status(sim_conn *c, int id, const char *chan, const char *name,
			  const cJSON *reqid, bool on)
{
	cJSON	   *r = cJSON_CreateObject();
	cJSON	   *sub;

	if (r == NULL ||
		!cJSON_AddNumberToObject(r, "channelID", (double) sim_instr_channel(id)) ||
		!cJSON_AddStringToObject(r, "channelName", chan) ||
		!cJSON_AddStringToObject(r, "event", "subscriptionStatus") ||
		!cJSON_AddStringToObject(r, "pair", sim_instr_name(id)) ||
		!sim_kr_add_reqid(r, "reqid", reqid) ||
		!cJSON_AddStringToObject(r, "status", on ? "subscribed" : "unsubscribed") ||
		(sub = cJSON_AddObjectToObject(r, "subscription")) == NULL ||
		!cJSON_AddStringToObject(sub, "name", name))
	{
		cJSON_Delete(r);
		return -1;
	}
	return sim_conn_send_json(c, r);
}

/* v1 subscription names. */
static const char *const sim_kr_names[] = {"trade", "book", "ticker", "ohlc", "spread", "*"};

/* v2 channels. */
static const char *const sim_kr2_channels[] = {
	"trade", "ticker", "book", "ohlc", "instrument", "level3", "executions",
	"balances", "heartbeat", "status",
};

/*
 * sim_kr_message
 *	  v1 client message: ping, subscribe, unsubscribe.
 */
static int
sim_kr_message(sim_conn *c, const cJSON *msg)
{
	const char *event = sim_json_str(msg, "event");
	const cJSON *reqid = cJSON_GetObjectItemCaseSensitive(msg, "reqid");
	const cJSON *sub = cJSON_GetObjectItemCaseSensitive(msg, "subscription");
	const char *name = sim_json_str(sub, "name");
	const cJSON *pair;
	char		chan[32];
	char		err[96];
	bool		on;
	int			ok = 0;

	if (msg == NULL)
		return sim_kr_error(c, "error", "Malformed request", NULL, NULL);
	if (event != NULL && strcmp(event, "ping") == 0)
	{
		cJSON	   *r = cJSON_CreateObject();

		if (r == NULL || !cJSON_AddStringToObject(r, "event", "pong") ||
			!sim_kr_add_reqid(r, "reqid", reqid))
		{
			cJSON_Delete(r);
			return -1;
		}
		return sim_conn_send_json(c, r);
	}
	if (event == NULL || (strcmp(event, "subscribe") != 0 && strcmp(event, "unsubscribe") != 0))
		return sim_kr_error(c, "error", "Unsupported event", NULL, reqid);
	on = strcmp(event, "subscribe") == 0;
	if (!sim_str_in(name, sim_kr_names, SIM_LEN(sim_kr_names)))
		return sim_kr_error(c, "subscriptionStatus", "Subscription name invalid", NULL, reqid);
	if (sim_json_array_size(cJSON_GetObjectItemCaseSensitive(msg, "pair")) == 0)
		return sim_kr_error(c, "subscriptionStatus", "Pair field must be an array", NULL, reqid);
	if (strcmp(name, "book") == 0 || strcmp(name, "ohlc") == 0)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(sub, name[0] == 'b' ? "depth" : "interval");

		snprintf(chan, sizeof(chan), "%s-%d", name,
				 cJSON_IsNumber(n) ? n->valueint : name[0] == 'b' ? 10 : 1);
	}
	else
		snprintf(chan, sizeof(chan), "%s", name);
	cJSON_ArrayForEach(pair, cJSON_GetObjectItemCaseSensitive(msg, "pair"))
	{
		int			id;

		if (!sim_kr_pair_ok(pair) ||
			(id = sim_subscribe_instr(c, chan, pair->valuestring, on)) < 0)
		{
			snprintf(err, sizeof(err), "Currency pair not in ISO 4217-A3 format %.40s",
					 cJSON_IsString(pair) ? pair->valuestring : "");
			if (sim_kr_error(c, "subscriptionStatus", err,
							 cJSON_IsString(pair) ? pair->valuestring : NULL, reqid) != 0)
				return -1;
			continue;
		}
		if (on && sim_cfg.simulate && strcmp(name, "trade") == 0)
			(void) sim_market_ensure(pair->valuestring);	/* warns if it cannot */
		if (sim_kr_status(c, id, chan, name, reqid, on) != 0)
			return -1;
		/* a book resubscription while replaying: the book as replayed so far */
		if (on && !sim_cfg.simulate && strcmp(name, "book") == 0 && c->sent_stream > 0 &&
			sim_book_kraken_snapshot(c, id, atoi(chan + 5)) != 0)
			return -1;
		ok++;
	}
	if (ok > 0)
		sim_conn_activate(c);
	return 0;
}

/*
 * sim_kr_heartbeat_common
 *	  v1/v2 heartbeat after a quiet period, once subscribed.
 */
static int
sim_kr_heartbeat_common(sim_conn *c, int64_t idle_us, const char *text)
{
	if (!c->streaming || idle_us < c->hb_us - c->hb_us / 10)
		return 0;
	return sim_conn_send(c, text, strlen(text), 0);
}

/*
 * sim_kr_heartbeat
 *	  v1 heartbeat.
 */
static int
sim_kr_heartbeat(sim_conn *c, int64_t idle_us)
{
	return sim_kr_heartbeat_common(c, idle_us, "{\"event\":\"heartbeat\"}");
}

/*
 * sim_kr2_heartbeat
 *	  v2 heartbeat.
 */
static int
sim_kr2_heartbeat(sim_conn *c, int64_t idle_us)
{
	return sim_kr_heartbeat_common(c, idle_us, "{\"channel\":\"heartbeat\"}");
}

/*
 * sim_kr_describe
 *	  Captured v1 frame: pair (array tail or "pair"), channelID, trade count.
 */
static void
sim_kr_describe(const cJSON *root, int *keys, int *nkeys, int maxkeys,
				int *ntrades)
{
	int			n = sim_json_array_size(root);
	const cJSON *chan;
	int			before = *nkeys;

	*ntrades = 0;
	if (n >= 2)
	{
		const cJSON *last = cJSON_GetArrayItem(root, n - 1);
		const cJSON *kind = cJSON_GetArrayItem(root, n - 2);

		chan = cJSON_GetArrayItem(root, 0);
		if (cJSON_IsString(last) && *nkeys < maxkeys)
			keys[(*nkeys)++] = sim_instr_id(last->valuestring, strlen(last->valuestring));
		if (n >= 4 && cJSON_IsString(kind) && strcmp(kind->valuestring, "trade") == 0)
			*ntrades = sim_json_array_size(cJSON_GetArrayItem(root, 1));
	}
	else
	{
		sim_collect_keys(root, "pair", false, keys, nkeys, maxkeys);
		chan = cJSON_GetObjectItemCaseSensitive(root, "channelID");
	}
	if (*nkeys > before && keys[before] < 0)
		(*nkeys)--;
	else if (*nkeys > before && cJSON_IsNumber(chan))
		sim_instr_set_channel(keys[before], (int64_t) chan->valuedouble);
}

/*
 * sim_kr_render
 *	  Simulated v1 frame: one trade array with the frame's trades.
 */
static int
sim_kr_render(sim_conn *c, const sim_frame *f, char *out, size_t *lens, int max)
{
	const sim_symbol *s = sim_market_symbol(f->sym);
	char	   *p = out;

	(void) c;
	if (max < 1)
		return 0;
	*p++ = '[';
	p = sim_put_i64(p, sim_instr_channel(s->keys[0]));
	p = sim_put_str(p, ",[");
	for (int i = 0; i < f->n; i++)
	{
		const sim_trade *t = &f->t[i];

		p = sim_put_str(p, i ? ",[\"" : "[\"");
		p = sim_put_fixed(p, t->price, s->price_dec, false);
		p = sim_put_str(p, "\",\"");
		p = sim_put_fixed(p, t->qty, 8, false);
		p = sim_put_str(p, "\",\"");
		p = sim_put_epoch_us(p, t->ts_ns);
		p = sim_put_str(p, t->taker_buy ? "\",\"b\",\"" : "\",\"s\",\"");
		p = sim_put_str(p, t->market_order ? "m\",\"\"]" : "l\",\"\"]");
	}
	p = sim_put_str(p, "],\"trade\",\"");
	p = sim_put_str(p, s->name);
	p = sim_put_str(p, "\"]");
	lens[0] = (size_t) (p - out);
	return 1;
}

/* ---- v2 ------------------------------------------------------------------- */

/*
 * sim_kr2_trades
 *	  v2 trade objects (taker side, JSON numbers) of n trades.
 */
static char *
sim_kr2_trades(char *p, const sim_symbol *s, const sim_trade *t, int n)
{
	for (int i = 0; i < n; i++)
	{
		p = sim_put_str(p, i ? ",{\"symbol\":\"" : "{\"symbol\":\"");
		p = sim_put_str(p, s->name);
		p = sim_put_str(p, t[i].taker_buy ? "\",\"side\":\"buy\",\"price\":" : "\",\"side\":\"sell\",\"price\":");
		p = sim_put_fixed(p, t[i].price, 8, true);
		p = sim_put_str(p, ",\"qty\":");
		p = sim_put_fixed(p, t[i].qty, 8, true);
		p = sim_put_str(p, t[i].market_order ? ",\"ord_type\":\"market\",\"trade_id\":" : ",\"ord_type\":\"limit\",\"trade_id\":");
		p = sim_put_i64(p, t[i].id);
		p = sim_put_str(p, ",\"timestamp\":\"");
		p = sim_put_iso(p, t[i].ts_ns, 6, false);
		p = sim_put_str(p, "\"}");
	}
	return p;
}

/*
 * sim_kr2_trade_msg
 *	  {"channel":"trade","type":type,"data":[...]}
 */
static char *
sim_kr2_trade_msg(char *p, const char *type, const sim_symbol *s,
				  const sim_trade *t, int n)
{
	p = sim_put_str(p, "{\"channel\":\"trade\",\"type\":\"");
	p = sim_put_str(p, type);
	p = sim_put_str(p, "\",\"data\":[");
	p = sim_kr2_trades(p, s, t, n);
	return sim_put_str(p, "]}");
}

/*
 * sim_kr2_reply
 *	  A v2 response: method, req_id, then result or error, times.
 */
static int
sim_kr2_reply(sim_conn *c, const char *method, const cJSON *req_id,
			  cJSON *result, const char *error, const char *symbol)
{
	cJSON	   *r = cJSON_CreateObject();
	char		now[40];

	sim_now_iso(now, 6, false);
	if (error != NULL)
		sim_st.bad_messages++;
	if (r == NULL ||
		(error != NULL && !cJSON_AddStringToObject(r, "error", error)) ||
		!cJSON_AddStringToObject(r, "method", method) ||
		!sim_kr_add_reqid(r, "req_id", req_id) ||
		(result != NULL && !cJSON_AddItemToObject(r, "result", result)))
	{
		cJSON_Delete(result);
		cJSON_Delete(r);
		return -1;
	}
	if ((!cJSON_AddBoolToObject(r, "success", error == NULL)) ||
		(symbol != NULL && !cJSON_AddStringToObject(r, "symbol", symbol)) ||
		!cJSON_AddStringToObject(r, "time_in", now) ||
		!cJSON_AddStringToObject(r, "time_out", now))
	{
		cJSON_Delete(r);
		return -1;
	}
	return sim_conn_send_json(c, r);
}

/*
 * sim_kr2_symbol
 *	  v2 subscribe/unsubscribe of one symbol on a channel.
 */
static int
sim_kr2_symbol(sim_conn *c, const char *method, const char *channel,
			   const cJSON *sym, const cJSON *req_id, bool on, bool snapshot)
{
	cJSON	   *result;
	char		err[96];

	if (!sim_kr_pair_ok(sym) || sim_subscribe_instr(c, channel, sym->valuestring, on) < 0)
	{
		snprintf(err, sizeof(err), "Currency pair not supported %.40s",
				 cJSON_IsString(sym) ? sym->valuestring : "");
		return sim_kr2_reply(c, method, req_id, NULL, err,
							 cJSON_IsString(sym) ? sym->valuestring : NULL);
	}
	if ((result = cJSON_CreateObject()) == NULL ||
		!cJSON_AddStringToObject(result, "channel", channel) ||
		(on && !cJSON_AddBoolToObject(result, "snapshot", snapshot)) ||
		!cJSON_AddStringToObject(result, "symbol", sym->valuestring))
	{
		cJSON_Delete(result);
		return -1;
	}
	if (sim_kr2_reply(c, method, req_id, result, NULL, NULL) != 0)
		return -1;
	if (on && sim_cfg.simulate && strcmp(channel, "trade") == 0)
	{
		const sim_symbol *s = sim_market_symbol(sim_market_ensure(sym->valuestring));
		char		buf[SIM_MAX_RENDER];

		if (s != NULL && snapshot)
		{
			int			n = s->has_last ? 1 : 0;

			if (sim_conn_send(c, buf, (size_t) (sim_kr2_trade_msg(buf, "snapshot", s, &s->last, n) - buf), n) != 0)
				return -1;
		}
	}
	return 0;
}

/*
 * sim_kr2_message
 *	  v2 client message: ping, subscribe, unsubscribe.
 */
static int
sim_kr2_message(sim_conn *c, const cJSON *msg)
{
	const char *method = sim_json_str(msg, "method");
	const cJSON *req_id = cJSON_GetObjectItemCaseSensitive(msg, "req_id");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
	const char *channel = sim_json_str(params, "channel");
	const cJSON *snap = cJSON_GetObjectItemCaseSensitive(params, "snapshot");
	const cJSON *sym;
	bool		on;
	char		err[96];

	if (msg == NULL)
		return sim_kr2_reply(c, "", NULL, NULL, "Malformed request", NULL);
	if (method != NULL && strcmp(method, "ping") == 0)
		return sim_kr2_reply(c, "pong", req_id, NULL, NULL, NULL);
	if (method == NULL || (strcmp(method, "subscribe") != 0 && strcmp(method, "unsubscribe") != 0))
		return sim_kr2_reply(c, method ? method : "", req_id, NULL, "Method not supported", NULL);
	on = strcmp(method, "subscribe") == 0;
	if (!sim_str_in(channel, sim_kr2_channels, SIM_LEN(sim_kr2_channels)))
	{
		snprintf(err, sizeof(err), "Channel %.40s not found", channel ? channel : "");
		return sim_kr2_reply(c, method, req_id, NULL, err, NULL);
	}
	if (strcmp(channel, "heartbeat") == 0 || strcmp(channel, "status") == 0 ||
		strcmp(channel, "instrument") == 0)
	{
		cJSON	   *result = cJSON_CreateObject();

		if (sim_conn_subscribe(c, channel, -1, on) != 0 || result == NULL ||
			!cJSON_AddStringToObject(result, "channel", channel))
		{
			cJSON_Delete(result);
			return -1;
		}
		if (sim_kr2_reply(c, method, req_id, result, NULL, NULL) != 0)
			return -1;
	}
	else if (sim_json_array_size(cJSON_GetObjectItemCaseSensitive(params, "symbol")) == 0)
		return sim_kr2_reply(c, method, req_id, NULL, "Missing field symbol", NULL);
	else
		cJSON_ArrayForEach(sym, cJSON_GetObjectItemCaseSensitive(params, "symbol"))
	{
		if (sim_kr2_symbol(c, method, channel, sym, req_id, on,
						   !cJSON_IsFalse(snap)) != 0)
			return -1;
	}
	sim_conn_activate(c);
	return 0;
}

/*
 * sim_kr2_describe
 *	  Captured v2 frame: "symbol" at any depth; trade channel data count.
 */
static void
sim_kr2_describe(const cJSON *root, int *keys, int *nkeys, int maxkeys,
				 int *ntrades)
{
	const char *channel = sim_json_str(root, "channel");

	sim_collect_keys(root, "symbol", true, keys, nkeys, maxkeys);
	*ntrades = channel != NULL && strcmp(channel, "trade") == 0 ?
		sim_json_array_size(cJSON_GetObjectItemCaseSensitive(root, "data")) : 0;
}

/*
 * sim_kr2_render
 *	  Simulated v2 frame: one trade update.
 */
static int
sim_kr2_render(sim_conn *c, const sim_frame *f, char *out, size_t *lens, int max)
{
	(void) c;
	if (max < 1)
		return 0;
	lens[0] = (size_t) (sim_kr2_trade_msg(out, "update", sim_market_symbol(f->sym),
										  f->t, f->n) - out);
	return 1;
}

const sim_format sim_fmt_kraken = {
	.name = "kraken",
	.default_symbols = "XBT/USD,ETH/USD",
	.needs_subscribe = true,
	.batches = true,
	.heartbeat_ms = 1000,
	.symbol_keys = sim_symbol_keys_same,
	.symbol_defaults = sim_kr_symbol_defaults,
	.on_connect = sim_kr_connect,
	.on_message = sim_kr_message,
	.on_heartbeat = sim_kr_heartbeat,
	.describe = sim_kr_describe,
	.render = sim_kr_render,
};

const sim_format sim_fmt_kraken_v2 = {
	.name = "kraken-v2",
	.default_symbols = "BTC/USD,ETH/USD",
	.needs_subscribe = true,
	.batches = true,
	.heartbeat_ms = 1000,
	.symbol_keys = sim_symbol_keys_same,
	.symbol_defaults = sim_kr_symbol_defaults,
	.on_connect = sim_kr2_connect,
	.on_message = sim_kr2_message,
	.on_heartbeat = sim_kr2_heartbeat,
	.describe = sim_kr2_describe,
	.render = sim_kr2_render,
};
