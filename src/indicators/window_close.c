/*
 * window_close.c
 *	  Window functions over one value series (normally the close): sma, ema,
 *	  rsi, roc, mom, macd and bbands, each a thin wrapper around its pure-C
 *	  state in indicators_close.c.
 *
 * Invariants: all per-partition work (row order, mark, parameters, NULL
 * and non-finite inputs) is done by tsk_window_row() (window_common.c); a
 * function here only pushes the row's values and returns NULL while the
 * indicator is inside its lookback.
 */
#include "postgres.h"

#include "fmgr.h"

#include "indicators/indicators.h"
#include "indicators/window.h"

/* Hint shared by the indicators with a single period n. */
#define WC_N_HINT "The period n must be between 1 and 1000000."

/* Reads an int4 parameter. */
#define WC_INT(params, i) DatumGetInt32((params)[i])

extern PGDLLEXPORT Datum window_sma(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_sma);
extern PGDLLEXPORT Datum window_ema(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_ema);
extern PGDLLEXPORT Datum window_rsi(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_rsi);
extern PGDLLEXPORT Datum window_roc(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_roc);
extern PGDLLEXPORT Datum window_mom(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_mom);
extern PGDLLEXPORT Datum window_macd(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_macd);
extern PGDLLEXPORT Datum window_bbands(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_bbands);

/* ---------------------------------------------------------------------
 * Sizes and initialisers adapting the Datum parameters to indicators.h.
 * ---------------------------------------------------------------------
 */

/*
 * wc_sma_size
 *	  Bytes of an sma(n) state.
 */
static size_t
wc_sma_size(const Datum *p)
{
	return tsk_ind_sma_size(WC_INT(p, 0));
}

/*
 * wc_sma_init
 *	  Sets up an sma(n) state.
 */
static int
wc_sma_init(void *mem, const Datum *p)
{
	return tsk_ind_sma_init(mem, WC_INT(p, 0));
}

/*
 * wc_ema_size
 *	  Bytes of an ema(n) state.
 */
static size_t
wc_ema_size(const Datum *p)
{
	return tsk_ind_ema_size(WC_INT(p, 0));
}

/*
 * wc_ema_init
 *	  Sets up an ema(n) state.
 */
static int
wc_ema_init(void *mem, const Datum *p)
{
	return tsk_ind_ema_init(mem, WC_INT(p, 0));
}

/*
 * wc_rsi_size
 *	  Bytes of an rsi(n) state.
 */
static size_t
wc_rsi_size(const Datum *p)
{
	return tsk_ind_rsi_size(WC_INT(p, 0));
}

/*
 * wc_rsi_init
 *	  Sets up an rsi(n) state.
 */
static int
wc_rsi_init(void *mem, const Datum *p)
{
	return tsk_ind_rsi_init(mem, WC_INT(p, 0));
}

/*
 * wc_roc_size
 *	  Bytes of a roc(n) state.
 */
static size_t
wc_roc_size(const Datum *p)
{
	return tsk_ind_roc_size(WC_INT(p, 0));
}

/*
 * wc_roc_init
 *	  Sets up a roc(n) state.
 */
static int
wc_roc_init(void *mem, const Datum *p)
{
	return tsk_ind_roc_init(mem, WC_INT(p, 0));
}

/*
 * wc_mom_size
 *	  Bytes of a mom(n) state.
 */
static size_t
wc_mom_size(const Datum *p)
{
	return tsk_ind_mom_size(WC_INT(p, 0));
}

/*
 * wc_mom_init
 *	  Sets up a mom(n) state.
 */
static int
wc_mom_init(void *mem, const Datum *p)
{
	return tsk_ind_mom_init(mem, WC_INT(p, 0));
}

/*
 * wc_macd_size
 *	  Bytes of a macd(fast, slow, signal) state.
 */
static size_t
wc_macd_size(const Datum *p)
{
	return tsk_ind_macd_size(WC_INT(p, 0), WC_INT(p, 1), WC_INT(p, 2));
}

/*
 * wc_macd_init
 *	  Sets up a macd(fast, slow, signal) state.
 */
static int
wc_macd_init(void *mem, const Datum *p)
{
	return tsk_ind_macd_init(mem, WC_INT(p, 0), WC_INT(p, 1), WC_INT(p, 2));
}

/*
 * wc_bbands_size
 *	  Bytes of a bbands(n, k) state.
 */
static size_t
wc_bbands_size(const Datum *p)
{
	return tsk_ind_bbands_size(WC_INT(p, 0));
}

/*
 * wc_bbands_init
 *	  Sets up a bbands(n, k) state.
 */
static int
wc_bbands_init(void *mem, const Datum *p)
{
	return tsk_ind_bbands_init(mem, WC_INT(p, 0), DatumGetFloat8(p[1]));
}

static const window_spec wc_sma_spec = {
	"sma", 1, 1, {"n"}, {WINDOW_PARAM_INT4}, WC_N_HINT,
	wc_sma_size, wc_sma_init
};

