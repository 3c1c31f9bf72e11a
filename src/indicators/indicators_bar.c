/*
 * indicators_bar.c
 *	  Indicators of OHLC bars and volume: ATR, Williams %R, stochastic, CCI,
 *	  ADX, OBV, MFI (matching TA-Lib 0.6) and cumulative / rolling VWAP
 *	  (see indicators.h).
 *
 * Invariants: each state is a fixed struct plus, where it keeps a window, a
 * trailing `cells` array sized by its ind_<name>_size function; all arithmetic
 * goes through the building blocks of indicators.c in TA-Lib's order.
 */
#include "indicators/indicators_internal.h"

#include <math.h>

/* =====================================================================
 * ATR: Wilder average of the true range, which needs a previous close.
 * =====================================================================
 */
struct ind_atr_state
{
	bool		has_prev;
	double		prev_close;
	ind_wilder	average;
};

/*
 * tsk_ind_atr_size
 *	  Bytes for atr(n): fixed.
 */
size_t
tsk_ind_atr_size(int n)
{
	(void) n;
	return sizeof(ind_atr_state);
}

/*
 * tsk_ind_atr_init
 *	  Validates n and sets up an empty ATR.
 */
int
tsk_ind_atr_init(void *mem, int n)
{
	ind_atr_state *s = mem;
	int			rc;

	if ((rc = tsk_ind_check_n(mem, n)) != IND_OK)
		return rc;
	s->has_prev = false;
	s->prev_close = 0.0;
	tsk_ind_wilder_init(&s->average, n);
	return IND_OK;
}

/*
 * tsk_ind_atr_push
 *	  Pushes a bar; emits the ATR from the (n+1)-th bar on.
 */
bool
tsk_ind_atr_push(ind_atr_state *s, double high, double low, double close,
			 double *out)
{
	double		true_range;

	if (!s->has_prev)
	{
		s->has_prev = true;
		s->prev_close = close;
		return false;
	}
	true_range = tsk_ind_true_range(high, low, s->prev_close);
	s->prev_close = close;
	if (!tsk_ind_wilder_push(&s->average, true_range))
		return false;
	*out = s->average.average;
	return true;
}


/* =====================================================================
 * Williams %R
 * =====================================================================
 */
struct ind_willr_state
{
	ind_channel channel;
	ind_cell	cells[];
};

/*
 * tsk_ind_willr_size
 *	  Bytes for willr(n): the state plus the channel's 4n cells.
 */
size_t
tsk_ind_willr_size(int n)
{
	return IND_STATE_SIZE(ind_willr_state, tsk_ind_period_ok(n) ? IND_CHANNEL_CELLS(n) : 0);
}

/*
 * tsk_ind_willr_init
 *	  Validates n and sets up an empty Williams %R.
 */
int
tsk_ind_willr_init(void *mem, int n)
{
	ind_willr_state *s = mem;
	int32_t		cursor = 0;
	int			rc;

	if ((rc = tsk_ind_check_n(mem, n)) != IND_OK)
		return rc;
	tsk_ind_channel_init(&s->channel, n, &cursor);
	return IND_OK;
}

/*
 * tsk_ind_willr_push
 *	  Pushes a bar; emits (highest - close) / ((highest - lowest) / -100).
 */
bool
tsk_ind_willr_push(ind_willr_state *s, double high, double low, double close,
			   double *out)
{
	double		highest;
	double		lowest;
	double		scale;

	if (!tsk_ind_channel_push(&s->channel, s->cells, high, low, &highest, &lowest))
		return false;
	scale = (highest - lowest) / (-100.0);
	*out = (scale != 0.0) ? (highest - close) / scale : 0.0;
	return true;
}

/* =====================================================================
 * Stochastic with SMA slowing of %K and SMA %D.
 * =====================================================================
 */
struct ind_stoch_state
{
	ind_channel channel;
	ind_rolling_sum fast_k;		/* last k_slow fast %K values */
	ind_rolling_sum slow_k;		/* last d slow %K values */
	ind_cell	cells[];
};

