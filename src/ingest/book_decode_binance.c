/*
 * book_decode_binance.c
 *	  Binance depth: the diff-depth stream ("depthUpdate", spot and USD-M /
 *	  COIN-M futures) and the REST /depth snapshot body (book_decode.h).
 *
 * A diff frame becomes one update group with first_id = U, last_id = u and
 * prev_id = pu (futures only, else -1), event time E (ms).  A REST body
 * becomes one snapshot group with last_id = lastUpdateId and an empty
 * instrument.  Levels are ["price","qty"] string pairs; qty "0.00000000"
 * removes a level.  Anything else with an "e" field (trade, aggTrade,
 * kline, ...) or a subscription reply is TB_CONTROL; {"code","msg"}
 * replies are TB_ERROR so they reach the dead letters.
 */
#define TB_DECODE_INTERNAL
#include "ingest/book_decode.h"

#include <stdio.h>
#include <string.h>

/*
 * tb_binance_levels
 *	  Append the [[price, qty], ...] array `name` of obj for one side.
 */
static bool
tb_binance_levels(tb_ctx *c, const cJSON *obj, const char *name, int side)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name);
	const cJSON *lv;
	int			i = 0;

	if (!cJSON_IsArray(arr))
	{
		tsk_tb_fail(c, "field \"%s\" is not an array", name);
		return false;
	}
	cJSON_ArrayForEach(lv, arr)
	{
		char		where[48];

		snprintf(where, sizeof where, "%s[%d]", name, i++);
		if (!cJSON_IsArray(lv) || cJSON_GetArraySize(lv) < 2)
		{
			tsk_tb_fail(c, "%s: not a [price, qty] pair", where);
			return false;
		}
		if (!tsk_tb_add(c, side, cJSON_GetArrayItem(lv, 0), cJSON_GetArrayItem(lv, 1), where))
			return false;
	}
	return true;
}

/*
 * tb_binance_rest
 *	  {"lastUpdateId":N,"bids":[..],"asks":[..]} (futures add "E","T").
 */
static tb_kind
tb_binance_rest(tb_ctx *c, const cJSON *root)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "lastUpdateId");
	int64_t		v;
	tb_group   *g;

	if (cJSON_GetObjectItemCaseSensitive(root, "code") && cJSON_GetObjectItemCaseSensitive(root, "msg"))
	{
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "msg");

		return tsk_tb_fail(c, "exchange error: %s", cJSON_IsString(m) ? m->valuestring : "?");
	}
	if (!tsk_tb_int(id, &v))
		return tsk_tb_fail(c, "field \"lastUpdateId\" missing or not an integer");
	if ((g = tsk_tb_group_open(c, "", true)) == NULL)
		return TB_ERROR;
	g->last_id = v;
	if (tsk_tb_int(cJSON_GetObjectItemCaseSensitive(root, "E"), &v) && v <= INT64_C(253402300799999))
		g->event_us = v * 1000;
	if (!tb_binance_levels(c, root, "bids", TB_BID) || !tb_binance_levels(c, root, "asks", TB_ASK))
		return TB_ERROR;
	return TB_BOOK;
}

/*
 * tsk_tb_decode_binance
 *	  A diff-depth frame (combined or raw stream), or a REST body.
 */
tb_kind
tsk_tb_decode_binance(tb_ctx *c, const cJSON *root, bool rest)
{
	const cJSON *data = root;
	const cJSON *e,
			   *s;
	int64_t		first,
				last,
				prev = -1,
				ev;
	tb_group   *g;

	if (!cJSON_IsObject(root))
		return tsk_tb_fail(c, "not a JSON object");
	if (rest)
		return tb_binance_rest(c, root);
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "data")))
		data = cJSON_GetObjectItemCaseSensitive(root, "data");
	e = cJSON_GetObjectItemCaseSensitive(data, "e");
	if (!cJSON_IsString(e) || e->valuestring == NULL)
	{
		if (cJSON_GetObjectItemCaseSensitive(root, "code") && cJSON_GetObjectItemCaseSensitive(root, "msg"))
		{
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "msg");

			return tsk_tb_fail(c, "exchange error: %s", cJSON_IsString(m) ? m->valuestring : "?");
		}
		if (cJSON_GetObjectItemCaseSensitive(root, "result") || cJSON_GetObjectItemCaseSensitive(root, "id"))
			return tsk_tb_control(c, "subscription reply");
		return tsk_tb_control(c, "not a depth event");
	}
	if (strcmp(e->valuestring, "depthUpdate") != 0)
		return tsk_tb_control(c, e->valuestring);
	s = cJSON_GetObjectItemCaseSensitive(data, "s");
	if (!cJSON_IsString(s))
		return tsk_tb_fail(c, "field \"s\" missing or not a string");
	if (!tsk_tb_int(cJSON_GetObjectItemCaseSensitive(data, "U"), &first) ||
		!tsk_tb_int(cJSON_GetObjectItemCaseSensitive(data, "u"), &last))
		return tsk_tb_fail(c, "fields \"U\"/\"u\" missing or not integers");
	if (first > last)
		return tsk_tb_fail(c, "first update id %lld after last %lld", (long long) first, (long long) last);
	if (cJSON_GetObjectItemCaseSensitive(data, "pu") &&
		!tsk_tb_int(cJSON_GetObjectItemCaseSensitive(data, "pu"), &prev))
		return tsk_tb_fail(c, "field \"pu\" is not an integer");
	if ((g = tsk_tb_group_open(c, s->valuestring, false)) == NULL)
		return TB_ERROR;
	g->first_id = first;
	g->last_id = last;
	g->prev_id = prev;
	if (tsk_tb_int(cJSON_GetObjectItemCaseSensitive(data, "E"), &ev) && ev <= INT64_C(253402300799999))
		g->event_us = ev * 1000;
	if (!tb_binance_levels(c, data, "b", TB_BID) || !tb_binance_levels(c, data, "a", TB_ASK))
		return TB_ERROR;
	return TB_BOOK;
}
