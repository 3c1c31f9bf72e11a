/*
 * model_predict.c
 *	  Serving: the fallback chain behind predict(symbol [, target]) and
 *	  predict_explain() (their fmgr glue is model_predict_sql.c), shared
 *	  with the predictor worker, and its use of the shared prediction
 *	  cache (predict_cache.c).
 *
 * Fallback chain (the level used is reported by predict_explain and in
 * triggerstock.predictions.fallback_level):
 *	 model       the deployed model on the latest complete feature row
 *	             (a canary candidate's for a bucket of its share, rollout.c;
 *	             never a shadow's);
 *	 last_score  the symbol's last model score in triggerstock.predictions
 *	             if younger than triggerstock.last_score_max_age;
 *	 rules       the rules baseline from rsi_14 and macd_hist
 *	             (tsk_tsm_rules_probability);
 *	 abstain     NULL.
 *
 * Invariants:
 *	- these functions are VOLATILE: they read the deployment, the candles
 *	  and the clock;
 *	- the latest feature row of a (symbol, width) is cached per backend and
 *	  read again only when the newest complete bucket or its last 1-minute
 *	  candle changes (bucket, close, volume or trade count), so a predict()
 *	  costs a few index probes plus one booster call when nothing changed;
 *	- the row of a served (symbol, width) is its online row
 *	  (triggerstock.feature_rows, src/features/online.c): one index probe,
 *	  whatever the history length; an unserved pair's row (or a served one
 *	  whose online row is not that of the newest complete bucket) is
 *	  computed by features() over its bounded warm-up;
 *	- a feature row is complete when its bucket ends at or before the
 *	  symbol's watermark: predict() scores the row of
 *	  last_complete_bucket(symbol, width), the one rule shared with train()
 *	  and the predictor worker (src/candles/candles.sql);
 *	- the probability is about the close horizon buckets of the model's
 *	  width after that bucket (not the next bucket when horizon > 1);
 *	- every column read from triggerstock.predictions is checked for NULL;
 *	- internal queries run without JIT (tsk_guc_internal_begin).
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "candles/complete.h"
#include "features/online.h"
#include "models/model.h"
#include "models/model_metrics.h"
#include "models/predict_cache.h"
#include "direct_read.h"
#include "guc.h"
#include "schema.h"
#include "subxact.h"

/* Feature rows remembered per backend before the cache is reset. */
#define PREDICT_MAX_ROWS 64
/* Most columns of a feature row. */
#define PREDICT_MAX_COLUMNS 64

/* The latest complete feature row of a (symbol, width). */
typedef struct predict_row
{
	char		symbol[NAMEDATALEN];
	Interval	width;
	/* signature: the newest complete bucket and its last 1-minute candle */
	TimestampTz sig_complete;
	TimestampTz sig_bucket;
	double		sig_close;
	double		sig_volume;
	int64		sig_trades;
	TimestampTz checked_at;		/* when the signature was last read */
	TimestampTz watermark;
	/* the row */
	bool		found;
	bool		online;			/* read from triggerstock.feature_rows */
	TimestampTz bucket;
	int			n;
	char	  **names;			/* PREDICT_MAX_COLUMNS slots, allocated once */
	double	   *values;
} predict_row;

static MemoryContext predict_cxt = NULL;
static predict_row *predict_rows = NULL;
static int	predict_nrows = 0;

/* GUC level of the search_path pinned by predict_spi_connect. */
static int	predict_spi_nest = -1;

/*
 * predict_spi_connect
 *	  SPI_connect under the safe search_path, or ERROR.
 */
static void
predict_spi_connect(void)
{
	predict_spi_nest = tsk_spi_connect();
}

/*
 * predict_spi_finish
 *	  SPI_finish, and the caller's search_path back.
 */
static void
predict_spi_finish(void)
{
	tsk_spi_finish(predict_spi_nest);
	predict_spi_nest = -1;
}

/*
 * predict_cached_row
 *	  The cached row of (symbol, width), or NULL.
 */
