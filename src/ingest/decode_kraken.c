/*
 * decode_kraken.c
 *	  Kraken spot WebSocket v1 and v2, and Kraken Futures v1 trade frames and
 *	  subscriptions.  The variant is recognised from the shape:
 *
 *   spot v1 channel data: JSON array [channelID, payload, channelName, pair]
 *       trade payload: [[price, volume, time, side, orderType, misc], ...]
 *       (strings; time = "seconds.micros"; side = taker "b"/"s"; no trade
 *       id => derived id over pair + the six fields as sent + index; if a
 *       7th integer element (REST-style trade id) is present it is used).
 *   object with "event":   v1 / futures control (heartbeat, systemStatus,
 *       subscriptionStatus, info, subscribed, ...); status "error", "error"
 *       and "alert" events are TD_ERROR (exchange error).
 *   object with "method":  v2 request reply; success:false => TD_ERROR.
 *   object with "feed":    futures; "trade" (one trade) and "trade_snapshot"
 *       ({"trades":[...]}) carry trades: product_id, uid (uuid => derived
 *       id), side (taker), time (ms), qty, price (numbers).
 *   object with "channel": v2; "trade" carries data[] of {symbol, side
 *       (taker), price, qty (numbers), trade_id, timestamp (RFC 3339)}.
 * Everything else recognisable (book, ticker, spread, ohlc, heartbeat,
 * status, ...) is TD_CONTROL.  "event" is tested before "feed" because
 * futures acks carry both ({"event":"subscribed","feed":"trade",...}).
 */
#define TD_DECODE_INTERNAL
#include "ingest/decode.h"

#include <string.h>

#define TD_KRAKEN_V1_FIELDS 6	/* price, volume, time, side, orderType, misc */

/*
 * td_kraken_v1_trade
 *	  One v1 trade array; `pair` is the frame's pair item.
 */
static bool
td_kraken_v1_trade(td_ctx *c, const cJSON *tr, const cJSON *pair)
{
	const cJSON *f[TD_KRAKEN_V1_FIELDS + 1] = {0};
	const cJSON *el;
	td_trade	t = {0};
	int			k = 0;

	if (!cJSON_IsArray(tr))
		return tsk_td_reject(c, "expected a trade array");
	cJSON_ArrayForEach(el, tr)
	{
		if (k <= TD_KRAKEN_V1_FIELDS)
			f[k] = el;
		k++;
	}
	if (!tsk_td_set_instrument(c, &t, pair, "pair") ||
		!tsk_td_read_number(c, f[0], "price", TD_NUM_POSITIVE, &t.price) ||
		!tsk_td_read_number(c, f[1], "volume", TD_NUM_NONNEG, &t.qty) ||
		!tsk_td_read_ts(c, f[2], "time", TD_TS_S, &t.ts_us) ||
		!tsk_td_read_side(c, f[3], "side", TD_SIDE_TAKER, &t.side))
		return false;
	if (cJSON_IsNumber(f[TD_KRAKEN_V1_FIELDS]))
	{
		if (!tsk_td_read_id(c, f[TD_KRAKEN_V1_FIELDS], "trade_id", &t.trade_id, &t.id_derived))
			return false;
	}
	else
	{
		td_hash		h;

		tsk_td_hash_init(&h, "kraken-v1");
		tsk_td_hash_item(&h, pair);
		for (int i = 0; i < TD_KRAKEN_V1_FIELDS; i++)
			tsk_td_hash_item(&h, f[i]);
		tsk_td_hash_i64(&h, c->index);
		t.trade_id = tsk_td_hash_final(&h);
		t.id_derived = 1;
	}
	tsk_td_emit(c, &t);
	return true;
}

/*
 * td_kraken_v1
 *	  Spot v1 channel message (a JSON array).
 */
