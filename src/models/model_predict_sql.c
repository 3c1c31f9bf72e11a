/*
 * model_predict_sql.c
 *	  The fmgr glue of serving: predict(symbol [, target]),
 *	  predict(symbol, float8[]), predict_explain(symbol [, target]) and
 *	  model_cache_size_now(); the argument checks shared with
 *	  feature_drift().  The fallback chain is model_predict.c's.
 *
 * Invariants: a NULL or malformed argument is an ERROR with an errcode
 * and a hint, raised before anything is read; these functions are
 * VOLATILE (they read the deployment, the candles and the clock).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "models/model.h"

extern PGDLLEXPORT Datum model_predict_symbol(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_predict_symbol);
extern PGDLLEXPORT Datum model_predict_features(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_predict_features);
extern PGDLLEXPORT Datum model_predict_explain(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_predict_explain);
extern PGDLLEXPORT Datum model_cache_size_now(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_cache_size_now);

/*
 * tsk_predict_symbol_arg
 *	  See model.h.
 */
char *
tsk_predict_symbol_arg(FunctionCallInfo fcinfo)
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
 * predict_target_arg
 *	  The target argument of predict(symbol, target) and
 *	  predict_explain(symbol, target); direction for the one-argument forms.
 */
static int
predict_target_arg(FunctionCallInfo fcinfo)
{
	char	   *name;
	int			target;

	if (PG_NARGS() < 2)
		return TSM_TARGET_DIRECTION;
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target must not be NULL"),
				 errhint("Use direction, return or volatility.")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	target = tsk_tsm_target_parse(name);
	if (target < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown target \"%s\"", name),
				 errhint("Use direction, return or volatility.")));
	return target;
}

/*
 * model_predict_symbol
 *	  predict(symbol) -> float8: probability that the close horizon buckets
 *	  (of the deployed model's width) after the newest complete bucket is
 *	  higher than that bucket's close; NULL when every level of the
 *	  fallback chain abstains.
 */
Datum
model_predict_symbol(PG_FUNCTION_ARGS)
{
	prediction_t p;
	char	   *symbol = tsk_predict_symbol_arg(fcinfo);

	tsk_predict_symbol_shared(symbol, predict_target_arg(fcinfo), &p);
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
	char	   *symbol = tsk_predict_symbol_arg(fcinfo);

	tsk_predict_symbol(symbol, predict_target_arg(fcinfo), &p);
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
	char	   *symbol = tsk_predict_symbol_arg(fcinfo);
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
	model_id = tsk_model_deployed(symbol, TSM_TARGET_DIRECTION);
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
	tsk_model_score(m, x, &prob);
	if (!(prob >= 0 && prob <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model %lld answered %g, not a probability", (long long) m->id, prob),
				 errhint("Deploy a model trained by train(): objective binary:logistic.")));
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
