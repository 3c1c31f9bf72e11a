/*
 * test_feature_stream.c
 *	  Unit test of the online feature stream (src/features/feature_stream.c)
 *	  on the real BTC perpetual candles of ../shared/data/candles:
 *	  - the indicator features equal TA-Lib's golden values (within the
 *	    golden test's 1e-9, ../shared/golden/talib_btc_perp_1m.csv);
 *	  - returns, rv_30, volume_z, vwap_dist and tod_* equal an independent
 *	    plain-C recomputation from the candles;
 *	  - a state copied byte for byte mid-stream (as stored in bytea) goes on
 *	    to emit bit-identical rows;
 *	  - out-of-order and non-finite candles are refused without touching
 *	    the state; a corrupted header is not valid.
 *	The SQL-level equality with features() for every feature and row is
 *	test/t/063_online_features.pl.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "features/feature_stream.h"
#include "unit_check.h"

#define MAXROWS 40000
#define MINUTE INT64_C(60000000)

/*
 * check_row
 *	  One check of a row (unit_check.h's counters); the first 20 failures
 *	  are printed with their row.
 */
static void
check_row(int ok, const char *what, long row)
{
	if (ok)
		unit_passed++;
	else if (unit_failed++ < 20)
		printf("FAIL: %s (row %ld)\n", what, row);
}

/*
 * close_to
 *	  |a - b| <= 1e-9 * max(|b|, 1), the golden test's rule
 */
static int
close_to(double a, double b)
{
	return fabs(a - b) <= 1e-9 * fmax(fabs(b), 1.0);
}

/*
 * parse_ts
 *	  "2021-12-31 23:01:00.000000" (UTC) -> Postgres microseconds
 */
static int64_t
parse_ts(const char *s)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t) timegm(&tm) * 1000000 + FS_UNIX_EPOCH;
}

typedef struct golden
{
	double		v[21];
	int			has[21];
} golden;

/*
 * main
 *	  Loads the candles and the golden file from the shared directory (argv[1],
 *	  default ../shared) and runs every check; exit status 1 on a failure.
 */
