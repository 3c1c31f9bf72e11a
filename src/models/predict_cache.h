/*
 * predict_cache.h
 *	  The shared prediction cache: the latest model answer of predict() per
 *	  (database, symbol, target), in shared memory, valid while no commit
 *	  changed what it was computed from (predict_cache.c).
 */
#ifndef TSK_PREDICT_CACHE_H
#define TSK_PREDICT_CACHE_H

#include "postgres.h"

#include "models/model.h"

/* Reserve the shared memory (from _PG_init while preloading). */
extern void tsk_predict_cache_preload(void);

/*
 * Whether this call may use the shared cache: preloaded, enabled, not in
 * recovery, no prepared transactions possible, READ COMMITTED, and the
 * transaction has not changed what predictions depend on.
 */
extern bool tsk_predict_cache_usable(void);

/*
 * The cached answer of (symbol, target) into out (level model only) when
 * it is still valid for this caller (its privileges included).
 */
extern bool tsk_predict_cache_get(const char *symbol, int target, prediction_t *out);

/* What a computation read before its snapshot (see predict_cache.c). */
typedef struct predict_cache_stamp
{
	uint64		slot_gen;
	uint64		global_gen;
	int			slot;
} predict_cache_stamp;

/* Read the generations of symbol, before taking the snapshot. */
extern void tsk_predict_cache_stamp(const char *symbol, predict_cache_stamp *stamp);

/*
 * Offer a computed answer: installed now (a reader) or at commit (a
 * writer) if nothing changed since the stamp.  relids: the tables the
 * answer was read from, whose privileges a cached hit checks.
 */
extern void tsk_predict_cache_offer(const char *symbol, int target, const predict_cache_stamp *stamp,
									const prediction_t *p, Oid nsp, const Oid *relids, int nrelids);

/* This transaction changed what predictions of symbol depend on. */
extern void tsk_predict_cache_mark(const char *symbol);

/* ... of every symbol. */
extern void tsk_predict_cache_mark_all(void);

/* Whether this transaction marked anything (its own changes are unseen by others). */
extern bool tsk_predict_cache_marked(void);

/* Invalidate every entry now. */
extern void tsk_predict_cache_reset(void);

/* Entries, hits, misses, installs, global generation; false when off. */
extern bool tsk_predict_cache_counts(int64 *entries, int64 *hits, int64 *misses, int64 *installs,
									 int64 *generation);

#endif							/* TSK_PREDICT_CACHE_H */
