/*
 * decode_generic.c -- the exchange-independent pieces:
 *   1. trade frames of any JSON feed, driven by a td_generic_map (field
 *      paths; see decode.h for the map semantics);
 *   2. the subscribe-message plumbing (symbol checks, output buffer with
 *      snprintf semantics, td_subscribe_message dispatch to the per-exchange
 *      builders that live in decode_<exchange>.c);
 *   3. the default canonical-symbol rule (td_canonical_symbol).
 *
 * Path syntax: '.'-separated segments; a segment is an object key (exact,
 * case-sensitive) or, on an array, a decimal index; "$" / "$." anchors the
 * path at the frame root, otherwise it is relative to the trade item.  Paths
 * are resolved iteratively (no recursion), at most TD_PATH_MAX_SEGMENTS
 * segments of at most 63 bytes.
 *
 * Invariants: the map is validated (td_generic_map_check) before any frame
 * is decoded, so an unusable map is reported as an error, never crashes;
 * price/qty/ts/side/id go through the shared td_read_* helpers, so numbers
 * may be JSON numbers or decimal strings exactly as for the named exchanges.
 * Subscribe builders never write past outsz and never emit a truncated
 * message (out is "" when it does not fit).
 */
#define TD_DECODE_INTERNAL
#include "decode.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TD_SEGMENT_MAX 64		/* incl. NUL */
#define TD_INDEX_MAX_DIGITS 9

/* True if a map entry is set (non-NULL, non-empty). */
static bool
td_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/*
 * Walk `path` from the item (or from the root when it starts with "$").
 * Returns the node, or NULL if any step is missing / the path is malformed.
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
			node = td_get(node, key);
		path += k;
		if (*path == '\0')
			return node;
		path++;					/* skip '.' */
	}
	return NULL;
}

/* Syntax check of one path: segments 1..63 bytes, <= TD_PATH_MAX_SEGMENTS. */
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

/* See decode.h. */
int
td_generic_map_check(const td_generic_map *m, char *err, size_t errsz)
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
	else if (!td_set(m->instrument) && !td_symbols_ok(&m->instrument_const, 1, false))
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

/* Decode one trade item with the map. */
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
		if (!td_set_instrument(c, &t, td_path(c->root, it, m->instrument), m->instrument))
			return false;
	}
	else
		strcpy(t.instrument, m->instrument_const);	/* validated by the map check */
	if (!td_read_number(c, price, m->price, TD_NUM_POSITIVE, &t.price) ||
		!td_read_number(c, qty, m->qty, TD_NUM_NONNEG, &t.qty) ||
		!td_read_ts(c, ts, m->ts, m->ts_unit, &t.ts_us) ||
		(td_set(m->side) && !td_read_side(c, side, m->side, m->side_mode, &t.side)))
		return false;
	if (td_set(m->trade_id))
	{
		if (!td_read_id(c, td_path(c->root, it, m->trade_id), m->trade_id,
						&t.trade_id, &t.id_derived))
			return false;
	}
	else
	{
		td_hash		h;

		td_hash_init(&h, "generic");
		td_hash_bytes(&h, t.instrument, strlen(t.instrument));
		td_hash_item(&h, ts);
		td_hash_item(&h, price);
		td_hash_item(&h, qty);
		td_hash_item(&h, side);
		td_hash_i64(&h, c->index);
		t.trade_id = td_hash_final(&h);
		t.id_derived = 1;
	}
	td_emit(c, &t);
	return true;
}

/* Entry point: match filter, locate the trade items, decode each. */
td_kind
td_decode_generic(td_ctx *c, const cJSON *root, const td_generic_map *m)
{
	char		err[TD_ERROR_MAX];
	const cJSON *items = root;
	const cJSON *it;

	if (td_generic_map_check(m, err, sizeof err) != 0)
		return td_fail(c, "generic map: %s", err);
	if (td_set(m->match_path))
	{
		const cJSON *v = td_path(root, root, m->match_path);

		if (!cJSON_IsString(v) || v->valuestring == NULL ||
			strcmp(v->valuestring, m->match_value) != 0)
			return td_control(c, "no match");
	}
	if (td_set(m->items) && (items = td_path(root, root, m->items)) == NULL)
		return td_control(c, "no items");
	c->index = 0;
	if (cJSON_IsObject(items))
		return td_generic_trade(c, m, items) ? TD_TRADES : TD_ERROR;
	if (!cJSON_IsArray(items))
		return td_fail(c, "trade items: expected an array or object");
	cJSON_ArrayForEach(it, items)
	{
		if (!td_generic_trade(c, m, it))
			return TD_ERROR;
		c->index++;
	}
	return TD_TRADES;
}

/* ---- subscribe messages ------------------------------------------------ */

/* Validate a list of symbols for a subscribe message or stream path. */
bool
td_symbols_ok(const char *const *instruments, int n, bool url_safe)
{
	if (instruments == NULL || n < 1)
		return false;
	for (int i = 0; i < n; i++)
		if (!td_symbol_ok(instruments[i], url_safe))
			return false;
	return true;
}

/* ASCII-only case folding (locale-independent, unlike toupper/tolower). */
static void
td_ascii_fold(char *s, bool upper)
{
	for (; *s; s++)
		if (upper && *s >= 'a' && *s <= 'z')
			*s = (char) (*s - 'a' + 'A');
		else if (!upper && *s >= 'A' && *s <= 'Z')
			*s = (char) (*s - 'A' + 'a');
}

