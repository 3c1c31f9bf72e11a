/*
 * decode_generic.c
 *	  trade frames of any JSON feed, driven by a td_generic_map (field paths;
 *	  see decode.h for the map semantics). Subscribe plumbing and canonical
 *	  symbols live in decode_subscribe.c.
 *
 * Path syntax: '.'-separated segments; a segment is an object key (exact,
 * case-sensitive) or, on an array, a decimal index; "$" / "$." anchors the
 * path at the frame root, otherwise it is relative to the trade item.  Paths
 * are resolved iteratively (no recursion), at most TD_PATH_MAX_SEGMENTS
 * segments of at most 63 bytes.
 *
 * Invariants: the map is validated (tsk_td_generic_map_check) before any frame
 * is decoded, so an unusable map is reported as an error, never crashes;
 * price/qty/ts/side/id go through the shared td_read_* helpers, so numbers
 * may be JSON numbers or decimal strings exactly as for the named exchanges.
 */
#define TD_DECODE_INTERNAL
#include "ingest/decode.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TD_SEGMENT_MAX 64		/* incl. NUL */
#define TD_INDEX_MAX_DIGITS 9

/*
 * td_set
 *	  True if a map entry is set (non-NULL, non-empty).
 */
static bool
td_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/*
 * td_path
 *	  Walk `path` from the item (or from the root when it starts with "$").
 *	  Returns the node, or NULL if any step is missing / the path is malformed.
 */
static const cJSON *
td_path(const cJSON *root, const cJSON *item, const char *path)
{
	const cJSON *node = item;
	int			segs = 0;

	if (path[0] == '$')
	{
		node = root;
		if (path[1] == '\0')
			return root;
		if (path[1] != '.')
			return NULL;
		path += 2;
	}
	while (node != NULL)
	{
		char		key[TD_SEGMENT_MAX];
		size_t		k = strcspn(path, ".");
		size_t		ndig = 0;

		if (k == 0 || k >= sizeof key || ++segs > TD_PATH_MAX_SEGMENTS)
			return NULL;
		memcpy(key, path, k);
		key[k] = '\0';
		while (ndig < k && isdigit((unsigned char) key[ndig]))
			ndig++;
		if (cJSON_IsArray(node) && ndig == k && k <= TD_INDEX_MAX_DIGITS)
			node = cJSON_GetArrayItem(node, atoi(key));
		else
			node = tsk_td_get(node, key);
		path += k;
		if (*path == '\0')
			return node;
		path++;					/* skip '.' */
	}
	return NULL;
}

/*
 * td_path_ok
 *	  Syntax check of one path: segments 1..63 bytes, <= TD_PATH_MAX_SEGMENTS.
 */
static bool
td_path_ok(const char *path)
{
	int			segs = 0;

	if (strcmp(path, "$") == 0)
		return true;
	if (strncmp(path, "$.", 2) == 0)
		path += 2;
	for (;;)
	{
		size_t		k = strcspn(path, ".");

		if (k == 0 || k >= TD_SEGMENT_MAX || ++segs > TD_PATH_MAX_SEGMENTS)
			return false;
		path += k;
		if (*path == '\0')
			return true;
		path++;
	}
}

/*
 * tsk_td_generic_map_check
 *	  See decode.h.
 */
int
tsk_td_generic_map_check(const td_generic_map *m, char *err, size_t errsz)
{
	const char *const optional[] = {
		m ? m->match_path : NULL, m ? m->items : NULL, m ? m->instrument : NULL,
		m ? m->trade_id : NULL, m ? m->side : NULL
	};
	const char *problem = NULL;
	char		buf[TD_ERROR_MAX] = "";

	if (m == NULL)
		problem = "no field map given";
	else if (!td_set(m->price) || !td_set(m->qty) || !td_set(m->ts))
		problem = "price, qty and ts paths are required";
	else if (!td_set(m->instrument) && !td_set(m->instrument_const))
		problem = "an instrument path or instrument_const is required";
	else if (!td_set(m->instrument) && !tsk_td_symbols_ok(&m->instrument_const, 1, false))
		problem = "instrument_const must be 1..63 printable ASCII bytes";
	else if (td_set(m->match_path) != (m->match_value != NULL))
		problem = "match_path and match_value go together";
	else if ((unsigned) m->ts_unit > TD_TS_RFC3339)
		problem = "bad ts_unit";
	else if ((unsigned) m->side_mode > TD_SIDE_MAKER)
		problem = "bad side_mode";
	else if (!td_path_ok(m->price) || !td_path_ok(m->qty) || !td_path_ok(m->ts))
		problem = "malformed price, qty or ts path";
	for (int i = 0; problem == NULL && i < 5; i++)
		if (td_set(optional[i]) && !td_path_ok(optional[i]))
		{
			snprintf(buf, sizeof buf, "malformed path \"%.60s\"", optional[i]);
			problem = buf;
		}
	if (err != NULL && errsz > 0)
		snprintf(err, errsz, "%s", problem ? problem : "");
	return problem ? -1 : 0;
}

