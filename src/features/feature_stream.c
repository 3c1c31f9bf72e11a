/*
 * feature_stream.c
 *	  The candle features of features() as one streaming state (see
 *	  feature_stream.h for the contract).
 *
 * Each feature below names the SQL expression of features() it mirrors
 * (src/indicators/indicators.sql).  The arithmetic is written in the same
 * order as the SQL executes it (PostgreSQL's float8 operators are the C
 * operators, ln/sqrt/sin/cos are libm's), and the indicators are the very
 * state machines behind the window functions, fed the same rows: a row
 * whose input is NULL in SQL is not pushed (window.h).  Keep the two in
 * step: the equality test (test/t/063_online_features.pl) compares every
 * feature of every row.
 *
 * Invariants: the block holds no pointers (sub-state offsets only); nothing
 * allocates; a refused candle leaves the state untouched.
 */
#include "features/feature_stream.h"

#include <math.h>
#include <string.h>

#include "indicators/indicators.h"

#define FS_MAGIC 0x54534b46u	/* "TSKF" */
#define FS_LAGS 15				/* ret_15 needs the close 15 rows back */
/* Buckets beyond +-2^62 microseconds (+-146,000 years) are refused (an
 * infinite timestamptz is INT64_MIN/MAX), so bin arithmetic cannot
 * overflow. */
#define FS_MAX_TIME (INT64_C(1) << 62)

/* The indicator sub-states, in block order. */
enum
{
	FS_SUB_RSI,
	FS_SUB_MACD,
	FS_SUB_BB_CLOSE,
	FS_SUB_ATR,
	FS_SUB_STOCH,
	FS_SUB_WILLR,
	FS_SUB_CCI,
	FS_SUB_MFI,
	FS_SUB_ADX,
	FS_SUB_BB_VOLUME,
	FS_SUB_VWAP,
	FS_SUB_RV,
	FS_NSUB
};

struct fs_state
{
	uint32_t	magic;
	uint32_t	version;
	uint64_t	size;			/* tsk_fs_size() of the build that wrote it */
	int64_t		width;			/* candle width, microseconds */
	int64_t		rows;			/* candles folded */
	int64_t		last_bucket;	/* bucket of the last candle folded */
	int64_t		session_day;	/* UTC day of the session VWAP */
	int32_t		nlags;			/* closes held in lags (<= FS_LAGS) */
	int32_t		lag_next;		/* slot the next close goes to */
	double		lags[FS_LAGS];	/* the last closes, a ring */
	uint64_t	offset[FS_NSUB];	/* byte offset of each sub-state */
	double		cells[];		/* the sub-states (8-byte aligned) */
};

const char *const tsk_fs_feature_names[FS_NFEATURES] = {
	"ret_1", "ret_5", "ret_15", "rsi_14", "macd_hist", "bb_pct_b", "bb_width",
	"atr_pct", "stoch_k", "stoch_d", "willr_14", "cci_14", "mfi_14", "adx_14",
	"volume_z", "vwap_dist", "rv_30", "tod_sin", "tod_cos"
};

/*
 * fs_align
 *	  Rounds a byte count up to a multiple of 8.
 */
static size_t
fs_align(size_t n)
{
	return (n + 7) & ~(size_t) 7;
}

/*
 * fs_sub_size
 *	  Bytes of sub-state i (parameters fixed by the feature definition).
 */
static size_t
fs_sub_size(int i)
{
	switch (i)
	{
		case FS_SUB_RSI:
			return tsk_ind_rsi_size(14);
		case FS_SUB_MACD:
			return tsk_ind_macd_size(12, 26, 9);
		case FS_SUB_BB_CLOSE:
			return tsk_ind_bbands_size(20);
		case FS_SUB_ATR:
			return tsk_ind_atr_size(14);
		case FS_SUB_STOCH:
			return tsk_ind_stoch_size(14, 3, 3);
		case FS_SUB_WILLR:
			return tsk_ind_willr_size(14);
		case FS_SUB_CCI:
			return tsk_ind_cci_size(14);
		case FS_SUB_MFI:
			return tsk_ind_mfi_size(14);
		case FS_SUB_ADX:
			return tsk_ind_adx_size(14);
		case FS_SUB_BB_VOLUME:
			return tsk_ind_bbands_size(60);
		case FS_SUB_VWAP:
			return tsk_ind_vwap_size();
		case FS_SUB_RV:
			return tsk_ind_sma_size(30);
	}
	return 0;
}

