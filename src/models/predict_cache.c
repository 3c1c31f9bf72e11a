/*
 * predict_cache.c
 *	  The shared prediction cache (predict_cache.h): predict(symbol,
 *	  target)'s model answer per (database, symbol, target) in shared
 *	  memory, so that a fresh connection's first call, or any call when
 *	  nothing changed, costs a hash lookup and the caller's privilege
 *	  checks instead of opening four tables and loading a booster.
 *
 * Validity by generations.  Every symbol hashes to one of PC_SLOTS
 * counters; a global counter covers everything.  A transaction that
 * changes what a prediction depends on marks the symbol (or everything)
 * through the statement triggers of predict_cache_sql.c; the counters of
 * its marks are incremented at commit, after the commit became visible
 * (XACT_EVENT_COMMIT), and never for an aborted transaction.  An entry
 * carries the counters it is valid for and is used only while both are
 * unchanged.
 *
 * Invariants:
 *	- an entry never claims counters newer than its data: a computation
 *	  reads the counters (tsk_predict_cache_stamp) *before* it takes its
 *	  snapshot, and is installed only if the counters still equal the
 *	  stamp (plus this transaction's own increments, at its commit); a
 *	  commit missing from the data increments a counter after the stamp,
 *	  so the entry is refused or invalid;
 *	- a transaction that marked anything neither reads nor installs
 *	  entries before its commit (its own changes are invisible to others);
 *	- not used in recovery (replayed changes fire no trigger), with
 *	  max_prepared_transactions > 0 (COMMIT PREPARED runs no callback of
 *	  the preparing backend), in REPEATABLE READ or SERIALIZABLE (the
 *	  answer must be that of the transaction's snapshot), nor when the
 *	  watermark was capped by now() (the answer then depends on the clock);
 *	- a hit checks the caller's USAGE on the schema and SELECT on every
 *	  table the answer was read from, and refuses tables with row-level
 *	  security, as the uncached path would (its errors come from there);
 *	  an answer computed by a user row-level security applies to is never
 *	  offered (it is not what others would read);
 *	- only level "model" answers are cached: the lower levels depend on
 *	  the clock and on session settings.
 */
#include "postgres.h"

#include "access/twophase.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/rls.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "models/predict_cache.h"

/* Generation counters that symbols hash into. */
#define PC_SLOTS 4096
/* Most tables whose privileges an entry needs. */
#define PC_MAX_RELS 6
/* Most answers a writing transaction installs at its commit. */
#define PC_MAX_PENDING 64

/* The key of an entry. */
typedef struct pc_key
{
	Oid			dbid;
	int32		target;
	char		symbol[NAMEDATALEN];
} pc_key;

/* A cached answer. */
typedef struct pc_entry
{
	pc_key		key;			/* hash key: first */
	uint64		slot_gen;
	uint64		global_gen;
	TimestampTz watermark;		/* valid for callers whose now() is later */
	Oid			nsp;
	int			nrelids;
	Oid			relids[PC_MAX_RELS];
	double		value;
	int64		model_id;
	char		sha256[65];
	Interval	width;
	int32		horizon;
	TimestampTz bucket;
} pc_entry;

/* The shared part. */
typedef struct pc_shared
{
	LWLock	   *lock;			/* the hash table */
	pg_atomic_uint64 global_gen;
	pg_atomic_uint64 hits;
	pg_atomic_uint64 misses;
	pg_atomic_uint64 installs;
	pg_atomic_uint64 slot_gen[PC_SLOTS];
} pc_shared;

/* An answer this transaction computed, installed at its commit. */
typedef struct pc_pending
{
	pc_entry	entry;
	predict_cache_stamp stamp;
} pc_pending;

static shmem_request_hook_type pc_prev_shmem_request = NULL;
static shmem_startup_hook_type pc_prev_shmem_startup = NULL;
static pc_shared *pc = NULL;
static HTAB *pc_hash = NULL;

/* This transaction's marks and pending answers. */
static bool pc_callbacks = false;
static bool pc_mark_all = false;
static int	pc_nmarks = 0;
static int	pc_marks[PC_SLOTS];
static bool pc_marked[PC_SLOTS];
static int	pc_npending = 0;
static pc_pending pc_pendings[PC_MAX_PENDING];

