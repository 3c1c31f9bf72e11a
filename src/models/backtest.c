/*
 * backtest.c
 *	  backtest(model_id, from, to, fee_bps, threshold) -> jsonb (issue 15):
 *	  the trading rule of README "Signals and backtests" applied to a
 *	  direction or return model on the complete features() rows of its
 *	  symbol and width, beside buy-and-hold and the rules baseline
 *	  (tsk_tsm_rules_probability of rsi_14 and macd_hist) on the same
 *	  periods.
 *
 * Invariants:
 *	- no look-ahead: a range that starts before the model's test window
 *	  (models.test_from) is an ERROR, so no period overlaps the training
 *	  rows (train_from .. train_to) nor the horizon rows left out after
 *	  them, whose labels read closes of the training period's end;
 *	- rows are those train() reads: features(symbol, width, from) from
 *	  "from" to last_complete_bucket(); a period is horizon rows long (the
 *	  label rule of train(): the close horizon rows later), periods start
 *	  every horizon rows from the first row at or after "from" and up to
 *	  "to", and each needs its closing row to be complete;
 *	- features are scored as float32, as train() learned them (the rules
 *	  baseline reads rsi_14 and macd_hist as the same float32 values);
 *	- every strategy is judged on the same periods with the same fee rule;
 *	- SQL runs under the pinned search_path, without JIT.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "models/model.h"
#include "models/model_metrics.h"
#include "models/model_rows.h"
#include "guc.h"
#include "schema.h"

extern PGDLLEXPORT Datum model_backtest(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_backtest);

/* The figures of one strategy over the periods. */
typedef struct bt_stats
{
	int64		periods;
	int64		trades;			/* periods with a position */
	int64		hits;			/* position * return > 0 */
	int64		false_signals;	/* position * return < 0 */
	double		gross;
	double		fees;
	double		pnl;
	double		mean;			/* of the period pnl (Welford), for the Sharpe ratio */
	double		m2;				/* sum of squared deviations from mean (Welford) */
	double		peak;
	double		max_drawdown;
	double		turnover;
	int			last;			/* position of the previous period */
} bt_stats;

/* The model row backtest() needs. */
typedef struct bt_model
{
	char	   *symbol;
	Interval	width;
	int32		horizon;
	int			target;
	TimestampTz train_from;
	TimestampTz train_to;
	TimestampTz test_from;
	TimestampTz test_to;
} bt_model;

/* One backtest: its arguments, the model and the figures of each strategy. */
typedef struct bt_run
{
	int64		id;
	bt_model	m;
	TimestampTz from;
	TimestampTz to;
	double		fee_bps;
	double		threshold;
	double		rules_threshold;
	bool		probability;	/* a direction model (else a return one) */
	int64		nperiods;
	TimestampTz first_bucket;
	TimestampTz last_bucket;
	bt_stats	model;
	bt_stats	hold;
	bt_stats	rules;
} bt_run;

/*
 * bt_position
 *	  -1, 0 or +1 from a score: a probability against threshold and
 *	  1 - threshold, or a forecast log return against +-threshold; NaN: 0.
 */
static int
bt_position(double score, bool probability, double threshold)
{
	if (isnan(score))
		return 0;
	if (probability)
		return score > threshold ? 1 : score < 1.0 - threshold ? -1 : 0;
	return score > threshold ? 1 : score < -threshold ? -1 : 0;
}

/*
 * bt_step
 *	  One period of a strategy: position s earns s * r less fee per unit of
 *	  position change; last says whether it is the final period (its exit
 *	  to flat pays the fee too).
 */
static void
bt_step(bt_stats *st, int s, double r, double fee, bool last)
{
	double		change = fabs((double) (s - st->last)) + (last ? fabs((double) s) : 0.0);
	double		g = s * r;
	double		p = g - fee * change;
	double		delta = p - st->mean;

	st->periods++;
	st->trades += s != 0;
	st->hits += g > 0;
	st->false_signals += g < 0;
	st->gross += g;
	st->fees += fee * change;
	st->pnl += p;
	st->mean += delta / st->periods;
	st->m2 += delta * (p - st->mean);
	st->turnover += change;
	st->peak = Max(st->peak, st->pnl);
	st->max_drawdown = Max(st->max_drawdown, st->peak - st->pnl);
	st->last = s;
}

/*
 * bt_json
 *	  The figures of a strategy as a JSON object (ratios null without
 *	  trades; the Sharpe ratio null with fewer than two periods or no
 *	  variance), annualised over 365 days of periods of horizon * width.
 */
