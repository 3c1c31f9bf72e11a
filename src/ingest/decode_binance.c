/*
 * decode_binance.c
 *	  Binance trade / aggTrade frames and subscriptions.
 *
 * Frames: combined-stream envelope {"stream":"btcusdt@trade","data":{...}}
 * or a raw single stream (the payload itself).  Spot, USD-M and COIN-M
 * futures share the payload keys we need:
 *   trade    : s symbol, t trade id, p price, q qty, T trade time (ms), m
 *   aggTrade : s, a aggregate id, p, q, T, m
 * m = "buyer is the market maker" => m:true means the taker SOLD.
 * Futures "X" (MARKET / INSURANCE_FUND / ADL / NA) is not filtered.
 * Every other event (depthUpdate, bookTicker, kline, ...) and subscribe
 * replies {"result":null,"id":1} are TD_CONTROL; {"error":{...}} replies are
 * TD_ERROR ("exchange error: ...").
 *
 * Invariants: keys are matched case-sensitively (t/T, m/M, e/E differ);
 * all field reading goes through the shared td_read_* helpers.
 */
#define TD_DECODE_INTERNAL
#include "ingest/decode.h"

#include <string.h>

/*
 * td_binance_stream_is
 *	  True if the stream name (e.g. "btcusdt@aggTrade") has the given suffix.
 */
static bool
td_binance_stream_is(const char *stream, const char *suffix)
{
	const char *at = stream ? strrchr(stream, '@') : NULL;

	return at != NULL && strcmp(at + 1, suffix) == 0;
}

/*
 * td_binance_trade
 *	  Decode the payload of one trade / aggTrade event.
 */
static td_kind
td_binance_trade(td_ctx *c, const cJSON *d, bool agg)
{
	td_trade	t = {0};

	c->index = 0;
	if (!tsk_td_set_instrument(c, &t, tsk_td_get(d, "s"), "s") ||
		!tsk_td_read_id(c, tsk_td_get(d, agg ? "a" : "t"), agg ? "a" : "t",
					&t.trade_id, &t.id_derived) ||
		!tsk_td_read_number(c, tsk_td_get(d, "p"), "p", TD_NUM_POSITIVE, &t.price) ||
		!tsk_td_read_number(c, tsk_td_get(d, "q"), "q", TD_NUM_NONNEG, &t.qty) ||
		!tsk_td_read_ts(c, tsk_td_get(d, "T"), "T", TD_TS_MS, &t.ts_us))
		return TD_ERROR;
	if (!cJSON_IsBool(tsk_td_get(d, "m")))
		return tsk_td_fail(c, "field \"m\": expected a boolean");
	if (!tsk_td_read_side(c, tsk_td_get(d, "m"), "m", TD_SIDE_MAKER, &t.side))
		return TD_ERROR;
	tsk_td_emit(c, &t);
	return TD_TRADES;
}

/*
 * tsk_td_decode_binance
 *	  Entry point: classify a Binance frame and decode trade events.
 */
td_kind
tsk_td_decode_binance(td_ctx *c, const cJSON *root)
{
	static const char *const err_keys[] = {"msg", NULL};
	const cJSON *data;
	const cJSON *e;
	const char *stream;

	if (!cJSON_IsObject(root))
		return tsk_td_fail(c, "expected a JSON object, got %s",
					   cJSON_IsArray(root) ? "an array" : "a scalar");
	stream = tsk_td_get_string(root, "stream");
	data = tsk_td_get(root, "data");
	if (data == NULL)
	{
		if (cJSON_IsObject(tsk_td_get(root, "error")))
			return tsk_td_exchange_error(c, tsk_td_get(root, "error"), err_keys);
		if (tsk_td_get(root, "id") != NULL && tsk_td_get(root, "result") != NULL)
			return tsk_td_control(c, "response");
		if (tsk_td_get(root, "e") == NULL && tsk_td_get(root, "u") == NULL)
			return tsk_td_fail(c, "unrecognised frame: no \"stream\"/\"data\" or \"e\"");
		data = root;			/* raw (non-combined) stream */
	}
	if (cJSON_IsArray(data))
		return tsk_td_control(c, stream ? stream : "array payload");
	if (!cJSON_IsObject(data))
		return tsk_td_fail(c, "field \"data\": expected an object");

	e = tsk_td_get(data, "e");
	if (e == NULL)
	{
		/* spot bookTicker has no "e"; a trade stream must have one */
		if (td_binance_stream_is(stream, "trade") || td_binance_stream_is(stream, "aggTrade"))
			return tsk_td_fail(c, "field \"e\": missing in trade stream");
		return tsk_td_control(c, stream ? stream : "bookTicker");
	}
	if (!cJSON_IsString(e) || e->valuestring == NULL)
		return tsk_td_fail(c, "field \"e\": expected a string");
	if (strcmp(e->valuestring, "trade") == 0)
		return td_binance_trade(c, data, false);
	if (strcmp(e->valuestring, "aggTrade") == 0)
		return td_binance_trade(c, data, true);
	return tsk_td_control(c, e->valuestring);
}

/*
 * td_binance_suffix
 *	  Stream-name suffix of a Binance feed, or NULL.
 */
static const char *
td_binance_suffix(td_feed feed)
{
	return feed == TD_FEED_BINANCE_TRADE ? "@trade"
		: feed == TD_FEED_BINANCE_AGGTRADE ? "@aggTrade" : NULL;
}

/*
 * tsk_td_subscribe_binance
 *	  {"method":"SUBSCRIBE","params":["btcusdt@trade",...],"id":1}
 */
int
tsk_td_subscribe_binance(td_feed feed, const char *const *ins, int n, td_outbuf *ob)
{
	const char *suffix = td_binance_suffix(feed);
	cJSON	   *msg = cJSON_CreateObject();
	cJSON	   *params = suffix ? tsk_td_string_array(ins, n, true, suffix) : NULL;

	if (msg == NULL || params == NULL)
	{
		cJSON_Delete(msg);
		cJSON_Delete(params);
		return -1;
	}
	cJSON_AddStringToObject(msg, "method", "SUBSCRIBE");
	cJSON_AddItemToObject(msg, "params", params);
	cJSON_AddNumberToObject(msg, "id", 1);
	return tsk_td_out_json(ob, msg) ? 0 : -1;
}

/*
 * tsk_td_binance_stream_path
 *	  See decode.h: "/stream?streams=btcusdt@trade/ethusdt@trade".
 */
int
tsk_td_binance_stream_path(td_feed feed, const char *const *instruments, int n,
					   char *out, size_t outsz)
{
	td_outbuf	ob = {out, out ? outsz : 0, 0, 0};
	const char *suffix = td_binance_suffix(feed);
	cJSON	   *names = NULL;
	const cJSON *it;

	if (suffix == NULL || !tsk_td_symbols_ok(instruments, n, true) ||
		(names = tsk_td_string_array(instruments, n, true, suffix)) == NULL)
		ob.failed = 1;
	else
	{
		tsk_td_out_text(&ob, "/stream?streams=");
		cJSON_ArrayForEach(it, names)
		{
			if (it != names->child)
				tsk_td_out_text(&ob, "/");
			tsk_td_out_text(&ob, it->valuestring);
		}
	}
	cJSON_Delete(names);
	return tsk_td_out_finish(&ob);
}
