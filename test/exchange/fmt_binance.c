/*
 * fmt_binance.c
 *	  Binance spot combined streams.
 *
 * Clients connect to /stream?streams=btcusdt@trade/ethusdt@aggTrade or
 * send {"method":"SUBSCRIBE","params":[...],"id":N}; the answer is
 * {"result":null,"id":N}.  Every data frame is the combined-stream
 * envelope {"stream":"btcusdt@trade","data":{...}}; the instrument key is
 * the stream name, so replay filtering is by exact stream name.
 *
 * Simulated wire format (FORMATS.md): trade payload keys e,E,s,t,p,q,T,m,M;
 * aggTrade e,E,s,a,p,q,f,l,T,m,M; prices and quantities as 8-decimal
 * strings; E/T in milliseconds; m = buyer is the maker, i.e. the taker sold.
 *
 * Unless --require-subscribe is given, a connection whose URL names no
 * stream gets every frame, unfiltered, from the start (until it sends a
 * SUBSCRIBE); the real exchange would send nothing.
 *
 * Invariants: one trade per frame; a simulated trade goes out once per
 * subscribed stream kind (trade and/or aggTrade) of its symbol.
 */
#include "exchange_sim.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char *const sim_bn_kinds[2] = {"@trade", "@aggTrade"};

/*
 * sim_bn_symbol_keys
 *	  Subscription keys of a symbol: "btcusdt@trade" and "btcusdt@aggTrade".
 */
static void
sim_bn_symbol_keys(const char *symbol, char keys[2][64])
{
	for (int k = 0; k < 2; k++)
	{
		size_t		i;

		for (i = 0; symbol[i] != '\0' && i < 40; i++)
			keys[k][i] = (char) tolower((unsigned char) symbol[i]);
		strcpy(keys[k] + i, sim_bn_kinds[k]);
	}
}

/*
 * sim_bn_symbol_defaults
 *	  Binance prints prices and quantities with 8 decimals.
 */
static void
sim_bn_symbol_defaults(sim_symbol *s)
{
	s->price_dec = 8;
	s->qty_dec = 8;
}

/*
 * sim_bn_stream
 *	  Subscribe one stream name; in simulate mode make sure its symbol trades.
 */
static int
sim_bn_stream(sim_conn *c, const char *stream, size_t len, bool on)
{
	char		name[64];
	const char *at;

	if (len == 0 || len >= sizeof(name))
		return -1;
	memcpy(name, stream, len);
	name[len] = '\0';
	if (sim_subscribe_instr(c, "", name, on) < 0)
		return -1;
	at = strchr(name, '@');
	if (on && sim_cfg.simulate && at != NULL &&
		(strcmp(at, "@trade") == 0 || strcmp(at, "@aggTrade") == 0))
	{
		char		symbol[64];
		size_t		n = (size_t) (at - name);

		for (size_t i = 0; i < n; i++)
			symbol[i] = (char) toupper((unsigned char) name[i]);
		symbol[n] = '\0';
		(void) sim_market_ensure(symbol);	/* warns if it cannot */
	}
	return 0;
}

/*
 * sim_bn_connect
 *	  /stream?streams=a/b: subscribe the listed streams.
 */
static int
sim_bn_connect(sim_conn *c, const char *path)
{
	const char *q = strchr(path, '?');
	const char *p;
	int			n = 0;

	if (strncmp(path, "/stream", 7) != 0 || q == NULL)
		return 0;
	for (p = q + 1; *p != '\0';)
	{
		const char *amp = strchr(p, '&');
		const char *end = amp ? amp : p + strlen(p);

		if (strncmp(p, "streams=", 8) == 0)
		{
			const char *s = p + 8;

			while (s < end)
			{
				const char *slash = memchr(s, '/', (size_t) (end - s));
				const char *e = slash ? slash : end;

				if (e > s && sim_bn_stream(c, s, (size_t) (e - s), true) == 0)
					n++;
				s = e + 1;
			}
		}
		p = amp ? amp + 1 : end;
	}
	if (n > 0)
		sim_conn_activate(c);
	return 0;
}

/*
 * sim_bn_error
 *	  {"code":N,"msg":"...","id":ID}: Binance's documented error shape.
 */
static int
sim_bn_error(sim_conn *c, int code, const char *msg, const cJSON *id)
{
	cJSON	   *r = cJSON_CreateObject();

	sim_st.bad_messages++;
	if (r == NULL || !cJSON_AddNumberToObject(r, "code", code) ||
		!cJSON_AddStringToObject(r, "msg", msg) ||
		!cJSON_AddItemToObject(r, "id", id ? cJSON_Duplicate(id, true) : cJSON_CreateNull()))
	{
		cJSON_Delete(r);
		return -1;
	}
	return sim_conn_send_json(c, r);
}

/*
 * sim_bn_message
 *	  SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY /
 *	  GET_PROPERTY.
 */