static predict_row *
predict_cached_row(const char *symbol, const Interval *width)
{
	for (int i = 0; i < predict_nrows; i++)
		if (strcmp(predict_rows[i].symbol, symbol) == 0 &&
			memcmp(&predict_rows[i].width, width, sizeof(Interval)) == 0)
			return &predict_rows[i];
	return NULL;
}

/*
 * predict_new_row
 *	  A cache slot for (symbol, width), its arrays allocated once.
 */
static predict_row *
predict_new_row(const char *symbol, const Interval *width)
{
	predict_row *row;

	if (predict_nrows == PREDICT_MAX_ROWS || strlen(symbol) >= NAMEDATALEN)
	{
		MemoryContextReset(predict_cxt);
		predict_rows = MemoryContextAllocZero(predict_cxt, sizeof(predict_row) * PREDICT_MAX_ROWS);
		predict_nrows = 0;
	}
	row = &predict_rows[predict_nrows++];
	strlcpy(row->symbol, symbol, NAMEDATALEN);
	row->width = *width;
	row->names = MemoryContextAllocZero(predict_cxt, sizeof(char *) * PREDICT_MAX_COLUMNS);
	row->values = MemoryContextAllocZero(predict_cxt, sizeof(double) * PREDICT_MAX_COLUMNS);
	return row;
}

/*
 * predict_keep_name
 *	  Column i of the row is called name (copied into predict_cxt once).
 */
static void
predict_keep_name(predict_row *row, int i, const char *name)
{
	if (row->names[i] == NULL || strcmp(row->names[i], name) != 0)
		row->names[i] = MemoryContextStrdup(predict_cxt, name);
}

/*
 * predict_keep_row
 *	  Copy the numeric columns of a features() row into row: NaN for NULL;
 *	  the bucket column sets row->bucket.
 */
static void
predict_keep_row(predict_row *row, HeapTuple tup, TupleDesc desc)
{
	bool		isnull;

	row->n = 0;
	for (int i = 0; i < desc->natts && row->n < PREDICT_MAX_COLUMNS; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Datum		d = SPI_getbinval(tup, desc, i + 1, &isnull);
		double		v = NAN;

		if (strcmp(NameStr(att->attname), "bucket") == 0 && !isnull)
			row->bucket = DatumGetTimestampTz(d);
		if (att->attisdropped)
			continue;
		switch (att->atttypid)
		{
			case FLOAT8OID:
				v = isnull ? NAN : DatumGetFloat8(d);
				break;
			case FLOAT4OID:
				v = isnull ? NAN : DatumGetFloat4(d);
				break;
			case INT2OID:
				v = isnull ? NAN : DatumGetInt16(d);
				break;
			case INT4OID:
				v = isnull ? NAN : DatumGetInt32(d);
				break;
			case INT8OID:
				v = isnull ? NAN : (double) DatumGetInt64(d);
				break;
			case NUMERICOID:
				v = isnull ? NAN : DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
				break;
			default:
				continue;
		}
		predict_keep_name(row, row->n, NameStr(att->attname));
		row->values[row->n++] = v;
	}
	row->found = true;
}

/*
 * predict_online_row
 *	  The stored online row of (symbol, width) into row when it is the row
 *	  of bucket (one index probe of triggerstock.feature_rows, no SPI);
 *	  false when the pair is not served or its newest row is another one.
 */
static bool
predict_online_row(predict_row *row, const char *symbol, const Interval *width,
				   TimestampTz bucket, bool *spi)
{
	double		values[ONLINE_NCOLUMNS];
	TimestampTz stored;

	if (!tsk_online_latest_row(symbol, width, &stored, values, spi) || stored != bucket)
		return false;
	row->bucket = stored;
	row->n = ONLINE_NCOLUMNS;
	for (int i = 0; i < ONLINE_NCOLUMNS; i++)
	{
		predict_keep_name(row, i, tsk_online_column_name(i));
		row->values[i] = values[i];
	}
	row->found = true;
	row->online = true;
	return true;
}

/*
 * predict_computed_row
 *	  The row of bucket computed by features() over its bounded warm-up
 *	  (a pair that is not served online).
 */
