/*
 * decode_subscribe.c -- the exchange-independent subscription pieces:
 *   1. the subscribe-message plumbing (symbol checks, output buffer with
 *      snprintf semantics, tsk_td_subscribe_message dispatch to the per-exchange
 *      builders that live in decode_<exchange>.c);
 *   2. the default canonical-symbol rule (tsk_td_canonical_symbol).
 *
 * Invariants: subscribe builders never write past outsz and never emit a
 * truncated message (out is "" when it does not fit); symbols are checked
 * (printable ASCII, 1..63 bytes) before use; case folding is ASCII-only and
 * locale-independent.
 */
#define TD_DECODE_INTERNAL
#include "ingest/decode.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- subscribe messages ------------------------------------------------ */

/* Validate a list of symbols for a subscribe message or stream path. */
bool
tsk_td_symbols_ok(const char *const *instruments, int n, bool url_safe)
{
	if (instruments == NULL || n < 1)
		return false;
	for (int i = 0; i < n; i++)
		if (!tsk_td_symbol_ok(instruments[i], url_safe))
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
tsk_td_string_array(const char *const *instruments, int n, bool lower, const char *suffix)
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
tsk_td_out_text(td_outbuf *ob, const char *text)
{
	size_t		n = strlen(text);

	if (ob->out && ob->len + n < ob->outsz)
		memcpy(ob->out + ob->len, text, n);
	ob->len += n;
}

/* Append one JSON message (own line) and free it; NULL msg = OOM. */
bool
tsk_td_out_json(td_outbuf *ob, cJSON *msg)
{
	char	   *text = msg ? cJSON_PrintUnformatted(msg) : NULL;

	cJSON_Delete(msg);
	if (text == NULL)
	{
		ob->failed = 1;
		return false;
	}
	if (ob->len > 0)
		tsk_td_out_text(ob, "\n");
	tsk_td_out_text(ob, text);
	cJSON_free(text);
	return true;
}

/* NUL-terminate (or blank, if it did not fit) and return the needed length. */
int
tsk_td_out_finish(td_outbuf *ob)
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
tsk_td_subscribe_message(td_feed feed, const char *const *instruments, int n,
					 char *out, size_t outsz)
{
	td_outbuf	ob = {out, out ? outsz : 0, 0, 0};
	int			rc;

	if (!tsk_td_symbols_ok(instruments, n, false))
	{
		ob.failed = 1;
		return tsk_td_out_finish(&ob);
	}
	switch (tsk_td_feed_exchange(feed))
	{
		case TD_BINANCE:
			rc = tsk_td_subscribe_binance(feed, instruments, n, &ob);
			break;
		case TD_COINBASE:
			rc = tsk_td_subscribe_coinbase(feed, instruments, n, &ob);
			break;
		case TD_KRAKEN:
			rc = tsk_td_subscribe_kraken(feed, instruments, n, &ob);
			break;
		case TD_FINNHUB:
			rc = tsk_td_subscribe_finnhub(instruments, n, &ob);
			break;
		default:
			rc = -1;
	}
	if (rc != 0)
		ob.failed = 1;
	return tsk_td_out_finish(&ob);
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
tsk_td_canonical_symbol(const char *native, char *out, size_t outsz)
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
	if (out == NULL || !tsk_td_symbol_ok(native, false))
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