static int
sim_bn_message(sim_conn *c, const cJSON *msg)
{
	const char *method = sim_json_str(msg, "method");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
	const cJSON *p;
	cJSON	   *r;
	cJSON	   *result;
	bool		on;

	if (msg == NULL)
		return sim_bn_error(c, 3, "Invalid JSON: expected value at line 1 column 1", NULL);
	if (method == NULL)
		return sim_bn_error(c, 2, "Invalid request: missing field `method`", id);
	if (!cJSON_IsNumber(id) && !cJSON_IsString(id))
		return sim_bn_error(c, 2, "Invalid request: missing field `id`", NULL);
	on = strcmp(method, "SUBSCRIBE") == 0;
	if (on || strcmp(method, "UNSUBSCRIBE") == 0)
	{
		if (!cJSON_IsArray(params))
			return sim_bn_error(c, 2, "Invalid request: missing field `params`", id);
		cJSON_ArrayForEach(p, params)
		{
			if (!cJSON_IsString(p) ||
				sim_bn_stream(c, p->valuestring, strlen(p->valuestring), on) != 0)
				return sim_bn_error(c, 2, "Invalid request: invalid stream name", id);
		}
		result = cJSON_CreateNull();
	}
	else if (strcmp(method, "LIST_SUBSCRIPTIONS") == 0)
	{
		sim_channel *ch = sim_conn_channel(c, "", false);

		result = ch ? sim_json_ids(ch) : cJSON_CreateArray();
	}
	else if (strcmp(method, "SET_PROPERTY") == 0)
		result = cJSON_CreateNull();
	else if (strcmp(method, "GET_PROPERTY") == 0)
		result = cJSON_CreateFalse();
	else
		return sim_bn_error(c, 2, "Invalid request: unknown variant, expected one of "
							"`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, "
							"`SET_PROPERTY`, `GET_PROPERTY`", id);
	r = cJSON_CreateObject();
	if (r == NULL || result == NULL || !cJSON_AddItemToObject(r, "result", result))
	{
		cJSON_Delete(result);
		cJSON_Delete(r);
		return -1;
	}
	if (!cJSON_AddItemToObject(r, "id", cJSON_Duplicate(id, true)))
	{
		cJSON_Delete(r);
		return -1;
	}
	if (sim_conn_send_json(c, r) != 0)
		return -1;
	if (on)
		sim_conn_activate(c);
	return 0;
}

/*
 * sim_bn_describe
 *	  Captured frame: key = "stream"; one trade for trade/aggTrade events.
 */
static void
sim_bn_describe(const cJSON *root, int *keys, int *nkeys, int maxkeys,
				int *ntrades)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
	const char *e = sim_json_str(data, "e");

	sim_collect_keys(root, "stream", false, keys, nkeys, maxkeys);
	*ntrades = e != NULL && (strcmp(e, "trade") == 0 || strcmp(e, "aggTrade") == 0);
}

/*
 * sim_bn_frame
 *	  One trade or aggTrade combined-stream frame.
 */
static char *
sim_bn_frame(char *p, const char *stream, const char *symbol, int kind,
			 const sim_trade *t, int price_dec, int qty_dec)
{
	int64_t		ms = t->ts_ns / 1000000;

	p = sim_put_str(p, "{\"stream\":\"");
	p = sim_put_str(p, stream);
	p = sim_put_str(p, kind == 0 ? "\",\"data\":{\"e\":\"trade\",\"E\":"
					: "\",\"data\":{\"e\":\"aggTrade\",\"E\":");
	p = sim_put_i64(p, ms);
	p = sim_put_str(p, ",\"s\":\"");
	p = sim_put_str(p, symbol);
	p = sim_put_str(p, kind == 0 ? "\",\"t\":" : "\",\"a\":");
	p = sim_put_i64(p, t->id);
	p = sim_put_str(p, ",\"p\":\"");
	p = sim_put_fixed(p, t->price, price_dec, false);
	p = sim_put_str(p, "\",\"q\":\"");
	p = sim_put_fixed(p, t->qty, qty_dec, false);
	p = sim_put_str(p, "\",");
	if (kind == 1)
	{
		p = sim_put_str(p, "\"f\":");
		p = sim_put_i64(p, t->id);
		p = sim_put_str(p, ",\"l\":");
		p = sim_put_i64(p, t->id);
		p = sim_put_str(p, ",");
	}
	p = sim_put_str(p, "\"T\":");
	p = sim_put_i64(p, ms);
	/* buyer is the maker exactly when the taker sold */
	p = sim_put_str(p, t->taker_buy ? ",\"m\":false,\"M\":true}}" : ",\"m\":true,\"M\":true}}");
	return p;
}

/*
 * sim_bn_render
 *	  Simulated frame: one wire frame per subscribed stream kind.
 */
static int
sim_bn_render(sim_conn *c, const sim_frame *f, char *out, size_t *lens, int max)
{
	const sim_symbol *s = sim_market_symbol(f->sym);
	int			n = 0;

	for (int kind = 0; kind < 2 && n < max; kind++)
	{
		char	   *end;

		if (s->keys[kind] < 0 ||
			(c->filtering ? !sim_conn_has(c, s->keys[kind]) : kind != 0))
			continue;
		end = sim_bn_frame(out, sim_instr_name(s->keys[kind]), s->name, kind,
						   &f->t[0], s->price_dec, s->qty_dec);
		lens[n++] = (size_t) (end - out);
		out = end;
	}
	return n;
}

const sim_format sim_fmt_binance = {
	.name = "binance",
	.default_symbols = "BTCUSDT,ETHUSDT",
	.needs_subscribe = false,
	.batches = false,
	.heartbeat_ms = 0,
	.symbol_keys = sim_bn_symbol_keys,
	.symbol_defaults = sim_bn_symbol_defaults,
	.on_connect = sim_bn_connect,
	.on_message = sim_bn_message,
	.on_heartbeat = NULL,
	.describe = sim_bn_describe,
	.render = sim_bn_render,
};
