/*
 * decode_finnhub.c
 *	  Finnhub trade frames and subscriptions.
 *
 * Frame: {"type":"trade","data":[{"s":"TSLA","p":122.1,"t":1672348887195,
 *         "v":1,"c":["1","8"]}, ...]}   (t in ms, p/v numbers, c ignored)
 * Finnhub sends no side (side = 0) and no trade id: the id is derived from
 * (s, t, p, v, index in frame), so replays dedupe and identical prints in
 * one frame stay distinct.  Volume 0 is accepted (Finnhub emits such prints).
 * {"type":"ping"} and other types (e.g. "news") are TD_CONTROL; {"type":
 * "error","msg":...} is TD_ERROR.
 */
#define TD_DECODE_INTERNAL
#include "ingest/decode.h"

#include <string.h>

/*
 * td_finnhub_trade
 *	  One element of data[].
 */
static bool
td_finnhub_trade(td_ctx *c, const cJSON *o)
{
	td_trade	t = {0};
	td_hash		h;

	if (!cJSON_IsObject(o))
		return tsk_td_reject(c, "expected a trade object");
	if (!tsk_td_set_instrument(c, &t, tsk_td_get(o, "s"), "s") ||
		!tsk_td_read_number(c, tsk_td_get(o, "p"), "p", TD_NUM_POSITIVE, &t.price) ||
		!tsk_td_read_number(c, tsk_td_get(o, "v"), "v", TD_NUM_NONNEG, &t.qty) ||
		!tsk_td_read_ts(c, tsk_td_get(o, "t"), "t", TD_TS_MS, &t.ts_us))
		return false;
	tsk_td_hash_init(&h, "finnhub");
	tsk_td_hash_item(&h, tsk_td_get(o, "s"));
	tsk_td_hash_item(&h, tsk_td_get(o, "t"));
	tsk_td_hash_item(&h, tsk_td_get(o, "p"));
	tsk_td_hash_item(&h, tsk_td_get(o, "v"));
	tsk_td_hash_i64(&h, c->index);
	t.trade_id = tsk_td_hash_final(&h);
	t.id_derived = 1;
	tsk_td_emit(c, &t);
	return true;
}

/*
 * tsk_td_decode_finnhub
 *	  Entry point: classify a Finnhub frame and decode trades.
 */
td_kind
tsk_td_decode_finnhub(td_ctx *c, const cJSON *root)
{
	static const char *const err_keys[] = {"msg", "message", NULL};
	const char *type;
	const cJSON *data;
	const cJSON *o;

	if (!cJSON_IsObject(root))
		return tsk_td_fail(c, "expected a JSON object");
	type = tsk_td_get_string(root, "type");
	if (type == NULL)
		return tsk_td_fail(c, "field \"type\": missing or not a string");
	if (strcmp(type, "error") == 0)
		return tsk_td_exchange_error(c, root, err_keys);
	if (strcmp(type, "trade") != 0)
		return tsk_td_control(c, type);
	data = tsk_td_get(root, "data");
	if (!tsk_td_check_array(c, data, "data"))
		return TD_ERROR;
	c->index = 0;
	cJSON_ArrayForEach(o, data)
	{
		if (!td_finnhub_trade(c, o))
			return TD_ERROR;
		c->index++;
	}
	return TD_TRADES;
}

/*
 * tsk_td_subscribe_finnhub
 *	  {"type":"subscribe","symbol":"AAPL"}, one line per symbol.
 */
int
tsk_td_subscribe_finnhub(const char *const *ins, int n, td_outbuf *ob)
{
	for (int i = 0; i < n; i++)
	{
		cJSON	   *msg = cJSON_CreateObject();

		if (msg == NULL ||
			cJSON_AddStringToObject(msg, "type", "subscribe") == NULL ||
			cJSON_AddStringToObject(msg, "symbol", ins[i]) == NULL)
		{
			cJSON_Delete(msg);
			return -1;
		}
		if (!tsk_td_out_json(ob, msg))
			return -1;
	}
	return 0;
}