/* The caller's privileges, checked once per (user, tables) until invalidated. */
static bool pc_acl_valid = false;
static Oid	pc_acl_user = InvalidOid;
static Oid	pc_acl_nsp = InvalidOid;
static Oid	pc_acl_relids[PC_MAX_RELS];
static int	pc_acl_nrelids = 0;
static bool pc_acl_callbacks = false;

/*
 * pc_shmem_size
 *	  The counters and the hash table.
 */
static Size
pc_shmem_size(void)
{
	return add_size(MAXALIGN(sizeof(pc_shared)),
					hash_estimate_size(tsk_predict_cache_size, sizeof(pc_entry)));
}

/*
 * pc_shmem_request
 *	  shmem_request_hook: reserve the cache and its lock.
 */
static void
pc_shmem_request(void)
{
	if (pc_prev_shmem_request)
		pc_prev_shmem_request();
	RequestAddinShmemSpace(pc_shmem_size());
	RequestNamedLWLockTranche("triggerstock predict cache", 1);
}

/*
 * pc_shmem_startup
 *	  shmem_startup_hook: create or attach to the cache.
 */
static void
pc_shmem_startup(void)
{
	bool		found;
	HASHCTL		ctl;

	if (pc_prev_shmem_startup)
		pc_prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pc = ShmemInitStruct("triggerstock predict cache", sizeof(pc_shared), &found);
	if (!found)
	{
		pc->lock = &(GetNamedLWLockTranche("triggerstock predict cache"))->lock;
		pg_atomic_init_u64(&pc->global_gen, 1);
		pg_atomic_init_u64(&pc->hits, 0);
		pg_atomic_init_u64(&pc->misses, 0);
		pg_atomic_init_u64(&pc->installs, 0);
		for (int i = 0; i < PC_SLOTS; i++)
			pg_atomic_init_u64(&pc->slot_gen[i], 1);
	}
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pc_key);
	ctl.entrysize = sizeof(pc_entry);
	pc_hash = ShmemInitHash("triggerstock predict cache entries", tsk_predict_cache_size,
							tsk_predict_cache_size, &ctl, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * tsk_predict_cache_preload
 *	  See predict_cache.h.  A size of 0 reserves nothing: the cache is off.
 */
void
tsk_predict_cache_preload(void)
{
	if (tsk_predict_cache_size <= 0)
		return;
	pc_prev_shmem_request = shmem_request_hook;
	shmem_request_hook = pc_shmem_request;
	pc_prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = pc_shmem_startup;
}

/*
 * pc_slot
 *	  The counter a symbol of this database hashes into.
 */
static int
pc_slot(const char *symbol)
{
	uint32		h = hash_bytes((const unsigned char *) symbol, strlen(symbol));

	return (int) (hash_combine(h, (uint32) MyDatabaseId) % PC_SLOTS);
}

/*
 * pc_make_key
 *	  The key of (symbol, target) in this database.
 */
static void
pc_make_key(pc_key *key, const char *symbol, int target)
{
	memset(key, 0, sizeof(*key));
	key->dbid = MyDatabaseId;
	key->target = target;
	strlcpy(key->symbol, symbol, NAMEDATALEN);
}

/*
 * pc_reset_xact
 *	  Forget this transaction's marks and pending answers.
 */
static void
pc_reset_xact(void)
{
	for (int i = 0; i < pc_nmarks; i++)
		pc_marked[pc_marks[i]] = false;
	pc_nmarks = 0;
	pc_mark_all = false;
	pc_npending = 0;
}

/*
 * pc_install
 *	  Put an entry into the table (the caller checked its counters);
 *	  when the table is full, drop an entry that is no longer valid, else
 *	  any one.
 */
static void
pc_install(const pc_entry *e)
{
	pc_entry   *slot;
	bool		found;

	LWLockAcquire(pc->lock, LW_EXCLUSIVE);
	slot = hash_search(pc_hash, &e->key, HASH_ENTER_NULL, &found);
	if (slot == NULL)
	{
		HASH_SEQ_STATUS seq;
		pc_entry   *victim = NULL,
				   *x;

		hash_seq_init(&seq, pc_hash);
		while ((x = hash_seq_search(&seq)) != NULL)
		{
			victim = x;
			if (x->global_gen != pg_atomic_read_u64(&pc->global_gen) ||
				x->slot_gen != pg_atomic_read_u64(&pc->slot_gen[pc_slot(x->key.symbol)]))
			{
				hash_seq_term(&seq);
				break;
			}
		}
		if (victim != NULL)
			hash_search(pc_hash, &victim->key, HASH_REMOVE, NULL);
		slot = hash_search(pc_hash, &e->key, HASH_ENTER_NULL, &found);
	}
	if (slot != NULL)
	{
		memcpy(slot, e, sizeof(pc_entry));
		pg_atomic_fetch_add_u64(&pc->installs, 1);
	}
	LWLockRelease(pc->lock);
}

/*
 * pc_xact_callback
 *	  At commit (visible to every new snapshot by now): increment the
 *	  counters of this transaction's marks, then install the answers it
 *	  computed if no other commit moved those counters.  At abort: forget.
 */
static void
pc_xact_callback(XactEvent event, void *arg)
{
	if (pc == NULL)
		return;
	if (event == XACT_EVENT_COMMIT)
	{
		if (pc_mark_all)
			pg_atomic_fetch_add_u64(&pc->global_gen, 1);
		for (int i = 0; i < pc_nmarks; i++)
			pg_atomic_fetch_add_u64(&pc->slot_gen[pc_marks[i]], 1);
		for (int i = 0; i < pc_npending; i++)
		{
			pc_pending *p = &pc_pendings[i];
			uint64		want_slot = p->stamp.slot_gen + (pc_marked[p->stamp.slot] ? 1 : 0);
			uint64		want_global = p->stamp.global_gen + (pc_mark_all ? 1 : 0);

			if (pg_atomic_read_u64(&pc->slot_gen[p->stamp.slot]) != want_slot ||
				pg_atomic_read_u64(&pc->global_gen) != want_global)
				continue;
			p->entry.slot_gen = want_slot;
			p->entry.global_gen = want_global;
			pc_install(&p->entry);
		}
		pc_reset_xact();
	}
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
			 event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PREPARE)
		pc_reset_xact();
}