static const window_spec wc_ema_spec = {
	"ema", 1, 1, {"n"}, {WINDOW_PARAM_INT4}, WC_N_HINT,
	wc_ema_size, wc_ema_init
};

static const window_spec wc_rsi_spec = {
	"rsi", 1, 1, {"n"}, {WINDOW_PARAM_INT4}, WC_N_HINT,
	wc_rsi_size, wc_rsi_init
};

static const window_spec wc_roc_spec = {
	"roc", 1, 1, {"n"}, {WINDOW_PARAM_INT4}, WC_N_HINT,
	wc_roc_size, wc_roc_init
};

static const window_spec wc_mom_spec = {
	"mom", 1, 1, {"n"}, {WINDOW_PARAM_INT4}, WC_N_HINT,
	wc_mom_size, wc_mom_init
};

static const window_spec wc_macd_spec = {
	"macd", 1, 3, {"fast", "slow", "signal"},
	{WINDOW_PARAM_INT4, WINDOW_PARAM_INT4, WINDOW_PARAM_INT4},
	"Periods must be between 1 and 1000000, with fast less than slow (default 12, 26, 9).",
	wc_macd_size, wc_macd_init
};

static const window_spec wc_bbands_spec = {
	"bbands", 1, 2, {"n", "k"}, {WINDOW_PARAM_INT4, WINDOW_PARAM_FLOAT8},
	"The period n must be between 1 and 1000000 and the multiplier k a finite number.",
	wc_bbands_size, wc_bbands_init
};

/* ---------------------------------------------------------------------
 * SQL-callable window functions.
 * ---------------------------------------------------------------------
 */

/*
 * window_sma
 *	  sma(x float8, n int4) -> float8: simple moving average, lookback n-1.
 */
Datum
window_sma(PG_FUNCTION_ARGS)
{
	double		in[1];
	double		out;
	void	   *state = tsk_window_row(fcinfo, &wc_sma_spec, in);

	if (state == NULL || !tsk_ind_sma_push(state, in[0], &out))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(out);
}

/*
 * window_ema
 *	  ema(x float8, n int4) -> float8: SMA-seeded EMA, lookback n-1.
 */
Datum
window_ema(PG_FUNCTION_ARGS)
{
	double		in[1];
	double		out;
	void	   *state = tsk_window_row(fcinfo, &wc_ema_spec, in);

	if (state == NULL || !tsk_ind_ema_push(state, in[0], &out))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(out);
}

/*
 * window_rsi
 *	  rsi(x float8, n int4 = 14) -> float8: Wilder RSI, lookback n.
 */
Datum
window_rsi(PG_FUNCTION_ARGS)
{
	double		in[1];
	double		out;
	void	   *state = tsk_window_row(fcinfo, &wc_rsi_spec, in);

	if (state == NULL || !tsk_ind_rsi_push(state, in[0], &out))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(out);
}

/*
 * window_roc
 *	  roc(x float8, n int4 = 10) -> float8: rate of change in %, lookback n.
 */
Datum
window_roc(PG_FUNCTION_ARGS)
{
	double		in[1];
	double		out;
	void	   *state = tsk_window_row(fcinfo, &wc_roc_spec, in);

	if (state == NULL || !tsk_ind_roc_push(state, in[0], &out))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(out);
}

/*
 * window_mom
 *	  mom(x float8, n int4 = 10) -> float8: momentum x - x[n back], lookback n.
 */
Datum
window_mom(PG_FUNCTION_ARGS)
{
	double		in[1];
	double		out;
	void	   *state = tsk_window_row(fcinfo, &wc_mom_spec, in);

	if (state == NULL || !tsk_ind_mom_push(state, in[0], &out))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(out);
}

/*
 * window_macd
 *	  macd(x float8, fast int4 = 12, slow int4 = 26, signal int4 = 9) ->
 *	  macd_result(macd, signal, hist); lookback (slow-1) + (signal-1).
 */
Datum
window_macd(PG_FUNCTION_ARGS)
{
	double		in[1];
	ind_macd_out out;
	double		fields[3];
	void	   *state = tsk_window_row(fcinfo, &wc_macd_spec, in);

	if (state == NULL || !tsk_ind_macd_push(state, in[0], &out))
		PG_RETURN_NULL();
	fields[0] = out.macd;
	fields[1] = out.signal;
	fields[2] = out.hist;
	PG_RETURN_DATUM(tsk_window_composite(fcinfo, fields, 3));
}

/*
 * window_bbands
 *	  bbands(x float8, n int4 = 20, k float8 = 2) -> bbands_result(upper,
 *	  middle, lower); lookback n-1.
 */
Datum
window_bbands(PG_FUNCTION_ARGS)
{
	double		in[1];
	ind_bbands_out out;
	double		fields[3];
	void	   *state = tsk_window_row(fcinfo, &wc_bbands_spec, in);

	if (state == NULL || !tsk_ind_bbands_push(state, in[0], &out))
		PG_RETURN_NULL();
	fields[0] = out.upper;
	fields[1] = out.middle;
	fields[2] = out.lower;
	PG_RETURN_DATUM(tsk_window_composite(fcinfo, fields, 3));
}
