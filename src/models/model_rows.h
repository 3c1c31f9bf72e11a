/*
 * model_rows.h
 *	  The feature rows train() learns from, and the reader that collects
 *	  them from a query (model_fetch.c).
 */
#ifndef TRIGGERSTOCK_MODEL_ROWS_H
#define TRIGGERSTOCK_MODEL_ROWS_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* The rows read for training. */
typedef struct train_rows
{
	size_t		n;
	size_t		cap;
	int			nfeat;
	char	  **names;
	float	   *x;				/* n * nfeat, row-major, NaN for NULL */
	double	   *close;
	TimestampTz *bucket;
} train_rows;

/*
 * The search_path the next tsk_train_fetch runs its query under: the
 * caller's own for train_from_query (NULL: the current one, which train()
 * pins to pg_catalog, pg_temp).
 */
extern void tsk_train_fetch_search_path(const char *path);

/*
 * Run query (with args) and collect its rows into r, allocated in cxt.
 * Requires columns bucket and close; rows must come in strictly increasing
 * bucket order.  SPI must be connected.
 */
extern void tsk_train_fetch(const char *query, int nargs, Oid *argtypes, Datum *args,
						   MemoryContext cxt, train_rows *r);

/*
 * Drop the feature columns whose name starts with prefix and that are NULL
 * (NaN) in every row, keeping the others in order: train() leaves the
 * book_* columns of features() out of the models of symbols without order
 * books, so those models are what they were before books existed.
 * Returns the number of columns dropped (never the last one).
 */
extern int	tsk_train_drop_empty(train_rows *r, const char *prefix);

#endif							/* TRIGGERSTOCK_MODEL_ROWS_H */