/*
 * pc_subxact_callback
 *	  A rolled back subtransaction may have computed answers from its own
 *	  changes: drop the pending answers (its marks stay: harmless).
 */
static void
pc_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		pc_npending = 0;
}

/*
 * pc_register
 *	  The transaction callbacks, once per process.
 */
static void
pc_register(void)
{
	if (pc_callbacks)
		return;
	RegisterXactCallback(pc_xact_callback, NULL);
	RegisterSubXactCallback(pc_subxact_callback, NULL);
	pc_callbacks = true;
}

/*
 * pc_drop_pending
 *	  Drop the pending answers of a slot (all of them for -1): a later
 *	  change of the same transaction is not in them.
 */
static void
pc_drop_pending(int slot)
{
	int			kept = 0;

	for (int i = 0; i < pc_npending; i++)
		if (slot >= 0 && pc_pendings[i].stamp.slot != slot)
			pc_pendings[kept++] = pc_pendings[i];
	pc_npending = kept;
}

/*
 * tsk_predict_cache_mark
 *	  See predict_cache.h.
 */
void
tsk_predict_cache_mark(const char *symbol)
{
	int			slot;

	if (pc == NULL)
		return;
	pc_register();
	slot = pc_slot(symbol);
	if (!pc_marked[slot])
	{
		pc_marked[slot] = true;
		pc_marks[pc_nmarks++] = slot;
	}
	pc_drop_pending(slot);
}

/*
 * tsk_predict_cache_mark_all
 *	  See predict_cache.h.
 */
void
tsk_predict_cache_mark_all(void)
{
	if (pc == NULL)
		return;
	pc_register();
	pc_mark_all = true;
	pc_drop_pending(-1);
}