static td_kind
td_kraken_v1(td_ctx *c, const cJSON *root)
{
	int			n = cJSON_GetArraySize(root);
	const cJSON *name;
	const cJSON *payload;
	const cJSON *pair;
	const cJSON *tr;

	if (n < 4)
		return tsk_td_fail(c, "channel message: expected >= 4 elements, got %d", n);
	name = cJSON_GetArrayItem(root, n - 2);
	if (!cJSON_IsString(name) || name->valuestring == NULL)
		return tsk_td_fail(c, "channel message: channel name is not a string");
	if (strcmp(name->valuestring, "trade") != 0)
		return tsk_td_control(c, name->valuestring);
	payload = cJSON_GetArrayItem(root, 1);
	pair = cJSON_GetArrayItem(root, n - 1);
	if (!tsk_td_check_array(c, payload, "trades"))
		return TD_ERROR;
	c->index = 0;
	cJSON_ArrayForEach(tr, payload)
	{
		if (!td_kraken_v1_trade(c, tr, pair))
			return TD_ERROR;
		c->index++;
	}
	return TD_TRADES;
}

/*
 * td_kraken_futures_trade
 *	  One futures trade object; envelope product_id used if the trade has none.
 */
static bool
td_kraken_futures_trade(td_ctx *c, const cJSON *o, const cJSON *env_product)
{
	const cJSON *product = tsk_td_get(o, "product_id");
	td_trade	t = {0};

	if (!cJSON_IsObject(o))
		return tsk_td_reject(c, "expected a trade object");
	if (!tsk_td_set_instrument(c, &t, product ? product : env_product, "product_id") ||
		!tsk_td_read_id(c, tsk_td_get(o, "uid"), "uid", &t.trade_id, &t.id_derived) ||
		!tsk_td_read_number(c, tsk_td_get(o, "price"), "price", TD_NUM_POSITIVE, &t.price) ||
		!tsk_td_read_number(c, tsk_td_get(o, "qty"), "qty", TD_NUM_NONNEG, &t.qty) ||
		!tsk_td_read_ts(c, tsk_td_get(o, "time"), "time", TD_TS_MS, &t.ts_us) ||
		!tsk_td_read_side(c, tsk_td_get(o, "side"), "side", TD_SIDE_TAKER, &t.side))
		return false;
	tsk_td_emit(c, &t);
	return true;
}

/*
 * td_kraken_futures
 *	  Futures feed message.
 */
static td_kind
td_kraken_futures(td_ctx *c, const cJSON *root, const char *feed)
{
	const cJSON *trades;
	const cJSON *tr;

	c->index = 0;
	if (strcmp(feed, "trade") == 0)
		return td_kraken_futures_trade(c, root, NULL) ? TD_TRADES : TD_ERROR;
	if (strcmp(feed, "trade_snapshot") != 0)
		return tsk_td_control(c, feed);
	trades = tsk_td_get(root, "trades");
	if (!tsk_td_check_array(c, trades, "trades"))
		return TD_ERROR;
	c->res->snapshot = 1;
	cJSON_ArrayForEach(tr, trades)
	{
		if (!td_kraken_futures_trade(c, tr, tsk_td_get(root, "product_id")))
			return TD_ERROR;
		c->index++;
	}
	return TD_TRADES;
}

/*
 * td_kraken_v2
 *	  Spot v2 channel message.
 */
static td_kind
td_kraken_v2(td_ctx *c, const cJSON *root, const char *channel)
{
	const cJSON *data = tsk_td_get(root, "data");
	const cJSON *o;
	const char *type = tsk_td_get_string(root, "type");

	if (strcmp(channel, "trade") != 0)
		return tsk_td_control(c, channel);
	if (!tsk_td_check_array(c, data, "data"))
		return TD_ERROR;
	c->res->snapshot = type != NULL && strcmp(type, "snapshot") == 0;
	c->index = 0;
	cJSON_ArrayForEach(o, data)
	{
		td_trade	t = {0};

		if (!cJSON_IsObject(o))
			return tsk_td_fail(c, "expected a trade object");
		if (!tsk_td_set_instrument(c, &t, tsk_td_get(o, "symbol"), "symbol") ||
			!tsk_td_read_id(c, tsk_td_get(o, "trade_id"), "trade_id", &t.trade_id, &t.id_derived) ||
			!tsk_td_read_number(c, tsk_td_get(o, "price"), "price", TD_NUM_POSITIVE, &t.price) ||
			!tsk_td_read_number(c, tsk_td_get(o, "qty"), "qty", TD_NUM_NONNEG, &t.qty) ||
			!tsk_td_read_ts(c, tsk_td_get(o, "timestamp"), "timestamp", TD_TS_RFC3339, &t.ts_us) ||
			!tsk_td_read_side(c, tsk_td_get(o, "side"), "side", TD_SIDE_TAKER, &t.side))
			return TD_ERROR;
		tsk_td_emit(c, &t);
		c->index++;
	}
	return TD_TRADES;
}

