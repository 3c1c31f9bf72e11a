/*
 * book_decode_coinbase.c
 *	  Coinbase level 2 (book_decode.h): the Exchange ws-feed "level2" channel
 *	  ("snapshot" with bids/asks [[price, size]], "l2update" with changes
 *	  [[side, price, size]], side "buy" = bid) and Advanced Trade "l2_data"
 *	  (events of type snapshot|update, one product each, updates {side
 *	  "bid"|"offer", price_level, new_quantity}).
 *
 * One group per product: a legacy frame has one; an l2_data frame has one
 * per event, each carrying the envelope's sequence_num as first_id (the
 * Advanced Trade sequence is per connection across every channel).  Size
 * "0" removes a level.  Other message types are TB_CONTROL; "error"
 * messages are TB_ERROR.
 */
#define TB_DECODE_INTERNAL
#include "ingest/book_decode.h"

#include <stdio.h>
#include <string.h>

/*
 * tb_cb_side
 *	  "buy"/"bid" -> TB_BID, "sell"/"offer"/"ask" -> TB_ASK, else -1.
 */
static int
tb_cb_side(const cJSON *it)
{
	const char *s = cJSON_IsString(it) ? it->valuestring : NULL;

	if (s == NULL)
		return -1;
	if (strcmp(s, "buy") == 0 || strcmp(s, "bid") == 0)
		return TB_BID;
	if (strcmp(s, "sell") == 0 || strcmp(s, "offer") == 0 || strcmp(s, "ask") == 0)
		return TB_ASK;
	return -1;
}

/*
 * tb_cb_pairs
 *	  Append the [[price, size], ...] array `name` of obj for one side.
 */
static bool
tb_cb_pairs(tb_ctx *c, const cJSON *obj, const char *name, int side)
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
			tsk_tb_fail(c, "%s: not a [price, size] pair", where);
			return false;
		}
		if (!tsk_tb_add(c, side, cJSON_GetArrayItem(lv, 0), cJSON_GetArrayItem(lv, 1), where))
			return false;
	}
	return true;
}

/*
 * tb_cb_legacy
 *	  Exchange ws-feed: snapshot or l2update.
 */
static tb_kind
tb_cb_legacy(tb_ctx *c, const cJSON *root, const char *type)
{
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(root, "product_id");
	const cJSON *changes,
			   *ch;
	tb_group   *g;
	int			i = 0;
	bool		snap = strcmp(type, "snapshot") == 0;

	if (!cJSON_IsString(pid))
		return tsk_tb_fail(c, "field \"product_id\" missing or not a string");
	if ((g = tsk_tb_group_open(c, pid->valuestring, snap)) == NULL)
		return TB_ERROR;
	if (snap)
		return tb_cb_pairs(c, root, "bids", TB_BID) && tb_cb_pairs(c, root, "asks", TB_ASK)
			? TB_BOOK : TB_ERROR;
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "time")))
	{
		int64_t		us;

		if (tsk_tb_rfc3339(cJSON_GetObjectItemCaseSensitive(root, "time")->valuestring, &us))
			g->event_us = us;
	}
	changes = cJSON_GetObjectItemCaseSensitive(root, "changes");
	if (!cJSON_IsArray(changes))
		return tsk_tb_fail(c, "field \"changes\" is not an array");
	cJSON_ArrayForEach(ch, changes)
	{
		char		where[48];
		int			side;

		snprintf(where, sizeof where, "changes[%d]", i++);
		if (!cJSON_IsArray(ch) || cJSON_GetArraySize(ch) < 3)
			return tsk_tb_fail(c, "%s: not a [side, price, size] triple", where);
		if ((side = tb_cb_side(cJSON_GetArrayItem(ch, 0))) < 0)
			return tsk_tb_fail(c, "%s: side is not buy or sell", where);
		if (!tsk_tb_add(c, side, cJSON_GetArrayItem(ch, 1), cJSON_GetArrayItem(ch, 2), where))
			return TB_ERROR;
	}
	return TB_BOOK;
}

