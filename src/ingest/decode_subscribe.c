/*
 * decode_subscribe.c
 *	  The exchange-independent subscription pieces: tsk_td_subscribe_message
 *	  (dispatch to the per-exchange builders that live in
 *	  decode_<exchange>.c) and the default canonical-symbol rule
 *	  (tsk_td_canonical_symbol).
 *
 * Invariants: subscribe builders never write past outsz and never emit a
 * truncated message (out is "" when it does not fit); their shared plumbing
 * is in decode_out.c, which calls no builder (no circle between the files);
 * case folding is ASCII-only and locale-independent.
 */
#define TD_DECODE_INTERNAL
#include "ingest/decode.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- subscribe messages ------------------------------------------------ */

/*
 * tsk_td_subscribe_message
 *	  See decode.h.
 */
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

/*
 * td_ends_with
 *	  True if s ends with suffix and at least `keep` characters precede it.
 */
static bool
td_ends_with(const char *s, size_t len, const char *suffix, size_t keep)
{
	size_t		sl = strlen(suffix);

	return len >= sl + keep && memcmp(s + len - sl, suffix, sl) == 0;
}

/*
 * tsk_td_canonical_symbol
 *	  See decode.h for the rule.
 */
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
	tsk_td_ascii_fold(buf, true);
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
