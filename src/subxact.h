/*
 * subxact.h
 *	  A call in an internal subtransaction whose ERROR is returned instead
 *	  of raised: the one home of the guarded-call pattern (a broken row
 *	  never blocks training, a failed score never stops the predictor's
 *	  pass, a cache prefill never fails the write, a COPY's unique
 *	  violation falls back to INSERT).
 *
 * Invariants: after the call the caller's memory context and resource
 * owner are current again, whether fn returned or raised; what fn
 * allocated in the caller's memory context survives; an ERROR rolls back
 * everything fn did to the database and is never lost (the caller gets
 * it, copied into its memory context, and frees or rethrows it).
 */
#ifndef TSK_SUBXACT_H
#define TSK_SUBXACT_H

#include "postgres.h"

/*
 * fn(arg) in an internal subtransaction: NULL when fn returned (its work
 * is kept), else the ERROR it raised, the subtransaction rolled back.
 */
extern ErrorData *tsk_subxact_try(void (*fn) (void *arg), void *arg);

#endif							/* TSK_SUBXACT_H */