/*
 * tsk_predict_cache_marked
 *	  See predict_cache.h.
 */
bool
tsk_predict_cache_marked(void)
{
	return pc_mark_all || pc_nmarks > 0;
}

/*
 * tsk_predict_cache_usable
 *	  See predict_cache.h.
 */
bool
tsk_predict_cache_usable(void)
{
	return pc != NULL && tsk_predict_cache && max_prepared_xacts == 0 && !RecoveryInProgress() &&
		!IsolationUsesXactSnapshot() && !tsk_predict_cache_marked();
}

/*
 * pc_acl_invalidate
 *	  Relcache or role change: check the privileges again.
 */
static void
pc_acl_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	pc_acl_valid = false;
}

/*
 * pc_acl_invalidate_rel
 *	  Relcache callback: as pc_acl_invalidate.
 */
static void
pc_acl_invalidate_rel(Datum arg, Oid relid)
{
	pc_acl_valid = false;
}

/*
 * pc_allowed
 *	  Whether the current user may read what the entry was computed from,
 *	  as the uncached path would: USAGE on the schema, SELECT on every
 *	  table, no row-level security on any.
 */
static bool
pc_allowed(const pc_entry *e)
{
	Oid			user = GetUserId();
	bool		missing = false;

	if (pc_acl_valid && pc_acl_user == user && pc_acl_nsp == e->nsp && pc_acl_nrelids == e->nrelids &&
		memcmp(pc_acl_relids, e->relids, sizeof(Oid) * e->nrelids) == 0)
		return true;
	if (!pc_acl_callbacks)
	{
		CacheRegisterRelcacheCallback(pc_acl_invalidate_rel, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, pc_acl_invalidate, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, pc_acl_invalidate, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, pc_acl_invalidate, (Datum) 0);
		CacheRegisterSyscacheCallback(RELOID, pc_acl_invalidate, (Datum) 0);
		pc_acl_callbacks = true;
	}
	if (!SearchSysCacheExists1(NAMESPACEOID, ObjectIdGetDatum(e->nsp)) ||
		pg_namespace_aclcheck(e->nsp, user, ACL_USAGE) != ACLCHECK_OK)
		return false;
	for (int i = 0; i < e->nrelids; i++)
	{
		if (pg_class_aclcheck_ext(e->relids[i], user, ACL_SELECT, &missing) != ACLCHECK_OK || missing)
			return false;
		if (check_enable_rls(e->relids[i], InvalidOid, true) != RLS_NONE)
			return false;
	}
	pc_acl_user = user;
	pc_acl_nsp = e->nsp;
	pc_acl_nrelids = e->nrelids;
	memcpy(pc_acl_relids, e->relids, sizeof(Oid) * e->nrelids);
	pc_acl_valid = true;
	return true;
}

/*
 * tsk_predict_cache_get
 *	  See predict_cache.h.
 */
bool
tsk_predict_cache_get(const char *symbol, int target, prediction_t *out)
{
	pc_key		key;
	pc_entry	e;
	pc_entry   *found;

	if (!tsk_predict_cache_usable())
		return false;
	pc_make_key(&key, symbol, target);
	LWLockAcquire(pc->lock, LW_SHARED);
	found = hash_search(pc_hash, &key, HASH_FIND, NULL);
	if (found != NULL)
		memcpy(&e, found, sizeof(e));
	LWLockRelease(pc->lock);
	if (found == NULL ||
		e.global_gen != pg_atomic_read_u64(&pc->global_gen) ||
		e.slot_gen != pg_atomic_read_u64(&pc->slot_gen[pc_slot(symbol)]) ||
		GetCurrentTransactionStartTimestamp() < e.watermark ||
		!pc_allowed(&e))
	{
		pg_atomic_fetch_add_u64(&pc->misses, 1);
		return false;
	}
	pg_atomic_fetch_add_u64(&pc->hits, 1);
	memset(out, 0, sizeof(*out));
	out->level = TS_LEVEL_MODEL;
	out->target = target;
	out->has_probability = true;
	out->probability = e.value;
	out->model_id = e.model_id;
	memcpy(out->sha256, e.sha256, sizeof(out->sha256));
	out->width = e.width;
	out->horizon = e.horizon;
	out->has_bucket = true;
	out->bucket = e.bucket;
	out->has_watermark = true;
	out->watermark = e.watermark;
	return true;
}