/*
 * td_kraken_event
 *	  v1 / futures event object ({"event":...}).
 */
static td_kind
td_kraken_event(td_ctx *c, const cJSON *root, const char *event)
{
	static const char *const err_keys[] = {"errorMessage", "message", NULL};
	const char *status = tsk_td_get_string(root, "status");

	if (strcmp(event, "error") == 0 || strcmp(event, "alert") == 0 ||
		(strcmp(event, "subscriptionStatus") == 0 && status && strcmp(status, "error") == 0))
		return tsk_td_exchange_error(c, root, err_keys);
	return tsk_td_control(c, event);
}

/*
 * tsk_td_decode_kraken
 *	  Entry point: recognise the Kraken variant and decode trades.
 */
td_kind
tsk_td_decode_kraken(td_ctx *c, const cJSON *root)
{
	static const char *const v2_err_keys[] = {"error", NULL};
	static const char *const keys[] = {"event", "method", "feed", "channel"};

	if (cJSON_IsArray(root))
		return td_kraken_v1(c, root);
	if (!cJSON_IsObject(root))
		return tsk_td_fail(c, "expected a JSON array or object");
	for (int i = 0; i < 4; i++)
	{
		const cJSON *it = tsk_td_get(root, keys[i]);

		if (it == NULL)
			continue;
		if (!cJSON_IsString(it) || it->valuestring == NULL)
			return tsk_td_fail(c, "field \"%s\": expected a string", keys[i]);
		switch (i)
		{
			case 0:
				return td_kraken_event(c, root, it->valuestring);
			case 1:
				if (cJSON_IsFalse(tsk_td_get(root, "success")))
					return tsk_td_exchange_error(c, root, v2_err_keys);
				return tsk_td_control(c, it->valuestring);
			case 2:
				return td_kraken_futures(c, root, it->valuestring);
			default:
				return td_kraken_v2(c, root, it->valuestring);
		}
	}
	return tsk_td_fail(c, "unrecognised frame: no \"event\", \"method\", \"feed\" or \"channel\"");
}

/*
 * tsk_td_subscribe_kraken
 *	  v1:
 *	  {"event":"subscribe","pair":[...],"subscription":{"name":"trade"}} v2:
 *	  {"method":"subscribe","params":{"channel":"trade","symbol":[...]}}
 *	  futures: {"event":"subscribe","feed":"trade","product_ids":[...]}
 */
int
tsk_td_subscribe_kraken(td_feed feed, const char *const *ins, int n, td_outbuf *ob)
{
	cJSON	   *msg = cJSON_CreateObject();
	cJSON	   *list = tsk_td_string_array(ins, n, false, NULL);
	cJSON	   *sub = cJSON_CreateObject();

	if (msg == NULL || list == NULL || sub == NULL)
		goto fail;
	if (feed == TD_FEED_KRAKEN_V1)
	{
		cJSON_AddStringToObject(msg, "event", "subscribe");
		cJSON_AddItemToObject(msg, "pair", list);
		cJSON_AddStringToObject(sub, "name", "trade");
		cJSON_AddItemToObject(msg, "subscription", sub);
	}
	else if (feed == TD_FEED_KRAKEN_V2)
	{
		cJSON_AddStringToObject(msg, "method", "subscribe");
		cJSON_AddStringToObject(sub, "channel", "trade");
		cJSON_AddItemToObject(sub, "symbol", list);
		cJSON_AddItemToObject(msg, "params", sub);
	}
	else if (feed == TD_FEED_KRAKEN_FUTURES)
	{
		cJSON_AddStringToObject(msg, "event", "subscribe");
		cJSON_AddStringToObject(msg, "feed", "trade");
		cJSON_AddItemToObject(msg, "product_ids", list);
		cJSON_Delete(sub);
	}
	else
		goto fail;
	return tsk_td_out_json(ob, msg) ? 0 : -1;
fail:
	cJSON_Delete(msg);
	cJSON_Delete(list);
	cJSON_Delete(sub);
	return -1;
}
