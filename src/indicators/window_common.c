/*
 * window_common.c
 *	  The per-partition machinery shared by every indicator window function
 *	  (see window.h): row-order check, mark, parameter checks, state set-up,
 *	  value inputs and composite results.
 *
 * Invariants:
 *	- the partition-local memory holds a window_partition header; the
 *	  indicator state it points to is allocated in the same (partition)
 *	  memory context, so both vanish when the executor moves to the next
 *	  partition;
 *	- window_partition.next_row is the position of the next row to push; the
 *	  executor evaluates a window function once per row in order, starting
 *	  at 0 in every partition, so the current position always equals it;
 *	- nothing is allocated per row (the composite result excepted, which
 *	  lives in the executor's per-row memory).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/memutils.h"
#include "windowapi.h"

#include <math.h>

#include "indicators/indicators.h"
#include "indicators/window.h"

/* Partition-local header (zeroed by WinGetPartitionLocalMemory). */
typedef struct window_partition
{
	int64		next_row;		/* position of the next row to push */
	bool		started;		/* parameters read and state set up */
	bool		params_stable;	/* every parameter is a constant or Param */
	Datum		params[WINDOW_MAX_PARAMS];
	void	   *state;			/* the indicator state (partition context) */
} window_partition;

/*
 * window_param_value
 *	  Reads parameter i of the current row; NULL is an error.
 */
static Datum
window_param_value(WindowObject winobj, const window_spec *spec, int i)
{
	bool		isnull;
	Datum		value;

	value = WinGetFuncArgCurrent(winobj, spec->ninputs + i, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s parameter %s must not be null",
						spec->name, spec->param_names[i]),
				 errhint("Pass a non-null constant, or leave the parameter out to use its default.")));
	return value;
}

/*
 * window_param_equal
 *	  True when two values of a parameter of the given type are equal.
 */
static bool
window_param_equal(window_param_type type, Datum a, Datum b)
{
	if (type == WINDOW_PARAM_INT4)
		return DatumGetInt32(a) == DatumGetInt32(b);
	return DatumGetFloat8(a) == DatumGetFloat8(b);
}

/*
 * window_start_partition
 *	  First row of a partition: reads the parameters, validates them through
 *	  the indicator's init function and allocates its state.
 */
static void
window_start_partition(FunctionCallInfo fcinfo, WindowObject winobj,
					   const window_spec *spec, window_partition *part)
{
	MemoryContext partcontext = GetMemoryChunkContext(part);
	size_t		size;
	int			rc;

	part->params_stable = true;
	for (int i = 0; i < spec->nparams; i++)
	{
		part->params[i] = window_param_value(winobj, spec, i);
		if (!get_fn_expr_arg_stable(fcinfo->flinfo, spec->ninputs + i))
			part->params_stable = false;
	}
	size = spec->size(part->params);
	part->state = MemoryContextAlloc(partcontext, size);
	rc = spec->init(part->state, part->params);
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s parameter: %s", spec->name, tsk_ind_strerror(rc)),
				 errhint("%s", spec->hint)));
	part->started = true;
}

/*
 * window_recheck_params
 *	  Later rows, non-constant parameters only: the value must not change.
 */
static void
window_recheck_params(WindowObject winobj, const window_spec *spec,
					  window_partition *part)
{
	for (int i = 0; i < spec->nparams; i++)
	{
		Datum		value = window_param_value(winobj, spec, i);

		if (!window_param_equal(spec->param_types[i], value, part->params[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s parameter %s changed within a partition",
							spec->name, spec->param_names[i]),
					 errhint("Indicator parameters must be the same for every row of a partition; pass constants.")));
	}
}

/*
 * tsk_window_row
 *	  See window.h.
 */
void *
tsk_window_row(FunctionCallInfo fcinfo, const window_spec *spec, double *inputs)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	window_partition *part;
	int64		row;

	if (!WindowObjectIsValid(winobj))
		elog(ERROR, "%s called outside a window", spec->name);
	part = (window_partition *)
		WinGetPartitionLocalMemory(winobj, sizeof(window_partition));

	/*
	 * The executor calls a window function exactly once per row, in order,
	 * from row 0 of each partition; anything else would corrupt the state.
	 */
	row = WinGetCurrentPosition(winobj);
	if (row != part->next_row)
		elog(ERROR, "%s: window row " INT64_FORMAT " evaluated out of order (expected " INT64_FORMAT ")",
			 spec->name, row, part->next_row);
	part->next_row = row + 1;
	/* Earlier rows are never read again: let the tuplestore drop them. */
	WinSetMarkPosition(winobj, row);

	if (!part->started)
		window_start_partition(fcinfo, winobj, spec, part);
	else if (!part->params_stable)
		window_recheck_params(winobj, spec, part);

	for (int i = 0; i < spec->ninputs; i++)
	{
		bool		isnull;
		double		x;

		x = DatumGetFloat8(WinGetFuncArgCurrent(winobj, i, &isnull));
		if (isnull)
			return NULL;
		if (unlikely(!isfinite(x)))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s input must be finite, got %g", spec->name, x),
					 errhint("Replace NaN and infinite values, for example with NULL; rows with a NULL input are skipped.")));
		inputs[i] = x;
	}
	return part->state;
}

/*
 * tsk_window_composite
 *	  See window.h.  The blessed descriptor lives in fn_mcxt for the query.
 */
Datum
tsk_window_composite(FunctionCallInfo fcinfo, const double *values, int natts)
{
	TupleDesc	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;
	Datum		datums[WINDOW_MAX_FIELDS];
	bool		nulls[WINDOW_MAX_FIELDS] = {false};

	if (tupdesc == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		TupleDesc	resultdesc;

		if (get_call_result_type(fcinfo, NULL, &resultdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		tupdesc = BlessTupleDesc(CreateTupleDescCopy(resultdesc));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = tupdesc;
	}
	if (tupdesc->natts != natts || natts > WINDOW_MAX_FIELDS)
		elog(ERROR, "return type has %d attributes, expected %d",
			 tupdesc->natts, natts);
	for (int i = 0; i < natts; i++)
		datums[i] = Float8GetDatum(values[i]);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, datums, nulls));
}