/*
 * fs_sub
 *	  Address of sub-state i.
 */
static void *
fs_sub(fs_state *s, int i)
{
	return (char *) s->cells + s->offset[i];
}

/*
 * tsk_fs_size
 *	  Bytes of a state.
 */
size_t
tsk_fs_size(void)
{
	size_t		n = fs_align(offsetof(fs_state, cells));

	for (int i = 0; i < FS_NSUB; i++)
		n += fs_align(fs_sub_size(i));
	return n;
}

/*
 * tsk_fs_date_bin
 *	  date_bin(stride, ts, TIMESTAMPTZ 'epoch'): the start of the stride-long
 *	  bin holding ts, bins aligned to the Unix epoch (floor division, so
 *	  times before 1970 fall in the bin that starts before them).
 */
int64_t
tsk_fs_date_bin(int64_t stride, int64_t ts)
{
	int64_t		diff = ts - FS_UNIX_EPOCH;
	int64_t		delta = diff - diff % stride;

	if (diff < 0 && diff % stride != 0)
		delta -= stride;
	return FS_UNIX_EPOCH + delta;
}

/*
 * fs_init_session
 *	  Starts the session VWAP afresh (first row of a UTC day).
 */
static void
fs_init_session(fs_state *s, int64_t day)
{
	(void) tsk_ind_vwap_init(fs_sub(s, FS_SUB_VWAP));
	s->session_day = day;
}

/*
 * tsk_fs_init
 *	  Sets up an empty state for candles of width_usecs.
 */
int
tsk_fs_init(void *mem, int64_t width_usecs)
{
	fs_state   *s = mem;
	uint64_t	off = 0;
	int			rc = 0;

	if (width_usecs <= 0 || width_usecs % INT64_C(60000000) != 0)
		return FS_ERR_WIDTH;
	memset(s, 0, offsetof(fs_state, cells));
	s->magic = FS_MAGIC;
	s->version = FS_FORMAT_VERSION;
	s->size = tsk_fs_size();
	s->width = width_usecs;
	s->last_bucket = INT64_MIN;
	for (int i = 0; i < FS_NSUB; i++)
	{
		s->offset[i] = off;
		off += fs_align(fs_sub_size(i));
	}
	/* the parameters are constants: none of these can fail */
	rc |= tsk_ind_rsi_init(fs_sub(s, FS_SUB_RSI), 14);
	rc |= tsk_ind_macd_init(fs_sub(s, FS_SUB_MACD), 12, 26, 9);
	rc |= tsk_ind_bbands_init(fs_sub(s, FS_SUB_BB_CLOSE), 20, 2.0);
	rc |= tsk_ind_atr_init(fs_sub(s, FS_SUB_ATR), 14);
	rc |= tsk_ind_stoch_init(fs_sub(s, FS_SUB_STOCH), 14, 3, 3);
	rc |= tsk_ind_willr_init(fs_sub(s, FS_SUB_WILLR), 14);
	rc |= tsk_ind_cci_init(fs_sub(s, FS_SUB_CCI), 14);
	rc |= tsk_ind_mfi_init(fs_sub(s, FS_SUB_MFI), 14);
	rc |= tsk_ind_adx_init(fs_sub(s, FS_SUB_ADX), 14);
	rc |= tsk_ind_bbands_init(fs_sub(s, FS_SUB_BB_VOLUME), 60, 1.0);
	rc |= tsk_ind_sma_init(fs_sub(s, FS_SUB_RV), 30);
	fs_init_session(s, INT64_MIN);
	return rc == 0 ? FS_OK : FS_ERR_WIDTH;
}

/*
 * tsk_fs_valid
 *	  True when mem holds len bytes of a state in this build's format.
 */