/*
 * tsk_ind_stoch_size
 *	  Bytes for stoch(k, k_slow, d): the channel plus two rings.
 */
size_t
tsk_ind_stoch_size(int k, int k_slow, int d)
{
	bool		valid = tsk_ind_period_ok(k) && tsk_ind_period_ok(k_slow) &&
		tsk_ind_period_ok(d);

	return IND_STATE_SIZE(ind_stoch_state, valid ? IND_CHANNEL_CELLS(k) + k_slow + d : 0);
}

/*
 * tsk_ind_stoch_init
 *	  Validates k, k_slow, d >= 1 and sets up an empty stochastic.
 */
int
tsk_ind_stoch_init(void *mem, int k, int k_slow, int d)
{
	ind_stoch_state *s = mem;
	int32_t		cursor = 0;
	int			rc;

	if (mem == NULL)
		return IND_ERR_NULL_MEMORY;
	if ((rc = tsk_ind_check_period(k, IND_ERR_K_TOO_SMALL)) != IND_OK ||
		(rc = tsk_ind_check_period(k_slow, IND_ERR_K_SLOW_TOO_SMALL)) != IND_OK ||
		(rc = tsk_ind_check_period(d, IND_ERR_D_TOO_SMALL)) != IND_OK)
		return rc;
	tsk_ind_channel_init(&s->channel, k, &cursor);
	tsk_ind_rolling_sum_init(&s->fast_k, k_slow, &cursor);
	tsk_ind_rolling_sum_init(&s->slow_k, d, &cursor);
	return IND_OK;
}

/*
 * tsk_ind_stoch_push
 *	  Pushes a bar; emits slow %K and %D once %D exists.
 */
bool
tsk_ind_stoch_push(ind_stoch_state *s, double high, double low, double close,
			   ind_stoch_out *out)
{
	double		highest;
	double		lowest;
	double		scale;
	double		fast_k;
	double		slow_k;

	if (!tsk_ind_channel_push(&s->channel, s->cells, high, low, &highest, &lowest))
		return false;
	scale = (highest - lowest) / 100.0;
	fast_k = (scale != 0.0) ? (close - lowest) / scale : 0.0;
	if (!tsk_ind_rolling_sum_push(&s->fast_k, s->cells, fast_k))
		return false;
	slow_k = tsk_ind_rolling_sum_mean(&s->fast_k);
	if (!tsk_ind_rolling_sum_push(&s->slow_k, s->cells, slow_k))
		return false;
	out->k = slow_k;
	out->d = tsk_ind_rolling_sum_mean(&s->slow_k);
	return true;
}

/* =====================================================================
 * CCI: ring of typical prices; mean and mean deviation recomputed over
 * the window oldest first each row (TA-Lib sums in its buffer's slot
 * order, which depends on where the computation started; oldest first
 * makes the value a function of the window alone).
 * =====================================================================
 */
struct ind_cci_state
{
	ind_ring	prices;
	ind_cell	cells[];
};

/*
 * tsk_ind_cci_size
 *	  Bytes for cci(n): the state plus an n-slot ring.
 */
size_t
tsk_ind_cci_size(int n)
{
	return IND_STATE_SIZE(ind_cci_state, tsk_ind_period_ok(n) ? n : 0);
}

/*
 * tsk_ind_cci_init
 *	  Validates n and sets up an empty CCI.
 */
int
tsk_ind_cci_init(void *mem, int n)
{
	ind_cci_state *s = mem;
	int32_t		cursor = 0;
	int			rc;

	if ((rc = tsk_ind_check_n(mem, n)) != IND_OK)
		return rc;
	tsk_ind_ring_init(&s->prices, n, &cursor);
	return IND_OK;
}

/*
 * tsk_ind_cci_push
 *	  Pushes a bar; emits (tp - mean) / (0.015 * mean deviation).
 */
