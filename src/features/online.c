/*
 * online.c
 *	  The fold engine of the online feature state (online.h): lock a served
 *	  pair's feature_state row, refold from a checkpoint when history
 *	  changed, fold the newly complete buckets, store their feature rows,
 *	  checkpoints and the new state.
 *
 * Invariants:
 *	- runs inside SPI, in the caller's transaction, with the pair's
 *	  feature_state row locked FOR UPDATE before anything is read, so every
 *	  later read sees the candles committed before the lock was granted and
 *	  concurrent writers of the same pair serialise (README "Serving");
 *	- candles come from candles(symbol, width, since, until), the same
 *	  rows (and rollup) features() reads;
 *	- a refold starts from the newest checkpoint strictly before the changed
 *	  bucket and rewrites rows from the changed bucket on; checkpoints at or
 *	  after it are deleted first (they describe the old history);
 *	- hourly checkpoints are kept for the last 24 hours of buckets, the
 *	  last of each UTC day for good; feature rows for the last
 *	  triggerstock.feature_rows_keep buckets;
 *	- a candle the stream refuses (non-finite value) stalls the pair: the
 *	  state stays before it, stalled_at and error say why, and only a change
 *	  at or before it resumes folding.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "features/online.h"
#include "guc.h"
#include "schema.h"

/* Rows written per INSERT and candles fetched per cursor batch. */
#define ONLINE_BATCH 1000
/* Times beyond this are clamped or treated as "from the start". */
#define ONLINE_MAX_TIME (INT64CONST(1) << 62)
/* Hourly checkpoints are kept for this long behind the last bucket. */
#define ONLINE_HOURLY_KEEP (24 * USECS_PER_HOUR)

/* A batch of feature rows waiting to be written (a fold usually writes
 * one row: the arrays start small and grow to ONLINE_BATCH). */
typedef struct online_rows
{
	int			n;
	int			capacity;
	Datum	   *bucket;
	Datum	   *value[ONLINE_NSTREAM];
	bool	   *isnull[ONLINE_NSTREAM];
} online_rows;

/* One pair being folded. */
typedef struct online_fold
{
	const char *symbol;
	int64		width;
	Datum		width_datum;	/* the width, justified (as stored) */
	Datum		width_arith;	/* the width as a pure-microsecond interval */
	fs_state   *state;
	int64		written;		/* rows written */
	TimestampTz rows_from;		/* write rows of buckets >= this */
	TimestampTz daily_horizon;	/* older hourly checkpoints are pruned */
	TimestampTz stalled_at;		/* bucket refused, DT_NOBEGIN: none */
	char	   *error;
	online_rows *rows;			/* allocated by the first row written */
} online_fold;

static SPIPlanPtr plan_lock = NULL;
static SPIPlanPtr plan_watermark = NULL;
static SPIPlanPtr plan_checkpoint = NULL;
static SPIPlanPtr plan_candles = NULL;
static SPIPlanPtr plan_rows = NULL;
static SPIPlanPtr plan_cp_insert = NULL;
static SPIPlanPtr plan_cp_delete = NULL;
static SPIPlanPtr plan_rows_delete = NULL;
static SPIPlanPtr plan_prune = NULL;
static SPIPlanPtr plan_save = NULL;

static const char *const online_columns[ONLINE_NCOLUMNS] = {
	"close", "ret_1", "ret_5", "ret_15", "rsi_14", "macd_hist", "bb_pct_b", "bb_width",
	"atr_pct", "stoch_k", "stoch_d", "willr_14", "cci_14", "mfi_14", "adx_14",
	"volume_z", "vwap_dist", "rv_30", "tod_sin", "tod_cos", "sentiment_1h", "news_1h",
	"book_spread", "book_microprice_dist", "book_imbalance_1", "book_imbalance_5",
	"book_imbalance_10", "book_ofi", "book_updates"
};

/*
 * tsk_online_column_name
 *	  Name of column i of a stored feature row after bucket.
 */
const char *
tsk_online_column_name(int i)
{
	return online_columns[i];
}

/*
 * tsk_online_width_usecs
 *	  An interval as whole-minute microseconds, or ERROR.
 */
