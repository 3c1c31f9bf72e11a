/*
 * complete.c
 *	  The completeness rule (complete.h): the C helper that train(),
 *	  predict() and the online features call, and the SQL functions
 *	  watermark(symbol) and last_complete_bucket(symbol, width) over it.
 *
 * Invariants: one definition of the rule, here; two index probes of
 * triggerstock.candles (primary key (symbol, width, bucket)) through saved
 * SPI plans whose statements qualify every name; every column read is
 * checked for NULL; date_bin() itself aligns the buckets, so they are the
 * buckets of candles(width).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "candles/complete.h"

extern PGDLLEXPORT Datum candle_watermark(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(candle_watermark);
extern PGDLLEXPORT Datum candle_last_complete_bucket(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(candle_last_complete_bucket);

static SPIPlanPtr complete_newest_plan = NULL;
static SPIPlanPtr complete_before_plan = NULL;

/*
 * complete_plan
 *	  A saved plan of sql with nargs arguments of types.
 */
static SPIPlanPtr
complete_plan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		*slot = plan;
	}
	return *slot;
}

/*
 * tsk_candle_check_width
 *	  See complete.h.
 */
void
tsk_candle_check_width(const Interval *width)
{
	int64		us = width->time + (int64) width->day * USECS_PER_DAY;

	if (width->month != 0 || us <= 0 || us % USECS_PER_MINUTE != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("width must be a positive whole number of minutes"),
				 errhint("Use a width such as '1 minute', '5 minutes' or '1 hour'.")));
}

/*
 * complete_bin
 *	  date_bin(width, ts, the Unix epoch).
 */
static TimestampTz
complete_bin(const Interval *width, TimestampTz ts)
{
	return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_bin, IntervalPGetDatum(width),
												   TimestampTzGetDatum(ts),
												   TimestampTzGetDatum(SetEpochTimestamp())));
}

/*
 * tsk_candle_completeness
 *	  See complete.h.
 */
void
tsk_candle_completeness(const char *symbol, const Interval *width, candle_completeness *out)
{
	Oid			types[2] = {TEXTOID, TIMESTAMPTZOID};
	Datum		args[2];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	int			ret;

	memset(out, 0, sizeof(*out));
	tsk_candle_check_width(width);
	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));
	args[0] = CStringGetTextDatum(symbol);

	/* the watermark: close_time of the newest 1-minute candle, capped at now() */
	ret = SPI_execute_plan(complete_plan(&complete_newest_plan,
										 "SELECT close_time FROM triggerstock.candles "
										 "WHERE symbol OPERATOR(pg_catalog.=) $1 "
										 "  AND width OPERATOR(pg_catalog.=) pg_catalog.interval '1 minute' "
										 "ORDER BY bucket DESC LIMIT 1", 1, types),
						   args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	d = SPI_processed == 1 ? SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull) : 0;
	if (SPI_processed == 1 && !isnull)
	{
		out->has_watermark = true;
		out->watermark = Min(DatumGetTimestampTz(d), GetCurrentTransactionStartTimestamp());
	}

	/*
	 * b + width <= watermark  <=>  b <= date_bin(width, watermark) - width
	 * <=> every 1-minute candle of b starts before date_bin(width,
	 * watermark): the newest of those candles names the bucket.
	 */
	if (out->has_watermark)
	{
		args[1] = TimestampTzGetDatum(complete_bin(width, out->watermark));
		ret = SPI_execute_plan(complete_plan(&complete_before_plan,
											 "SELECT bucket, close, volume, trades FROM triggerstock.candles "
											 "WHERE symbol OPERATOR(pg_catalog.=) $1 "
											 "  AND width OPERATOR(pg_catalog.=) pg_catalog.interval '1 minute' "
											 "  AND bucket OPERATOR(pg_catalog.<) $2 "
											 "ORDER BY bucket DESC LIMIT 1", 2, types),
							   args, NULL, true, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
		if (SPI_processed == 1)
		{
			tup = SPI_tuptable->vals[0];
			desc = SPI_tuptable->tupdesc;
			d = SPI_getbinval(tup, desc, 1, &isnull);
			if (!isnull)
			{
				out->has_bucket = true;
				out->last_candle = DatumGetTimestampTz(d);
				d = SPI_getbinval(tup, desc, 2, &isnull);
				out->last_close = isnull ? 0 : DatumGetFloat8(d);
				d = SPI_getbinval(tup, desc, 3, &isnull);
				out->last_volume = isnull ? 0 : DatumGetFloat8(d);
				d = SPI_getbinval(tup, desc, 4, &isnull);
				out->last_trades = isnull ? 0 : DatumGetInt64(d);
			}
		}
	}
	SPI_finish();
	if (out->has_bucket)
		out->bucket = complete_bin(width, out->last_candle);
}

/*
 * candle_watermark
 *	  watermark(symbol text) -> timestamptz (NULL without candles).
 */
Datum
candle_watermark(PG_FUNCTION_ARGS)
{
	candle_completeness c;
	Interval	one_minute = {.time = USECS_PER_MINUTE};

	tsk_candle_completeness(text_to_cstring(PG_GETARG_TEXT_PP(0)), &one_minute, &c);
	if (!c.has_watermark)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(c.watermark);
}

/*
 * candle_last_complete_bucket
 *	  last_complete_bucket(symbol text, width interval) -> timestamptz
 *	  (NULL when no bucket of that width is complete).
 */
Datum
candle_last_complete_bucket(PG_FUNCTION_ARGS)
{
	candle_completeness c;

	tsk_candle_completeness(text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_GETARG_INTERVAL_P(1), &c);
	if (!c.has_bucket)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(c.bucket);
}