/*
 * tsk_predict_cache_stamp
 *	  See predict_cache.h.  The read barrier orders the counter reads
 *	  before the snapshot the caller takes next.
 */
void
tsk_predict_cache_stamp(const char *symbol, predict_cache_stamp *stamp)
{
	memset(stamp, 0, sizeof(*stamp));
	if (pc == NULL)
		return;
	stamp->slot = pc_slot(symbol);
	stamp->slot_gen = pg_atomic_read_u64(&pc->slot_gen[stamp->slot]);
	stamp->global_gen = pg_atomic_read_u64(&pc->global_gen);
	pg_memory_barrier();
}

/*
 * tsk_predict_cache_offer
 *	  See predict_cache.h.
 */
void
tsk_predict_cache_offer(const char *symbol, int target, const predict_cache_stamp *stamp,
						const prediction_t *p, Oid nsp, const Oid *relids, int nrelids)
{
	pc_entry	e;

	if (pc == NULL || !tsk_predict_cache || p->level != TS_LEVEL_MODEL || !p->has_probability ||
		!p->has_watermark || !p->has_bucket || nrelids > PC_MAX_RELS ||
		p->watermark >= GetCurrentTransactionStartTimestamp())
		return;
	/* an answer computed under row-level security is not everyone's */
	for (int i = 0; i < nrelids; i++)
		if (check_enable_rls(relids[i], InvalidOid, true) != RLS_NONE)
			return;
	memset(&e, 0, sizeof(e));
	pc_make_key(&e.key, symbol, target);
	e.watermark = p->watermark;
	e.nsp = nsp;
	e.nrelids = nrelids;
	memcpy(e.relids, relids, sizeof(Oid) * nrelids);
	e.value = p->probability;
	e.model_id = p->model_id;
	memcpy(e.sha256, p->sha256, sizeof(e.sha256));
	e.width = p->width;
	e.horizon = p->horizon;
	e.bucket = p->bucket;
	if (tsk_predict_cache_marked())
	{
		/* a writer: at its commit, if nothing else changed the symbol */
		if (pc_npending < PC_MAX_PENDING)
		{
			pc_pendings[pc_npending].entry = e;
			pc_pendings[pc_npending].stamp = *stamp;
			pc_npending++;
		}
		return;
	}
	if (pg_atomic_read_u64(&pc->slot_gen[stamp->slot]) != stamp->slot_gen ||
		pg_atomic_read_u64(&pc->global_gen) != stamp->global_gen)
		return;
	e.slot_gen = stamp->slot_gen;
	e.global_gen = stamp->global_gen;
	pc_install(&e);
}

/*
 * tsk_predict_cache_counts
 *	  Entries, hits, misses, installs and the global generation (for
 *	  predict_cache_stats()); false when the cache is off.
 */
bool
tsk_predict_cache_counts(int64 *entries, int64 *hits, int64 *misses, int64 *installs, int64 *generation)
{
	if (pc == NULL)
		return false;
	LWLockAcquire(pc->lock, LW_SHARED);
	*entries = hash_get_num_entries(pc_hash);
	LWLockRelease(pc->lock);
	*hits = (int64) pg_atomic_read_u64(&pc->hits);
	*misses = (int64) pg_atomic_read_u64(&pc->misses);
	*installs = (int64) pg_atomic_read_u64(&pc->installs);
	*generation = (int64) pg_atomic_read_u64(&pc->global_gen);
	return true;
}

/*
 * tsk_predict_cache_reset
 *	  Invalidate every entry now (predict_cache_reset(), the install and
 *	  update scripts): for changes made where no trigger fired.
 */
void
tsk_predict_cache_reset(void)
{
	if (pc != NULL)
		pg_atomic_fetch_add_u64(&pc->global_gen, 1);
}