int64
tsk_online_width_usecs(const Interval *width)
{
	int64		usecs;

	if (width->month != 0 || width->day < 0 || width->day > 36600)
		usecs = -1;
	else
		usecs = width->time + (int64) width->day * USECS_PER_DAY;
	if (usecs <= 0 || usecs % USECS_PER_MINUTE != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("candle width must be a positive whole number of minutes"),
				 errhint("Use a width such as '1 minute', '5 minutes' or '1 hour'.")));
	return usecs;
}

/*
 * online_prepare
 *	  SPI_prepare (a generic plan, planned once per backend: a fold runs
 *	  each statement once per pair, often for many pairs in one trigger
 *	  call) + SPI_keepplan, or ERROR.
 */
static SPIPlanPtr
online_prepare(const char *sql, int nargs, Oid *types)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, types, CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

/*
 * online_prepare_plans
 *	  The statements of a fold, prepared once per backend.  Kept plans are
 *	  re-analysed from their text after DDL, so they survive a re-created
 *	  extension in the same schema.
 */
static void
online_prepare_plans(void)
{
	Oid			pair[3] = {TEXTOID, INTERVALOID, TIMESTAMPTZOID};
	Oid			candle_types[4] = {TEXTOID, INTERVALOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Oid			row_types[ONLINE_NCOLUMNS + 2];
	Oid			cp_types[6] = {TEXTOID, INTERVALOID, TIMESTAMPTZOID, INT8OID, BYTEAOID, BOOLOID};
	Oid			save_types[8] = {TEXTOID, INTERVALOID, TIMESTAMPTZOID, INT8OID, BYTEAOID,
	TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};
	Oid			prune_types[4] = {TEXTOID, INTERVALOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	const char *nsp;
	StringInfoData sql;

	if (plan_save != NULL)
		return;
	nsp = tsk_extension_schema();
	if (nsp == NULL)
		elog(ERROR, "extension triggerstock is not installed");
	plan_lock = online_prepare(
		"SELECT bucket, state, stalled_at FROM triggerstock.feature_state "
		"WHERE symbol OPERATOR(pg_catalog.=) $1 AND width OPERATOR(pg_catalog.=) $2 FOR UPDATE",
		2, pair);
	plan_watermark = online_prepare(
		"SELECT close_time FROM triggerstock.candles "
		"WHERE symbol OPERATOR(pg_catalog.=) $1 "
		"AND width OPERATOR(pg_catalog.=) pg_catalog.interval '1 minute' "
		"ORDER BY bucket DESC LIMIT 1", 1, pair);
	plan_checkpoint = online_prepare(
		"SELECT bucket, state FROM triggerstock.feature_checkpoints "
		"WHERE symbol OPERATOR(pg_catalog.=) $1 AND width OPERATOR(pg_catalog.=) $2 "
		"AND bucket OPERATOR(pg_catalog.<) $3 ORDER BY bucket DESC LIMIT 1", 3, pair);
	plan_candles = online_prepare(psprintf(
		"SELECT bucket, high, low, close, volume, vwap FROM %s.candles($1, $2, $3, $4, 0) "
		"ORDER BY bucket", nsp), 4, candle_types);

	/* rows: $1 symbol, $2 width, $3 width in microseconds, $4 buckets, then
	 * one float8[] per column but the news ones, computed here */
	row_types[0] = TEXTOID;
	row_types[1] = INTERVALOID;
	row_types[2] = INTERVALOID;
	row_types[3] = TIMESTAMPTZARRAYOID;
	for (int i = 0; i < ONLINE_NSTREAM; i++)
		row_types[4 + i] = FLOAT8ARRAYOID;
	initStringInfo(&sql);
	appendStringInfoString(&sql, "INSERT INTO triggerstock.feature_rows AS r (symbol, width, bucket");
	for (int i = 0; i < ONLINE_NCOLUMNS; i++)
		appendStringInfo(&sql, ", %s", online_columns[i]);
	appendStringInfoString(&sql, ") SELECT $1, $2, u.bucket");
	for (int i = 0; i < ONLINE_NSTREAM; i++)
		appendStringInfo(&sql, ", u.%s", online_columns[i]);
	/* ROWS FROM: multi-argument unnest() is unqualified syntax only */
	appendStringInfoString(&sql, ", n.sentiment_1h, n.news_1h"
						   ", bk.spread OPERATOR(pg_catalog./) NULLIF(bk.mid, 0)"
						   ", bk.microprice OPERATOR(pg_catalog./) NULLIF(bk.mid, 0) OPERATOR(pg_catalog.-) 1"
						   ", bk.imbalance_1, bk.imbalance_5, bk.imbalance_10, bk.ofi, bk.updates"
						   " FROM ROWS FROM (pg_catalog.unnest($4)");
	for (int i = 0; i < ONLINE_NSTREAM; i++)
		appendStringInfo(&sql, ", pg_catalog.unnest($%d)", 5 + i);
	appendStringInfoString(&sql, ") AS u(bucket");
	for (int i = 0; i < ONLINE_NSTREAM; i++)
		appendStringInfo(&sql, ", %s", online_columns[i]);
	/* the news window of features(): the hour up to the bucket's close */
	appendStringInfoString(&sql,
						   ") CROSS JOIN LATERAL ("
						   "SELECT pg_catalog.avg(e.sentiment) AS sentiment_1h, pg_catalog.count(*) AS news_1h "
						   "FROM triggerstock.news e "
						   "WHERE e.published_at OPERATOR(pg_catalog.>) "
						   "  ((u.bucket OPERATOR(pg_catalog.+) $3) OPERATOR(pg_catalog.-) pg_catalog.interval '1 hour') "
						   "AND e.published_at OPERATOR(pg_catalog.<=) (u.bucket OPERATOR(pg_catalog.+) $3) "
						   "AND $1 OPERATOR(pg_catalog.=) ANY (e.symbols)) n ");
	/* the order-book samples of the bucket, as features() joins them */
	appendStringInfo(&sql,
					 "LEFT JOIN LATERAL %s.book_features($1, $2, u.bucket, u.bucket OPERATOR(pg_catalog.+) $3) bk "
					 "ON true ON CONFLICT (symbol, width, bucket) DO UPDATE SET ", nsp);
	for (int i = 0; i < ONLINE_NCOLUMNS; i++)
		appendStringInfo(&sql, "%s%s = EXCLUDED.%s", i ? ", " : "", online_columns[i],
						 online_columns[i]);
	plan_rows = online_prepare(sql.data, ONLINE_NCOLUMNS + 2, row_types);

	plan_cp_insert = online_prepare(
		"INSERT INTO triggerstock.feature_checkpoints (symbol, width, bucket, rows, state, daily) "
		"VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (symbol, width, bucket) DO UPDATE "
		"SET rows = EXCLUDED.rows, state = EXCLUDED.state, daily = EXCLUDED.daily", 6, cp_types);
	plan_cp_delete = online_prepare(
		"DELETE FROM triggerstock.feature_checkpoints "
		"WHERE symbol OPERATOR(pg_catalog.=) $1 AND width OPERATOR(pg_catalog.=) $2 "
		"AND bucket OPERATOR(pg_catalog.>=) $3", 3, pair);
	plan_rows_delete = online_prepare(
		"DELETE FROM triggerstock.feature_rows "
		"WHERE symbol OPERATOR(pg_catalog.=) $1 AND width OPERATOR(pg_catalog.=) $2 "
		"AND bucket OPERATOR(pg_catalog.>) $3", 3, pair);
	plan_prune = online_prepare(
		"WITH r AS (DELETE FROM triggerstock.feature_rows "
		"  WHERE symbol OPERATOR(pg_catalog.=) $1 AND width OPERATOR(pg_catalog.=) $2 "
		"  AND bucket OPERATOR(pg_catalog.<) $3) "
		"DELETE FROM triggerstock.feature_checkpoints "
		"WHERE symbol OPERATOR(pg_catalog.=) $1 AND width OPERATOR(pg_catalog.=) $2 "
		"AND bucket OPERATOR(pg_catalog.<) $4 AND NOT daily", 4, prune_types);
	plan_save = online_prepare(
		"UPDATE triggerstock.feature_state SET bucket = $3, rows = $4, state = $5, "
		"watermark = $6, stalled_at = $7, error = $8, updated_at = pg_catalog.now() "
		"WHERE symbol OPERATOR(pg_catalog.=) $1 AND width OPERATOR(pg_catalog.=) $2",
		8, save_types);
}

/*
 * online_exec
 *	  Execute a kept plan, or ERROR.
 */
static void
online_exec(SPIPlanPtr plan, Datum *args, const char *nulls, bool read_only, int expect)
{
	int			ret = SPI_execute_plan(plan, args, nulls, read_only, 0);

	if (ret != expect)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
}

/*
 * online_interval
 *	  An interval Datum of usecs: pure microseconds (arith: adding it to a
 *	  timestamptz never depends on the session's time zone) or justified
 *	  into days and time (as widths are stored, like justify_hours()).
 */
static Datum
online_interval(int64 usecs, bool arith)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = arith ? usecs : usecs % USECS_PER_DAY;
	iv->day = arith ? 0 : (int32) (usecs / USECS_PER_DAY);
	return IntervalPGetDatum(iv);
}

/*
 * tsk_online_width_datum
 *	  The width as stored in the feature tables (justified interval).
 */
Datum
tsk_online_width_datum(int64 usecs)
{
	return online_interval(usecs, false);
}

/*
 * online_flush_rows
 *	  Write the batched feature rows (upsert; the news window and the
 *	  order-book columns computed in SQL).
 */
static void
online_flush_rows(online_fold *f)
{
	Datum		args[ONLINE_NCOLUMNS + 2];
	int			dims[1];
	int			lbs[1] = {1};

	if (f->rows == NULL || f->rows->n == 0)
		return;
	dims[0] = f->rows->n;
	args[0] = CStringGetTextDatum(f->symbol);
	args[1] = f->width_datum;
	args[2] = f->width_arith;
	args[3] = PointerGetDatum(construct_array(f->rows->bucket, f->rows->n, TIMESTAMPTZOID,
											  sizeof(TimestampTz), true, TYPALIGN_DOUBLE));
	for (int i = 0; i < ONLINE_NSTREAM; i++)
		args[4 + i] = PointerGetDatum(construct_md_array(f->rows->value[i], f->rows->isnull[i], 1,
														 dims, lbs, FLOAT8OID, sizeof(float8),
														 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	online_exec(plan_rows, args, NULL, false, SPI_OK_INSERT);
	f->written += f->rows->n;
	f->rows->n = 0;
}

/*
 * online_add_row
 *	  Batch the feature row of one folded candle.
 */
static void
online_add_row(online_fold *f, const fs_row *row)
{
	int			n;

	if (f->rows == NULL)
	{
		f->rows = palloc0(sizeof(online_rows));
		f->rows->capacity = 8;
		f->rows->bucket = palloc(sizeof(Datum) * 8);
		for (int i = 0; i < ONLINE_NSTREAM; i++)
		{
			f->rows->value[i] = palloc(sizeof(Datum) * 8);
			f->rows->isnull[i] = palloc(sizeof(bool) * 8);
		}
	}
	else if (f->rows->n == f->rows->capacity)
	{
		int			cap = Min(f->rows->capacity * 4, ONLINE_BATCH);

		f->rows->bucket = repalloc(f->rows->bucket, sizeof(Datum) * cap);
		for (int i = 0; i < ONLINE_NSTREAM; i++)
		{
			f->rows->value[i] = repalloc(f->rows->value[i], sizeof(Datum) * cap);
			f->rows->isnull[i] = repalloc(f->rows->isnull[i], sizeof(bool) * cap);
		}
		f->rows->capacity = cap;
	}
	n = f->rows->n;
	f->rows->bucket[n] = TimestampTzGetDatum(row->bucket);
	f->rows->value[0][n] = Float8GetDatum(row->close);
	f->rows->isnull[0][n] = false;
	for (int i = 0; i < FS_NFEATURES; i++)
	{
		f->rows->value[1 + i][n] = Float8GetDatum(row->isnull[i] ? 0.0 : row->value[i]);
		f->rows->isnull[1 + i][n] = row->isnull[i];
	}
	if (++f->rows->n == ONLINE_BATCH)
		online_flush_rows(f);
}

/*
 * online_checkpoint
 *	  Store the state (after its last bucket) as a checkpoint.
 */
static void
online_checkpoint(online_fold *f, bool daily)
{
	Datum		args[6];
	size_t		size = tsk_fs_size();
	bytea	   *b = palloc(VARHDRSZ + size);

	SET_VARSIZE(b, VARHDRSZ + size);
	memcpy(VARDATA(b), f->state, size);
	args[0] = CStringGetTextDatum(f->symbol);
	args[1] = f->width_datum;
	args[2] = TimestampTzGetDatum(tsk_fs_last_bucket(f->state));
	args[3] = Int64GetDatum(tsk_fs_rows(f->state));
	args[4] = PointerGetDatum(b);
	args[5] = BoolGetDatum(daily);
	online_exec(plan_cp_insert, args, NULL, false, SPI_OK_INSERT);
	pfree(b);
}

/*
 * online_fold_range
 *	  Fold the candles with since <= bucket < until (since DT_NOBEGIN: from
 *	  the first), checkpointing at hour boundaries and batching the rows of
 *	  buckets >= rows_from.  Stops at a refused candle (sets stalled_at).
 */
static int64
online_fold_range(online_fold *f, TimestampTz since, TimestampTz until)
{
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	Portal		portal;
	int64		folded = 0;
	bool		done = false;

	args[0] = CStringGetTextDatum(f->symbol);
	args[1] = f->width_datum;
	args[2] = TimestampTzGetDatum(since);
	nulls[2] = since == DT_NOBEGIN ? 'n' : ' ';
	args[3] = TimestampTzGetDatum(until);
	portal = SPI_cursor_open(NULL, plan_candles, args, nulls, false);
	while (!done)
	{
		SPITupleTable *batch;
		uint64		nbatch;

		SPI_cursor_fetch(portal, true, ONLINE_BATCH);
		/* the writes below replace SPI_tuptable: keep the batch's */
		batch = SPI_tuptable;
		nbatch = SPI_processed;
		if (nbatch == 0)
			break;
		for (uint64 i = 0; i < nbatch && !done; i++)
		{
			HeapTuple	tup = batch->vals[i];
			TupleDesc	desc = batch->tupdesc;
			bool		isnull[6];
			Datum		d[6];
			fs_candle	c;
			fs_row		row;
			int			rc;
			int64		last = tsk_fs_last_bucket(f->state);

			for (int k = 0; k < 6; k++)
				d[k] = SPI_getbinval(tup, desc, k + 1, &isnull[k]);
			c.bucket = DatumGetTimestampTz(d[0]);
			c.high = isnull[1] ? NAN : DatumGetFloat8(d[1]);
			c.low = isnull[2] ? NAN : DatumGetFloat8(d[2]);
			c.close = isnull[3] ? NAN : DatumGetFloat8(d[3]);
			c.volume = isnull[4] ? NAN : DatumGetFloat8(d[4]);
			c.has_vwap = !isnull[5];
			c.vwap = isnull[5] ? 0.0 : DatumGetFloat8(d[5]);

			/* checkpoint the state before the first bucket of each hour */
			if (tsk_fs_rows(f->state) > 0 &&
				tsk_fs_date_bin(USECS_PER_HOUR, c.bucket) != tsk_fs_date_bin(USECS_PER_HOUR, last))
			{
				bool		daily = tsk_fs_date_bin(USECS_PER_DAY, c.bucket) !=
					tsk_fs_date_bin(USECS_PER_DAY, last);

				if (daily || last >= f->daily_horizon)
					online_checkpoint(f, daily);
			}
			rc = tsk_fs_push(f->state, &c, &row);
			if (rc != FS_OK)
			{
				f->stalled_at = c.bucket;
				f->error = psprintf("candle %s of width %lld minutes: %s",
									timestamptz_to_str(c.bucket),
									(long long) (f->width / USECS_PER_MINUTE), tsk_fs_strerror(rc));
				done = true;
				continue;
			}
			folded++;
			if (row.bucket >= f->rows_from)
				online_add_row(f, &row);
		}
		SPI_freetuptable(batch);
	}
	SPI_cursor_close(portal);
	online_flush_rows(f);
	return folded;
}

/*
 * online_load_state
 *	  The newest checkpoint strictly before `before` into f->state, or a
 *	  fresh state when there is none (or it is not of this build's format).
 *	  Returns the bucket to fold from (DT_NOBEGIN: the first candle).
 */
static TimestampTz
online_load_state(online_fold *f, TimestampTz before)
{
	Datum		args[3];

	args[0] = CStringGetTextDatum(f->symbol);
	args[1] = f->width_datum;
	args[2] = TimestampTzGetDatum(before);
	online_exec(plan_checkpoint, args, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		bytea	   *b = isnull ? NULL : DatumGetByteaPP(d);

		if (b != NULL && tsk_fs_valid(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)) &&
			tsk_fs_width((fs_state *) VARDATA_ANY(b)) == f->width)
		{
			memcpy(f->state, VARDATA_ANY(b), tsk_fs_size());
			return tsk_fs_last_bucket(f->state) + f->width;
		}
	}
	(void) tsk_fs_init(f->state, f->width);
	return DT_NOBEGIN;
}

/*
 * online_run
 *	  The body of tsk_online_update and tsk_online_build, with the pair's
 *	  row locked: refold from `refold_from` (DT_NOEND: no refold) and fold
 *	  what is complete.
 */
static int64
online_run(online_fold *f, TimestampTz last, bytea *stored, TimestampTz refold_from,
		   TimestampTz stalled)
{
	Datum		args[8];
	char		nulls[8];
	TimestampTz watermark = DT_NOBEGIN;
	TimestampTz until;
	TimestampTz since;
	bool		refold = refold_from != DT_NOEND;
	int64		folded;
	int64		keep = (int64) tsk_feature_rows_keep * f->width;
	size_t		size = tsk_fs_size();
	bytea	   *b;

	f->state = palloc(size);
	f->stalled_at = DT_NOBEGIN;
	f->rows_from = DT_NOBEGIN;
	f->error = NULL;

	args[0] = CStringGetTextDatum(f->symbol);
	online_exec(plan_watermark, args, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			watermark = DatumGetTimestampTz(d);
	}
	/* complete buckets: bucket + width <= watermark, i.e. before its bin
	 * (a watermark past year 146,000 is clamped: bins must not overflow) */
	if (watermark != DT_NOBEGIN && watermark > ONLINE_MAX_TIME)
		watermark = ONLINE_MAX_TIME;
	until = watermark == DT_NOBEGIN || watermark < -ONLINE_MAX_TIME ? DT_NOBEGIN
		: tsk_fs_date_bin(f->width, watermark);

	if (!refold)
	{
		/* the stored state must be of this build and pair; else refold all */
		if (last != DT_NOBEGIN &&
			(stored == NULL || !tsk_fs_valid(VARDATA_ANY(stored), VARSIZE_ANY_EXHDR(stored)) ||
			 tsk_fs_width((fs_state *) VARDATA_ANY(stored)) != f->width))
			refold = true, refold_from = DT_NOBEGIN;
		else if (stalled != DT_NOBEGIN)
			return 0;			/* waits for a change at or before stalled */
		else if (last != DT_NOBEGIN && until <= last + f->width)
			return 0;			/* nothing newly complete: write nothing */
	}

	if (refold)
	{
		args[1] = f->width_datum;
		args[2] = TimestampTzGetDatum(refold_from);
		online_exec(plan_cp_delete, args, NULL, false, SPI_OK_DELETE);
		since = online_load_state(f, refold_from);
		f->rows_from = refold_from;
	}
	else if (last == DT_NOBEGIN)
	{
		(void) tsk_fs_init(f->state, f->width);
		since = DT_NOBEGIN;
	}
	else
	{
		memcpy(f->state, VARDATA_ANY(stored), size);
		since = last + f->width;
	}
	/* rows older than the kept window are not written; hourly checkpoints
	 * older than a day of buckets are not kept */
	if (until != DT_NOBEGIN && f->rows_from < until - keep)
		f->rows_from = until - keep;
	f->daily_horizon = until == DT_NOBEGIN ? DT_NOBEGIN : until - ONLINE_HOURLY_KEEP;

	folded = (until == DT_NOBEGIN || (since != DT_NOBEGIN && since >= until)) ? 0
		: online_fold_range(f, since, until);

	if (refold)
	{
		/* rows past the new last bucket belong to candles that are gone */
		args[1] = f->width_datum;
		args[2] = TimestampTzGetDatum(tsk_fs_rows(f->state) > 0 ? tsk_fs_last_bucket(f->state) : DT_NOBEGIN);
		online_exec(plan_rows_delete, args, NULL, false, SPI_OK_DELETE);
	}
	/* prune when this fold crossed a day, or rebuilt */
	if (tsk_fs_rows(f->state) > 0 && (refold || last == DT_NOBEGIN ||
									  tsk_fs_date_bin(USECS_PER_DAY, last) !=
									  tsk_fs_date_bin(USECS_PER_DAY, tsk_fs_last_bucket(f->state))))
	{
		args[1] = f->width_datum;
		args[2] = TimestampTzGetDatum(until - keep);
		args[3] = TimestampTzGetDatum(f->daily_horizon);
		online_exec(plan_prune, args, NULL, false, SPI_OK_DELETE);
	}

	b = palloc(VARHDRSZ + size);
	SET_VARSIZE(b, VARHDRSZ + size);
	memcpy(VARDATA(b), f->state, size);
	memset(nulls, ' ', sizeof(nulls));
	args[1] = f->width_datum;
	args[2] = TimestampTzGetDatum(tsk_fs_last_bucket(f->state));
	nulls[2] = tsk_fs_rows(f->state) > 0 ? ' ' : 'n';
	args[3] = Int64GetDatum(tsk_fs_rows(f->state));
	args[4] = PointerGetDatum(b);
	nulls[4] = tsk_fs_rows(f->state) > 0 ? ' ' : 'n';
	args[5] = TimestampTzGetDatum(watermark);
	nulls[5] = watermark == DT_NOBEGIN ? 'n' : ' ';
	args[6] = TimestampTzGetDatum(f->stalled_at);
	nulls[6] = f->stalled_at == DT_NOBEGIN ? 'n' : ' ';
	args[7] = f->error ? CStringGetTextDatum(f->error) : (Datum) 0;
	nulls[7] = f->error ? ' ' : 'n';
	online_exec(plan_save, args, nulls, false, SPI_OK_UPDATE);
	return folded;
}

/*
 * online_locked
 *	  Lock and read the pair's feature_state row; false when not served.
 */
static bool
online_locked(online_fold *f, TimestampTz *last, bytea **stored, TimestampTz *stalled)
{
	Datum		args[2];
	bool		isnull;
	Datum		d;
	HeapTuple	tup;
	TupleDesc	desc;

	args[0] = CStringGetTextDatum(f->symbol);
	args[1] = f->width_datum;
	online_exec(plan_lock, args, NULL, false, SPI_OK_SELECT);
	if (SPI_processed != 1)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	d = SPI_getbinval(tup, desc, 1, &isnull);
	*last = isnull ? DT_NOBEGIN : DatumGetTimestampTz(d);
	d = SPI_getbinval(tup, desc, 2, &isnull);
	*stored = isnull ? NULL : DatumGetByteaPCopy(d);
	d = SPI_getbinval(tup, desc, 3, &isnull);
	*stalled = isnull ? DT_NOBEGIN : DatumGetTimestampTz(d);
	return true;
}

/*
 * tsk_online_update
 *	  See online.h.
 */
int64
tsk_online_update(const char *symbol, int64 width_usecs, TimestampTz changed_from)
{
	online_fold *f;
	TimestampTz last,
				stalled,
				refold_from = DT_NOEND;
	bytea	   *stored;
	int64		folded = 0;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "triggerstock online fold",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	online_prepare_plans();
	f = palloc0(sizeof(online_fold));
	f->symbol = symbol;
	f->width = width_usecs;
	f->width_datum = online_interval(width_usecs, false);
	f->width_arith = online_interval(width_usecs, true);
	if (online_locked(f, &last, &stored, &stalled))
	{
		if (changed_from != DT_NOEND)
		{
			TimestampTz changed = changed_from <= -ONLINE_MAX_TIME ? DT_NOBEGIN
				: changed_from >= ONLINE_MAX_TIME ? DT_NOEND
				: tsk_fs_date_bin(width_usecs, changed_from);

			if ((last != DT_NOBEGIN && changed <= last) ||
				(stalled != DT_NOBEGIN && changed <= stalled))
				refold_from = changed;
		}
		folded = online_run(f, last, stored, refold_from, stalled);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return folded;
}

/*
 * tsk_online_build
 *	  See online.h: refold the pair from its first candle.
 */
int64
tsk_online_build(const char *symbol, int64 width_usecs)
{
	online_fold *f;
	TimestampTz last,
				stalled;
	bytea	   *stored;
	int64		folded = 0;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "triggerstock online build",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	online_prepare_plans();
	f = palloc0(sizeof(online_fold));
	f->symbol = symbol;
	f->width = width_usecs;
	f->width_datum = online_interval(width_usecs, false);
	f->width_arith = online_interval(width_usecs, true);
	if (online_locked(f, &last, &stored, &stalled))
		folded = online_run(f, last, stored, DT_NOBEGIN, stalled);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return folded;
}
