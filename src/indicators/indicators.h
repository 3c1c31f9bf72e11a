/*
 * indicators.h
 *	  Streaming technical indicators (pure C, no Postgres headers, no malloc).
 *
 * Every indicator is a state object living in memory the caller provides:
 *
 *	  size_t bytes = tsk_ind_sma_size(n);			bytes needed for these params
 *	  int    rc    = tsk_ind_sma_init(mem, n);		0, or a negative IND_ERR_* code
 *	  bool   ready = tsk_ind_sma_push(state, x, &out);	one row, O(1) amortised
 *
 * Invariants and contract:
 *	- mem must be at least ind_<name>_size(params) bytes and aligned for a
 *	  double (palloc/MAXALIGN memory is); it need not be zeroed.  For invalid
 *	  parameters the size functions still return a safe size (the bare state),
 *	  so the caller may call init and get the error code from it.
 *	- init validates the parameters before writing anything but the state.
 *	  Error codes map to messages with tsk_ind_strerror().
 *	- The state holds no pointers (only offsets into itself), so the block may
 *	  be copied or moved between calls.
 *	- push consumes one row, oldest first.  It returns false while the row is
 *	  inside the indicator's lookback (SQL NULL) and true with every output
 *	  filled once a value exists; outputs are left untouched on false.
 *	  Rows with a NULL input must simply not be pushed: the state then behaves
 *	  as if the row did not exist.
 *	- Values reproduce TA-Lib 0.6 (TA_EPSILON = 1e-14, unstable period 0)
 *	  bit for bit where the operation order allows, and at least to 1e-9
 *	  relative; the lookback of each indicator is noted next to it.  One
 *	  deliberate difference: sums over a window (SMA, Bollinger bands,
 *	  stochastic, MFI, rolling VWAP, CCI) are the exact sums of the window's
 *	  values, rounded once, so they depend on the window alone and not on
 *	  how many rows came before it (TA-Lib's running sums carry the rounding
 *	  residue of every earlier row); the two agree bit for bit whenever
 *	  TA-Lib's running sum is exact, e.g. on integer prices.
 *	  Periods of 1 are accepted even where TA-Lib requires 2; they give the
 *	  natural degenerate result (e.g. sma(1) = x).
 *	- Periods above IND_MAX_PERIOD are rejected (bounds memory and overflow).
 *	- Bit-exactness assumes no fused multiply-add contraction: fine for the
 *	  x86-64 baseline; on FMA-by-default targets (e.g. aarch64) build the
 *	  indicator sources with -ffp-contract=off.
 *
 * Implementation: indicators.c (messages, checks, shared building blocks),
 * indicators_close.c (close-only indicators), indicators_bar.c (bar and
 * volume indicators), indicators_internal.h (private block declarations).
 * Golden test: test/unit/test_indicators.c.
 */
#ifndef TRIGGERSTOCK_INDICATORS_H
#define TRIGGERSTOCK_INDICATORS_H

#include <stdbool.h>
#include <stddef.h>

/* Largest accepted period parameter (window length) of any indicator. */
#define IND_MAX_PERIOD 1000000

/* Status codes returned by the init functions (0 = success). */
typedef enum ind_status
{
	IND_OK = 0,
	IND_ERR_NULL_MEMORY = -1,	/* mem was NULL */
	IND_ERR_N_TOO_SMALL = -2,	/* n < 1 */
	IND_ERR_PERIOD_TOO_LARGE = -3,	/* some period > IND_MAX_PERIOD */
	IND_ERR_FAST_TOO_SMALL = -4,	/* macd fast < 1 */
	IND_ERR_FAST_NOT_BELOW_SLOW = -5,	/* macd fast >= slow */
	IND_ERR_SIGNAL_TOO_SMALL = -6,	/* macd signal < 1 */
	IND_ERR_K_TOO_SMALL = -7,	/* stoch k < 1 */
	IND_ERR_K_SLOW_TOO_SMALL = -8,	/* stoch k_slow < 1 */
	IND_ERR_D_TOO_SMALL = -9,	/* stoch d < 1 */
	IND_ERR_MULTIPLIER_NOT_FINITE = -10	/* bbands k is NaN or infinite */
} ind_status;