bool
tsk_fs_valid(const void *mem, size_t len)
{
	fs_state	head;

	if (mem == NULL || len != tsk_fs_size() || len < sizeof(head))
		return false;
	memcpy(&head, mem, sizeof(head));
	return head.magic == FS_MAGIC && head.version == FS_FORMAT_VERSION &&
		head.size == len && head.width > 0 && head.rows >= 0 &&
		head.nlags >= 0 && head.nlags <= FS_LAGS &&
		head.lag_next >= 0 && head.lag_next < FS_LAGS;
}

/*
 * fs_lag
 *	  The close k rows back (1 <= k <= FS_LAGS), or false when there are
 *	  fewer rows (SQL lag() is NULL).
 */
static bool
fs_lag(const fs_state *s, int k, double *v)
{
	int			slot;

	if (k > s->nlags)
		return false;
	slot = s->lag_next - k;
	if (slot < 0)
		slot += FS_LAGS;
	*v = s->lags[slot];
	return true;
}

/*
 * fs_set
 *	  Stores a feature value (not NULL).
 */
static void
fs_set(fs_row *out, fs_feature f, double v)
{
	out->value[f] = v;
	out->isnull[f] = false;
}

/*
 * fs_return
 *	  CASE WHEN close > 0 AND lag(close, k) > 0 THEN ln(close / lag) END
 */
static void
fs_return(const fs_state *s, double close, int k, fs_row *out, fs_feature f)
{
	double		prev;

	if (close > 0 && fs_lag(s, k, &prev) && prev > 0)
		fs_set(out, f, log(close / prev));
}

/*
 * tsk_fs_push
 *	  Folds one closed candle and fills its feature row.
 */
