/*
 * model_predict.c
 *	  Serving: predict(symbol), predict(symbol, float8[]),
 *	  predict_explain(symbol), feature_drift(symbol, recent) and
 *	  model_cache_size_now(); the fallback chain shared with the predictor
 *	  worker.
 *
 * Fallback chain (the level used is reported by predict_explain and in
 * triggerstock.predictions.fallback_level):
 *	 model       the deployed model on the latest complete feature row;
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
 *	  recomputed only when the latest complete 1-minute candle changes
 *	  (bucket, close, volume or trade count), so a predict() costs one
 *	  index probe plus one booster call when nothing changed;
 *	- a feature row is "complete" when its bucket has ended (bucket + width
 *	  <= now()).
 */
#include "postgres.h"

#include <math.h>

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
#include "utils/timestamp.h"

#include "models/model.h"
#include "models/model_metrics.h"
#include "guc.h"
#include "schema.h"

extern PGDLLEXPORT Datum model_predict_symbol(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_predict_symbol);
extern PGDLLEXPORT Datum model_predict_features(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_predict_features);
extern PGDLLEXPORT Datum model_predict_explain(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_predict_explain);
extern PGDLLEXPORT Datum model_feature_drift(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_feature_drift);
extern PGDLLEXPORT Datum model_cache_size_now(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_cache_size_now);

/* Feature rows remembered per backend before the cache is reset. */
#define PREDICT_MAX_ROWS 64

/* The latest complete feature row of a (symbol, width). */
typedef struct predict_row
{
	char		symbol[NAMEDATALEN];
	Interval	width;
	/* signature of the latest complete 1-minute candle */
	TimestampTz sig_bucket;
	double		sig_close;
	double		sig_volume;
	int64		sig_trades;
	TimestampTz checked_at;		/* when the signature was last read */
	/* the row */
	bool		found;
	TimestampTz bucket;
	int			n;
	char	  **names;
	double	   *values;
} predict_row;

static MemoryContext predict_cxt = NULL;
static predict_row *predict_rows = NULL;
static int	predict_nrows = 0;
static SPIPlanPtr predict_sig_plan = NULL;

/*
 * tsk_fallback_name
 *	  The name of a fallback level.
 */
const char *
tsk_fallback_name(fallback_t level)
{
	switch (level)
	{
		case TS_LEVEL_MODEL:
			return "model";
		case TS_LEVEL_LAST_SCORE:
			return "last_score";
		case TS_LEVEL_RULES:
			return "rules";
		case TS_LEVEL_ABSTAIN:
			return "abstain";
	}
	return "?";
}

/*
 * tsk_json_double
 *	  A double as JSON: shortest exact form, null when not finite.
 */
void
tsk_json_double(StringInfo buf, double v)
{
	if (!isfinite(v))
		appendStringInfoString(buf, "null");
	else
		appendStringInfo(buf, "%.17g", v);
}

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
 * predict_latest_row
 *	  The latest complete feature row of (symbol, width), from the cache
 *	  when it was checked less than triggerstock.feature_cache_ttl ago or
 *	  the latest complete candle did not change.  Returns NULL when the
 *	  symbol has no complete candle.  Connects SPI (*spi set) only when it
 *	  has to read.
 */
