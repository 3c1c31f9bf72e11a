/*
 * fmt_finnhub.c
 *	  Finnhub trades WebSocket (wss://ws.finnhub.io?token=..).
 *
 * {"type":"subscribe","symbol":"AAPL"} subscribes one symbol and, as on
 * the real service, gets no answer; {"type":"unsubscribe",...} likewise.
 * The server sends {"type":"ping"} periodically.  Trades come batched:
 * {"data":[{"c":[..],"p":122.1,"s":"TSLA","t":1672348887195,"v":1},..],
 * "type":"trade"} with JSON-number price and volume, millisecond times,
 * no side and no trade id; "c" (conditions) is null for crypto symbols
 * such as BINANCE:BTCUSDT.
 *
 * Invariants: the access token in the URL is ignored; stock volumes are
 * whole shares, crypto volumes fractional.
 */
#include "exchange_sim.h"

#include <stdio.h>
#include <string.h>

/*
 * sim_fh_crypto
 *	  Whether a symbol is a crypto pair ("EXCHANGE:PAIR").
 */
static bool
sim_fh_crypto(const char *symbol)
{
	return strchr(symbol, ':') != NULL;
}

/*
 * sim_fh_symbol_defaults
 *	  Stocks trade whole shares around 100 per print.
 */
static void
sim_fh_symbol_defaults(sim_symbol *s)
{
	if (sim_fh_crypto(s->name))
		return;
	s->qty_lot = SIM_SCALE;
	s->qty_mean = 100 * SIM_SCALE;
	if (strcmp(s->name, "AAPL") == 0 || strcmp(s->name, "TSLA") == 0)
		s->price = 190 * SIM_SCALE;
}

/*
 * sim_fh_error
 *	  {"type":"error","msg":..}; counts a bad message.
 */
static int
sim_fh_error(sim_conn *c, const char *text)
{
	cJSON	   *r = cJSON_CreateObject();

	sim_st.bad_messages++;
	if (r == NULL || !cJSON_AddStringToObject(r, "type", "error") ||
		!cJSON_AddStringToObject(r, "msg", text))
	{
		cJSON_Delete(r);
		return -1;
	}
	return sim_conn_send_json(c, r);
}

/*
 * sim_fh_message
 *	  subscribe / unsubscribe one symbol; no acknowledgement.
 */
static int
sim_fh_message(sim_conn *c, const cJSON *msg)
{
	const char *type = sim_json_str(msg, "type");
	const char *symbol = sim_json_str(msg, "symbol");
	bool		on;

	if (msg == NULL || type == NULL)
		return sim_fh_error(c, "Invalid message");
	if (strcmp(type, "subscribe") != 0 && strcmp(type, "unsubscribe") != 0)
		return sim_fh_error(c, "Invalid message type");
	on = type[0] == 's';
	if (symbol == NULL || sim_subscribe_instr(c, "trade", symbol, on) < 0)
		return sim_fh_error(c, "Invalid symbol");
	if (on && sim_cfg.simulate)
		(void) sim_market_ensure(symbol);	/* warns if it cannot */
	sim_conn_activate(c);
	return 0;
}

/*
 * sim_fh_heartbeat
 *	  Periodic {"type":"ping"}.
 */
static int
sim_fh_heartbeat(sim_conn *c, int64_t idle_us)
{
	static const char sim_ping[] = "{\"type\":\"ping\"}";

	(void) idle_us;
	return sim_conn_send(c, sim_ping, sizeof(sim_ping) - 1, 0);
}

/*
 * sim_fh_describe
 *	  Captured frame: data[].s; a "trade" frame carries len(data) trades.
 */
static void
sim_fh_describe(const cJSON *root, int *keys, int *nkeys, int maxkeys,
				int *ntrades)
{
	const char *type = sim_json_str(root, "type");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
	const cJSON *d;

	cJSON_ArrayForEach(d, data)
		sim_collect_keys(d, "s", false, keys, nkeys, maxkeys);
	*ntrades = type != NULL && strcmp(type, "trade") == 0 ? sim_json_array_size(data) : 0;
}

/*
 * sim_fh_render
 *	  Simulated frame: one trade message with the frame's trades.
 */
static int
sim_fh_render(sim_conn *c, const sim_frame *f, char *out, size_t *lens, int max)
{
	const sim_symbol *s = sim_market_symbol(f->sym);
	bool		crypto = sim_fh_crypto(s->name);
	char	   *p = out;

	(void) c;
	if (max < 1)
		return 0;
	p = sim_put_str(p, "{\"data\":[");
	for (int i = 0; i < f->n; i++)
	{
		const sim_trade *t = &f->t[i];

		p = sim_put_str(p, i ? ",{\"c\":" : "{\"c\":");
		p = sim_put_str(p, crypto ? "null" : "[\"1\",\"12\"]");
		p = sim_put_str(p, ",\"p\":");
		p = sim_put_fixed(p, t->price, 8, true);
		p = sim_put_str(p, ",\"s\":\"");
		p = sim_put_str(p, s->name);
		p = sim_put_str(p, "\",\"t\":");
		p = sim_put_i64(p, t->ts_ns / 1000000);
		p = sim_put_str(p, ",\"v\":");
		p = sim_put_fixed(p, t->qty, 8, true);
		*p++ = '}';
	}
	p = sim_put_str(p, "],\"type\":\"trade\"}");
	lens[0] = (size_t) (p - out);
	return 1;
}

const sim_format sim_fmt_finnhub = {
	.name = "finnhub",
	.default_symbols = "AAPL,TSLA",
	.needs_subscribe = true,
	.batches = true,
	.heartbeat_ms = 5000,
	.symbol_keys = sim_symbol_keys_same,
	.symbol_defaults = sim_fh_symbol_defaults,
	.on_connect = NULL,
	.on_message = sim_fh_message,
	.on_heartbeat = sim_fh_heartbeat,
	.describe = sim_fh_describe,
	.render = sim_fh_render,
};
