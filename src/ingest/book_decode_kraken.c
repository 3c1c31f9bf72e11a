/*
 * book_decode_kraken.c
 *	  Kraken spot WebSocket v1 "book-N" frames (book_decode.h).
 *
 *   snapshot: [channelID, {"as":[[p,v,ts],..],"bs":[..]}, "book-N", pair]
 *   update:   [channelID, {"a":[[p,v,ts(,"r")],..]}, "book-N", pair], or
 *             {"b":..}, or both as two objects, the last carrying "c"
 *             (CRC32 of the book after the update, decimal string).
 * One group per frame: depth = N, checksum = c, event time = the newest
 * level timestamp.  Asks are listed before bids, in wire order within a
 * side.  Event objects ({"event":...}) are TB_CONTROL except error
 * statuses (TB_ERROR); other channels (trade, ticker, spread) are
 * TB_CONTROL.
 */
#define TB_DECODE_INTERNAL
#include "ingest/book_decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * tb_kraken_levels
 *	  Append the levels of key `name` (if present) of one object.
 */
static bool
tb_kraken_levels(tb_ctx *c, const cJSON *obj, const char *name, int side)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name);
	const cJSON *lv;
	int			i = 0;

	if (arr == NULL)
		return true;
	if (!cJSON_IsArray(arr))
	{
		tsk_tb_fail(c, "field \"%s\" is not an array", name);
		return false;
	}
	cJSON_ArrayForEach(lv, arr)
	{
		char		where[48];
		const cJSON *ts;
		int64_t		us;

		snprintf(where, sizeof where, "%s[%d]", name, i++);
		if (!cJSON_IsArray(lv) || cJSON_GetArraySize(lv) < 3)
		{
			tsk_tb_fail(c, "%s: not a [price, volume, time] level", where);
			return false;
		}
		if (!tsk_tb_add(c, side, cJSON_GetArrayItem(lv, 0), cJSON_GetArrayItem(lv, 1), where))
			return false;
		ts = cJSON_GetArrayItem(lv, 2);
		if (cJSON_IsString(ts) && tsk_tb_epoch_text(ts->valuestring, &us) && us > c->g->event_us)
			c->g->event_us = us;
	}
	return true;
}

/*
 * tb_kraken_event
 *	  {"event": ...} objects: acks, heartbeats, status; errors to TB_ERROR.
 */
static tb_kind
tb_kraken_event(tb_ctx *c, const cJSON *root)
{
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(root, "event");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "status");
	const cJSON *em = cJSON_GetObjectItemCaseSensitive(root, "errorMessage");

	if (!cJSON_IsString(ev))
		return tsk_tb_control(c, "object without event");
	if ((cJSON_IsString(st) && strcmp(st->valuestring, "error") == 0) || cJSON_IsString(em))
		return tsk_tb_fail(c, "exchange error: %s", cJSON_IsString(em) ? em->valuestring : "status error");
	return tsk_tb_control(c, ev->valuestring);
}

/*
 * tsk_tb_decode_kraken
 *	  A book-N snapshot or update.
 */
tb_kind
tsk_tb_decode_kraken(tb_ctx *c, const cJSON *root)
{
	int			n;
	const cJSON *name,
			   *pair;
	tb_group   *g;
	bool		snap;
	long		depth;
	char	   *end;

	if (cJSON_IsObject(root))
		return tb_kraken_event(c, root);
	if (!cJSON_IsArray(root))
		return tsk_tb_fail(c, "neither an object nor an array");
	n = cJSON_GetArraySize(root);
	if (n < 4)
		return tsk_tb_fail(c, "array of %d elements, expected 4 or 5", n);
	name = cJSON_GetArrayItem(root, n - 2);
	pair = cJSON_GetArrayItem(root, n - 1);
	if (!cJSON_IsString(name) || !cJSON_IsString(pair))
		return tsk_tb_fail(c, "channel name or pair is not a string");
	if (strncmp(name->valuestring, "book-", 5) != 0)
		return tsk_tb_control(c, name->valuestring);
	depth = strtol(name->valuestring + 5, &end, 10);
	if (end == name->valuestring + 5 || *end != '\0' || depth < 1 || depth > TB_MAX_LEVELS_LIMIT)
		return tsk_tb_fail(c, "bad book channel name");
	if (n > 5)
		return tsk_tb_fail(c, "array of %d elements, expected 4 or 5", n);
	for (int i = 1; i < n - 2; i++)
		if (!cJSON_IsObject(cJSON_GetArrayItem(root, i)))
			return tsk_tb_fail(c, "element %d is not an object", i);
	snap = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(root, 1), "as") != NULL ||
		cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(root, 1), "bs") != NULL;
	if ((g = tsk_tb_group_open(c, pair->valuestring, snap)) == NULL)
		return TB_ERROR;
	g->depth = (int) depth;
	for (int i = 1; i < n - 2; i++)
	{
		const cJSON *obj = cJSON_GetArrayItem(root, i);
		const cJSON *cs = cJSON_GetObjectItemCaseSensitive(obj, "c");

		if (snap ? !tb_kraken_levels(c, obj, "as", TB_ASK) || !tb_kraken_levels(c, obj, "bs", TB_BID)
			: !tb_kraken_levels(c, obj, "a", TB_ASK) || !tb_kraken_levels(c, obj, "b", TB_BID))
			return TB_ERROR;
		if (cs != NULL)
		{
			int64_t		v;

			if (!tsk_tb_int(cs, &v) || v > UINT32_MAX)
				return tsk_tb_fail(c, "checksum \"c\" is not a 32-bit decimal string");
			g->has_checksum = true;
			g->checksum = (uint32_t) v;
		}
	}
	if (!snap && !g->has_checksum && g->n == 0)
		return tsk_tb_fail(c, "book update without levels");
	return TB_BOOK;
}