static predict_row *
predict_latest_row(const char *symbol, Interval *width, Oid nsp, bool *spi)
{
	Datum		args[3];
	Oid			types[3] = {TEXTOID, INTERVALOID, TIMESTAMPTZOID};
	predict_row *row = NULL;
	TimestampTz sig_bucket;
	double		sig_close,
				sig_volume;
	int64		sig_trades;
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;
	int			ret;
	MemoryContext old;

	if (predict_cxt == NULL)
	{
		predict_cxt = AllocSetContextCreate(TopMemoryContext, "triggerstock feature rows",
											ALLOCSET_DEFAULT_SIZES);
		predict_rows = MemoryContextAllocZero(predict_cxt, sizeof(predict_row) * PREDICT_MAX_ROWS);
	}
	row = predict_cached_row(symbol, width);
	if (row != NULL && row->sig_bucket != DT_NOBEGIN && tsk_feature_cache_ttl > 0 &&
		!TimestampDifferenceExceeds(row->checked_at, GetCurrentTimestamp(),
									tsk_feature_cache_ttl))
		return row->found ? row : NULL;

	if (!*spi)
	{
		predict_spi_connect();
		*spi = true;
	}
	if (predict_sig_plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare("SELECT c.bucket, c.close, c.volume, c.trades FROM triggerstock.candles c "
									   "WHERE c.symbol = $1 AND c.width = interval '1 minute' "
									   "AND c.bucket <= pg_catalog.now() - interval '1 minute' "
									   "ORDER BY c.bucket DESC LIMIT 1", 1, types);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		predict_sig_plan = plan;
	}
	args[0] = CStringGetTextDatum(symbol);
	ret = SPI_execute_plan(predict_sig_plan, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return NULL;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	sig_bucket = DatumGetTimestampTz(SPI_getbinval(tup, desc, 1, &isnull));
	sig_close = DatumGetFloat8(SPI_getbinval(tup, desc, 2, &isnull));
	sig_volume = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
	sig_trades = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));

	if (row != NULL && row->sig_bucket == sig_bucket && row->sig_close == sig_close &&
		row->sig_volume == sig_volume && row->sig_trades == sig_trades)
	{
		row->checked_at = GetCurrentTimestamp();
		return row->found ? row : NULL;
	}
	if (row == NULL)
	{
		if (predict_nrows == PREDICT_MAX_ROWS || strlen(symbol) >= NAMEDATALEN)
		{
			MemoryContextReset(predict_cxt);
			predict_rows = MemoryContextAllocZero(predict_cxt, sizeof(predict_row) * PREDICT_MAX_ROWS);
			predict_nrows = 0;
		}
		row = &predict_rows[predict_nrows++];
		strlcpy(row->symbol, symbol, NAMEDATALEN);
		row->width = *width;
	}
	/* mark stale until the new row is read (an ERROR leaves it stale) */
	row->sig_bucket = DT_NOBEGIN;
	row->found = false;

	args[1] = IntervalPGetDatum(width);
	args[2] = TimestampTzGetDatum(sig_bucket - width->time - (int64) width->day * USECS_PER_DAY);
	ret = SPI_execute_with_args(psprintf("SELECT * FROM %s.features($1, $2, $3) f "
										 "WHERE f.bucket + $2 <= pg_catalog.now() ORDER BY f.bucket DESC LIMIT 1",
										 quote_identifier(get_namespace_name(nsp))),
								3, types, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1)
	{
		tup = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		old = MemoryContextSwitchTo(predict_cxt);
		row->names = palloc(sizeof(char *) * desc->natts);
		row->values = palloc(sizeof(double) * desc->natts);
		row->n = 0;
		for (int i = 0; i < desc->natts; i++)
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
			row->names[row->n] = pstrdup(NameStr(att->attname));
			row->values[row->n++] = v;
		}
		MemoryContextSwitchTo(old);
		row->found = true;
	}
	row->sig_bucket = sig_bucket;
	row->sig_close = sig_close;
	row->sig_volume = sig_volume;
	row->sig_trades = sig_trades;
	row->checked_at = GetCurrentTimestamp();
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
 * predict_one
 *	  Probability of one row: the direct tree evaluator when the model has
 *	  one (same arithmetic as libxgboost, far cheaper per row), else the
 *	  booster.
 */
static void
predict_one(const model_t *m, const float *x, double *out)
{
	if (m->forest != NULL)
		*out = tsk_tsm_forest_predict(m->forest, x);
	else
		tsk_xgb_predict(m->booster, x, 1, m->nfeatures, out);
}

/*
 * tsk_predict_symbol
 *	  Run the fallback chain for symbol; see the file header.
 */
