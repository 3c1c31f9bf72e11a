/*
 * model_drift.c
 *	  feature_drift(symbol, recent): the population stability index of each
 *	  feature of the deployed model between its training rows and the
 *	  recent stored online feature rows.
 *
 * Invariants:
 *	- the recent rows are read from triggerstock.feature_rows (the online
 *	  state of the model's (symbol, width), src/features/online.c), never
 *	  recomputed: a pair that is not served is an ERROR;
 *	- the training side is the bins stored in models.drift_reference when
 *	  the model was trained;
 *	- SQL runs under the pinned search_path (tsk_spi_connect), without JIT.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "features/online.h"
#include "models/model.h"
#include "models/model_metrics.h"
#include "guc.h"
#include "schema.h"

extern PGDLLEXPORT Datum model_feature_drift(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_feature_drift);

/*
 * drift_recent_values
 *	  The values of one feature in the recent rows (one jsonb row each, NaN
 *	  when missing or not a number).
 */
static void
drift_recent_values(SPITupleTable *rows, uint64 nrows, const char *feature, double *col)
{
	for (uint64 i = 0; i < nrows; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(rows->vals[i], rows->tupdesc, 1, &isnull);
		JsonbValue	key,
				   *v = NULL;

		key.type = jbvString;
		key.val.string.val = (char *) feature;
		key.val.string.len = strlen(feature);
		if (!isnull)
			v = findJsonbValueFromContainer(&DatumGetJsonbP(d)->root, JB_FOBJECT, &key);
		col[i] = (v != NULL && v->type == jbvNumeric)
			? DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)))
			: NAN;
	}
}

/*
 * drift_recent_rows
 *	  Reads the last `recent` stored online feature rows of the model's
 *	  (symbol, width) as jsonb, one per row (inside SPI; args: model id,
 *	  symbol, recent); returns the SPI status.  ERROR when the pair is not
 *	  served: drift reads stored rows, it never recomputes them.
 */
static int
drift_recent_rows(const model_t *m, const char *symbol, Oid *types, Datum *args)
{
	if (!tsk_online_served(symbol, tsk_online_width_usecs(&m->width)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the features of symbol \"%s\" at the model's width are not served", symbol),
				 errhint("feature_drift() reads the stored online rows; deploying a model serves them, "
						 "or call serve_features().")));
	return SPI_execute_with_args("SELECT pg_catalog.to_jsonb(r) FROM ("
								 "  SELECT f.* FROM triggerstock.feature_rows f "
								 "  WHERE f.symbol OPERATOR(pg_catalog.=) $2 "
								 "    AND f.width OPERATOR(pg_catalog.=) "
								 "        (SELECT m.width FROM triggerstock.models m WHERE m.id OPERATOR(pg_catalog.=) $1) "
								 "  ORDER BY f.bucket DESC LIMIT $3) r",
								 3, types, args, NULL, true, 0);
}

/*
 * model_feature_drift
 *	  feature_drift(symbol, recent int) -> setof (feature, psi,
 *	  training_fraction_missing, recent_fraction_missing): PSI of each
 *	  feature of the deployed model between its training rows (the bins
 *	  stored in models.drift_reference) and the last `recent` stored online
 *	  feature rows (triggerstock.feature_rows: read, not recomputed; at most
 *	  triggerstock.feature_rows_keep of them exist).
 */
Datum
model_feature_drift(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *symbol = tsk_predict_symbol_arg(fcinfo);
	int32		recent = PG_GETARG_INT32(1);
	int64		model_id;
	model_t   *m;
	Oid			types[3] = {INT8OID, TEXTOID, INT4OID};
	Datum		args[3];
	int			ret;
	uint64		nrows;
	double	   *col;
	int			guc_level;
	int			spi_level;

	if (recent < 10)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recent must be at least 10 rows, got %d", recent),
				 errhint("The default compares the last 1440 feature rows (one day of 1-minute candles).")));
	model_id = tsk_model_deployed(symbol, TSM_TARGET_DIRECTION);
	if (model_id == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no model is deployed for symbol \"%s\"", symbol),
				 errhint("Feature drift compares recent rows with the deployed model's training rows.")));
	m = tsk_model_get(model_id);
	InitMaterializedSRF(fcinfo, 0);

	guc_level = tsk_guc_internal_begin();
	spi_level = tsk_spi_connect();
	args[0] = Int64GetDatum(model_id);
	args[1] = CStringGetTextDatum(symbol);
	args[2] = Int32GetDatum(recent);
	ret = drift_recent_rows(m, symbol, types, args);
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

		drift_recent_values(rows, nrows, m->features[j], col);
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
	tsk_spi_finish(spi_level);
	tsk_guc_internal_end(guc_level);
	return (Datum) 0;
}