/*
 * td_generic_trade
 *	  Decode one trade item with the map.
 */
static bool
td_generic_trade(td_ctx *c, const td_generic_map *m, const cJSON *it)
{
	const cJSON *price = td_path(c->root, it, m->price);
	const cJSON *qty = td_path(c->root, it, m->qty);
	const cJSON *ts = td_path(c->root, it, m->ts);
	const cJSON *side = td_set(m->side) ? td_path(c->root, it, m->side) : NULL;
	td_trade	t = {0};

	if (td_set(m->instrument))
	{
		if (!tsk_td_set_instrument(c, &t, td_path(c->root, it, m->instrument), m->instrument))
			return false;
	}
	else
		strcpy(t.instrument, m->instrument_const);	/* validated by the map check */
	if (!tsk_td_read_number(c, price, m->price, TD_NUM_POSITIVE, &t.price) ||
		!tsk_td_read_number(c, qty, m->qty, TD_NUM_NONNEG, &t.qty) ||
		!tsk_td_read_ts(c, ts, m->ts, m->ts_unit, &t.ts_us) ||
		(td_set(m->side) && !tsk_td_read_side(c, side, m->side, m->side_mode, &t.side)))
		return false;
	if (td_set(m->trade_id))
	{
		if (!tsk_td_read_id(c, td_path(c->root, it, m->trade_id), m->trade_id,
						&t.trade_id, &t.id_derived))
			return false;
	}
	else
	{
		td_hash		h;

		tsk_td_hash_init(&h, "generic");
		tsk_td_hash_bytes(&h, t.instrument, strlen(t.instrument));
		tsk_td_hash_item(&h, ts);
		tsk_td_hash_item(&h, price);
		tsk_td_hash_item(&h, qty);
		tsk_td_hash_item(&h, side);
		tsk_td_hash_i64(&h, c->index);
		t.trade_id = tsk_td_hash_final(&h);
		t.id_derived = 1;
	}
	tsk_td_emit(c, &t);
	return true;
}

/*
 * tsk_td_decode_generic
 *	  Entry point: match filter, locate the trade items, decode each.
 */
td_kind
tsk_td_decode_generic(td_ctx *c, const cJSON *root, const td_generic_map *m)
{
	char		err[TD_ERROR_MAX];
	const cJSON *items = root;
	const cJSON *it;

	if (tsk_td_generic_map_check(m, err, sizeof err) != 0)
		return tsk_td_fail(c, "generic map: %s", err);
	if (td_set(m->match_path))
	{
		const cJSON *v = td_path(root, root, m->match_path);

		if (!cJSON_IsString(v) || v->valuestring == NULL ||
			strcmp(v->valuestring, m->match_value) != 0)
			return tsk_td_control(c, "no match");
	}
	if (td_set(m->items) && (items = td_path(root, root, m->items)) == NULL)
		return tsk_td_control(c, "no items");
	c->index = 0;
	if (cJSON_IsObject(items))
		return td_generic_trade(c, m, items) ? TD_TRADES : TD_ERROR;
	if (!cJSON_IsArray(items))
		return tsk_td_fail(c, "trade items: expected an array or object");
	cJSON_ArrayForEach(it, items)
	{
		if (!td_generic_trade(c, m, it))
			return TD_ERROR;
		c->index++;
	}
	return TD_TRADES;
}