void
tsk_predict_symbol(const char *symbol, prediction_t *out)
{
	int64		model_id = tsk_model_deployed(symbol);
	model_t   *m = model_id ? tsk_model_get(model_id) : NULL;
	Interval	one_minute = {.time = USECS_PER_MINUTE};
	predict_row *row;
	bool		spi = false;
	double		rsi,
				macd;

	memset(out, 0, sizeof(*out));
	out->level = TS_LEVEL_ABSTAIN;

	row = predict_latest_row(symbol, m ? &m->width : &one_minute, tsk_model_extension_namespace(),
							 &spi);

	if (row != NULL)
	{
		out->has_bucket = true;
		out->bucket = row->bucket;
		out->nfeatures = row->n;
		out->names = row->names;
		out->values = row->values;
	}

	/* level 1: the deployed model */
	if (m == NULL)
		out->reason = "no model is deployed for the symbol";
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
			predict_one(m, x, &out->probability);
			out->has_probability = true;
			out->level = TS_LEVEL_MODEL;
			out->model_id = m->id;
			strlcpy(out->sha256, m->sha256, sizeof(out->sha256));
		}
	}

	/* level 2: a recent model score */
	if (!out->has_probability)
	{
		Oid			types[2] = {TEXTOID, INT4OID};
		Datum		args[2] = {CStringGetTextDatum(symbol), Int32GetDatum(tsk_last_score_max_age)};
		int			ret;

		if (!spi)
		{
			predict_spi_connect();
			spi = true;
		}
		ret = SPI_execute_with_args("SELECT p.probability, p.model_id, p.model_sha256 "
									"FROM triggerstock.predictions p "
									"WHERE p.symbol = $1 AND p.fallback_level = 'model' "
									"AND p.predicted_at >= pg_catalog.now() - pg_catalog.make_interval(secs => $2) "
									"ORDER BY p.predicted_at DESC LIMIT 1",
									2, types, args, NULL, true, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		if (SPI_processed == 1)
		{
			HeapTuple	tup = SPI_tuptable->vals[0];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;

			out->probability = DatumGetFloat8(SPI_getbinval(tup, desc, 1, &isnull));
			out->has_probability = !isnull;
			out->model_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
			strlcpy(out->sha256, SPI_getvalue(tup, desc, 3), sizeof(out->sha256));
			out->level = TS_LEVEL_LAST_SCORE;
		}
	}

	/* level 3: the rules baseline */
	if (!out->has_probability && row != NULL &&
		predict_row_value(row, "rsi_14", &rsi) && predict_row_value(row, "macd_hist", &macd) &&
		!isnan(tsk_tsm_rules_probability(rsi, macd)))
	{
		out->probability = tsk_tsm_rules_probability(rsi, macd);
		out->has_probability = true;
		out->level = TS_LEVEL_RULES;
	}
	if (spi)
		predict_spi_finish();
}

/*
 * tsk_prediction_json
 *	  The prediction and what explains it, as JSON text.
 */
void
tsk_prediction_json(const char *symbol, const prediction_t *p, StringInfo buf)
{
	char		ts[MAXDATELEN + 1];

	appendStringInfoString(buf, "{\"symbol\": ");
	escape_json(buf, symbol);
	appendStringInfoString(buf, ", \"probability\": ");
	if (p->has_probability)
		tsk_json_double(buf, p->probability);
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ", \"fallback_level\": ");
	escape_json(buf, tsk_fallback_name(p->level));
	if (p->model_id)
	{
		appendStringInfo(buf, ", \"model_id\": %lld, \"sha256\": ", (long long) p->model_id);
		escape_json(buf, p->sha256);
	}
	else
		appendStringInfoString(buf, ", \"model_id\": null, \"sha256\": null");
	appendStringInfoString(buf, ", \"reason\": ");
	if (p->reason)
		escape_json(buf, p->reason);
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ", \"bucket\": ");
	if (p->has_bucket)
		appendStringInfo(buf, "\"%s\"", JsonEncodeDateTime(ts, TimestampTzGetDatum(p->bucket),
														   TIMESTAMPTZOID, NULL));
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ", \"features\": {");
	for (int i = 0; i < p->nfeatures; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		escape_json(buf, p->names[i]);
		appendStringInfoString(buf, ": ");
		tsk_json_double(buf, p->values[i]);
	}
	appendStringInfoString(buf, "}}");
}

/*
 * predict_symbol_arg
 *	  The symbol argument, or ERROR when NULL or empty.
 */
