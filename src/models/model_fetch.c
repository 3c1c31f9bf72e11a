/*
 * model_fetch.c
 *	  Reads train()'s feature rows: runs the feature query through SPI with
 *	  a DestReceiver that streams each row from the executor's slot straight
 *	  into a float matrix, so no tuple is materialized or copied.
 *
 * Invariants: the matrix, the close and bucket arrays and the feature names
 * live in the caller's training context; rows arrive in strictly
 * increasing bucket order or the query fails; NULL features become NaN
 * (XGBoost's missing value); interrupts are checked every TRAIN_FETCH rows.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "tcop/dest.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "models/model_rows.h"
#include "schema.h"

/* Rows between two interrupt checks. */
#define TRAIN_FETCH 20000

/*
 * train_to_double
 *	  A numeric datum of type typid as a double.
 */
static double
train_to_double(Datum d, Oid typid)
{
	switch (typid)
	{
		case FLOAT8OID:
			return DatumGetFloat8(d);
		case FLOAT4OID:
			return DatumGetFloat4(d);
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
	}
	elog(ERROR, "unexpected feature type %u", typid);
	return 0;
}

/*
 * train_numeric_type
 *	  Feature columns are of these types.
 */
static bool
train_numeric_type(Oid typid)
{
	return typid == FLOAT8OID || typid == FLOAT4OID || typid == INT2OID ||
		typid == INT4OID || typid == INT8OID || typid == NUMERICOID;
}

/*
 * A DestReceiver that streams the feature query's rows straight from the
 * executor's slots into the training matrix (no tuples are materialized).
 */
typedef struct train_receiver
{
	DestReceiver pub;
	train_rows *r;
	MemoryContext cxt;			/* owns the matrix */
	int			bucket_col;		/* 0-based attribute numbers, -1 if absent */
	int			close_col;
	Oid			close_type;
	int		   *cols;			/* feature columns */
	Oid		   *types;
} train_receiver;

/*
 * train_receiver_startup
 *	  Find the columns: bucket (timestamp), close and the numeric features
 *	  (every numeric column but symbol, bucket and close).
 */
static void
train_receiver_startup(DestReceiver *self, int operation, TupleDesc desc)
{
	train_receiver *rcv = (train_receiver *) self;
	train_rows *r = rcv->r;
	MemoryContext old = MemoryContextSwitchTo(rcv->cxt);

	rcv->bucket_col = rcv->close_col = -1;
	rcv->cols = palloc(sizeof(int) * Max(desc->natts, 1));
	rcv->types = palloc(sizeof(Oid) * Max(desc->natts, 1));
	r->names = palloc(sizeof(char *) * Max(desc->natts, 1));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *name = NameStr(att->attname);

		if (att->attisdropped)
			continue;
		if (strcmp(name, "bucket") == 0 &&
			(att->atttypid == TIMESTAMPTZOID || att->atttypid == TIMESTAMPOID))
			rcv->bucket_col = i;
		else if (strcmp(name, "close") == 0 && train_numeric_type(att->atttypid))
		{
			rcv->close_col = i;
			rcv->close_type = att->atttypid;
		}
		else if (strcmp(name, "symbol") != 0 && train_numeric_type(att->atttypid))
		{
			rcv->cols[r->nfeat] = i;
			rcv->types[r->nfeat] = att->atttypid;
			r->names[r->nfeat++] = pstrdup(name);
		}
	}
	MemoryContextSwitchTo(old);
	if (rcv->bucket_col < 0 || rcv->close_col < 0 || r->nfeat == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature rows need a timestamptz column bucket, a numeric column close and at least one numeric feature column"),
				 errhint("Every numeric column other than symbol, bucket and close is a feature.")));
}

/*
 * train_receiver_grow
 *	  Room for at least one more row (capacity doubles).
 */
static void
train_receiver_grow(train_receiver *rcv)
{
	train_rows *r = rcv->r;
	size_t		cap = Max(r->cap * 2, 65536);

	if (r->cap == 0)
	{
		r->x = MemoryContextAllocHuge(rcv->cxt, sizeof(float) * cap * r->nfeat);
		r->close = MemoryContextAllocHuge(rcv->cxt, sizeof(double) * cap);
		r->bucket = MemoryContextAllocHuge(rcv->cxt, sizeof(TimestampTz) * cap);
	}
	else
	{
		r->x = repalloc_huge(r->x, sizeof(float) * cap * r->nfeat);
		r->close = repalloc_huge(r->close, sizeof(double) * cap);
		r->bucket = repalloc_huge(r->bucket, sizeof(TimestampTz) * cap);
	}
	r->cap = cap;
}

/*
 * train_receiver_receive
 *	  Append one row; rows must come in strictly increasing bucket order.
 */