bool
tsk_ind_cci_push(ind_cci_state *s, double high, double low, double close,
			 double *out)
{
	const ind_cell *slots = s->cells + s->prices.offset;
	int			n = s->prices.capacity;
	double		price = tsk_ind_typical_price(high, low, close);
	double		unused;
	double		mean = 0.0;
	double		deviation_sum = 0.0;
	double		distance;

	tsk_ind_ring_push(&s->prices, s->cells, price, &unused);
	if (!tsk_ind_ring_full(&s->prices))
		return false;
	/* oldest first (the ring is full: the next slot holds the oldest), so
	 * the sums depend on the window only, not on where it started */
	for (int i = 0, slot = s->prices.next; i < n; i++, slot = (slot + 1 == n) ? 0 : slot + 1)
		mean += slots[slot].value;
	mean /= n;
	for (int i = 0, slot = s->prices.next; i < n; i++, slot = (slot + 1 == n) ? 0 : slot + 1)
		deviation_sum += fabs(slots[slot].value - mean);
	distance = price - mean;
	if (distance != 0.0 && deviation_sum != 0.0)
		*out = distance / (0.015 * (deviation_sum / n));
	else
		*out = 0.0;
	return true;
}

/* =====================================================================
 * ADX.  Bars 1..n-1 accumulate plain sums of +DM, -DM and TR; from bar n
 * on they are Wilder sums, DX is computed, and the first n DX values seed
 * the Wilder-averaged ADX, which first appears at bar 2n-1.  TA-Lib quirks:
 * a DX that cannot be computed (TR or +DI + -DI ~ 0) adds 0 to the seed sum
 * but later leaves the ADX unchanged.
 * =====================================================================
 */
struct ind_adx_state
{
	int64_t		bars;			/* bars pushed so far */
	int32_t		period;
	double		prev_high;
	double		prev_low;
	double		prev_close;
	double		plus_dm;		/* smoothed +DM */
	double		minus_dm;		/* smoothed -DM */
	double		true_range;		/* smoothed TR */
	ind_wilder	adx;
};

/*
 * tsk_ind_adx_size
 *	  Bytes for adx(n): fixed.
 */
size_t
tsk_ind_adx_size(int n)
{
	(void) n;
	return sizeof(ind_adx_state);
}

/*
 * tsk_ind_adx_init
 *	  Validates n and sets up an empty ADX.
 */
int
tsk_ind_adx_init(void *mem, int n)
{
	ind_adx_state *s = mem;
	int			rc;

	if ((rc = tsk_ind_check_n(mem, n)) != IND_OK)
		return rc;
	s->bars = 0;
	s->period = n;
	s->prev_high = s->prev_low = s->prev_close = 0.0;
	s->plus_dm = s->minus_dm = s->true_range = 0.0;
	tsk_ind_wilder_init(&s->adx, n);
	return IND_OK;
}

/*
 * tsk_ind_adx_push
 *	  Pushes a bar; emits the ADX from bar 2n-1 (0-based) on.
 */
bool
tsk_ind_adx_push(ind_adx_state *s, double high, double low, double close,
			 double *out)
{
	int			n = s->period;
	double		up_move = high - s->prev_high;
	double		down_move = s->prev_low - low;
	double		plus_dm = 0.0;
	double		minus_dm = 0.0;
	double		true_range = tsk_ind_true_range(high, low, s->prev_close);
	bool		have_dx = false;
	double		dx = 0.0;

	if (s->bars++ == 0)
	{
		s->prev_high = high;
		s->prev_low = low;
		s->prev_close = close;
		return false;
	}
	s->prev_high = high;
	s->prev_low = low;
	s->prev_close = close;
	if (down_move > 0 && up_move < down_move)
		minus_dm = down_move;
	else if (up_move > 0 && up_move > down_move)
		plus_dm = up_move;

	if (s->bars <= n)
	{
		/* Bars 1..n-1: plain sums. */
		s->plus_dm += plus_dm;
		s->minus_dm += minus_dm;
		s->true_range += true_range;
		return false;
	}
	s->plus_dm = tsk_ind_wilder_sum_step(s->plus_dm, plus_dm, n);
	s->minus_dm = tsk_ind_wilder_sum_step(s->minus_dm, minus_dm, n);
	s->true_range = tsk_ind_wilder_sum_step(s->true_range, true_range, n);
	if (!IND_IS_ZERO(s->true_range))
	{
		double		minus_di = 100.0 * (s->minus_dm / s->true_range);
		double		plus_di = 100.0 * (s->plus_dm / s->true_range);
		double		di_sum = minus_di + plus_di;

		if (!IND_IS_ZERO(di_sum))
		{
			dx = 100.0 * (fabs(minus_di - plus_di) / di_sum);
			have_dx = true;
		}
	}
	if (tsk_ind_wilder_seeding(&s->adx))
	{
		/* Seeding: a missing DX counts as 0. */
		if (!tsk_ind_wilder_push(&s->adx, dx))
			return false;
	}
	else if (have_dx)
		tsk_ind_wilder_push(&s->adx, dx);
	*out = s->adx.average;
	return true;
}

