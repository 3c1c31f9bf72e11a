/*
 * decode.c
 *	  The entry point of the trade-frame decoders: tsk_td_decode() validates
 *	  the raw frame, parses it once with cJSON (cJSON_ParseWithLengthOpts:
 *	  never reads past len; nesting bounded by CJSON_NESTING_LIMIT) and hands
 *	  the tree to the exchange decoder; the names of exchanges, result kinds
 *	  and feeds.
 *
 * Invariants: the shared helpers of the decoders live in decode_util.c and
 * the subscribe plumbing in decode_out.c, never here, so that this
 * dispatcher calls the decoders and nothing calls back into it (no circle
 * between the files).
 */
#define _POSIX_C_SOURCE 200809L	/* strnlen, strcasecmp even under -std=c11 */
#define TD_DECODE_INTERNAL
#include "ingest/decode.h"

#include <string.h>
#include <strings.h>

/* ---- names ------------------------------------------------------------- */

static const char *const td_exchange_names[TD_EXCHANGE_COUNT] = {
	"binance", "coinbase", "kraken", "finnhub", "generic"
};

static const struct
{
	const char *name;
	td_exchange exchange;
}			td_feeds[TD_FEED_COUNT] = {
	{"binance_trade", TD_BINANCE}, {"binance_aggtrade", TD_BINANCE},
	{"coinbase_matches", TD_COINBASE}, {"coinbase_advanced", TD_COINBASE},
	{"kraken_v1", TD_KRAKEN}, {"kraken_v2", TD_KRAKEN}, {"kraken_futures", TD_KRAKEN},
	{"finnhub", TD_FINNHUB}
};

/*
 * tsk_td_exchange_name
 *	  Name of an exchange, or "unknown".
 */
const char *
tsk_td_exchange_name(td_exchange ex)
{
	return ((unsigned) ex < TD_EXCHANGE_COUNT) ? td_exchange_names[ex] : "unknown";
}

/*
 * tsk_td_exchange_from_name
 *	  Exchange from its name (case-insensitive); 0 on success, -1 if unknown.
 */
int
tsk_td_exchange_from_name(const char *name, td_exchange *ex)
{
	for (int i = 0; name && ex && i < TD_EXCHANGE_COUNT; i++)
		if (strcasecmp(td_exchange_names[i], name) == 0)
		{
			*ex = (td_exchange) i;
			return 0;
		}
	return -1;
}

/*
 * tsk_td_kind_name
 *	  Name of a result kind.
 */
const char *
tsk_td_kind_name(td_kind kind)
{
	static const char *const names[] = {"trades", "control", "error", "overflow"};

	return ((unsigned) kind < 4) ? names[kind] : "unknown";
}

/*
 * tsk_td_feed_name
 *	  Name of a feed, or "unknown".
 */
const char *
tsk_td_feed_name(td_feed feed)
{
	return ((unsigned) feed < TD_FEED_COUNT) ? td_feeds[feed].name : "unknown";
}

/*
 * tsk_td_feed_from_name
 *	  Feed from its name (case-insensitive); 0 on success, -1 if unknown.
 */
int
tsk_td_feed_from_name(const char *name, td_feed *feed)
{
	for (int i = 0; name && feed && i < TD_FEED_COUNT; i++)
		if (strcasecmp(td_feeds[i].name, name) == 0)
		{
			*feed = (td_feed) i;
			return 0;
		}
	return -1;
}

/*
 * tsk_td_feed_exchange
 *	  Decoder family of a feed (TD_GENERIC for an invalid feed).
 */
td_exchange
tsk_td_feed_exchange(td_feed feed)
{
	return ((unsigned) feed < TD_FEED_COUNT) ? td_feeds[feed].exchange : TD_GENERIC;
}

/* ---- dispatch ---------------------------------------------------------- */

/*
 * tsk_td_decode
 *	  See decode.h.
 */
td_kind
tsk_td_decode(td_exchange ex, const td_generic_map *map, const char *frame, size_t len,
		  td_trade *out, int cap, td_result *res)
{
	td_ctx		c = {out, cap, 0, -1, res, NULL};
	td_kind		kind;
	cJSON	   *root;
	const char *end = NULL;

	if (res == NULL)
		return TD_ERROR;
	memset(res, 0, sizeof *res);
	if (cap < 0 || (cap > 0 && out == NULL) || (frame == NULL && len > 0))
		kind = tsk_td_fail(&c, "invalid arguments");
	else if (len == 0)
		kind = tsk_td_fail(&c, "empty frame");
	else if (len > TD_MAX_FRAME_LEN)
		kind = tsk_td_fail(&c, "frame too large (%zu bytes, max %u)", len, TD_MAX_FRAME_LEN);
	else if (memchr(frame, '\0', len) != NULL)
		kind = tsk_td_fail(&c, "frame contains a NUL byte");
	else if ((root = cJSON_ParseWithLengthOpts(frame, len, &end, 0)) == NULL)
	{
		long		at = (end >= frame && end <= frame + len) ? (long) (end - frame) : -1;

		kind = tsk_td_fail(&c, "invalid JSON (or out of memory) near byte %ld of %zu", at, len);
	}
	else
	{
		while (end < frame + len && *end && strchr(" \t\r\n", *end))
			end++;
		c.root = root;
		if (end != frame + len)
			kind = tsk_td_fail(&c, "trailing data after JSON value at byte %ld",
						   (long) (end - frame));
		else if (ex == TD_BINANCE)
			kind = tsk_td_decode_binance(&c, root);
		else if (ex == TD_COINBASE)
			kind = tsk_td_decode_coinbase(&c, root);
		else if (ex == TD_KRAKEN)
			kind = tsk_td_decode_kraken(&c, root);
		else if (ex == TD_FINNHUB)
			kind = tsk_td_decode_finnhub(&c, root);
		else if (ex == TD_GENERIC)
			kind = tsk_td_decode_generic(&c, root, map);
		else
			kind = tsk_td_fail(&c, "unknown exchange %d", (int) ex);
		cJSON_Delete(root);
	}
	if (kind == TD_ERROR && res->error[0] == '\0')
		tsk_td_fail(&c, "unspecified decode error");
	if (kind != TD_ERROR)
		res->error[0] = '\0';
	if (kind != TD_CONTROL)
		res->detail[0] = '\0';
	if (kind == TD_TRADES)
	{
		res->needed = c.n;
		if (c.n > cap)
			kind = TD_OVERFLOW;
		else
			res->ntrades = c.n;
	}
	if (kind != TD_TRADES && kind != TD_OVERFLOW)
		res->snapshot = 0;
	res->kind = kind;
	return kind;
}