/* cJSON array of the symbols, optionally lower-cased and suffixed. */
cJSON *
td_string_array(const char *const *instruments, int n, bool lower, const char *suffix)
{
	cJSON	   *arr = cJSON_CreateArray();

	for (int i = 0; arr && i < n; i++)
	{
		char		buf[TD_INSTRUMENT_MAX + 32];
		cJSON	   *s;

		snprintf(buf, sizeof buf, "%s", instruments[i]);
		if (lower)
			td_ascii_fold(buf, false);	/* the symbol only: "@aggTrade" keeps its case */
		strncat(buf, suffix ? suffix : "", sizeof buf - strlen(buf) - 1);
		if ((s = cJSON_CreateString(buf)) == NULL)
		{
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddItemToArray(arr, s);
	}
	return arr;
}

/* Append raw text; past outsz only the needed length is counted. */
void
td_out_text(td_outbuf *ob, const char *text)
{
	size_t		n = strlen(text);

	if (ob->out && ob->len + n < ob->outsz)
		memcpy(ob->out + ob->len, text, n);
	ob->len += n;
}

/* Append one JSON message (own line) and free it; NULL msg = OOM. */
bool
td_out_json(td_outbuf *ob, cJSON *msg)
{
	char	   *text = msg ? cJSON_PrintUnformatted(msg) : NULL;

	cJSON_Delete(msg);
	if (text == NULL)
	{
		ob->failed = 1;
		return false;
	}
	if (ob->len > 0)
		td_out_text(ob, "\n");
	td_out_text(ob, text);
	cJSON_free(text);
	return true;
}

/* NUL-terminate (or blank, if it did not fit) and return the needed length. */
int
td_out_finish(td_outbuf *ob)
{
	if (ob->failed || ob->len > INT_MAX)
	{
		if (ob->out && ob->outsz)
			ob->out[0] = '\0';
		return -1;
	}
	if (ob->out && ob->outsz)
		ob->out[ob->len < ob->outsz ? ob->len : 0] = '\0';
	return (int) ob->len;
}

/* See decode.h. */
int
td_subscribe_message(td_feed feed, const char *const *instruments, int n,
					 char *out, size_t outsz)
{
	td_outbuf	ob = {out, out ? outsz : 0, 0, 0};
	int			rc;

	if (!td_symbols_ok(instruments, n, false))
	{
		ob.failed = 1;
		return td_out_finish(&ob);
	}
	switch (td_feed_exchange(feed))
	{
		case TD_BINANCE:
			rc = td_subscribe_binance(feed, instruments, n, &ob);
			break;
		case TD_COINBASE:
			rc = td_subscribe_coinbase(feed, instruments, n, &ob);
			break;
		case TD_KRAKEN:
			rc = td_subscribe_kraken(feed, instruments, n, &ob);
			break;
		case TD_FINNHUB:
			rc = td_subscribe_finnhub(instruments, n, &ob);
			break;
		default:
			rc = -1;
	}
	if (rc != 0)
		ob.failed = 1;
	return td_out_finish(&ob);
}

/* ---- canonical symbols ------------------------------------------------- */

/* True if s ends with suffix and at least `keep` characters precede it. */
static bool
td_ends_with(const char *s, size_t len, const char *suffix, size_t keep)
{
	size_t		sl = strlen(suffix);

	return len >= sl + keep && memcmp(s + len - sl, suffix, sl) == 0;
}

/* See decode.h for the rule. */
int
td_canonical_symbol(const char *native, char *out, size_t outsz)
{
	static const char *const prefixes[] = {"PI_", "PF_", "FI_", "FF_", NULL};
	static const char *const quotes[] = {
		"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "USD", "EUR", "GBP", "JPY",
		"AUD", "CAD", "CHF", "TRY", "BRL", "BTC", "XBT", "ETH", "BNB", NULL
	};
	static const char *const aliases[][2] = {{"XBT", "BTC"}, {"XDG", "DOGE"}, {NULL, NULL}};
	char		buf[TD_INSTRUMENT_MAX];
	char	   *s = buf;
	const char *result;
	size_t		len;

	if (out && outsz)
		out[0] = '\0';
	if (out == NULL || !td_symbol_ok(native, false))
		return -1;
	strcpy(buf, native);			/* 1. upper-case, after last ':' */
	td_ascii_fold(buf, true);
	if (strrchr(buf, ':'))
		s = strrchr(buf, ':') + 1;
	for (int i = 0; prefixes[i]; i++)	/* 2. Kraken futures prefix */
		if (strncmp(s, prefixes[i], 3) == 0)
		{
			s += 3;
			break;
		}
	len = strlen(s);
	if (td_ends_with(s, len, "_PERP", 1))	/* 3. perpetual / expiry suffix */
		s[len -= 5] = '\0';
	else
	{
		size_t		k = len;

		while (k > 0 && isdigit((unsigned char) s[k - 1]))
			k--;
		if (k > 1 && k < len && s[k - 1] == '_')
			s[len = k - 1] = '\0';
	}
	if ((len = strcspn(s, "/-_")) < strlen(s))	/* 4. separator */
		s[len] = '\0';
	else
	{
		bool		done = false;

		for (size_t keep = 3; keep >= 2 && !done; keep--)	/* 5. quote suffix */
			for (int i = 0; quotes[i] && !done; i++)
				if ((done = td_ends_with(s, len, quotes[i], keep)))
					s[len - strlen(quotes[i])] = '\0';
	}
	result = s;
	for (int i = 0; aliases[i][0]; i++)	/* 6. aliases */
		if (strcmp(s, aliases[i][0]) == 0)
			result = aliases[i][1];
	if (*result == '\0' || strlen(result) >= outsz)
		return -1;
	strcpy(out, result);
	return 0;
}
