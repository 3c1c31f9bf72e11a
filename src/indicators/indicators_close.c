/*
 * indicators_close.c
 *	  Indicators of a single price series (normally the close): SMA, EMA, RSI,
 *	  ROC, MOM, MACD and Bollinger bands, matching TA-Lib 0.6 (indicators.h).
 *
 * Invariants: each state is a fixed struct plus, where it keeps a window, a
 * trailing `cells` array sized by its ind_<name>_size function; all arithmetic
 * goes through the building blocks of indicators.c in TA-Lib's order.
 */
#include "indicators/indicators_internal.h"

#include <math.h>

/* =====================================================================
 * SMA
 * =====================================================================
 */
struct ind_sma_state
{
	ind_rolling_sum window;
	ind_cell	cells[];
};

/*
 * tsk_ind_sma_size
 *	  Bytes for sma(n): the state plus an n-slot ring.
 */
size_t
tsk_ind_sma_size(int n)
{
	return IND_STATE_SIZE(ind_sma_state, tsk_ind_period_ok(n) ? n : 0);
}

/*
 * tsk_ind_sma_init
 *	  Validates n and sets up an empty SMA.
 */
int
tsk_ind_sma_init(void *mem, int n)
{
	ind_sma_state *s = mem;
	int32_t		cursor = 0;
	int			rc;

	if ((rc = tsk_ind_check_n(mem, n)) != IND_OK)
		return rc;
	tsk_ind_rolling_sum_init(&s->window, n, &cursor);
	return IND_OK;
}

/*
 * tsk_ind_sma_push
 *	  Pushes a close; emits the mean of the last n once n were pushed.
 */
bool
tsk_ind_sma_push(ind_sma_state *s, double x, double *out)
{
	if (!tsk_ind_rolling_sum_push(&s->window, s->cells, x))
		return false;
	*out = tsk_ind_rolling_sum_mean(&s->window);
	return true;
}

/* =====================================================================
 * EMA
 * =====================================================================
 */
struct ind_ema_state
{
	ind_ema		ema;
};

/*
 * tsk_ind_ema_size
 *	  Bytes for ema(n): fixed.
 */
size_t
tsk_ind_ema_size(int n)
{
	(void) n;
	return sizeof(ind_ema_state);
}

/*
 * tsk_ind_ema_init
 *	  Validates n and sets up an empty EMA.
 */
int
tsk_ind_ema_init(void *mem, int n)
{
	ind_ema_state *s = mem;
	int			rc;

	if ((rc = tsk_ind_check_n(mem, n)) != IND_OK)
		return rc;
	tsk_ind_ema_core_init(&s->ema, n);
	return IND_OK;
}

/*
 * tsk_ind_ema_push
 *	  Pushes a close; emits the EMA from the n-th row on.
 */
bool
tsk_ind_ema_push(ind_ema_state *s, double x, double *out)
{
	if (!tsk_ind_ema_core_push(&s->ema, x))
		return false;
	*out = s->ema.value;
	return true;
}

/* =====================================================================
 * RSI
 * =====================================================================
 */
struct ind_rsi_state
{
	bool		has_prev;
	double		prev;			/* previous close */
	ind_wilder	gain;			/* Wilder average of up moves */
	ind_wilder	loss;			/* Wilder average of down moves (>= 0) */
};

/*
 * tsk_ind_rsi_size
 *	  Bytes for rsi(n): fixed.
 */
size_t
tsk_ind_rsi_size(int n)
{
	(void) n;
	return sizeof(ind_rsi_state);
}

/*
 * tsk_ind_rsi_init
 *	  Validates n and sets up an empty RSI.
 */
int
tsk_ind_rsi_init(void *mem, int n)
{
	ind_rsi_state *s = mem;
	int			rc;

	if ((rc = tsk_ind_check_n(mem, n)) != IND_OK)
		return rc;
	s->has_prev = false;
	s->prev = 0.0;
	tsk_ind_wilder_init(&s->gain, n);
	tsk_ind_wilder_init(&s->loss, n);
	return IND_OK;
}

/*
 * tsk_ind_rsi_push
 *	  Pushes a close; emits 100 * gain / (gain + loss), 0 if both are ~0.
 */