/* =====================================================================
 * OBV
 * =====================================================================
 */
struct ind_obv_state
{
	bool		started;
	double		prev_close;
	double		obv;
};

/*
 * tsk_ind_obv_size
 *	  Bytes for obv(): fixed.
 */
size_t
tsk_ind_obv_size(void)
{
	return sizeof(ind_obv_state);
}

/*
 * tsk_ind_obv_init
 *	  Sets up an empty OBV.
 */
int
tsk_ind_obv_init(void *mem)
{
	ind_obv_state *s = mem;

	if (mem == NULL)
		return IND_ERR_NULL_MEMORY;
	s->started = false;
	s->prev_close = 0.0;
	s->obv = 0.0;
	return IND_OK;
}

/*
 * tsk_ind_obv_push
 *	  Pushes a bar; the first emits its volume, later ones add/subtract it.
 */
bool
tsk_ind_obv_push(ind_obv_state *s, double close, double volume, double *out)
{
	if (!s->started)
	{
		s->started = true;
		s->obv = volume;
	}
	else if (close > s->prev_close)
		s->obv += volume;
	else if (close < s->prev_close)
		s->obv -= volume;
	s->prev_close = close;
	*out = s->obv;
	return true;
}

/* =====================================================================
 * MFI: rolling sums of positive and negative money flow (tp * volume).
 * =====================================================================
 */
struct ind_mfi_state
{
	bool		has_prev;
	double		prev_price;		/* previous typical price */
	ind_rolling_sum positive;
	ind_rolling_sum negative;
	ind_cell	cells[];
};

/*
 * tsk_ind_mfi_size
 *	  Bytes for mfi(n): the state plus two n-slot rings.
 */
size_t
tsk_ind_mfi_size(int n)
{
	return IND_STATE_SIZE(ind_mfi_state, tsk_ind_period_ok(n) ? 2 * n : 0);
}

/*
 * tsk_ind_mfi_init
 *	  Validates n and sets up an empty MFI.
 */
int
tsk_ind_mfi_init(void *mem, int n)
{
	ind_mfi_state *s = mem;
	int32_t		cursor = 0;
	int			rc;

	if ((rc = tsk_ind_check_n(mem, n)) != IND_OK)
		return rc;
	s->has_prev = false;
	s->prev_price = 0.0;
	tsk_ind_rolling_sum_init(&s->positive, n, &cursor);
	tsk_ind_rolling_sum_init(&s->negative, n, &cursor);
	return IND_OK;
}

/*
 * tsk_ind_mfi_push
 *	  Pushes a bar; emits 100 * positive / total flow (0 if total < 1).
 */