/* Human-readable message for a status code, e.g. "n must be at least 1". */
extern const char *tsk_ind_strerror(int status);

/* Multi-output results. */
typedef struct ind_macd_out
{
	double		macd;			/* fast EMA - slow EMA */
	double		signal;			/* EMA(signal) of macd */
	double		hist;			/* macd - signal */
} ind_macd_out;

typedef struct ind_bbands_out
{
	double		upper;			/* middle + k * population stddev */
	double		middle;			/* SMA(n) */
	double		lower;			/* middle - k * population stddev */
} ind_bbands_out;

typedef struct ind_stoch_out
{
	double		k;				/* slow %K: SMA(k_slow) of fast %K */
	double		d;				/* slow %D: SMA(d) of slow %K */
} ind_stoch_out;

/* Opaque states; their sizes come from the ind_<name>_size functions. */
typedef struct ind_sma_state ind_sma_state;
typedef struct ind_ema_state ind_ema_state;
typedef struct ind_rsi_state ind_rsi_state;
typedef struct ind_roc_state ind_roc_state;
typedef struct ind_mom_state ind_mom_state;
typedef struct ind_macd_state ind_macd_state;
typedef struct ind_bbands_state ind_bbands_state;
typedef struct ind_atr_state ind_atr_state;
typedef struct ind_willr_state ind_willr_state;
typedef struct ind_cci_state ind_cci_state;
typedef struct ind_adx_state ind_adx_state;
typedef struct ind_stoch_state ind_stoch_state;
typedef struct ind_obv_state ind_obv_state;
typedef struct ind_mfi_state ind_mfi_state;
typedef struct ind_vwap_state ind_vwap_state;
typedef struct ind_vwap_rolling_state ind_vwap_rolling_state;

/* SMA(n) of x.  Lookback n-1.  Default n = 20 in the golden tests. */
extern size_t tsk_ind_sma_size(int n);
extern int	tsk_ind_sma_init(void *mem, int n);
extern bool tsk_ind_sma_push(ind_sma_state *s, double x, double *out);

/* EMA(n), k = 2/(n+1), seeded with the SMA of the first n values.
 * Lookback n-1. */
extern size_t tsk_ind_ema_size(int n);
extern int	tsk_ind_ema_init(void *mem, int n);
extern bool tsk_ind_ema_push(ind_ema_state *s, double x, double *out);

/* RSI(n) with Wilder smoothing (default n = 14).  Lookback n. */
extern size_t tsk_ind_rsi_size(int n);
extern int	tsk_ind_rsi_init(void *mem, int n);
extern bool tsk_ind_rsi_push(ind_rsi_state *s, double x, double *out);

/* ROC(n) = (x / x[n back] - 1) * 100, 0 when x[n back] is 0 (default
 * n = 10).  Lookback n. */
extern size_t tsk_ind_roc_size(int n);
extern int	tsk_ind_roc_init(void *mem, int n);
extern bool tsk_ind_roc_push(ind_roc_state *s, double x, double *out);

/* MOM(n) = x - x[n back] (default n = 10).  Lookback n. */
extern size_t tsk_ind_mom_size(int n);
extern int	tsk_ind_mom_init(void *mem, int n);
extern bool tsk_ind_mom_push(ind_mom_state *s, double x, double *out);

/* MACD(fast = 12, slow = 26, signal = 9); requires fast < slow.
 * Lookback (slow-1) + (signal-1). */
extern size_t tsk_ind_macd_size(int fast, int slow, int signal);
extern int	tsk_ind_macd_init(void *mem, int fast, int slow, int signal);
extern bool tsk_ind_macd_push(ind_macd_state *s, double x, ind_macd_out *out);

/* Bollinger bands(n = 20, k = 2) around an SMA, population stddev.
 * Lookback n-1. */