static void
bt_json(StringInfo buf, const char *name, const bt_stats *st, double periods_per_year)
{
	double		mean = st->periods > 0 ? st->mean : NAN;
	double		var = st->periods > 1 ? st->m2 / (st->periods - 1) : NAN;

	appendStringInfo(buf, "\"%s\": {\"periods\": " INT64_FORMAT ", \"trades\": " INT64_FORMAT
					 ", \"hits\": " INT64_FORMAT ", \"false_signals\": " INT64_FORMAT ", \"hit_rate\": ",
					 name, st->periods, st->trades, st->hits, st->false_signals);
	tsk_json_double(buf, st->trades > 0 ? (double) st->hits / st->trades : NAN);
	appendStringInfoString(buf, ", \"false_signal_rate\": ");
	tsk_json_double(buf, st->trades > 0 ? (double) st->false_signals / st->trades : NAN);
	appendStringInfoString(buf, ", \"gross_pnl\": ");
	tsk_json_double(buf, st->gross);
	appendStringInfoString(buf, ", \"fees\": ");
	tsk_json_double(buf, st->fees);
	appendStringInfoString(buf, ", \"pnl\": ");
	tsk_json_double(buf, st->pnl);
	appendStringInfoString(buf, ", \"sharpe\": ");
	tsk_json_double(buf, var > 0 ? mean / sqrt(var) * sqrt(periods_per_year) : NAN);
	appendStringInfoString(buf, ", \"max_drawdown\": ");
	tsk_json_double(buf, st->max_drawdown);
	appendStringInfoString(buf, ", \"turnover\": ");
	tsk_json_double(buf, st->turnover);
	appendStringInfoChar(buf, '}');
}

/*
 * bt_read_model
 *	  The models row of id (SPI connected); ERROR when there is none or
 *	  a column the backtest needs is NULL.
 */
static void
bt_read_model(int64 id, bt_model *m)
{
	Oid			type = INT8OID;
	Datum		arg = Int64GetDatum(id);
	Datum		v[8];
	bool		n[8];
	int			ret;

	ret = SPI_execute_with_args("SELECT m.symbol, m.width, m.horizon, m.target, m.train_from, m.train_to, "
								"m.test_from, m.test_to FROM triggerstock.models m "
								"WHERE m.id OPERATOR(pg_catalog.=) $1",
								1, &type, &arg, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("model %lld does not exist", (long long) id),
				 errhint("Models are listed in triggerstock.models.")));
	for (int i = 0; i < 8; i++)
	{
		v[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &n[i]);
		if (n[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model %lld has a NULL %s", (long long) id,
							SPI_fname(SPI_tuptable->tupdesc, i + 1)),
					 errhint("The constraints of triggerstock.models forbid it; train a new model.")));
	}
	m->symbol = TextDatumGetCString(v[0]);
	m->width = *DatumGetIntervalP(v[1]);
	m->horizon = DatumGetInt32(v[2]);
	m->target = tsk_tsm_target_parse(TextDatumGetCString(v[3]));
	m->train_from = DatumGetTimestampTz(v[4]);
	m->train_to = DatumGetTimestampTz(v[5]);
	m->test_from = DatumGetTimestampTz(v[6]);
	m->test_to = DatumGetTimestampTz(v[7]);
}

/*
 * bt_ts
 *	  A timestamptz as text for messages (palloc'd).
 */
static char *
bt_ts(TimestampTz t)
{
	return pstrdup(timestamptz_to_str(t));
}

/*
 * bt_check_range
 *	  ERROR for a range that is empty or starts before the test window.
 */
static void
bt_check_range(int64 id, const bt_model *m, TimestampTz from, TimestampTz to)
{
	if (TIMESTAMP_NOT_FINITE(from) || TIMESTAMP_NOT_FINITE(to) || from > to)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the backtest range [%s, %s] is empty or not finite", bt_ts(from), bt_ts(to)),
				 errhint("Give finite timestamps with from <= to.")));
	if (from < m->test_from && to >= m->train_from)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the backtest range [%s, %s] overlaps the training rows of model %lld",
						bt_ts(from), bt_ts(to), (long long) id),
				 errdetail("The model learned from the rows of [%s, %s]; its test window starts at %s.",
						   bt_ts(m->train_from), bt_ts(m->train_to), bt_ts(m->test_from)),
				 errhint("Backtest from the test window or later data only (from >= %s): a backtest "
						 "on rows the model learned from measures look-ahead, not skill.",
						 bt_ts(m->test_from))));
	if (from < m->test_from)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the backtest range [%s, %s] is before the test window of model %lld",
						bt_ts(from), bt_ts(to), (long long) id),
				 errdetail("The model learned from the rows of [%s, %s]; its test window starts at %s.",
						   bt_ts(m->train_from), bt_ts(m->train_to), bt_ts(m->test_from)),
				 errhint("Backtest from the test window or later data only (from >= %s).",
						 bt_ts(m->test_from))));
}

/*
 * bt_scores
 *	  The model's answer on each row (a probability, or a forecast log
 *	  return), from the stored trees or the booster.
 */
