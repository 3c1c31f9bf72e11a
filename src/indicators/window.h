/*
 * window.h
 *	  Shared machinery of the indicator window functions (window_common.c)
 *	  used by window_close.c and window_bar.c.
 *
 * Every indicator window function is a thin wrapper around one pure-C state
 * of indicators.h.  Its SQL arguments are `ninputs` float8 value columns
 * followed by `nparams` parameters (int4 or float8).  Per partition:
 *	- the first row reads and validates the parameters, then allocates and
 *	  initialises the indicator state in the partition's memory context (freed
 *	  with the partition);
 *	- every row is pushed exactly once, oldest first, whatever the frame
 *	  clause (the executor calls a window function once per row, in order;
 *	  tsk_window_row() checks it and raises an internal error otherwise), and the
 *	  mark is moved to the current row so the tuplestore does not grow;
 *	- parameters must be non-NULL and the same on every row: constants and
 *	  query parameters are read once per partition, any other expression is
 *	  re-read and compared on every row;
 *	- a row with a NULL value input gives NULL and is not pushed (the state
 *	  behaves as if the row did not exist); a NaN or infinite value is an
 *	  error, since it would poison the running sums for the rest of the
 *	  partition.
 */
#ifndef TRIGGERSTOCK_WINDOW_H
#define TRIGGERSTOCK_WINDOW_H

#include "postgres.h"

#include "fmgr.h"

/* Most value inputs (mfi: high, low, close, volume) and parameters. */
#define WINDOW_MAX_INPUTS 4
#define WINDOW_MAX_PARAMS 3

/* Most float8 fields of a composite result (macd_result, bbands_result). */
#define WINDOW_MAX_FIELDS 3

/* SQL type of a parameter argument. */
typedef enum window_param_type
{
	WINDOW_PARAM_INT4,
	WINDOW_PARAM_FLOAT8
} window_param_type;

/* Description of one indicator window function. */
typedef struct window_spec
{
	const char *name;			/* SQL name, used in messages */
	int			ninputs;		/* leading float8 value arguments */
	int			nparams;		/* trailing parameter arguments */
	const char *param_names[WINDOW_MAX_PARAMS];
	window_param_type param_types[WINDOW_MAX_PARAMS];
	const char *hint;			/* errhint for invalid parameters */
	/* bytes of the indicator state for these parameters */
	size_t		(*size) (const Datum *params);
	/* ind_<name>_init: 0 or a negative IND_ERR_* status */
	int			(*init) (void *mem, const Datum *params);
} window_spec;

/*
 * Per-row entry point: checks the row order, moves the mark, sets up or
 * re-checks the partition's parameters and reads the value inputs into
 * `inputs`.  Returns the partition's indicator state, or NULL when a value
 * input is NULL (the caller then returns NULL without pushing).
 */
extern void *tsk_window_row(FunctionCallInfo fcinfo, const window_spec *spec,
						double *inputs);

/*
 * Builds a composite result of `natts` float8 fields (macd_result, ...)
 * with the function's blessed tuple descriptor, cached in fn_extra.
 */
extern Datum tsk_window_composite(FunctionCallInfo fcinfo, const double *values,
							  int natts);

#endif							/* TRIGGERSTOCK_WINDOW_H */