extern size_t tsk_ind_bbands_size(int n);
extern int	tsk_ind_bbands_init(void *mem, int n, double k);
extern bool tsk_ind_bbands_push(ind_bbands_state *s, double x, ind_bbands_out *out);

/* ATR(n = 14): Wilder average of the true range.  Lookback n. */
extern size_t tsk_ind_atr_size(int n);
extern int	tsk_ind_atr_init(void *mem, int n);
extern bool tsk_ind_atr_push(ind_atr_state *s, double high, double low,
						 double close, double *out);

/* Williams %R(n = 14), in [-100, 0]; 0 for a flat window.  Lookback n-1. */
extern size_t tsk_ind_willr_size(int n);
extern int	tsk_ind_willr_init(void *mem, int n);
extern bool tsk_ind_willr_push(ind_willr_state *s, double high, double low,
						   double close, double *out);

/* CCI(n = 14) on the typical price (h+l+c)/3; 0 when the price equals its
 * mean or the mean deviation is 0.  O(n) per row.  Lookback n-1. */
extern size_t tsk_ind_cci_size(int n);
extern int	tsk_ind_cci_init(void *mem, int n);
extern bool tsk_ind_cci_push(ind_cci_state *s, double high, double low,
						 double close, double *out);

/* ADX(n = 14), Wilder.  Lookback 2n-1. */
extern size_t tsk_ind_adx_size(int n);
extern int	tsk_ind_adx_init(void *mem, int n);
extern bool tsk_ind_adx_push(ind_adx_state *s, double high, double low,
						 double close, double *out);

/* Stochastic(k = 14, k_slow = 3, d = 3) with SMA slowing; fast %K is 0 for
 * a flat window.  Lookback (k-1) + (k_slow-1) + (d-1). */
extern size_t tsk_ind_stoch_size(int k, int k_slow, int d);
extern int	tsk_ind_stoch_init(void *mem, int k, int k_slow, int d);
extern bool tsk_ind_stoch_push(ind_stoch_state *s, double high, double low,
						   double close, ind_stoch_out *out);

/* OBV, starting at the first row's volume.  Lookback 0 (always true). */
extern size_t tsk_ind_obv_size(void);
extern int	tsk_ind_obv_init(void *mem);
extern bool tsk_ind_obv_push(ind_obv_state *s, double close, double volume,
						 double *out);

/* MFI(n = 14) on the typical price; 0 when the window's money flow total is
 * below 1.0 (as TA-Lib).  Lookback n. */
extern size_t tsk_ind_mfi_size(int n);
extern int	tsk_ind_mfi_init(void *mem, int n);
extern bool tsk_ind_mfi_push(ind_mfi_state *s, double high, double low,
						 double close, double volume, double *out);

/*
 * VWAP = sum(price * volume) / sum(volume).  Not a TA-Lib function.
 * Cumulative over all rows pushed so far: no value while the volume sum is
 * exactly 0 (e.g. only zero-volume rows so far).  Lookback 0 otherwise.
 */
extern size_t tsk_ind_vwap_size(void);
extern int	tsk_ind_vwap_init(void *mem);
extern bool tsk_ind_vwap_push(ind_vwap_state *s, double price, double volume,
						  double *out);

/*
 * Rolling VWAP over the last n rows: no value until n rows have been pushed
 * (lookback n-1, like SMA) and no value while the window's volume sum is 0
 * (every row of the window has zero volume; the running sums are then reset
 * to exact zeros, so no rounding residue survives).  Volumes are expected to
 * be non-negative; with mixed signs an exactly-zero sum also gives no value.
 */
extern size_t tsk_ind_vwap_rolling_size(int n);
extern int	tsk_ind_vwap_rolling_init(void *mem, int n);
extern bool tsk_ind_vwap_rolling_push(ind_vwap_rolling_state *s, double price,
								  double volume, double *out);

#endif							/* TRIGGERSTOCK_INDICATORS_H */