bool
tsk_ind_mfi_push(ind_mfi_state *s, double high, double low, double close,
			 double volume, double *out)
{
	double		price = tsk_ind_typical_price(high, low, close);
	double		change = price - s->prev_price;
	double		flow = price * volume;
	double		total;

	if (!s->has_prev)
	{
		s->has_prev = true;
		s->prev_price = price;
		return false;
	}
	s->prev_price = price;
	tsk_ind_rolling_sum_push(&s->positive, s->cells, change > 0 ? flow : 0.0);
	if (!tsk_ind_rolling_sum_push(&s->negative, s->cells, change < 0 ? flow : 0.0))
		return false;
	total = tsk_ind_rolling_sum_total(&s->positive) + tsk_ind_rolling_sum_total(&s->negative);
	*out = (total < 1.0) ? 0.0 : 100.0 * (tsk_ind_rolling_sum_total(&s->positive) / total);
	return true;
}

/* =====================================================================
 * VWAP, cumulative and rolling.
 * =====================================================================
 */
struct ind_vwap_state
{
	double		price_volume;	/* sum of price * volume */
	double		volume;			/* sum of volume */
};

/*
 * tsk_ind_vwap_size
 *	  Bytes for the cumulative vwap: fixed.
 */
size_t
tsk_ind_vwap_size(void)
{
	return sizeof(ind_vwap_state);
}

/*
 * tsk_ind_vwap_init
 *	  Sets up an empty cumulative VWAP.
 */
int
tsk_ind_vwap_init(void *mem)
{
	ind_vwap_state *s = mem;

	if (mem == NULL)
		return IND_ERR_NULL_MEMORY;
	s->price_volume = 0.0;
	s->volume = 0.0;
	return IND_OK;
}

/*
 * tsk_ind_vwap_push
 *	  Pushes a row; emits sum(p*v)/sum(v) unless sum(v) is 0.
 */
bool
tsk_ind_vwap_push(ind_vwap_state *s, double price, double volume, double *out)
{
	s->price_volume += price * volume;
	s->volume += volume;
	if (s->volume == 0.0)
		return false;
	*out = s->price_volume / s->volume;
	return true;
}

struct ind_vwap_rolling_state
{
	int64_t		zero_run;		/* consecutive latest rows with volume 0 */
	ind_rolling_sum price_volume;
	ind_rolling_sum volume;
	ind_cell	cells[];
};

/*
 * tsk_ind_vwap_rolling_size
 *	  Bytes for vwap_rolling(n): the state plus two n-slot rings.
 */
size_t
tsk_ind_vwap_rolling_size(int n)
{
	return IND_STATE_SIZE(ind_vwap_rolling_state, tsk_ind_period_ok(n) ? 2 * n : 0);
}

/*
 * tsk_ind_vwap_rolling_init
 *	  Validates n and sets up an empty rolling VWAP.
 */
int
tsk_ind_vwap_rolling_init(void *mem, int n)
{
	ind_vwap_rolling_state *s = mem;
	int32_t		cursor = 0;
	int			rc;

	if ((rc = tsk_ind_check_n(mem, n)) != IND_OK)
		return rc;
	s->zero_run = 0;
	tsk_ind_rolling_sum_init(&s->price_volume, n, &cursor);
	tsk_ind_rolling_sum_init(&s->volume, n, &cursor);
	return IND_OK;
}

/*
 * tsk_ind_vwap_rolling_push
 *	  Pushes a row; emits the VWAP of the last n rows (see indicators.h).
 */
bool
tsk_ind_vwap_rolling_push(ind_vwap_rolling_state *s, double price, double volume,
					  double *out)
{
	bool		full;

	s->zero_run = (volume == 0.0) ? s->zero_run + 1 : 0;
	tsk_ind_rolling_sum_push(&s->price_volume, s->cells, price * volume);
	full = tsk_ind_rolling_sum_push(&s->volume, s->cells, volume);
	if (s->zero_run >= s->volume.window.capacity)
	{
		/* Every row in the window has volume 0: drop rounding residue. */
		tsk_ind_rolling_sum_zero(&s->price_volume);
		tsk_ind_rolling_sum_zero(&s->volume);
	}
	if (!full || tsk_ind_rolling_sum_total(&s->volume) == 0.0)
		return false;
	*out = tsk_ind_rolling_sum_total(&s->price_volume) / tsk_ind_rolling_sum_total(&s->volume);
	return true;
}