static char *
predict_symbol_arg(FunctionCallInfo fcinfo)
{
	char	   *symbol;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("symbol must not be NULL"),
				 errhint("Call predict('BTC').")));
	symbol = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (symbol[0] == '\0' || strlen(symbol) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid symbol \"%s\"", symbol),
				 errhint("A symbol is 1 to %d bytes long, as in triggerstock.candles.", NAMEDATALEN - 1)));
	return symbol;
}

/*
 * model_predict_symbol
 *	  predict(symbol) -> float8: probability that the next bucket closes
 *	  higher, NULL when every level of the fallback chain abstains.
 */
Datum
model_predict_symbol(PG_FUNCTION_ARGS)
{
	prediction_t p;

	tsk_predict_symbol(predict_symbol_arg(fcinfo), &p);
	if (!p.has_probability)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(p.probability);
}

/*
 * model_predict_explain
 *	  predict_explain(symbol) -> jsonb: the prediction, its level, model id
 *	  and sha256, the reason lower levels were used, the feature row.
 */
Datum
model_predict_explain(PG_FUNCTION_ARGS)
{
	prediction_t p;
	StringInfoData buf;
	char	   *symbol = predict_symbol_arg(fcinfo);

	tsk_predict_symbol(symbol, &p);
	initStringInfo(&buf);
	tsk_prediction_json(symbol, &p, &buf);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/*
 * model_predict_features
 *	  predict(symbol, features float8[]) -> float8 with the deployed model
 *	  on the given features (in the model's feature order, NULL missing).
 */
Datum
model_predict_features(PG_FUNCTION_ARGS)
{
	char	   *symbol = predict_symbol_arg(fcinfo);
	int64		model_id;
	model_t   *m;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	float	   *x;
	double		prob;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("features must not be NULL"),
				 errhint("Give one value per model feature; NULL elements are missing values.")));
	model_id = tsk_model_deployed(symbol);
	if (model_id == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no model is deployed for symbol \"%s\"", symbol),
				 errhint("Train one with SELECT train('%s'), or deploy one with deploy().", symbol)));
	m = tsk_model_get(model_id);
	arr = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features must be a one-dimensional array")));
	deconstruct_array(arr, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	if (n != m->nfeatures)
	{
		StringInfoData names;

		initStringInfo(&names);
		for (int j = 0; j < m->nfeatures; j++)
			appendStringInfo(&names, "%s%s", j ? ", " : "", m->features[j]);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model %lld for \"%s\" takes %d features, got %d",
						(long long) m->id, symbol, m->nfeatures, n),
				 errhint("Give the features in this order: %s.", names.data)));
	}
	x = palloc(sizeof(float) * Max(n, 1));
	for (int j = 0; j < n; j++)
		x[j] = nulls[j] ? NAN : (float) DatumGetFloat8(elems[j]);
	predict_one(m, x, &prob);
	PG_RETURN_FLOAT8(prob);
}

/*
 * model_cache_size_now
 *	  model_cache_count() -> int: boosters loaded in this backend.
 */
Datum
model_cache_size_now(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(tsk_model_cache_count());
}

/*
 * model_feature_drift
 *	  feature_drift(symbol, recent int) -> setof (feature, psi,
 *	  training_fraction_missing, recent_fraction_missing): PSI of each
 *	  feature of the deployed model between its training rows (the bins
 *	  stored in models.drift_reference) and the last `recent` feature rows.
 */