static double *
bt_scores(const model_t *mdl, const train_rows *r)
{
	int		   *col = palloc(sizeof(int) * Max(mdl->nfeatures, 1));
	float	   *x = palloc(sizeof(float) * Max(mdl->nfeatures, 1));
	double	   *out = palloc(sizeof(double) * Max(r->n, 1));

	for (int j = 0; j < mdl->nfeatures; j++)
	{
		col[j] = -1;
		for (int k = 0; k < r->nfeat; k++)
			if (strcmp(r->names[k], mdl->features[j]) == 0)
				col[j] = k;
		if (col[j] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("features() has no column %s used by model %lld",
							mdl->features[j], (long long) mdl->id),
					 errhint("The model was trained on other features; train a new one.")));
	}
	for (size_t i = 0; i < r->n; i++)
	{
		for (int j = 0; j < mdl->nfeatures; j++)
			x[j] = r->x[i * r->nfeat + col[j]];
		tsk_model_score(mdl, x, &out[i]);
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return out;
}

/*
 * bt_column
 *	  Index of the named column of the rows, -1 when absent.
 */
static int
bt_column(const train_rows *r, const char *name)
{
	for (int k = 0; k < r->nfeat; k++)
		if (strcmp(r->names[k], name) == 0)
			return k;
	return -1;
}

/*
 * bt_args
 *	  The arguments of backtest() into run, and the model row (SPI
 *	  connected); ERROR for NULLs, a fee or threshold out of range, a
 *	  volatility model and a range before the test window.
 */
static void
bt_args(FunctionCallInfo fcinfo, bt_run *run)
{
	for (int i = 0; i < 4; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("backtest() needs a model id, from, to and fee_bps"),
					 errhint("Only threshold may be NULL (its default for the model's target).")));
	run->id = PG_GETARG_INT64(0);
	run->from = PG_GETARG_TIMESTAMPTZ(1);
	run->to = PG_GETARG_TIMESTAMPTZ(2);
	run->fee_bps = PG_GETARG_FLOAT8(3);
	if (!(run->fee_bps >= 0 && run->fee_bps <= 10000))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fee_bps must be within [0, 10000], got %g", run->fee_bps),
				 errhint("Fees are in basis points of the notional per unit of position change.")));
	bt_read_model(run->id, &run->m);
	if (run->m.target != TSM_TARGET_DIRECTION && run->m.target != TSM_TARGET_RETURN)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model %lld forecasts %s, which has no direction to trade", (long long) run->id,
						run->m.target >= 0 ? tsk_tsm_target_name((tsm_target) run->m.target) : "an unknown target"),
				 errhint("Backtest a direction or return model.")));
	run->probability = run->m.target == TSM_TARGET_DIRECTION;
	run->threshold = PG_ARGISNULL(4) ? (run->probability ? 0.5 : 0.0) : PG_GETARG_FLOAT8(4);
	if (run->probability ? !(run->threshold >= 0.5 && run->threshold < 1)
		: !(run->threshold >= 0 && run->threshold < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("threshold %g is out of range for a %s model", run->threshold,
						tsk_tsm_target_name((tsm_target) run->m.target)),
				 errhint(run->probability
						 ? "A direction threshold is a probability within [0.5, 1): long above it, short below 1 - threshold."
						 : "A return threshold is a log return within [0, 1): long above it, short below its negative.")));
	/* the rules baseline answers a probability: 0.5 beside a return model */
	run->rules_threshold = run->probability ? run->threshold : 0.5;
	bt_check_range(run->id, &run->m, run->from, run->to);
}

/*
 * bt_periods
 *	  Every strategy over the periods of the rows: every horizon rows from
 *	  the first, up to "to", each with its closing row.
 */
static void
bt_periods(bt_run *run, const train_rows *r, const double *score)
{
	int32		h = run->m.horizon;
	int			rsi_col = bt_column(r, "rsi_14");
	int			macd_col = bt_column(r, "macd_hist");
	double		fee = run->fee_bps / 10000.0;
	size_t		last_start = 0;

	for (size_t i = 0; i + h < r->n && r->bucket[i] <= run->to; i += h)
	{
		last_start = i;
		run->nperiods++;
	}
	for (size_t i = 0; run->nperiods > 0 && i <= last_start; i += h)
	{
		double		c0 = r->close[i],
					c1 = r->close[i + h];
		double		ret = (c0 > 0 && c1 > 0) ? log(c1 / c0) : NAN;
		bool		last = i == last_start;
		double		rules = (rsi_col >= 0 && macd_col >= 0)
			? tsk_tsm_rules_probability(r->x[i * r->nfeat + rsi_col], r->x[i * r->nfeat + macd_col]) : NAN;

		if (isnan(ret))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the close of %s at %s or %d rows later is not positive", run->m.symbol,
							bt_ts(r->bucket[i]), h),
					 errhint("A backtest needs positive closes; check triggerstock.candles.")));
		if (i == 0)
			run->first_bucket = r->bucket[i];
		run->last_bucket = r->bucket[i];
		bt_step(&run->model, bt_position(score[i], run->probability, run->threshold), ret, fee, last);
		bt_step(&run->hold, 1, ret, fee, last);
		bt_step(&run->rules, bt_position(rules, true, run->rules_threshold), ret, fee, last);
	}
}