/*
 * tb_cb_advanced
 *	  Advanced Trade l2_data: one group per event.
 */
static tb_kind
tb_cb_advanced(tb_ctx *c, const cJSON *root)
{
	const cJSON *events = cJSON_GetObjectItemCaseSensitive(root, "events");
	const cJSON *ev;
	int64_t		seq = -1;
	int			e = 0;

	if (!cJSON_IsArray(events))
		return tsk_tb_fail(c, "field \"events\" is not an array");
	(void) tsk_tb_int(cJSON_GetObjectItemCaseSensitive(root, "sequence_num"), &seq);
	cJSON_ArrayForEach(ev, events)
	{
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
		const cJSON *pid = cJSON_GetObjectItemCaseSensitive(ev, "product_id");
		const cJSON *ups = cJSON_GetObjectItemCaseSensitive(ev, "updates");
		const cJSON *u;
		tb_group   *g;
		int			i = 0;

		if (!cJSON_IsString(type) || (strcmp(type->valuestring, "snapshot") != 0 &&
									  strcmp(type->valuestring, "update") != 0))
			return tsk_tb_fail(c, "events[%d]: type is not snapshot or update", e);
		if (!cJSON_IsString(pid))
			return tsk_tb_fail(c, "events[%d]: product_id missing", e);
		if (!cJSON_IsArray(ups))
			return tsk_tb_fail(c, "events[%d]: updates is not an array", e);
		if ((g = tsk_tb_group_open(c, pid->valuestring, strcmp(type->valuestring, "snapshot") == 0)) == NULL)
			return TB_ERROR;
		g->first_id = seq;
		cJSON_ArrayForEach(u, ups)
		{
			char		where[48];
			int			side = tb_cb_side(cJSON_GetObjectItemCaseSensitive(u, "side"));
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(u, "event_time");
			int64_t		us;

			snprintf(where, sizeof where, "events[%d].updates[%d]", e, i++);
			if (side < 0)
				return tsk_tb_fail(c, "%s: side is not bid or offer", where);
			if (!tsk_tb_add(c, side, cJSON_GetObjectItemCaseSensitive(u, "price_level"),
							cJSON_GetObjectItemCaseSensitive(u, "new_quantity"), where))
				return TB_ERROR;
			if (cJSON_IsString(t) && tsk_tb_rfc3339(t->valuestring, &us) && us > g->event_us)
				g->event_us = us;
		}
		e++;
	}
	if (c->msg->ngroups == 0)
		return tsk_tb_control(c, "l2_data without events");
	return TB_BOOK;
}

/*
 * tsk_tb_decode_coinbase
 *	  Route by "type" (Exchange) or "channel" (Advanced Trade).
 */
tb_kind
tsk_tb_decode_coinbase(tb_ctx *c, const cJSON *root)
{
	const cJSON *type,
			   *chan;

	if (!cJSON_IsObject(root))
		return tsk_tb_fail(c, "not a JSON object");
	type = cJSON_GetObjectItemCaseSensitive(root, "type");
	chan = cJSON_GetObjectItemCaseSensitive(root, "channel");
	if (cJSON_IsString(chan) && chan->valuestring)
	{
		if (strcmp(chan->valuestring, "l2_data") == 0)
			return tb_cb_advanced(c, root);
		return tsk_tb_control(c, chan->valuestring);
	}
	if (!cJSON_IsString(type) || type->valuestring == NULL)
		return tsk_tb_control(c, "no type");
	if (strcmp(type->valuestring, "snapshot") == 0 || strcmp(type->valuestring, "l2update") == 0)
		return tb_cb_legacy(c, root, type->valuestring);
	if (strcmp(type->valuestring, "error") == 0)
	{
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "reason");

		return tsk_tb_fail(c, "exchange error: %s%s%s", cJSON_IsString(m) ? m->valuestring : "?",
						   cJSON_IsString(r) ? ": " : "", cJSON_IsString(r) ? r->valuestring : "");
	}
	return tsk_tb_control(c, type->valuestring);
}