static void
predict_computed_row(predict_row *row, const char *symbol, Interval *width,
					 TimestampTz bucket, Oid nsp)
{
	Datum		args[3];
	Oid			types[3] = {TEXTOID, INTERVALOID, TIMESTAMPTZOID};
	int			ret;

	args[0] = CStringGetTextDatum(symbol);
	args[1] = IntervalPGetDatum(width);
	args[2] = TimestampTzGetDatum(bucket);
	ret = SPI_execute_with_args(psprintf("SELECT * FROM %s.features($1, $2, $3) f "
										 "WHERE f.bucket OPERATOR(pg_catalog.<=) $3 ORDER BY f.bucket DESC LIMIT 1",
										 quote_identifier(get_namespace_name(nsp))),
								3, types, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	row->online = false;
	if (SPI_processed == 1)
		predict_keep_row(row, SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
}

/*
 * predict_latest_row
 *	  The latest complete feature row of (symbol, width), from the cache
 *	  when it was checked less than triggerstock.feature_cache_ttl ago or
 *	  the latest complete candle did not change, else the online row of a
 *	  served pair or features() over its warm-up; fresh: always read (the
 *	  shared cache stores only what the snapshot shows).  Returns NULL when
 *	  the symbol has no complete candle.  Connects SPI (*spi set) only when
 *	  it has to read.
 */
static predict_row *
predict_latest_row(const char *symbol, Interval *width, Oid nsp, bool fresh, bool *spi)
{
	predict_row *row = NULL;
	candle_completeness complete;
	TimestampTz sig_complete,
				sig_bucket,
				watermark;
	double		sig_close,
				sig_volume;
	int64		sig_trades;

	if (predict_cxt == NULL)
	{
		predict_cxt = AllocSetContextCreate(TopMemoryContext, "triggerstock feature rows",
											ALLOCSET_DEFAULT_SIZES);
		predict_rows = MemoryContextAllocZero(predict_cxt, sizeof(predict_row) * PREDICT_MAX_ROWS);
	}
	row = predict_cached_row(symbol, width);
	if (row != NULL && !fresh && row->sig_complete != DT_NOBEGIN && tsk_feature_cache_ttl > 0 &&
		!TimestampDifferenceExceeds(row->checked_at, GetCurrentTimestamp(),
									tsk_feature_cache_ttl))
		return row->found ? row : NULL;

	if (!*spi)
	{
		predict_spi_connect();
		*spi = true;
	}
	/* the newest complete bucket and its last candle: the one rule of candles/complete.h */
	tsk_candle_completeness(symbol, width, &complete);
	if (!complete.has_bucket)
		return NULL;
	sig_complete = complete.bucket;
	sig_bucket = complete.last_candle;
	sig_close = complete.last_close;
	sig_volume = complete.last_volume;
	sig_trades = complete.last_trades;
	watermark = complete.watermark;

	if (row != NULL && !fresh && row->sig_complete == sig_complete && row->sig_bucket == sig_bucket &&
		row->sig_close == sig_close && row->sig_volume == sig_volume && row->sig_trades == sig_trades)
	{
		row->checked_at = GetCurrentTimestamp();
		row->watermark = watermark;
		return row->found ? row : NULL;
	}
	if (row == NULL)
		row = predict_new_row(symbol, width);
	/* mark stale until the new row is read (an ERROR leaves it stale) */
	row->sig_complete = DT_NOBEGIN;
	row->found = false;

	/* the row of the newest complete bucket: stored online, else computed */
	if (!predict_online_row(row, symbol, width, sig_complete, spi))
		predict_computed_row(row, symbol, width, sig_complete, nsp);
	row->sig_complete = sig_complete;
	row->sig_bucket = sig_bucket;
	row->sig_close = sig_close;
	row->sig_volume = sig_volume;
	row->sig_trades = sig_trades;
	row->checked_at = GetCurrentTimestamp();
	row->watermark = watermark;
	return row->found ? row : NULL;
}

/*
 * predict_row_value
 *	  The value of a named column of the row, or false when absent.
 */
static bool
predict_row_value(const predict_row *row, const char *name, double *v)
{
	for (int i = 0; i < row->n; i++)
		if (strcmp(row->names[i], name) == 0)
		{
			*v = row->values[i];
			return true;
		}
	return false;
}

/*
 * predict_last_score
 *	  Level 2: the symbol's newest model score of out's width and horizon,
 *	  if younger than triggerstock.last_score_max_age (SPI connected).
 *	  Every column is checked: the table is writable by its owner.
 */
static void
predict_last_score(const char *symbol, prediction_t *out)
{
	Oid			types[5] = {TEXTOID, INT4OID, INTERVALOID, INT4OID, TEXTOID};
	Datum		args[5] = {CStringGetTextDatum(symbol), Int32GetDatum(tsk_last_score_max_age),
		IntervalPGetDatum(&out->width), Int32GetDatum(out->horizon),
	CStringGetTextDatum(tsk_tsm_target_name((tsm_target) out->target))};
	bool		regression = out->target != TSM_TARGET_DIRECTION;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	int			ret;

	ret = SPI_execute_with_args(psprintf("SELECT %s, model_id, model_sha256 FROM triggerstock.predictions "
										 "WHERE symbol OPERATOR(pg_catalog.=) $1 "
										 "AND width OPERATOR(pg_catalog.=) $3 AND horizon OPERATOR(pg_catalog.=) $4 "
										 "%s"
										 "AND fallback_level OPERATOR(pg_catalog.=) 'model' %s"
										 "AND %s IS NOT NULL "
										 "AND predicted_at OPERATOR(pg_catalog.>=) (pg_catalog.now() "
										 "    OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $2)) "
										 "ORDER BY predicted_at DESC LIMIT 1",
										 regression ? "forecast" : "probability",
										 /* a 0.1 database (not yet updated): direction rows only */
										 tsk_model_has_target("predictions") ?
										 "AND target OPERATOR(pg_catalog.=) $5 " : "AND $5 IS NOT NULL ",
										 /* a rollout candidate's score is never served */
										 tsk_model_has_column("predictions", "mode") ?
										 "AND mode OPERATOR(pg_catalog.=) 'live' " : "",
										 regression ? "forecast" : "probability"),
								5, types, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != 1)
		return;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	d = SPI_getbinval(tup, desc, 1, &isnull);
	if (isnull || (regression ? !isfinite(DatumGetFloat8(d))
				   : !(DatumGetFloat8(d) >= 0 && DatumGetFloat8(d) <= 1)))
		return;
	out->probability = DatumGetFloat8(d);
	out->has_probability = true;
	out->level = TS_LEVEL_LAST_SCORE;
	d = SPI_getbinval(tup, desc, 2, &isnull);
	out->model_id = isnull ? 0 : DatumGetInt64(d);
	d = SPI_getbinval(tup, desc, 3, &isnull);
	if (!isnull)
		text_to_cstring_buffer(DatumGetTextPP(d), out->sha256, sizeof(out->sha256));
}

/*
 * predict_canary
 *	  When a canary candidate of (symbol, target) is active, say so in out
 *	  and, for a bucket of its share, replace *m by it (a model of the same
 *	  question only: deploy() refuses another).
 */
static void
predict_canary(const char *symbol, int target, TimestampTz bucket, model_t **m, prediction_t *out)
{
	double		fraction;
	int64		canary = tsk_model_canary(symbol, target, &fraction);
	model_t    *c;

	if (canary == 0)
		return;
	out->has_canary = true;
	out->canary_model_id = canary;
	out->canary_fraction = fraction;
	out->canary_share = tsk_rollout_canary_share(symbol, tsk_tsm_target_name((tsm_target) target), bucket);
	if (!(out->canary_share < fraction))
		return;
	c = tsk_model_get(canary);
	if (c->target == (*m)->target && c->horizon == (*m)->horizon &&
		c->width.time == (*m)->width.time && c->width.day == (*m)->width.day &&
		c->width.month == (*m)->width.month)
	{
		*m = c;
		out->canary_served = true;
	}
}

/*
 * predict_chain
 *	  The fallback chain for symbol with its deployed model (fallbacks), or
 *	  the model level alone with model model_id (a rollout candidate's
 *	  score: no fallback).  fresh: read the feature row whatever the
 *	  per-backend cache holds.
 */
static void
predict_chain(const char *symbol, int target, int64 model_id, bool fallbacks, bool fresh,
			  prediction_t *out)
{
	model_t    *m;
	Interval	one_minute = {.time = USECS_PER_MINUTE};
	predict_row *row;
	bool		spi = false;
	double		rsi,
				macd;
	int			guc_level = tsk_guc_internal_begin();

	if (fallbacks)
		model_id = tsk_model_deployed(symbol, target);
	m = model_id ? tsk_model_get(model_id) : NULL;
	memset(out, 0, sizeof(*out));
	out->target = target;
	out->level = TS_LEVEL_ABSTAIN;
	out->width = m ? m->width : one_minute;
	out->horizon = m ? m->horizon : 1;

	row = predict_latest_row(symbol, &out->width, tsk_model_extension_namespace(), fresh, &spi);

	/* a canary rollout serves the buckets of its share (rollout.c) */
	if (fallbacks && m != NULL && row != NULL)
		predict_canary(symbol, target, row->bucket, &m, out);

	if (row != NULL)
	{
		out->online_row = row->online;
		out->has_watermark = true;
		out->watermark = row->watermark;
		out->has_bucket = true;
		out->bucket = row->bucket;
		out->nfeatures = row->n;
		out->names = row->names;
		out->values = row->values;
	}

	/* level 1: the deployed model */
	if (m == NULL)
		out->reason = target == TSM_TARGET_DIRECTION ? "no model is deployed for the symbol"
			: psprintf("no %s model is deployed for the symbol", tsk_tsm_target_name((tsm_target) target));
	else if (m->target != target)
		out->reason = psprintf("deployed model %lld has target %s", (long long) m->id,
							   tsk_tsm_target_name((tsm_target) m->target));
	else if (row == NULL)
		out->reason = "no complete candle for the symbol";
	else
	{
		float	   *x = palloc(sizeof(float) * Max(m->nfeatures, 1));
		int			j;

		for (j = 0; j < m->nfeatures; j++)
		{
			double		v;

			if (!predict_row_value(row, m->features[j], &v))
				break;
			x[j] = isnan(v) ? NAN : (float) v;
		}
		if (j < m->nfeatures)
			out->reason = psprintf("features() has no column %s used by model %lld",
								   m->features[j], (long long) m->id);
		else
		{
			double		prob;

			tsk_model_score(m, x, &prob);
			/* the volatility model forecasts ln of the realised volatility */
			if (target == TSM_TARGET_VOLATILITY)
				prob = exp(prob);
			if (target != TSM_TARGET_DIRECTION && !isfinite(prob))
				out->reason = psprintf("model %lld answered %g", (long long) m->id, prob);
			/* a stored booster of another objective answers something else */
			else if (target == TSM_TARGET_DIRECTION && !(prob >= 0 && prob <= 1))
				out->reason = psprintf("model %lld answered %g, not a probability", (long long) m->id, prob);
			else
			{
				out->probability = prob;
				out->has_probability = true;
				out->level = TS_LEVEL_MODEL;
				out->model_id = m->id;
				strlcpy(out->sha256, m->sha256, sizeof(out->sha256));
			}
		}
	}

	/* level 2: a recent model score of the same width and horizon */
	if (!out->has_probability && fallbacks)
	{
		if (!spi)
		{
			predict_spi_connect();
			spi = true;
		}
		predict_last_score(symbol, out);
	}

	/* level 3: the rules baseline (a probability: direction only) */
	if (!out->has_probability && fallbacks && row != NULL && target == TSM_TARGET_DIRECTION &&
		predict_row_value(row, "rsi_14", &rsi) && predict_row_value(row, "macd_hist", &macd) &&
		!isnan(tsk_tsm_rules_probability(rsi, macd)))
	{
		out->probability = tsk_tsm_rules_probability(rsi, macd);
		out->has_probability = true;
		out->level = TS_LEVEL_RULES;
	}
	if (spi)
		predict_spi_finish();
	tsk_guc_internal_end(guc_level);
}

/*
 * tsk_predict_symbol
 *	  See model.h: the fallback chain for the deployed model of symbol in
 *	  the caller's snapshot, without the shared cache (the predictor
 *	  worker and predict_explain, which need the feature row).
 */
void
tsk_predict_symbol(const char *symbol, int target, prediction_t *out)
{
	predict_chain(symbol, target, 0, true, false, out);
}

/*
 * tsk_predict_model
 *	  See model.h.
 */
void
tsk_predict_model(const char *symbol, int target, int64 model_id, prediction_t *out)
{
	predict_chain(symbol, target, model_id, false, false, out);
}

/*
 * predict_cache_relids
 *	  The tables a model answer is read from (deployments, models, candles,
 *	  feature_rows): a cached hit checks the caller may read them.
 */
static int
predict_cache_relids(Oid *relids, Oid *nsp)
{
	static const char *const names[] = {"deployments", "models", "candles", "feature_rows"};
	int			n = 0;

	for (int i = 0; i < (int) lengthof(names); i++)
	{
		Oid			relid = tsk_direct_lookup(names[i], nsp);

		if (!OidIsValid(relid))
			return 0;
		relids[n++] = relid;
	}
	return n;
}

/*
 * predict_cache_compute
 *	  The chain with the counters of the shared cache read first and then
 *	  a new snapshot (predict_cache.c: an answer never claims counters
 *	  newer than its data), offered to the cache.  In READ COMMITTED the
 *	  new snapshot only adds commits made since the statement started, as
 *	  a VOLATILE function's own queries would see.
 */
static void
predict_cache_compute(const char *symbol, int target, prediction_t *out)
{
	predict_cache_stamp stamp;
	Oid			relids[4];
	Oid			nsp;
	int			nrelids;

	tsk_predict_cache_stamp(symbol, &stamp);
	PushActiveSnapshot(GetLatestSnapshot());
	predict_chain(symbol, target, 0, true, true, out);
	PopActiveSnapshot();
	if (out->level == TS_LEVEL_MODEL && out->online_row &&
		(nrelids = predict_cache_relids(relids, &nsp)) > 0)
		tsk_predict_cache_offer(symbol, target, &stamp, out, nsp, relids, nrelids);
}

/*
 * tsk_predict_symbol_shared
 *	  See model.h: predict()'s path, through the shared prediction cache
 *	  when this call may use it.
 */
void
tsk_predict_symbol_shared(const char *symbol, int target, prediction_t *out)
{
	if (!tsk_predict_cache_usable())
		predict_chain(symbol, target, 0, true, false, out);
	else if (!tsk_predict_cache_get(symbol, target, out))
		predict_cache_compute(symbol, target, out);
}

/* tsk_predict_prefill's call of predict_cache_compute. */
typedef struct prefill_arg
{
	const char *symbol;
	int			target;
} prefill_arg;

/*
 * prefill_cb
 *	  tsk_subxact_try callback: compute and offer one answer.
 */
static void
prefill_cb(void *arg)
{
	prefill_arg *a = arg;
	prediction_t p;

	predict_cache_compute(a->symbol, a->target, &p);
}

/*
 * tsk_predict_prefill
 *	  See model.h: a writer computes the answers of symbol's deployed
 *	  models for the shared cache (installed at its commit), each in a
 *	  subtransaction whose failure is only logged (DEBUG1): serving must
 *	  never fail the write.
 */
void
tsk_predict_prefill(const char *symbol)
{
	if (!tsk_predict_cache || !tsk_predict_cache_marked())
		return;
	/* the writer's own changes so far are visible to the new snapshot */
	CommandCounterIncrement();
	for (int target = TSM_TARGET_DIRECTION; target <= TSM_TARGET_VOLATILITY; target++)
	{
		prefill_arg a = {symbol, target};
		ErrorData  *edata;

		if (tsk_model_deployed(symbol, target) == 0)
			continue;
		edata = tsk_subxact_try(prefill_cb, &a);
		if (edata != NULL)
		{
			elog(DEBUG1, "triggerstock: no shared prediction for \"%s\": %s", symbol, edata->message);
			FreeErrorData(edata);
		}
	}
}