/*
 * bt_ts_json
 *	  A timestamptz as a JSON string, or null when there is none.
 */
static void
bt_ts_json(StringInfo buf, bool has, TimestampTz t)
{
	if (has)
		escape_json(buf, bt_ts(t));
	else
		appendStringInfoString(buf, "null");
}

/*
 * bt_result
 *	  The backtest as JSON text (palloc'd): its arguments, the figures of
 *	  each strategy and false_signal_rate_vs_rules.
 */
static char *
bt_result(const bt_run *run)
{
	const bt_model *m = &run->m;
	double		periods_per_year = 365.0 * SECS_PER_DAY /
		(m->horizon * ((double) m->width.time / USECS_PER_SEC + (double) m->width.day * SECS_PER_DAY));
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"model_id\": %lld, \"symbol\": ", (long long) run->id);
	escape_json(&buf, m->symbol);
	appendStringInfo(&buf, ", \"target\": \"%s\", \"width\": ", tsk_tsm_target_name((tsm_target) m->target));
	escape_json(&buf, DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(&m->width))));
	appendStringInfo(&buf, ", \"horizon\": %d, \"from\": ", m->horizon);
	escape_json(&buf, bt_ts(run->from));
	appendStringInfoString(&buf, ", \"to\": ");
	escape_json(&buf, bt_ts(run->to));
	appendStringInfoString(&buf, ", \"first_bucket\": ");
	bt_ts_json(&buf, run->nperiods > 0, run->first_bucket);
	appendStringInfoString(&buf, ", \"last_bucket\": ");
	bt_ts_json(&buf, run->nperiods > 0, run->last_bucket);
	appendStringInfoString(&buf, ", \"fee_bps\": ");
	tsk_json_double(&buf, run->fee_bps);
	appendStringInfoString(&buf, ", \"threshold\": ");
	tsk_json_double(&buf, run->threshold);
	appendStringInfoString(&buf, ", \"rules_threshold\": ");
	tsk_json_double(&buf, run->rules_threshold);
	appendStringInfoString(&buf, ", ");
	bt_json(&buf, "model", &run->model, periods_per_year);
	appendStringInfoString(&buf, ", ");
	bt_json(&buf, "buy_and_hold", &run->hold, periods_per_year);
	appendStringInfoString(&buf, ", ");
	bt_json(&buf, "rules", &run->rules, periods_per_year);
	appendStringInfoString(&buf, ", \"false_signal_rate_vs_rules\": ");
	tsk_json_double(&buf, run->model.trades > 0 && run->rules.trades > 0
					? (double) run->model.false_signals / run->model.trades
					- (double) run->rules.false_signals / run->rules.trades : NAN);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * model_backtest
 *	  backtest(model_id, from, to, fee_bps, threshold) -> jsonb; see the
 *	  file header and the SQL comment.
 */
Datum
model_backtest(PG_FUNCTION_ARGS)
{
	bt_run		run;
	model_t    *mdl;
	train_rows	r;
	Oid			types[3] = {TEXTOID, INTERVALOID, TIMESTAMPTZOID};
	Datum		args[3];
	char	   *result;
	MemoryContext caller = CurrentMemoryContext;
	int			guc_level = tsk_guc_internal_begin();
	int			spi_level = tsk_spi_connect();
	const char *nsp = quote_identifier(get_namespace_name(tsk_model_extension_namespace()));

	memset(&run, 0, sizeof(run));
	bt_args(fcinfo, &run);
	mdl = tsk_model_get(run.id);
	args[0] = CStringGetTextDatum(run.m.symbol);
	args[1] = IntervalPGetDatum(&run.m.width);
	args[2] = TimestampTzGetDatum(run.from);
	tsk_train_fetch(psprintf("SELECT * FROM %s.features($1, $2, $3) "
							 "WHERE bucket OPERATOR(pg_catalog.>=) $3 "
							 "AND bucket OPERATOR(pg_catalog.<=) %s.last_complete_bucket($1, $2)",
							 nsp, nsp),
					3, types, args, CurrentMemoryContext, &r);
	bt_periods(&run, &r, bt_scores(mdl, &r));
	/* the text is built in SPI's context, which SPI_finish frees */
	result = MemoryContextStrdup(caller, bt_result(&run));
	tsk_spi_finish(spi_level);
	tsk_guc_internal_end(guc_level);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(result)));
}
