/*
 * decode_fast.h
 *	  A fast path for the one frame shape that dominates a busy Binance feed
 *	  (pure C, no Postgres headers): a compact combined-stream trade or
 *	  aggTrade frame,
 *	    {"stream":"btcusdt@trade","data":{"e":"trade",...,"s":"BTCUSDT","t":1,
 *	     "p":"61837.63","q":"0.02","T":1723161255342,"m":true,...}}
 *	  decoded by one left-to-right scan, without building a cJSON tree and
 *	  without strtod.
 *
 * Invariant (what makes it safe): it either declines (returns false: the
 * caller runs the full decoder, tsk_td_decode) or produces exactly the trade
 * the full decoder produces for the same bytes, field for field.  It
 * declines anything outside a strict subset of JSON it handles exactly:
 * whitespace, escapes, non-ASCII or control bytes, nested values other than
 * "data", duplicate keys, numbers with a fraction or exponent or more than
 * 15 digits, decimal strings beyond 15 significant or 22 fraction digits, and
 * every frame the full decoder would not turn into one valid trade.  Prices
 * and quantities are m / 10^k with m < 2^53 and k <= 22, both exact
 * doubles, so the one division is correctly rounded: the value strtod gives.
 * test/unit/test_decode_fast.c checks the equivalence on every Binance
 * capture and on mutations of them.
 */
#ifndef TRIGGERSTOCK_DECODE_FAST_H
#define TRIGGERSTOCK_DECODE_FAST_H

#include <stdbool.h>
#include <stddef.h>

#include "ingest/decode.h"

/* Decode one Binance trade/aggTrade frame into *out, or decline (false). */
extern bool tsk_td_binance_fast(const char *frame, size_t len, td_trade *out);

#endif							/* TRIGGERSTOCK_DECODE_FAST_H */
