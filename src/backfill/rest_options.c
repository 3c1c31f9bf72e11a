/*
 * rest_options.c
 *	  a backfill job's options (triggerstock; see rest.h): the JSON object of
 *	  triggerstock.backfills.options read into bf_options.
 *
 * Keys: limit, min_interval_ms, max_errors, max_pages (integers); generic
 * endpoint: url, next_url, cursor ("id", "time_ms", "time_s", "path"),
 * next_path, map {items, price, qty, ts, ts_unit, trade_id, side, side_mode,
 * match_path, match_value}.  Unknown keys are ignored ("ids" is read by
 * backfill() in SQL).
 *
 * Invariants: the strings of o->generic point into o->tree, which lives
 * until tsk_bf_options_free; on error nothing is kept.
 */
#include "backfill/rest.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int bf_opt_err(char *err, size_t errsz, const char *fmt,...) __attribute__((format(printf, 3, 4)));

/*
 * bf_opt_err
 *	  An error message; returns -1.
 */
static int
bf_opt_err(char *err, size_t errsz, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * bf_opt_int
 *	  An optional integer member in [lo, hi]; 0 if absent or valid.
 */
static int
bf_opt_int(const cJSON *root, const char *key, int lo, int hi, int *out, char *err, size_t errsz)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);

	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) ||
		it->valuedouble < lo || it->valuedouble > hi)
		return bf_opt_err(err, errsz, "options->'%s' must be an integer from %d to %d", key, lo, hi);
	*out = (int) it->valuedouble;
	return 0;
}

/*
 * bf_opt_str
 *	  An optional string member (NULL if absent); -1 if not a string.
 */
static int
bf_opt_str(const cJSON *obj, const char *key, const char **out, char *err, size_t errsz)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsString(it) || strlen(it->valuestring) > 1000)
		return bf_opt_err(err, errsz, "options->'%s' must be a string (at most 1000 bytes)", key);
	*out = it->valuestring;
	return 0;
}

/*
 * tsk_bf_options_load
 *	  See rest.h.
 */
int
tsk_bf_options_load(const char *json, bf_options *o, char *err, size_t errsz)
{
	cJSON	   *root;
	const cJSON *map;
	const char *cursor = NULL,
			   *ts_unit = NULL,
			   *side_mode = NULL;
	int			rc = 0;
	td_generic_map *m = &o->generic.map;

	memset(o, 0, sizeof(*o));
	o->min_interval_ms = -1;
	o->max_errors = 10;
	root = json != NULL ? cJSON_Parse(json) : NULL;
	if (!cJSON_IsObject(root))
	{
		cJSON_Delete(root);
		return bf_opt_err(err, errsz, "options must be a JSON object");
	}
	o->tree = root;
	rc |= bf_opt_int(root, "limit", 1, BF_MAX_LIMIT, &o->limit, err, errsz);
	rc |= bf_opt_int(root, "min_interval_ms", 0, 600000, &o->min_interval_ms, err, errsz);
	rc |= bf_opt_int(root, "max_errors", 1, 1000, &o->max_errors, err, errsz);
	rc |= bf_opt_int(root, "max_pages", 0, 100000000, &o->max_pages, err, errsz);
	rc |= bf_opt_str(root, "url", &o->generic.url, err, errsz);
	rc |= bf_opt_str(root, "next_url", &o->generic.next_url, err, errsz);
	rc |= bf_opt_str(root, "cursor", &cursor, err, errsz);
	rc |= bf_opt_str(root, "next_path", &o->generic.next_path, err, errsz);
	map = cJSON_GetObjectItemCaseSensitive(root, "map");
	if (map != NULL && !cJSON_IsObject(map))
		rc |= bf_opt_err(err, errsz, "options->'map' must be an object");
	else if (map != NULL)
	{
		rc |= bf_opt_str(map, "items", &m->items, err, errsz);
		rc |= bf_opt_str(map, "price", &m->price, err, errsz);
		rc |= bf_opt_str(map, "qty", &m->qty, err, errsz);
		rc |= bf_opt_str(map, "ts", &m->ts, err, errsz);
		rc |= bf_opt_str(map, "ts_unit", &ts_unit, err, errsz);
		rc |= bf_opt_str(map, "trade_id", &m->trade_id, err, errsz);
		rc |= bf_opt_str(map, "side", &m->side, err, errsz);
		rc |= bf_opt_str(map, "side_mode", &side_mode, err, errsz);
		rc |= bf_opt_str(map, "match_path", &m->match_path, err, errsz);
		rc |= bf_opt_str(map, "match_value", &m->match_value, err, errsz);
	}
	if (rc == 0)
	{
		m->ts_unit = !ts_unit || strcmp(ts_unit, "ms") == 0 ? TD_TS_MS :
			strcmp(ts_unit, "s") == 0 ? TD_TS_S : strcmp(ts_unit, "us") == 0 ? TD_TS_US :
			strcmp(ts_unit, "ns") == 0 ? TD_TS_NS : strcmp(ts_unit, "rfc3339") == 0 ? TD_TS_RFC3339 : -1;
		m->side_mode = side_mode && strcmp(side_mode, "maker") == 0 ? TD_SIDE_MAKER : TD_SIDE_TAKER;
		o->generic.cursor = !cursor || strcmp(cursor, "id") == 0 ? BF_GCUR_ID :
			strcmp(cursor, "time_ms") == 0 ? BF_GCUR_TIME_MS :
			strcmp(cursor, "time_s") == 0 ? BF_GCUR_TIME_S :
			strcmp(cursor, "path") == 0 ? BF_GCUR_PATH : -1;
		if ((int) m->ts_unit < 0)
			rc = bf_opt_err(err, errsz, "options->'map'->'ts_unit' must be s, ms, us, ns or rfc3339");
		else if ((int) o->generic.cursor < 0)
			rc = bf_opt_err(err, errsz, "options->'cursor' must be id, time_ms, time_s or path");
	}
	if (rc != 0)
	{
		tsk_bf_options_free(o);
		return -1;
	}
	return 0;
}

/*
 * tsk_bf_options_free
 *	  See rest.h.
 */
void
tsk_bf_options_free(bf_options *o)
{
	cJSON_Delete((cJSON *) o->tree);
	memset(o, 0, sizeof(*o));
}

/*
 * tsk_bf_default_interval_ms
 *	  See rest.h.
 */
int
tsk_bf_default_interval_ms(bf_endpoint ep)
{
	switch (ep)
	{
		case BF_BINANCE_AGGTRADES:
		case BF_BINANCE_KLINES:
			return 50;			/* weight 2-4 per page of 6,000 a minute */
		case BF_BINANCE_TRADES:
			return 300;			/* weight 25 */
		case BF_COINBASE_TRADES:
		case BF_COINBASE_CANDLES:
			return 150;			/* 10 requests a second, bursts of 15 */
		case BF_KRAKEN_TRADES:
		case BF_KRAKEN_OHLC:
			return 1000;		/* about one public call a second */
		default:
			return 200;
	}
}