int
main(int argc, char **argv)
{
	const char *shared = argc > 1 ? argv[1] : "../shared";
	char		path[4096];
	char		line[4096];
	FILE	   *f;
	static fs_candle c[MAXROWS];
	static fs_row rows[MAXROWS];
	static golden g[MAXROWS];
	long		n = 0,
				ng = 0;
	size_t		size = tsk_fs_size();
	double	   *mem = malloc(size);
	double	   *copy = malloc(size);
	fs_row		r;

	snprintf(path, sizeof(path), "%s/data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv", shared);
	if ((f = fopen(path, "r")) == NULL)
	{
		perror(path);
		return 1;
	}
	(void) fgets(line, sizeof(line), f);
	while (n < MAXROWS && fgets(line, sizeof(line), f))
	{
		char		ts[64];
		double		o;

		if (sscanf(line, "%63[^,],%lf,%lf,%lf,%lf,%lf", ts, &o, &c[n].high, &c[n].low,
				   &c[n].close, &c[n].volume) != 6)
			continue;
		c[n].bucket = parse_ts(ts);
		c[n].has_vwap = false;
		n++;
	}
	fclose(f);

	/* golden: ts,close,sma20,ema20,rsi14,macd,macd_signal,macd_hist,bb_upper,
	 * bb_middle,bb_lower,atr14,obv,stoch_k,stoch_d,roc10,mom10,willr14,cci14,
	 * mfi14,adx14 */
	snprintf(path, sizeof(path), "%s/golden/talib_btc_perp_1m.csv", shared);
	if ((f = fopen(path, "r")) == NULL)
	{
		perror(path);
		return 1;
	}
	(void) fgets(line, sizeof(line), f);
	while (ng < MAXROWS && fgets(line, sizeof(line), f))
	{
		char	   *p = strchr(line, ',');

		for (int k = 0; k < 20 && p != NULL; k++)
		{
			char	   *end;

			p++;
			g[ng].v[k] = strtod(p, &end);
			g[ng].has[k] = end != p;
			p = strchr(p, ',');
		}
		ng++;
	}
	fclose(f);
	check_row(n > 30000 && ng == n, "candles and golden rows loaded", n);

	check_row(tsk_fs_init(mem, 90 * 1000000) == FS_ERR_WIDTH, "90 s width refused", 0);
	check_row(tsk_fs_init(mem, MINUTE) == FS_OK, "init", 0);
	check_row(tsk_fs_valid(mem, size), "fresh state valid", 0);
	for (long i = 0; i < n; i++)
	{
		if (i == n / 2)
		{
			/* store and load mid-stream: the copy goes on identically */
			memcpy(copy, mem, size);
			memset(mem, 0x7f, size);
			check_row(tsk_fs_valid(copy, size), "copied state valid", i);
			memcpy(mem, copy, size);
		}
		check_row(tsk_fs_push((fs_state *) mem, &c[i], &rows[i]) == FS_OK, "push", i);
	}
	check_row(tsk_fs_rows((fs_state *) mem) == n, "rows counted", n);

	/* indicators against TA-Lib (golden columns: 3 rsi14, 6 macd_hist, 7..9
	 * bands, 10 atr14, 12 stoch_k, 13 stoch_d, 16 willr14, 17 cci14, 18
	 * mfi14, 19 adx14) */
	for (long i = 0; i < n; i++)
	{
		const fs_row *x = &rows[i];
		const golden *y = &g[i];
		struct
		{
			int			f;
			int			k;
		}			map[] = {{FS_RSI_14, 3}, {FS_STOCH_K, 12}, {FS_STOCH_D, 13},
		{FS_WILLR_14, 16}, {FS_CCI_14, 17}, {FS_MFI_14, 18}, {FS_ADX_14, 19}};

		for (size_t m = 0; m < sizeof(map) / sizeof(map[0]); m++)
		{
			check_row(x->isnull[map[m].f] == !y->has[map[m].k], tsk_fs_feature_names[map[m].f], i);
			if (!x->isnull[map[m].f] && y->has[map[m].k])
				check_row(close_to(x->value[map[m].f], y->v[map[m].k]), tsk_fs_feature_names[map[m].f], i);
		}
		check_row(x->isnull[FS_MACD_HIST] == !y->has[6], "macd_hist null", i);
		if (!x->isnull[FS_MACD_HIST] && y->has[6])
			check_row(close_to(x->value[FS_MACD_HIST] * x->close, y->v[6]), "macd_hist", i);
		if (!x->isnull[FS_ATR_PCT] && y->has[10])
			check_row(close_to(x->value[FS_ATR_PCT] * x->close, y->v[10]), "atr_pct", i);
		if (y->has[7] && y->v[7] != y->v[9])
			check_row(!x->isnull[FS_BB_PCT_B] &&
				  close_to(x->value[FS_BB_PCT_B], (x->close - y->v[9]) / (y->v[7] - y->v[9])),
				  "bb_pct_b", i);
	}

	/* the other features against a plain recomputation */
	for (long i = 0; i < n; i++)
	{
		const fs_row *x = &rows[i];
		int64_t		closes = c[i].bucket + MINUTE;
		int64_t		day = closes - FS_UNIX_EPOCH;
		double		frac = (double) (day % (86400 * INT64_C(1000000))) / 1e6 / 86400;
		int			lags[3] = {1, 5, 15};
		fs_feature	fr[3] = {FS_RET_1, FS_RET_5, FS_RET_15};
		double		pv = 0,
					vs = 0;

		for (int k = 0; k < 3; k++)
		{
			check_row(x->isnull[fr[k]] == (i < lags[k]), "return null", i);
			if (i >= lags[k])
				check_row(x->value[fr[k]] == log(c[i].close / c[i - lags[k]].close), "return", i);
		}
		check_row(fabs(x->value[FS_TOD_SIN] - sin(2 * M_PI * frac)) < 1e-12 &&
			  fabs(x->value[FS_TOD_COS] - cos(2 * M_PI * frac)) < 1e-12, "tod", i);
		/* rv_30: sqrt of the sum of the last 30 squared ret_1 */
		if (i >= 30)
		{
			double		s = 0;

			for (long k = i - 29; k <= i; k++)
				s += rows[k].value[FS_RET_1] * rows[k].value[FS_RET_1];
			check_row(!x->isnull[FS_RV_30] && fabs(x->value[FS_RV_30] - sqrt(s)) <= 1e-9 * sqrt(s), "rv_30", i);
		}
		else
			check_row(x->isnull[FS_RV_30], "rv_30 null", i);
		/* volume_z: population z-score of the last 60 volumes */
		if (i >= 59)
		{
			double		mean = 0,
						var = 0;

			for (long k = i - 59; k <= i; k++)
				mean += c[k].volume / 60;
			for (long k = i - 59; k <= i; k++)
				var += (c[k].volume - mean) * (c[k].volume - mean) / 60;
			if (var > 0)
				check_row(!x->isnull[FS_VOLUME_Z] &&
					  fabs(x->value[FS_VOLUME_Z] - (c[i].volume - mean) / sqrt(var)) <=
					  1e-6 * fmax(1, fabs(x->value[FS_VOLUME_Z])), "volume_z", i);
		}
		/* vwap_dist: session = UTC day of the bucket, typical price */
		for (long k = i; k >= 0 && tsk_fs_date_bin(86400 * INT64_C(1000000), c[k].bucket) ==
			 tsk_fs_date_bin(86400 * INT64_C(1000000), c[i].bucket); k--)
		{
			pv += (c[k].high + c[k].low + c[k].close) / 3 * c[k].volume;
			vs += c[k].volume;
		}
		if (vs > 0)
			check_row(!x->isnull[FS_VWAP_DIST] &&
				  fabs(x->value[FS_VWAP_DIST] - (c[i].close / (pv / vs) - 1)) <= 1e-12, "vwap_dist", i);
	}

	/* refusals leave the state untouched */
	memcpy(copy, mem, size);
	check_row(tsk_fs_push((fs_state *) mem, &c[n - 1], &r) == FS_ERR_ORDER, "same bucket refused", n);
	{
		fs_candle	bad = c[n - 1];

		bad.bucket += MINUTE;
		bad.close = NAN;
		check_row(tsk_fs_push((fs_state *) mem, &bad, &r) == FS_ERR_NOT_FINITE, "NaN refused", n);
		bad.close = 1;
		bad.bucket = INT64_MAX;
		check_row(tsk_fs_push((fs_state *) mem, &bad, &r) == FS_ERR_NOT_FINITE, "infinite bucket refused", n);
	}
	check_row(memcmp(copy, mem, size) == 0, "refused candles left the state alone", n);
	((unsigned char *) copy)[4] ^= 1;	/* the version */
	check_row(!tsk_fs_valid(copy, size), "corrupted version not valid", n);
	check_row(!tsk_fs_valid(mem, size - 8), "short state not valid", n);

	printf("feature stream: %ld candles, %d features each, state %zu bytes\n",
		   n, FS_NFEATURES, size);
	return unit_summary("test_feature_stream");
}
