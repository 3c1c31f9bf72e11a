/*
 * window_bar.c
 *	  Window functions over bars and volume: atr, willr, cci, adx, stoch,
 *	  obv, mfi and vwap (cumulative and rolling), each a thin wrapper around
 *	  its pure-C state in indicators_bar.c.
 *
 * Invariants: all per-partition work (row order, mark, parameters, NULL
 * and non-finite inputs) is done by tsk_window_row() (window_common.c); a row
 * is pushed only when every value input (high, low, close, volume, ...) is
 * non-NULL, and a function here returns NULL while the indicator is inside
 * its lookback.
 */
#include "postgres.h"

#include "fmgr.h"

#include "indicators/indicators.h"
#include "indicators/window.h"

/* Hint shared by the indicators with a single period n. */
#define WB_N_HINT "The period n must be between 1 and 1000000."

/* Reads an int4 parameter. */
#define WB_INT(params, i) DatumGetInt32((params)[i])

extern PGDLLEXPORT Datum window_atr(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_atr);
extern PGDLLEXPORT Datum window_willr(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_willr);
extern PGDLLEXPORT Datum window_cci(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_cci);
extern PGDLLEXPORT Datum window_adx(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_adx);
extern PGDLLEXPORT Datum window_stoch(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_stoch);
extern PGDLLEXPORT Datum window_obv(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_obv);
extern PGDLLEXPORT Datum window_mfi(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_mfi);
extern PGDLLEXPORT Datum window_vwap(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_vwap);
extern PGDLLEXPORT Datum window_vwap_rolling(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(window_vwap_rolling);

/* ---------------------------------------------------------------------
 * Sizes and initialisers adapting the Datum parameters to indicators.h.
 * ---------------------------------------------------------------------
 */

/*
 * wb_atr_size
 *	  Bytes of an atr(n) state.
 */
static size_t
wb_atr_size(const Datum *p)
{
	return tsk_ind_atr_size(WB_INT(p, 0));
}

/*
 * wb_atr_init
 *	  Sets up an atr(n) state.
 */
static int
wb_atr_init(void *mem, const Datum *p)
{
	return tsk_ind_atr_init(mem, WB_INT(p, 0));
}

/*
 * wb_willr_size
 *	  Bytes of a willr(n) state.
 */
static size_t
wb_willr_size(const Datum *p)
{
	return tsk_ind_willr_size(WB_INT(p, 0));
}

/*
 * wb_willr_init
 *	  Sets up a willr(n) state.
 */
static int
wb_willr_init(void *mem, const Datum *p)
{
	return tsk_ind_willr_init(mem, WB_INT(p, 0));
}

/*
 * wb_cci_size
 *	  Bytes of a cci(n) state.
 */
static size_t
wb_cci_size(const Datum *p)
{
	return tsk_ind_cci_size(WB_INT(p, 0));
}

/*
 * wb_cci_init
 *	  Sets up a cci(n) state.
 */
static int
wb_cci_init(void *mem, const Datum *p)
{
	return tsk_ind_cci_init(mem, WB_INT(p, 0));
}

/*
 * wb_adx_size
 *	  Bytes of an adx(n) state.
 */
static size_t
wb_adx_size(const Datum *p)
{
	return tsk_ind_adx_size(WB_INT(p, 0));
}

/*
 * wb_adx_init
 *	  Sets up an adx(n) state.
 */
static int
wb_adx_init(void *mem, const Datum *p)
{
	return tsk_ind_adx_init(mem, WB_INT(p, 0));
}

/*
 * wb_stoch_size
 *	  Bytes of a stoch(k, k_slow, d) state.
 */
static size_t
wb_stoch_size(const Datum *p)
{
	return tsk_ind_stoch_size(WB_INT(p, 0), WB_INT(p, 1), WB_INT(p, 2));
}

/*
 * wb_stoch_init
 *	  Sets up a stoch(k, k_slow, d) state.
 */
static int
wb_stoch_init(void *mem, const Datum *p)
{
	return tsk_ind_stoch_init(mem, WB_INT(p, 0), WB_INT(p, 1), WB_INT(p, 2));
}

/*
 * wb_obv_size
 *	  Bytes of an obv() state.
 */
static size_t
wb_obv_size(const Datum *p)
{
	return tsk_ind_obv_size();
}

/*
 * wb_obv_init
 *	  Sets up an obv() state.
 */
static int
wb_obv_init(void *mem, const Datum *p)
{
	return tsk_ind_obv_init(mem);
}

/*
 * wb_mfi_size
 *	  Bytes of an mfi(n) state.
 */
static size_t
wb_mfi_size(const Datum *p)
{
	return tsk_ind_mfi_size(WB_INT(p, 0));
}

/*
 * wb_mfi_init
 *	  Sets up an mfi(n) state.
 */
static int
wb_mfi_init(void *mem, const Datum *p)
{
	return tsk_ind_mfi_init(mem, WB_INT(p, 0));
}

/*
 * wb_vwap_size
 *	  Bytes of a cumulative vwap state.
 */
static size_t
wb_vwap_size(const Datum *p)
{
	return tsk_ind_vwap_size();
}

/*
 * wb_vwap_init
 *	  Sets up a cumulative vwap state.
 */
static int
wb_vwap_init(void *mem, const Datum *p)
{
	return tsk_ind_vwap_init(mem);
}

/*
 * wb_vwap_rolling_size
 *	  Bytes of a rolling vwap(n) state.
 */
static size_t
wb_vwap_rolling_size(const Datum *p)
{
	return tsk_ind_vwap_rolling_size(WB_INT(p, 0));
}

/*
 * wb_vwap_rolling_init
 *	  Sets up a rolling vwap(n) state.
 */
static int
wb_vwap_rolling_init(void *mem, const Datum *p)
{
	return tsk_ind_vwap_rolling_init(mem, WB_INT(p, 0));
}

static const window_spec wb_atr_spec = {
	"atr", 3, 1, {"n"}, {WINDOW_PARAM_INT4}, WB_N_HINT,
	wb_atr_size, wb_atr_init
};

static const window_spec wb_willr_spec = {
	"willr", 3, 1, {"n"}, {WINDOW_PARAM_INT4}, WB_N_HINT,
	wb_willr_size, wb_willr_init
};

static const window_spec wb_cci_spec = {
	"cci", 3, 1, {"n"}, {WINDOW_PARAM_INT4}, WB_N_HINT,
	wb_cci_size, wb_cci_init
};

static const window_spec wb_adx_spec = {
	"adx", 3, 1, {"n"}, {WINDOW_PARAM_INT4}, WB_N_HINT,
	wb_adx_size, wb_adx_init
};

static const window_spec wb_stoch_spec = {
	"stoch", 3, 3, {"k", "k_slow", "d"},
	{WINDOW_PARAM_INT4, WINDOW_PARAM_INT4, WINDOW_PARAM_INT4},
	"Periods k, k_slow and d must be between 1 and 1000000 (default 14, 3, 3).",
	wb_stoch_size, wb_stoch_init
};

static const window_spec wb_obv_spec = {
	"obv", 2, 0, {NULL}, {WINDOW_PARAM_INT4}, "",
	wb_obv_size, wb_obv_init
};

static const window_spec wb_mfi_spec = {
	"mfi", 4, 1, {"n"}, {WINDOW_PARAM_INT4}, WB_N_HINT,
	wb_mfi_size, wb_mfi_init
};

static const window_spec wb_vwap_spec = {
	"vwap", 2, 0, {NULL}, {WINDOW_PARAM_INT4}, "",
	wb_vwap_size, wb_vwap_init
};

static const window_spec wb_vwap_rolling_spec = {
	"vwap", 2, 1, {"n"}, {WINDOW_PARAM_INT4}, WB_N_HINT,
	wb_vwap_rolling_size, wb_vwap_rolling_init
};

/* ---------------------------------------------------------------------
 * SQL-callable window functions.
 * ---------------------------------------------------------------------
 */

/*
 * window_atr
 *	  atr(high, low, close float8, n int4 = 14) -> float8; lookback n.
 */
Datum
window_atr(PG_FUNCTION_ARGS)
{
	double		in[3];
	double		out;
	void	   *state = tsk_window_row(fcinfo, &wb_atr_spec, in);

	if (state == NULL || !tsk_ind_atr_push(state, in[0], in[1], in[2], &out))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(out);
}

/*
 * window_willr
 *	  willr(high, low, close float8, n int4 = 14) -> float8; lookback n-1.
 */
Datum
window_willr(PG_FUNCTION_ARGS)
{
	double		in[3];
	double		out;
	void	   *state = tsk_window_row(fcinfo, &wb_willr_spec, in);

	if (state == NULL || !tsk_ind_willr_push(state, in[0], in[1], in[2], &out))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(out);
}

/*
 * window_cci
 *	  cci(high, low, close float8, n int4 = 14) -> float8; lookback n-1.
 */
Datum
window_cci(PG_FUNCTION_ARGS)
{
	double		in[3];
	double		out;
	void	   *state = tsk_window_row(fcinfo, &wb_cci_spec, in);

	if (state == NULL || !tsk_ind_cci_push(state, in[0], in[1], in[2], &out))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(out);
}

/*
 * window_adx
 *	  adx(high, low, close float8, n int4 = 14) -> float8; lookback 2n-1.
 */
Datum
window_adx(PG_FUNCTION_ARGS)
{
	double		in[3];
	double		out;
	void	   *state = tsk_window_row(fcinfo, &wb_adx_spec, in);

	if (state == NULL || !tsk_ind_adx_push(state, in[0], in[1], in[2], &out))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(out);
}

/*
 * window_stoch
 *	  stoch(high, low, close float8, k int4 = 14, k_slow int4 = 3, d int4 = 3)
 *	  -> stoch_result(k, d); lookback (k-1) + (k_slow-1) + (d-1).
 */
Datum
window_stoch(PG_FUNCTION_ARGS)
{
	double		in[3];
	ind_stoch_out out;
	double		fields[2];
	void	   *state = tsk_window_row(fcinfo, &wb_stoch_spec, in);

	if (state == NULL || !tsk_ind_stoch_push(state, in[0], in[1], in[2], &out))
		PG_RETURN_NULL();
	fields[0] = out.k;
	fields[1] = out.d;
	PG_RETURN_DATUM(tsk_window_composite(fcinfo, fields, 2));
}

/*
 * window_obv
 *	  obv(close, volume float8) -> float8; starts at the first row's volume.
 */
Datum
window_obv(PG_FUNCTION_ARGS)
{
	double		in[2];
	double		out;
	void	   *state = tsk_window_row(fcinfo, &wb_obv_spec, in);

	if (state == NULL || !tsk_ind_obv_push(state, in[0], in[1], &out))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(out);
}

/*
 * window_mfi
 *	  mfi(high, low, close, volume float8, n int4 = 14) -> float8; lookback n.
 */
Datum
window_mfi(PG_FUNCTION_ARGS)
{
	double		in[4];
	double		out;
	void	   *state = tsk_window_row(fcinfo, &wb_mfi_spec, in);

	if (state == NULL ||
		!tsk_ind_mfi_push(state, in[0], in[1], in[2], in[3], &out))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(out);
}

/*
 * window_vwap
 *	  vwap(price, volume float8) -> float8: cumulative over the partition so
 *	  far; NULL while the volume sum is 0.
 */
Datum
window_vwap(PG_FUNCTION_ARGS)
{
	double		in[2];
	double		out;
	void	   *state = tsk_window_row(fcinfo, &wb_vwap_spec, in);

	if (state == NULL || !tsk_ind_vwap_push(state, in[0], in[1], &out))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(out);
}

/*
 * window_vwap_rolling
 *	  vwap(price, volume float8, n int4) -> float8: over the last n pushed
 *	  rows; lookback n-1, NULL while the window's volume sum is 0.
 */
Datum
window_vwap_rolling(PG_FUNCTION_ARGS)
{
	double		in[2];
	double		out;
	void	   *state = tsk_window_row(fcinfo, &wb_vwap_rolling_spec, in);

	if (state == NULL ||
		!tsk_ind_vwap_rolling_push(state, in[0], in[1], &out))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(out);
}