bool
tsk_ind_rsi_push(ind_rsi_state *s, double x, double *out)
{
	double		change;
	double		total;
	bool		ready;

	if (!s->has_prev)
	{
		s->has_prev = true;
		s->prev = x;
		return false;
	}
	change = x - s->prev;
	s->prev = x;
	/* TA-Lib: a loss is subtracted (loss -= change), a zero counts as gain. */
	tsk_ind_wilder_push(&s->gain, change < 0 ? 0.0 : change);
	ready = tsk_ind_wilder_push(&s->loss, change < 0 ? -change : 0.0);
	if (!ready)
		return false;
	total = s->gain.average + s->loss.average;
	*out = IND_IS_ZERO(total) ? 0.0 : 100.0 * (s->gain.average / total);
	return true;
}

/* =====================================================================
 * ROC and MOM: both compare x with the value n rows back (an n-slot ring).
 * =====================================================================
 */
struct ind_roc_state
{
	ind_ring	lag;
	ind_cell	cells[];
};

struct ind_mom_state
{
	ind_ring	lag;
	ind_cell	cells[];
};

/*
 * ind_lag_init
 *	  Validates n and sets up the n-slot lag ring shared by ROC and MOM.
 */
static int
ind_lag_init(ind_ring *lag, int n)
{
	int32_t		cursor = 0;
	int			rc;

	if ((rc = tsk_ind_check_period(n, IND_ERR_N_TOO_SMALL)) != IND_OK)
		return rc;
	tsk_ind_ring_init(lag, n, &cursor);
	return IND_OK;
}

/*
 * tsk_ind_roc_size
 *	  Bytes for roc(n): the state plus an n-slot ring.
 */
size_t
tsk_ind_roc_size(int n)
{
	return IND_STATE_SIZE(ind_roc_state, tsk_ind_period_ok(n) ? n : 0);
}

/*
 * tsk_ind_roc_init
 *	  Validates n and sets up an empty ROC.
 */
int
tsk_ind_roc_init(void *mem, int n)
{
	if (mem == NULL)
		return IND_ERR_NULL_MEMORY;
	return ind_lag_init(&((ind_roc_state *) mem)->lag, n);
}

/*
 * tsk_ind_roc_push
 *	  Pushes a close; emits (x / x_n_back - 1) * 100 (0 if x_n_back is 0).
 */
bool
tsk_ind_roc_push(ind_roc_state *s, double x, double *out)
{
	double		past;

	if (!tsk_ind_ring_push(&s->lag, s->cells, x, &past))
		return false;
	*out = (past != 0.0) ? ((x / past) - 1.0) * 100.0 : 0.0;
	return true;
}

/*
 * tsk_ind_mom_size
 *	  Bytes for mom(n): the state plus an n-slot ring.
 */
size_t
tsk_ind_mom_size(int n)
{
	return IND_STATE_SIZE(ind_mom_state, tsk_ind_period_ok(n) ? n : 0);
}

/*
 * tsk_ind_mom_init
 *	  Validates n and sets up an empty MOM.
 */
int
tsk_ind_mom_init(void *mem, int n)
{
	if (mem == NULL)
		return IND_ERR_NULL_MEMORY;
	return ind_lag_init(&((ind_mom_state *) mem)->lag, n);
}

/*
 * tsk_ind_mom_push
 *	  Pushes a close; emits x - x_n_back.
 */
bool
tsk_ind_mom_push(ind_mom_state *s, double x, double *out)
{
	double		past;

	if (!tsk_ind_ring_push(&s->lag, s->cells, x, &past))
		return false;
	*out = x - past;
	return true;
}

/* =====================================================================
 * MACD.  TA-Lib starts both EMAs at the slow lookback: the fast EMA is
 * seeded with the SMA of the `fast` values ending at row slow-1, i.e. it
 * ignores the first slow-fast rows.  The signal EMA runs over the MACD line.
 * =====================================================================
 */
struct ind_macd_state
{
	int32_t		fast_skip;		/* rows the fast EMA ignores: slow - fast */
	int32_t		skipped;		/* rows ignored so far */
	ind_ema		fast;
	ind_ema		slow;
	ind_ema		signal;
};

/*
 * tsk_ind_macd_size
 *	  Bytes for macd(fast, slow, signal): fixed.
 */
size_t
tsk_ind_macd_size(int fast, int slow, int signal)
{
	(void) fast;
	(void) slow;
	(void) signal;
	return sizeof(ind_macd_state);
}

