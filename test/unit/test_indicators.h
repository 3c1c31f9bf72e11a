/*
 * test_indicators.h
 *	  What the two parts of the indicator unit tests share
 *	  (test_indicators.c: loading, the golden comparison, validation, state
 *	  copies, main; test_indicators_naive.c: lookbacks and the comparisons
 *	  with naive recomputations).
 */
#ifndef TEST_INDICATORS_H
#define TEST_INDICATORS_H

#include "indicators/indicators.h"

#include <stdbool.h>
#include <stddef.h>

#define TEST_CANDLES "data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv"
#define TEST_GOLDEN "golden/talib_btc_perp_1m.csv"
#define TEST_TOLERANCE 1e-9
#define TEST_LINE_MAX 4096
#define TEST_TS_MAX 40

/* Golden columns after "ts,close", in file order. */
enum test_column
{
	COL_SMA20, COL_EMA20, COL_RSI14, COL_MACD, COL_MACD_SIGNAL, COL_MACD_HIST,
	COL_BB_UPPER, COL_BB_MIDDLE, COL_BB_LOWER, COL_ATR14, COL_OBV,
	COL_STOCH_K, COL_STOCH_D, COL_ROC10, COL_MOM10, COL_WILLR14, COL_CCI14,
	COL_MFI14, COL_ADX14, COL_COUNT
};

/* One candle row plus the golden row for the same timestamp. */
typedef struct test_row
{
	char		ts[TEST_TS_MAX];
	double		high;
	double		low;
	double		close;
	double		volume;
	double		golden_close;
	bool		golden_has[COL_COUNT];
	double		golden[COL_COUNT];
} test_row;

/* Scratch state memory for checks with small states (double-aligned). */
typedef union test_block_t
{
	double		align;
	char		bytes[4096];
} test_block_t;
extern test_block_t test_block;

/* defined in test_indicators.c */
void		test_check(bool ok, const char *fmt,...) __attribute__((format(printf, 2, 3)));
void	   *test_alloc(size_t size);

/* test groups defined in test_indicators_naive.c */
void		test_vwap_rolling_naive(const test_row *rows, int nrows, int n);
void		test_vwap_cumulative_naive(const test_row *rows, int nrows);
void		test_vwap_zero_volume(void);
void		test_lookbacks(const test_row *rows, int nrows);
void		test_channel_naive(const test_row *rows, int nrows);
void		test_flat_series(void);

#endif							/* TEST_INDICATORS_H */
