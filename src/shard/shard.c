/*
 * shard.c
 *	  ohlcv_row(open, high, low, close, volume, vwap, trades, open_time,
 *	  close_time, open_seq, close_seq, sums): a stored candle's columns as
 *	  one value of composite type ohlcv, for rollup() over candles read
 *	  through postgres_fdw (README "Beyond one server").
 *
 * Why a C function: postgres_fdw (PostgreSQL 15) ships an aggregate to a
 * data node only when every expression in it is shippable; a ROW(...)::ohlcv
 * constructor is not (no deparse for RowExpr), and a SQL function doing the
 * same would be inlined back into one.  A C function of the extension,
 * IMMUTABLE, is shipped when the server lists the extension
 * (OPTIONS (extensions 'triggerstock')).
 *
 * Invariants:
 *	- the result is exactly the row the arguments make (no rounding, no
 *	  check): ohlcv_row(k.open, ..., k.sums) = ROW(k.open, ..., k.sums)::ohlcv;
 *	- IMMUTABLE and PARALLEL SAFE: it reads nothing but its arguments;
 *	- on a 0.1 type (9 attributes) it takes the first 9 arguments.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"

#include "candles/ohlcv.h"

extern PGDLLEXPORT Datum ohlcv_row(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(ohlcv_row);

/* Arguments of ohlcv_row, one per attribute of ohlcv. */
#define OHLCV_ROW_NARGS 12

/*
 * ohlcv_row
 *	  The arguments as a value of type ohlcv (NULL arguments stay NULL).
 */
Datum
ohlcv_row(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[OHLCV_ROW_NARGS];
	bool		nulls[OHLCV_ROW_NARGS];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "ohlcv_row must return a composite type");
	tsk_ohlcv_tupdesc_check(tupdesc);
	tupdesc = BlessTupleDesc(tupdesc);
	for (int i = 0; i < OHLCV_ROW_NARGS && i < tupdesc->natts; i++)
	{
		nulls[i] = PG_ARGISNULL(i);
		values[i] = nulls[i] ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
