/*
 * decode_coinbase.c
 *	  Coinbase Exchange (legacy ws-feed) and Coinbase Advanced Trade trade
 *	  frames and subscriptions.
 *
 * Legacy:   {"type":"match"|"last_match","trade_id":280232,"side":"sell",
 *            "size":"985","price":"0.00001305","product_id":"SKL-BTC",
 *            "time":"2021-04-17T16:43:37.089723Z",...}
 * Advanced: {"channel":"market_trades","timestamp":..,"sequence_num":0,
 *            "events":[{"type":"snapshot"|"update","trades":[{"product_id",
 *            "trade_id":"1068572090","price","size","time","side":"SELL"}]}]}
 * Both carry the MAKER side ("sell" => the taker bought), so the side is
 * inverted.  One per-trade routine serves both (trade_id may be an integer or
 * a string; non-numeric strings get a derived id).  last_match and snapshot
 * events set res->snapshot.  Other channels/types are TD_CONTROL; {"type":
 * "error"} is TD_ERROR.  Any "client_id" or unknown key is ignored.
 */
#define TD_DECODE_INTERNAL
#include "ingest/decode.h"

#include <string.h>

/*
 * td_coinbase_trade
 *	  Decode one match / market_trades trade object.
 */
static bool
td_coinbase_trade(td_ctx *c, const cJSON *o)
{
	td_trade	t = {0};

	if (!cJSON_IsObject(o))
		return tsk_td_reject(c, "expected a trade object");
	if (!tsk_td_set_instrument(c, &t, tsk_td_get(o, "product_id"), "product_id") ||
		!tsk_td_read_id(c, tsk_td_get(o, "trade_id"), "trade_id", &t.trade_id, &t.id_derived) ||
		!tsk_td_read_number(c, tsk_td_get(o, "price"), "price", TD_NUM_POSITIVE, &t.price) ||
		!tsk_td_read_number(c, tsk_td_get(o, "size"), "size", TD_NUM_NONNEG, &t.qty) ||
		!tsk_td_read_ts(c, tsk_td_get(o, "time"), "time", TD_TS_RFC3339, &t.ts_us) ||
		!tsk_td_read_side(c, tsk_td_get(o, "side"), "side", TD_SIDE_MAKER, &t.side))
		return false;
	tsk_td_emit(c, &t);
	return true;
}

/*
 * td_coinbase_advanced
 *	  Advanced Trade envelope: only market_trades carries trades.
 */
static td_kind
td_coinbase_advanced(td_ctx *c, const cJSON *root, const char *channel)
{
	const cJSON *events = tsk_td_get(root, "events");
	const cJSON *ev;

	if (strcmp(channel, "market_trades") != 0)
		return tsk_td_control(c, channel);
	if (!tsk_td_check_array(c, events, "events"))
		return TD_ERROR;
	c->index = 0;
	cJSON_ArrayForEach(ev, events)
	{
		const cJSON *trades = tsk_td_get(ev, "trades");
		const cJSON *tr;
		const char *type = tsk_td_get_string(ev, "type");

		if (!cJSON_IsObject(ev))
			return tsk_td_fail(c, "field \"events\": expected objects");
		if (trades == NULL)
			continue;			/* an event without trades carries nothing */
		if (!tsk_td_check_array(c, trades, "trades"))
			return TD_ERROR;
		if (type != NULL && strcmp(type, "snapshot") == 0)
			c->res->snapshot = 1;
		cJSON_ArrayForEach(tr, trades)
		{
			if (!td_coinbase_trade(c, tr))
				return TD_ERROR;
			c->index++;
		}
	}
	return TD_TRADES;
}

/*
 * tsk_td_decode_coinbase
 *	  Entry point: classify a Coinbase frame and decode trades.
 */
td_kind
tsk_td_decode_coinbase(td_ctx *c, const cJSON *root)
{
	static const char *const err_keys[] = {"message", "reason", NULL};
	const cJSON *channel;
	const cJSON *type;

	if (!cJSON_IsObject(root))
		return tsk_td_fail(c, "expected a JSON object");
	channel = tsk_td_get(root, "channel");
	type = tsk_td_get(root, "type");
	if (channel != NULL)
	{
		if (!cJSON_IsString(channel) || channel->valuestring == NULL)
			return tsk_td_fail(c, "field \"channel\": expected a string");
		return td_coinbase_advanced(c, root, channel->valuestring);
	}
	if (!cJSON_IsString(type) || type->valuestring == NULL)
		return tsk_td_fail(c, "unrecognised frame: no \"type\" or \"channel\" string");
	if (strcmp(type->valuestring, "match") == 0 || strcmp(type->valuestring, "last_match") == 0)
	{
		c->index = 0;
		c->res->snapshot = type->valuestring[0] == 'l';
		return td_coinbase_trade(c, root) ? TD_TRADES : TD_ERROR;
	}
	if (strcmp(type->valuestring, "error") == 0)
		return tsk_td_exchange_error(c, root, err_keys);
	return tsk_td_control(c, type->valuestring);
}

/*
 * tsk_td_subscribe_coinbase
 *	  Legacy:   {"type":"subscribe","product_ids":[...],"channels":["matches"]}
 *	  Advanced: {"type":"subscribe","product_ids":[...],"channel":"market_trades"}
 *	            plus {"type":"subscribe","channel":"heartbeats"} on a second line.
 */
int
tsk_td_subscribe_coinbase(td_feed feed, const char *const *ins, int n, td_outbuf *ob)
{
	cJSON	   *msg = cJSON_CreateObject();
	cJSON	   *ids = tsk_td_string_array(ins, n, false, NULL);
	cJSON	   *hb;

	if (msg == NULL || ids == NULL)
	{
		cJSON_Delete(msg);
		cJSON_Delete(ids);
		return -1;
	}
	cJSON_AddStringToObject(msg, "type", "subscribe");
	cJSON_AddItemToObject(msg, "product_ids", ids);
	if (feed == TD_FEED_COINBASE_MATCHES)
	{
		cJSON	   *channels = cJSON_CreateArray();

		cJSON_AddItemToArray(channels, cJSON_CreateString("matches"));
		cJSON_AddItemToObject(msg, "channels", channels);
		return tsk_td_out_json(ob, msg) ? 0 : -1;
	}
	if (feed != TD_FEED_COINBASE_ADVANCED)
	{
		cJSON_Delete(msg);
		return -1;
	}
	cJSON_AddStringToObject(msg, "channel", "market_trades");
	if (!tsk_td_out_json(ob, msg) || (hb = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddStringToObject(hb, "type", "subscribe");
	cJSON_AddStringToObject(hb, "channel", "heartbeats");
	return tsk_td_out_json(ob, hb) ? 0 : -1;
}
