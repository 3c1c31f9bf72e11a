/*
 * test_indicators.c
 *	  Golden test of src/indicators/indicators.c against TA-Lib's own output.
 *
 * Usage: test_indicators SHARED_DIR   (e.g. /work/shared)
 *
 * Streams SHARED_DIR/data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv
 * through every indicator and compares each cell with
 * SHARED_DIR/golden/talib_btc_perp_1m.csv: a value passes when it is within
 * 1e-9 relative of TA-Lib's (1e-9 absolute where |golden| < 1), and "no
 * value" must coincide exactly with an empty golden cell.  Also checks the
 * parameter validation, that a state block survives being copied, and that
 * cumulative/rolling VWAP equal a naive recomputation.
 *
 * Prints one line per golden column (worst errors, NULL mismatches) and, as
 * its very last line, "N passed, N failed"; exits non-zero on any failure.
 */
#include "test_indicators.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const test_column_names[COL_COUNT] = {
	"sma20", "ema20", "rsi14", "macd", "macd_signal", "macd_hist",
	"bb_upper", "bb_middle", "bb_lower", "atr14", "obv",
	"stoch_k", "stoch_d", "roc10", "mom10", "willr14", "cci14",
	"mfi14", "adx14"
};

static int	test_passed;
static int	test_failed;

test_block_t test_block;

/*
 * test_check
 *	  Records one check; prints a FAIL line with the formatted reason.
 */
void
test_check(bool ok, const char *fmt, ...)
{
	va_list		args;

	if (ok)
	{
		test_passed++;
		return;
	}
	test_failed++;
	printf("FAIL: ");
	va_start(args, fmt);
	vprintf(fmt, args);
	va_end(args);
	printf("\n");
}

/*
 * test_alloc
 *	  Zeroed block of `size` bytes (stands in for WinGetPartitionLocalMemory).
 */
