/*
 * model_progress.h
 *	  Progress of train() (model_progress.c): NOTICEs every
 *	  triggerstock.train_progress_every rounds and a shared-memory slot per
 *	  running train(), read through the view triggerstock.train_progress.
 *
 * Invariant: every function is a no-op outside a run begun by
 * tsk_progress_begin; none may ERROR but by running out of memory.
 */
#ifndef TRIGGERSTOCK_MODEL_PROGRESS_H
#define TRIGGERSTOCK_MODEL_PROGRESS_H

#include "postgres.h"

/* Chain the shared memory hooks (from _PG_init, preloading only). */
extern void tsk_progress_preload(void);

/* A train() run starts; its slot is freed when cxt is reset or deleted. */
extern void tsk_progress_begin(MemoryContext cxt, const char *symbol, const char *target);

/* A phase (read, validate, refit, evaluate, store) starts: up to rounds
 * boosting rounds on rows rows (0 when it boosts nothing). */
extern void tsk_progress_phase(const char *phase, int32 rounds, int64 rows);

/* Round `round` (1-based) of the phase is done: its validation score
 * (NaN in the refit), the best so far and its round (1-based); a NOTICE
 * every triggerstock.train_progress_every rounds and at the last one. */
extern void tsk_progress_round(int32 round, double score, double best_score, int32 best_round);

#endif							/* TRIGGERSTOCK_MODEL_PROGRESS_H */