Datum
model_feature_drift(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *symbol = predict_symbol_arg(fcinfo);
	int32		recent = PG_GETARG_INT32(1);
	int64		model_id;
	model_t   *m;
	Oid			types[3] = {INT8OID, TEXTOID, INT4OID};
	Datum		args[3];
	int			ret;
	uint64		nrows;
	double	   *col;

	if (recent < 10)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recent must be at least 10 rows, got %d", recent),
				 errhint("The default compares the last 1440 feature rows (one day of 1-minute candles).")));
	model_id = tsk_model_deployed(symbol);
	if (model_id == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no model is deployed for symbol \"%s\"", symbol),
				 errhint("Feature drift compares recent rows with the deployed model's training rows.")));
	m = tsk_model_get(model_id);
	InitMaterializedSRF(fcinfo, 0);

	predict_spi_connect();
	args[0] = Int64GetDatum(model_id);
	args[1] = CStringGetTextDatum(symbol);
	args[2] = Int32GetDatum(recent);
	/* one row per (feature, recent value): the stored bins travel along */
	ret = SPI_execute_with_args(psprintf("WITH recent AS ("
										 "  SELECT f.* FROM %s.features($2, (SELECT m.width FROM triggerstock.models m WHERE m.id = $1)) f "
										 "  ORDER BY f.bucket DESC LIMIT $3) "
										 "SELECT pg_catalog.to_jsonb(r) FROM recent r",
										 quote_identifier(get_namespace_name(tsk_model_extension_namespace()))),
								3, types, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	nrows = SPI_processed;
	col = palloc(sizeof(double) * Max(nrows, 1));
	for (int j = 0; j < m->nfeatures; j++)
	{
		SPITupleTable *rows = SPI_tuptable;
		double		edges[TSM_PSI_BINS];
		double		expected[TSM_PSI_BINS + 1];
		double		actual[TSM_PSI_BINS + 1];
		int			ne = 0,
					nf = 0;
		Datum		values[4];
		bool		nulls[4] = {false};
		char	   *sql;
		SPITupleTable *ref;

		/* the recent values of feature j */
		for (uint64 i = 0; i < nrows; i++)
		{
			bool		isnull;
			Jsonb	   *jb = DatumGetJsonbP(SPI_getbinval(rows->vals[i], rows->tupdesc, 1, &isnull));
			JsonbValue	key,
					   *v;

			key.type = jbvString;
			key.val.string.val = m->features[j];
			key.val.string.len = strlen(m->features[j]);
			v = findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &key);
			col[i] = (v != NULL && v->type == jbvNumeric)
				? DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)))
				: NAN;
		}
		/* the stored bins */
		sql = psprintf("SELECT a.e, b.f FROM triggerstock.models m, "
					   "LATERAL (SELECT pg_catalog.array_agg(x::double precision) "
					   "         FROM pg_catalog.jsonb_array_elements_text(m.drift_reference -> %s -> 'edges') x) a(e), "
					   "LATERAL (SELECT pg_catalog.array_agg(x::double precision) "
					   "         FROM pg_catalog.jsonb_array_elements_text(m.drift_reference -> %s -> 'fractions') x) b(f) "
					   "WHERE m.id = $1",
					   quote_literal_cstr(m->features[j]), quote_literal_cstr(m->features[j]));
		ret = SPI_execute_with_args(sql, 1, types, args, NULL, true, 1);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not read the drift reference of model %lld", (long long) model_id);
		ref = SPI_tuptable;
		{
			bool		isnull;
			Datum		d;
			Datum	   *el;
			int			n;

			d = SPI_getbinval(ref->vals[0], ref->tupdesc, 1, &isnull);
			if (!isnull)
			{
				deconstruct_array(DatumGetArrayTypeP(d), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &el, NULL, &n);
				for (ne = 0; ne < n && ne < TSM_PSI_BINS; ne++)
					edges[ne] = DatumGetFloat8(el[ne]);
			}
			d = SPI_getbinval(ref->vals[0], ref->tupdesc, 2, &isnull);
			if (!isnull)
			{
				deconstruct_array(DatumGetArrayTypeP(d), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &el, NULL, &n);
				for (nf = 0; nf < n && nf < TSM_PSI_BINS + 1; nf++)
					expected[nf] = DatumGetFloat8(el[nf]);
			}
		}
		SPI_freetuptable(ref);
		SPI_tuptable = rows;

		values[0] = CStringGetTextDatum(m->features[j]);
		if (nf != ne + 2 || nrows == 0)
			nulls[1] = true;
		else
		{
			tsk_tsm_psi_fractions(col, nrows, edges, ne, actual);
			values[1] = Float8GetDatum(tsk_tsm_psi(expected, actual, ne + 2));
		}
		nulls[2] = nf != ne + 2;
		if (!nulls[2])
			values[2] = Float8GetDatum(expected[ne + 1]);
		nulls[3] = nulls[1];
		if (!nulls[3])
			values[3] = Float8GetDatum(actual[ne + 1]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	predict_spi_finish();
	return (Datum) 0;
}