void *
test_alloc(size_t size)
{
	void	   *mem = calloc(1, size);

	if (mem == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return mem;
}

/*
 * test_split_csv
 *	  Splits a CSV line in place into at most max_fields fields (empty fields
 *	  kept, trailing newline dropped); returns the field count.
 */
static int
test_split_csv(char *line, char **fields, int max_fields)
{
	int			count = 0;
	char	   *cursor = line;

	line[strcspn(line, "\r\n")] = '\0';
	while (count < max_fields)
	{
		char	   *comma = strchr(cursor, ',');

		fields[count++] = cursor;
		if (comma == NULL)
			break;
		*comma = '\0';
		cursor = comma + 1;
	}
	return count;
}

/*
 * test_open
 *	  Opens dir/relative for reading or exits.
 */
static FILE *
test_open(const char *dir, const char *relative)
{
	char		path[TEST_LINE_MAX];
	FILE	   *file;

	snprintf(path, sizeof(path), "%s/%s", dir, relative);
	file = fopen(path, "r");
	if (file == NULL)
	{
		perror(path);
		exit(2);
	}
	return file;
}

/*
 * test_load
 *	  Loads candles and golden rows side by side; returns the row count.
 */
static int
test_load(const char *shared_dir, test_row **rows_out)
{
	FILE	   *candles = test_open(shared_dir, TEST_CANDLES);
	FILE	   *golden = test_open(shared_dir, TEST_GOLDEN);
	char		candle_line[TEST_LINE_MAX];
	char		golden_line[TEST_LINE_MAX];
	int			capacity = 1024;
	int			count = 0;
	int			ts_mismatches = 0;
	test_row   *rows = malloc(capacity * sizeof(test_row));

	/* Skip both headers. */
	if (rows == NULL || !fgets(candle_line, sizeof(candle_line), candles) ||
		!fgets(golden_line, sizeof(golden_line), golden))
	{
		fprintf(stderr, "cannot read input headers\n");
		exit(2);
	}
	while (fgets(candle_line, sizeof(candle_line), candles))
	{
		char	   *cf[6];
		char	   *gf[2 + COL_COUNT];
		test_row   *row;

		if (!fgets(golden_line, sizeof(golden_line), golden) ||
			test_split_csv(candle_line, cf, 6) != 6 ||
			test_split_csv(golden_line, gf, 2 + COL_COUNT) != 2 + COL_COUNT)
		{
			fprintf(stderr, "malformed or misaligned input at row %d\n", count);
			exit(2);
		}
		if (count == capacity)
		{
			capacity *= 2;
			rows = realloc(rows, capacity * sizeof(test_row));
			if (rows == NULL)
				exit(2);
		}
		row = &rows[count++];
		snprintf(row->ts, sizeof(row->ts), "%s", cf[0]);
		row->high = strtod(cf[2], NULL);
		row->low = strtod(cf[3], NULL);
		row->close = strtod(cf[4], NULL);
		row->volume = strtod(cf[5], NULL);
		if (strcmp(cf[0], gf[0]) != 0)
			ts_mismatches++;
		row->golden_close = strtod(gf[1], NULL);
		for (int col = 0; col < COL_COUNT; col++)
		{
			row->golden_has[col] = gf[2 + col][0] != '\0';
			row->golden[col] = row->golden_has[col] ? strtod(gf[2 + col], NULL) : 0.0;
		}
	}
	test_check(!fgets(golden_line, sizeof(golden_line), golden),
			   "golden file has more rows than the candles");
	test_check(ts_mismatches == 0, "%d candle/golden timestamps differ",
			   ts_mismatches);
	fclose(candles);
	fclose(golden);
	*rows_out = rows;
	return count;
}

/* Per-column comparison results. */
typedef struct test_column_stats
{
	double		worst_relative; /* over cells with |golden| >= 1 */
	double		worst_absolute; /* over cells with |golden| < 1 */
	int			out_of_tolerance;
	int			null_mismatches;
	int			values;
	int			first_bad_row;
} test_column_stats;

/*
 * test_compare_cell
 *	  Compares one produced cell (has, value) with the golden one.
 */
static void
test_compare_cell(test_column_stats *stats, const test_row *row, int row_index,
				  int col, bool has, double value)
{
	double		expected = row->golden[col];
	double		error;

	if (has != row->golden_has[col])
	{
		if (stats->null_mismatches++ == 0 && stats->first_bad_row < 0)
			stats->first_bad_row = row_index;
		return;
	}
	if (!has)
		return;
	stats->values++;
	error = fabs(value - expected);
	if (fabs(expected) >= 1.0)
	{
		error /= fabs(expected);
		if (error > stats->worst_relative)
			stats->worst_relative = error;
	}
	else if (error > stats->worst_absolute)
		stats->worst_absolute = error;
	if (!(error <= TEST_TOLERANCE))
	{
		if (stats->out_of_tolerance++ == 0 && stats->first_bad_row < 0)
			stats->first_bad_row = row_index;
	}
}

/* All indicator states fed by the golden run. */
typedef struct test_states
{
	ind_sma_state *sma;
	ind_ema_state *ema;
	ind_rsi_state *rsi;
	ind_macd_state *macd;
	ind_bbands_state *bbands;
	ind_atr_state *atr;
	ind_obv_state *obv;
	ind_stoch_state *stoch;
	ind_roc_state *roc;
	ind_mom_state *mom;
	ind_willr_state *willr;
	ind_cci_state *cci;
	ind_mfi_state *mfi;
	ind_adx_state *adx;
} test_states;

/*
 * test_states_init
 *	  Allocates and initialises every state with the golden parameters.
 */
static void
test_states_init(test_states *st)
{
	int			rc = 0;

	st->sma = test_alloc(tsk_ind_sma_size(20));
	rc |= tsk_ind_sma_init(st->sma, 20);
	st->ema = test_alloc(tsk_ind_ema_size(20));
	rc |= tsk_ind_ema_init(st->ema, 20);
	st->rsi = test_alloc(tsk_ind_rsi_size(14));
	rc |= tsk_ind_rsi_init(st->rsi, 14);
	st->macd = test_alloc(tsk_ind_macd_size(12, 26, 9));
	rc |= tsk_ind_macd_init(st->macd, 12, 26, 9);
	st->bbands = test_alloc(tsk_ind_bbands_size(20));
	rc |= tsk_ind_bbands_init(st->bbands, 20, 2.0);
	st->atr = test_alloc(tsk_ind_atr_size(14));
	rc |= tsk_ind_atr_init(st->atr, 14);
	st->obv = test_alloc(tsk_ind_obv_size());
	rc |= tsk_ind_obv_init(st->obv);
	st->stoch = test_alloc(tsk_ind_stoch_size(14, 3, 3));
	rc |= tsk_ind_stoch_init(st->stoch, 14, 3, 3);
	st->roc = test_alloc(tsk_ind_roc_size(10));
	rc |= tsk_ind_roc_init(st->roc, 10);
	st->mom = test_alloc(tsk_ind_mom_size(10));
	rc |= tsk_ind_mom_init(st->mom, 10);
	st->willr = test_alloc(tsk_ind_willr_size(14));
	rc |= tsk_ind_willr_init(st->willr, 14);
	st->cci = test_alloc(tsk_ind_cci_size(14));
	rc |= tsk_ind_cci_init(st->cci, 14);
	st->mfi = test_alloc(tsk_ind_mfi_size(14));
	rc |= tsk_ind_mfi_init(st->mfi, 14);
	st->adx = test_alloc(tsk_ind_adx_size(14));
	rc |= tsk_ind_adx_init(st->adx, 14);
	test_check(rc == 0, "init with the golden parameters failed");
}

/*
 * test_states_free
 *	  Releases the states of test_states_init.
 */
static void
test_states_free(test_states *st)
{
	void	   *blocks[] = {st->sma, st->ema, st->rsi, st->macd, st->bbands,
		st->atr, st->obv, st->stoch, st->roc, st->mom, st->willr, st->cci,
	st->mfi, st->adx};

	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
		free(blocks[i]);
}

/*
 * test_push_row
 *	  Pushes one row through every indicator into has[] / value[].
 */
static void
test_push_row(test_states *st, const test_row *r, bool *has, double *value)
{
	ind_macd_out macd;
	ind_bbands_out bands;
	ind_stoch_out stoch;

	has[COL_SMA20] = tsk_ind_sma_push(st->sma, r->close, &value[COL_SMA20]);
	has[COL_EMA20] = tsk_ind_ema_push(st->ema, r->close, &value[COL_EMA20]);
	has[COL_RSI14] = tsk_ind_rsi_push(st->rsi, r->close, &value[COL_RSI14]);
	has[COL_MACD] = has[COL_MACD_SIGNAL] = has[COL_MACD_HIST] =
		tsk_ind_macd_push(st->macd, r->close, &macd);
	value[COL_MACD] = macd.macd;
	value[COL_MACD_SIGNAL] = macd.signal;
	value[COL_MACD_HIST] = macd.hist;
	has[COL_BB_UPPER] = has[COL_BB_MIDDLE] = has[COL_BB_LOWER] =
		tsk_ind_bbands_push(st->bbands, r->close, &bands);
	value[COL_BB_UPPER] = bands.upper;
	value[COL_BB_MIDDLE] = bands.middle;
	value[COL_BB_LOWER] = bands.lower;
	has[COL_ATR14] = tsk_ind_atr_push(st->atr, r->high, r->low, r->close,
								  &value[COL_ATR14]);
	has[COL_OBV] = tsk_ind_obv_push(st->obv, r->close, r->volume, &value[COL_OBV]);
	has[COL_STOCH_K] = has[COL_STOCH_D] =
		tsk_ind_stoch_push(st->stoch, r->high, r->low, r->close, &stoch);
	value[COL_STOCH_K] = stoch.k;
	value[COL_STOCH_D] = stoch.d;
	has[COL_ROC10] = tsk_ind_roc_push(st->roc, r->close, &value[COL_ROC10]);
	has[COL_MOM10] = tsk_ind_mom_push(st->mom, r->close, &value[COL_MOM10]);
	has[COL_WILLR14] = tsk_ind_willr_push(st->willr, r->high, r->low, r->close,
									  &value[COL_WILLR14]);
	has[COL_CCI14] = tsk_ind_cci_push(st->cci, r->high, r->low, r->close,
								  &value[COL_CCI14]);
	has[COL_MFI14] = tsk_ind_mfi_push(st->mfi, r->high, r->low, r->close,
								  r->volume, &value[COL_MFI14]);
	has[COL_ADX14] = tsk_ind_adx_push(st->adx, r->high, r->low, r->close,
								  &value[COL_ADX14]);
}

/*
 * test_golden
 *	  Streams all rows through every indicator and checks each golden column.
 */
static void
test_golden(const test_row *rows, int nrows)
{
	test_states st;
	test_column_stats stats[COL_COUNT];
	int			close_mismatches = 0;

	test_states_init(&st);
	for (int col = 0; col < COL_COUNT; col++)
	{
		memset(&stats[col], 0, sizeof(stats[col]));
		stats[col].first_bad_row = -1;
	}
	for (int i = 0; i < nrows; i++)
	{
		bool		has[COL_COUNT];
		double		value[COL_COUNT];

		memset(value, 0, sizeof(value));
		if (rows[i].golden_close != rows[i].close)
			close_mismatches++;
		test_push_row(&st, &rows[i], has, value);
		for (int col = 0; col < COL_COUNT; col++)
			test_compare_cell(&stats[col], &rows[i], i, col, has[col], value[col]);
	}
	test_check(close_mismatches == 0, "%d golden closes differ from the candles",
			   close_mismatches);
	printf("%-12s %8s %14s %14s %8s %8s\n", "column", "values", "worst_rel",
		   "worst_abs", "bad", "null_mis");
	for (int col = 0; col < COL_COUNT; col++)
	{
		const test_column_stats *s = &stats[col];

		printf("%-12s %8d %14.6e %14.6e %8d %8d\n", test_column_names[col],
			   s->values, s->worst_relative, s->worst_absolute,
			   s->out_of_tolerance, s->null_mismatches);
		test_check(s->out_of_tolerance == 0,
				   "%s: %d values out of tolerance (first bad row %d)",
				   test_column_names[col], s->out_of_tolerance, s->first_bad_row);
		test_check(s->null_mismatches == 0,
				   "%s: %d NULL mismatches (first bad row %d)",
				   test_column_names[col], s->null_mismatches, s->first_bad_row);
	}
	test_states_free(&st);
}

/*
 * test_expect_status
 *	  Checks that init(size(params)) returns `expected` and its message.
 */
static void
test_expect_status(const char *what, size_t size, int status, int expected,
				   const char *message)
{
	test_check(size > 0, "%s: size must be positive for any parameters", what);
	test_check(status == expected, "%s: status %d, expected %d", what, status,
			   expected);
	test_check(strcmp(tsk_ind_strerror(status), message) == 0,
			   "%s: message \"%s\", expected \"%s\"", what,
			   tsk_ind_strerror(status), message);
}

/*
 * test_validation
 *	  Exercises parameter validation of every init function.
 */
static void
test_validation(void)
{
	void	   *mem = &test_block;
	const char *n_small = "n must be at least 1";
	const char *too_large = "period parameters must be at most 1000000";
	const int	big = IND_MAX_PERIOD + 1;

#define EXPECT(what, size_expr, init_expr, code, msg) \
	test_check((size_expr) <= sizeof(test_block), "%s: bare size too big", what); \
	test_expect_status(what, size_expr, init_expr, code, msg)

	EXPECT("sma(0)", tsk_ind_sma_size(0), tsk_ind_sma_init(mem, 0), IND_ERR_N_TOO_SMALL, n_small);
	EXPECT("sma(-3)", tsk_ind_sma_size(-3), tsk_ind_sma_init(mem, -3), IND_ERR_N_TOO_SMALL, n_small);
	EXPECT("sma(big)", tsk_ind_sma_size(big), tsk_ind_sma_init(mem, big), IND_ERR_PERIOD_TOO_LARGE, too_large);
	EXPECT("ema(0)", tsk_ind_ema_size(0), tsk_ind_ema_init(mem, 0), IND_ERR_N_TOO_SMALL, n_small);
	EXPECT("rsi(0)", tsk_ind_rsi_size(0), tsk_ind_rsi_init(mem, 0), IND_ERR_N_TOO_SMALL, n_small);
	EXPECT("roc(0)", tsk_ind_roc_size(0), tsk_ind_roc_init(mem, 0), IND_ERR_N_TOO_SMALL, n_small);
	EXPECT("mom(0)", tsk_ind_mom_size(0), tsk_ind_mom_init(mem, 0), IND_ERR_N_TOO_SMALL, n_small);
	EXPECT("atr(0)", tsk_ind_atr_size(0), tsk_ind_atr_init(mem, 0), IND_ERR_N_TOO_SMALL, n_small);
	EXPECT("willr(0)", tsk_ind_willr_size(0), tsk_ind_willr_init(mem, 0), IND_ERR_N_TOO_SMALL, n_small);
	EXPECT("cci(0)", tsk_ind_cci_size(0), tsk_ind_cci_init(mem, 0), IND_ERR_N_TOO_SMALL, n_small);
	EXPECT("adx(0)", tsk_ind_adx_size(0), tsk_ind_adx_init(mem, 0), IND_ERR_N_TOO_SMALL, n_small);
	EXPECT("mfi(0)", tsk_ind_mfi_size(0), tsk_ind_mfi_init(mem, 0), IND_ERR_N_TOO_SMALL, n_small);
	EXPECT("bbands(0,2)", tsk_ind_bbands_size(0), tsk_ind_bbands_init(mem, 0, 2.0), IND_ERR_N_TOO_SMALL, n_small);
	EXPECT("bbands(20,nan)", tsk_ind_bbands_size(20), tsk_ind_bbands_init(mem, 20, NAN),
		   IND_ERR_MULTIPLIER_NOT_FINITE, "k must be a finite number");
	EXPECT("bbands(20,inf)", tsk_ind_bbands_size(20), tsk_ind_bbands_init(mem, 20, INFINITY),
		   IND_ERR_MULTIPLIER_NOT_FINITE, "k must be a finite number");
	EXPECT("vwap_rolling(0)", tsk_ind_vwap_rolling_size(0), tsk_ind_vwap_rolling_init(mem, 0),
		   IND_ERR_N_TOO_SMALL, n_small);
	EXPECT("macd(0,26,9)", tsk_ind_macd_size(0, 26, 9), tsk_ind_macd_init(mem, 0, 26, 9),
		   IND_ERR_FAST_TOO_SMALL, "fast must be at least 1");
	EXPECT("macd(12,12,9)", tsk_ind_macd_size(12, 12, 9), tsk_ind_macd_init(mem, 12, 12, 9),
		   IND_ERR_FAST_NOT_BELOW_SLOW, "fast must be less than slow");
	EXPECT("macd(26,12,9)", tsk_ind_macd_size(26, 12, 9), tsk_ind_macd_init(mem, 26, 12, 9),
		   IND_ERR_FAST_NOT_BELOW_SLOW, "fast must be less than slow");
	EXPECT("macd(12,26,0)", tsk_ind_macd_size(12, 26, 0), tsk_ind_macd_init(mem, 12, 26, 0),
		   IND_ERR_SIGNAL_TOO_SMALL, "signal must be at least 1");
	EXPECT("macd(12,big,9)", tsk_ind_macd_size(12, big, 9), tsk_ind_macd_init(mem, 12, big, 9),
		   IND_ERR_PERIOD_TOO_LARGE, too_large);
	EXPECT("stoch(0,3,3)", tsk_ind_stoch_size(0, 3, 3), tsk_ind_stoch_init(mem, 0, 3, 3),
		   IND_ERR_K_TOO_SMALL, "k must be at least 1");
	EXPECT("stoch(14,0,3)", tsk_ind_stoch_size(14, 0, 3), tsk_ind_stoch_init(mem, 14, 0, 3),
		   IND_ERR_K_SLOW_TOO_SMALL, "k_slow must be at least 1");
	EXPECT("stoch(14,3,0)", tsk_ind_stoch_size(14, 3, 0), tsk_ind_stoch_init(mem, 14, 3, 0),
		   IND_ERR_D_TOO_SMALL, "d must be at least 1");
	EXPECT("stoch(14,3,big)", tsk_ind_stoch_size(14, 3, big), tsk_ind_stoch_init(mem, 14, 3, big),
		   IND_ERR_PERIOD_TOO_LARGE, too_large);
	EXPECT("sma NULL mem", tsk_ind_sma_size(20), tsk_ind_sma_init(NULL, 20),
		   IND_ERR_NULL_MEMORY, "indicator state memory is NULL");
	EXPECT("obv()", tsk_ind_obv_size(), tsk_ind_obv_init(mem), IND_OK, "success");
	EXPECT("vwap()", tsk_ind_vwap_size(), tsk_ind_vwap_init(mem), IND_OK, "success");
	EXPECT("macd(1,2,1)", tsk_ind_macd_size(1, 2, 1), tsk_ind_macd_init(mem, 1, 2, 1), IND_OK, "success");
	EXPECT("sma(1)", tsk_ind_sma_size(1), tsk_ind_sma_init(mem, 1), IND_OK, "success");
#undef EXPECT
	test_check(strcmp(tsk_ind_strerror(12345), "unknown indicator error") == 0,
			   "unknown status code message");
}

/*
 * test_state_copy
 *	  A state block copied mid-stream must continue exactly like the original.
 */
static void
test_state_copy(const test_row *rows, int nrows)
{
	size_t		size = tsk_ind_stoch_size(14, 3, 3);
	ind_stoch_state *original = test_alloc(size);
	ind_stoch_state *copy = test_alloc(size);
	int			split = nrows / 2;
	int			bad = 0;

	tsk_ind_stoch_init(original, 14, 3, 3);
	for (int i = 0; i < split; i++)
	{
		ind_stoch_out out;

		tsk_ind_stoch_push(original, rows[i].high, rows[i].low, rows[i].close, &out);
	}
	memcpy(copy, original, size);
	memset(original, 0xA5, size);	/* the copy must not point into it */
	free(original);
	original = test_alloc(size);
	memcpy(original, copy, size);
	for (int i = split; i < nrows; i++)
	{
		ind_stoch_out a, b;
		bool		ha = tsk_ind_stoch_push(original, rows[i].high, rows[i].low, rows[i].close, &a);
		bool		hb = tsk_ind_stoch_push(copy, rows[i].high, rows[i].low, rows[i].close, &b);

		if (ha != hb || (ha && (a.k != b.k || a.d != b.d)))
			bad++;
	}
	test_check(bad == 0, "copied stoch state diverged on %d rows", bad);
	free(original);
	free(copy);
}

/*
 * main
 *	  Runs every check; the last output line is the pass/fail summary.
 */
int
main(int argc, char **argv)
{
	test_row   *rows;
	int			nrows;

	if (argc != 2)
	{
		fprintf(stderr, "usage: %s SHARED_DIR\n", argv[0]);
		return 2;
	}
	nrows = test_load(argv[1], &rows);
	test_check(nrows == 36025, "expected 36025 rows, read %d", nrows);
	test_golden(rows, nrows);
	test_validation();
	test_state_copy(rows, nrows);
	test_lookbacks(rows, nrows);
	test_channel_naive(rows, nrows);
	test_flat_series();
	test_vwap_rolling_naive(rows, nrows, 1);
	test_vwap_rolling_naive(rows, nrows, 20);
	test_vwap_rolling_naive(rows, nrows, 390);
	test_vwap_cumulative_naive(rows, nrows);
	test_vwap_zero_volume();
	free(rows);
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed == 0 ? 0 : 1;
}