/*
 * tsk_ind_macd_init
 *	  Validates fast >= 1, signal >= 1, fast < slow, and sets up a MACD.
 */
int
tsk_ind_macd_init(void *mem, int fast, int slow, int signal)
{
	ind_macd_state *s = mem;
	int			rc;

	if (mem == NULL)
		return IND_ERR_NULL_MEMORY;
	if ((rc = tsk_ind_check_period(fast, IND_ERR_FAST_TOO_SMALL)) != IND_OK ||
		(rc = tsk_ind_check_period(signal, IND_ERR_SIGNAL_TOO_SMALL)) != IND_OK)
		return rc;
	if (fast >= slow)
		return IND_ERR_FAST_NOT_BELOW_SLOW;
	if (slow > IND_MAX_PERIOD)
		return IND_ERR_PERIOD_TOO_LARGE;
	s->fast_skip = slow - fast;
	s->skipped = 0;
	tsk_ind_ema_core_init(&s->fast, fast);
	tsk_ind_ema_core_init(&s->slow, slow);
	tsk_ind_ema_core_init(&s->signal, signal);
	return IND_OK;
}

/*
 * tsk_ind_macd_push
 *	  Pushes a close; emits macd/signal/hist once the signal EMA exists.
 */
bool
tsk_ind_macd_push(ind_macd_state *s, double x, ind_macd_out *out)
{
	double		macd;

	if (!tsk_ind_ema_core_push(&s->slow, x))
	{
		/* Inside the slow lookback: feed the fast EMA only its last rows. */
		if (s->skipped < s->fast_skip)
			s->skipped++;
		else
			tsk_ind_ema_core_push(&s->fast, x);
		return false;
	}
	tsk_ind_ema_core_push(&s->fast, x);
	macd = s->fast.value - s->slow.value;
	if (!tsk_ind_ema_core_push(&s->signal, macd))
		return false;
	out->macd = macd;
	out->signal = s->signal.value;
	out->hist = macd - s->signal.value;
	return true;
}

/* =====================================================================
 * Bollinger bands: SMA middle band and TA-Lib's population stddev,
 * sqrt(mean(x^2) - mean(x)^2), clamped to 0 below TA_EPSILON.
 * =====================================================================
 */
struct ind_bbands_state
{
	double		multiplier;		/* k: stddevs between middle and a band */
	ind_rolling_sum sum;		/* of x */
	ind_rolling_sum sum_squares;	/* of x * x */
	ind_cell	cells[];
};

/*
 * tsk_ind_bbands_size
 *	  Bytes for bbands(n, k): the state plus two n-slot rings.
 */
size_t
tsk_ind_bbands_size(int n)
{
	return IND_STATE_SIZE(ind_bbands_state, tsk_ind_period_ok(n) ? 2 * n : 0);
}

/*
 * tsk_ind_bbands_init
 *	  Validates n and k (finite) and sets up empty bands.
 */
int
tsk_ind_bbands_init(void *mem, int n, double k)
{
	ind_bbands_state *s = mem;
	int32_t		cursor = 0;
	int			rc;

	if ((rc = tsk_ind_check_n(mem, n)) != IND_OK)
		return rc;
	if (!isfinite(k))
		return IND_ERR_MULTIPLIER_NOT_FINITE;
	s->multiplier = k;
	tsk_ind_rolling_sum_init(&s->sum, n, &cursor);
	tsk_ind_rolling_sum_init(&s->sum_squares, n, &cursor);
	return IND_OK;
}

/*
 * tsk_ind_bbands_push
 *	  Pushes a close; emits the three bands once n closes were pushed.
 */
bool
tsk_ind_bbands_push(ind_bbands_state *s, double x, ind_bbands_out *out)
{
	double		middle;
	double		variance;
	double		deviation;

	tsk_ind_rolling_sum_push(&s->sum, s->cells, x);
	if (!tsk_ind_rolling_sum_push(&s->sum_squares, s->cells, x * x))
		return false;
	middle = tsk_ind_rolling_sum_mean(&s->sum);
	variance = tsk_ind_rolling_sum_mean(&s->sum_squares);
	variance -= middle * middle;
	deviation = IND_IS_ZERO_OR_NEG(variance) ? 0.0 : sqrt(variance);
	deviation *= s->multiplier;
	out->middle = middle;
	out->upper = middle + deviation;
	out->lower = middle - deviation;
	return true;
}