static bool
train_receiver_receive(TupleTableSlot *slot, DestReceiver *self)
{
	train_receiver *rcv = (train_receiver *) self;
	train_rows *r = rcv->r;
	float	   *row;

	slot_getallattrs(slot);
	if (r->n == r->cap)
		train_receiver_grow(rcv);
	row = r->x + r->n * r->nfeat;

	if (slot->tts_isnull[rcv->bucket_col])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature row with a NULL bucket")));
	r->bucket[r->n] = DatumGetTimestampTz(slot->tts_values[rcv->bucket_col]);
	if (r->n > 0 && r->bucket[r->n] <= r->bucket[r->n - 1])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature rows are not in strictly increasing bucket order"),
				 errhint("Add ORDER BY bucket to the query; one row per bucket.")));
	if (slot->tts_isnull[rcv->close_col])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature row with a NULL close")));
	r->close[r->n] = train_to_double(slot->tts_values[rcv->close_col], rcv->close_type);
	for (int j = 0; j < r->nfeat; j++)
	{
		int			c = rcv->cols[j];

		row[j] = slot->tts_isnull[c] ? NAN : (float) train_to_double(slot->tts_values[c], rcv->types[j]);
	}
	r->n++;
	if (r->n % TRAIN_FETCH == 0)
		CHECK_FOR_INTERRUPTS();
	return true;
}

/*
 * train_receiver_noop
 *	  Nothing to do at the end of the query or on destroy: the matrix is in
 *	  cxt.
 */
static void
train_receiver_noop(DestReceiver *self)
{
}

/* See tsk_train_fetch_search_path. */
static const char *fetch_search_path = NULL;

/*
 * tsk_train_fetch_search_path
 *	  See model_rows.h.
 */
void
tsk_train_fetch_search_path(const char *path)
{
	fetch_search_path = path;
}

/*
 * tsk_train_fetch
 *	  See model_rows.h; the rows go through train_receiver.
 */
void
tsk_train_fetch(const char *query, int nargs, Oid *argtypes, Datum *args,
			MemoryContext cxt, train_rows *r)
{
	SPIPlanPtr	plan;
	SPIExecuteOptions options;
	train_receiver rcv;
	ParamListInfo params = NULL;
	int			ret;
	int			nest = fetch_search_path ? tsk_search_path_push_value(fetch_search_path) : -1;

	memset(r, 0, sizeof(*r));
	plan = SPI_prepare(query, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (nargs > 0)
	{
		params = makeParamList(nargs);
		for (int i = 0; i < nargs; i++)
		{
			params->params[i].value = args[i];
			params->params[i].isnull = false;
			params->params[i].pflags = PARAM_FLAG_CONST;
			params->params[i].ptype = argtypes[i];
		}
	}

	memset(&rcv, 0, sizeof(rcv));
	rcv.pub.receiveSlot = train_receiver_receive;
	rcv.pub.rStartup = train_receiver_startup;
	rcv.pub.rShutdown = train_receiver_noop;
	rcv.pub.rDestroy = train_receiver_noop;
	rcv.pub.mydest = DestNone;
	rcv.r = r;
	rcv.cxt = cxt;

	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = true;
	options.dest = (DestReceiver *) &rcv;
	ret = SPI_execute_plan_extended(plan, &options);
	/*
	 * A SELECT into a DestNone receiver reports SPI_OK_UTILITY; that the
	 * receiver started (and validated the columns) is what counts.
	 */
	if (nest >= 0)
		tsk_search_path_pop(nest);
	if ((ret != SPI_OK_SELECT && ret != SPI_OK_UTILITY) || rcv.cols == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the feature query must be a SELECT"),
				 errhint("Give a query returning bucket, close and the feature columns.")));
}

/*
 * tsk_train_drop_empty
 *	  See model_rows.h.  Compacts the row-major matrix in place (a column
 *	  only moves to a lower index, so rows can be rewritten front to back).
 */
int
tsk_train_drop_empty(train_rows *r, const char *prefix)
{
	bool	   *keep = palloc(sizeof(bool) * Max(r->nfeat, 1));
	size_t		plen = strlen(prefix);
	int			nkeep = 0;

	for (int j = 0; j < r->nfeat; j++)
	{
		keep[j] = strncmp(r->names[j], prefix, plen) != 0;
		for (size_t i = 0; i < r->n && !keep[j]; i++)
			keep[j] = !isnan(r->x[i * r->nfeat + j]);
		nkeep += keep[j];
	}
	if (nkeep == r->nfeat || nkeep == 0)
	{
		pfree(keep);
		return 0;
	}
	for (size_t i = 0; i < r->n; i++)
	{
		int			k = 0;

		for (int j = 0; j < r->nfeat; j++)
			if (keep[j])
				r->x[i * nkeep + k++] = r->x[i * r->nfeat + j];
	}
	{
		int			k = 0;

		for (int j = 0; j < r->nfeat; j++)
			if (keep[j])
				r->names[k++] = r->names[j];
	}
	nkeep = r->nfeat - nkeep;
	r->nfeat -= nkeep;
	pfree(keep);
	return nkeep;
}