int
tsk_fs_push(fs_state *s, const fs_candle *c, fs_row *out)
{
	double		h = c->high,
				l = c->low,
				close = c->close,
				volume = c->volume;
	double		v;
	int64_t		closes_at;
	int64_t		day;
	ind_macd_out macd;
	ind_bbands_out bands;
	ind_stoch_out stoch;

	if (c->bucket <= -FS_MAX_TIME || c->bucket >= FS_MAX_TIME)
		return FS_ERR_NOT_FINITE;
	if (s->rows > 0 && c->bucket <= s->last_bucket)
		return FS_ERR_ORDER;
	if (!isfinite(h) || !isfinite(l) || !isfinite(close) || !isfinite(volume) ||
		(c->has_vwap && !isfinite(c->vwap)))
		return FS_ERR_NOT_FINITE;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < FS_NFEATURES; i++)
		out->isnull[i] = true;
	out->bucket = c->bucket;
	out->close = close;

	/* ret_1, ret_5, ret_15 (lags over all rows, before this one joins) */
	fs_return(s, close, 1, out, FS_RET_1);
	fs_return(s, close, 5, out, FS_RET_5);
	fs_return(s, close, 15, out, FS_RET_15);
	s->lags[s->lag_next] = close;
	s->lag_next = (s->lag_next + 1) % FS_LAGS;
	if (s->nlags < FS_LAGS)
		s->nlags++;

	/* rsi(close, 14) */
	if (tsk_ind_rsi_push(fs_sub(s, FS_SUB_RSI), close, &v))
		fs_set(out, FS_RSI_14, v);
	/* (macd(close, 12, 26, 9)).hist / nullif(close, 0) */
	if (tsk_ind_macd_push(fs_sub(s, FS_SUB_MACD), close, &macd) && close != 0)
		fs_set(out, FS_MACD_HIST, macd.hist / close);
	/* bbands(close, 20, 2): (close - lower) / nullif(upper - lower, 0),
	 * (upper - lower) / nullif(middle, 0) */
	if (tsk_ind_bbands_push(fs_sub(s, FS_SUB_BB_CLOSE), close, &bands))
	{
		if (bands.upper - bands.lower != 0)
			fs_set(out, FS_BB_PCT_B, (close - bands.lower) / (bands.upper - bands.lower));
		if (bands.middle != 0)
			fs_set(out, FS_BB_WIDTH, (bands.upper - bands.lower) / bands.middle);
	}
	/* atr(high, low, close, 14) / nullif(close, 0) */
	if (tsk_ind_atr_push(fs_sub(s, FS_SUB_ATR), h, l, close, &v) && close != 0)
		fs_set(out, FS_ATR_PCT, v / close);
	/* stoch(high, low, close, 14, 3, 3) */
	if (tsk_ind_stoch_push(fs_sub(s, FS_SUB_STOCH), h, l, close, &stoch))
	{
		fs_set(out, FS_STOCH_K, stoch.k);
		fs_set(out, FS_STOCH_D, stoch.d);
	}
	/* willr, cci, mfi, adx (..., 14) */
	if (tsk_ind_willr_push(fs_sub(s, FS_SUB_WILLR), h, l, close, &v))
		fs_set(out, FS_WILLR_14, v);
	if (tsk_ind_cci_push(fs_sub(s, FS_SUB_CCI), h, l, close, &v))
		fs_set(out, FS_CCI_14, v);
	if (tsk_ind_mfi_push(fs_sub(s, FS_SUB_MFI), h, l, close, volume, &v))
		fs_set(out, FS_MFI_14, v);
	if (tsk_ind_adx_push(fs_sub(s, FS_SUB_ADX), h, l, close, &v))
		fs_set(out, FS_ADX_14, v);
	/* (volume - middle) / nullif(upper - middle, 0) of bbands(volume, 60, 1) */
	if (tsk_ind_bbands_push(fs_sub(s, FS_SUB_BB_VOLUME), volume, &bands) &&
		bands.upper - bands.middle != 0)
		fs_set(out, FS_VOLUME_Z, (volume - bands.middle) / (bands.upper - bands.middle));
	/* close / nullif(vwap(coalesce(vwap, (high + low + close) / 3), volume)
	 * OVER (PARTITION BY UTC day of bucket), 0) - 1 */
	day = tsk_fs_date_bin(FS_USECS_PER_DAY, c->bucket);
	if (day != s->session_day)
		fs_init_session(s, day);
	if (tsk_ind_vwap_push(fs_sub(s, FS_SUB_VWAP),
						  c->has_vwap ? c->vwap : (h + l + close) / 3, volume, &v) &&
		v != 0)
		fs_set(out, FS_VWAP_DIST, close / v - 1);
	/* sqrt(greatest(30 * sma(ret_1 * ret_1, 30), 0)); a NULL ret_1 is not
	 * pushed */
	if (!out->isnull[FS_RET_1] &&
		tsk_ind_sma_push(fs_sub(s, FS_SUB_RV), out->value[FS_RET_1] * out->value[FS_RET_1], &v))
		fs_set(out, FS_RV_30, sqrt(30 * v < 0 ? 0 : 30 * v));
	/* sin/cos(2 * pi() * (closes_at - its UTC day) / 86400 s) */
	closes_at = c->bucket + s->width;
	v = (double) (closes_at - tsk_fs_date_bin(FS_USECS_PER_DAY, closes_at)) / 1000000.0 / 86400;
	fs_set(out, FS_TOD_SIN, sin(2 * M_PI * v));
	fs_set(out, FS_TOD_COS, cos(2 * M_PI * v));

	s->rows++;
	s->last_bucket = c->bucket;
	return FS_OK;
}

/*
 * tsk_fs_rows
 *	  Candles folded so far.
 */
int64_t
tsk_fs_rows(const fs_state *s)
{
	return s->rows;
}

/*
 * tsk_fs_last_bucket
 *	  Bucket of the last candle folded (INT64_MIN before the first).
 */
int64_t
tsk_fs_last_bucket(const fs_state *s)
{
	return s->last_bucket;
}

/*
 * tsk_fs_width
 *	  Width the state was set up for, microseconds.
 */
int64_t
tsk_fs_width(const fs_state *s)
{
	return s->width;
}

/*
 * tsk_fs_strerror
 *	  Message for a status code.
 */
const char *
tsk_fs_strerror(int status)
{
	switch ((fs_status) status)
	{
		case FS_OK:
			return "success";
		case FS_ERR_ORDER:
			return "candle bucket is not after the last one folded";
		case FS_ERR_NOT_FINITE:
			return "candle has a NaN or infinite value or bucket";
		case FS_ERR_WIDTH:
			return "width is not a positive whole number of minutes";
	}
	return "unknown feature stream error";
}
