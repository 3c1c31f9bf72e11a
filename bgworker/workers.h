/*
 * workers.h
 *	  The dynamic background workers the launcher runs, and what they share.
 *
 * Which workers run is data: the view triggerstock.worker_plan lists
 * (kind, id) pairs, for instance ('ingest', source id).  The launcher keeps
 * exactly those running, one dynamic worker each, whose entry point is the
 * exported C function triggerstock_<kind>_main in this library.  It
 * restarts a worker that died (with backoff), stops one whose row left the
 * plan, and re-reads the plan when a configuration table changes: tables
 * that feed the plan carry the statement trigger config_changed(), which
 * sends a relcache invalidation at commit.
 *
 * Shared memory holds one slot per worker (triggerstock.max_workers of
 * them).  A kind that needs more shared state of its own allocates an
 * array of tsk_worker_slots() entries and indexes it with tsk_worker_slot_index.
 *
 * Invariants: slots are changed under tsk_shared->lock; only the
 * launcher allocates and frees slots; a worker writes only its own slot's
 * state fields.  Per-process handles (BackgroundWorkerHandle) stay in the
 * launcher's memory, never in shared memory.
 */
#ifndef TRIGGERSTOCK_WORKERS_H
#define TRIGGERSTOCK_WORKERS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "storage/lwlock.h"

#define TS_WORKER_KIND_LEN 32
#define TS_WORKER_STATE_LEN 32
/* The state of a planned worker that got no process (slot or bgworker). */
#define TS_WORKER_STATE_NO_SLOT "no worker slot"
/* Planned workers without a triggerstock slot that the views list. */
#define TS_MAX_UNPLACED 256

typedef struct worker_slot_t
{
	bool		in_use;			/* allocated by the launcher */
	char		kind[TS_WORKER_KIND_LEN];
	int32		id;
	int			pid;			/* 0 while not running */
	int32		starts;			/* times started since allocation */
	TimestampTz started_at;
	char		state[TS_WORKER_STATE_LEN];	/* set by the worker */
	TimestampTz state_since;
} worker_slot_t;

/* A planned worker for which triggerstock.max_workers left no slot. */
typedef struct worker_unplaced_t
{
	char		kind[TS_WORKER_KIND_LEN];
	int32		id;
} worker_unplaced_t;

typedef struct shared_state_t
{
	LWLock	   *lock;
	int			launcher_pid;
	Oid			database;		/* the launcher's database, for the workers */
	int			nunplaced;		/* entries of unplaced[] in use */
	worker_unplaced_t unplaced[TS_MAX_UNPLACED];
	int			nslots;
	worker_slot_t slots[FLEXIBLE_ARRAY_MEMBER];
} shared_state_t;

/* Attached at shared memory startup; NULL when not preloaded. */
extern shared_state_t *tsk_shared;

/* Slot of the current worker process (-1 outside a dynamic worker). */
extern int	tsk_worker_slot_index;

/* Number of worker slots (triggerstock.max_workers). */
extern int	tsk_worker_slots(void);

/* Called from _PG_init while preloading: GUC and shared memory hooks. */
extern void tsk_workers_preload(void);

/*
 * In a dynamic worker's entry point: installs the signal handlers (SIGTERM
 * sets ShutdownRequestPending so the worker can flush, then exit, and
 * cancels a transaction of tsk_worker_xact in progress), connects to the
 * launcher's database, pins search_path = pg_catalog, pg_temp for the
 * process's life and returns the worker's id from the plan.
 */
extern int32 tsk_worker_attach(Datum main_arg);

/*
 * What the views show for a slot: its worker's state while it runs,
 * "no worker slot" while the launcher cannot start it, else "stopped".
 */
extern const char *tsk_worker_slot_state(const worker_slot_t *slot);

/* A worker reports its state ("connecting", "streaming", ...). */
extern void tsk_worker_set_state(const char *state);

/* Flags of tsk_worker_xact. */
#define TSK_XACT_SPI	0x01		/* SPI connected around fn */
#define TSK_XACT_QUIET	0x02		/* the caller reports the error itself */

/*
 * Run fn(arg) in its own short transaction with a snapshot (and SPI with
 * TSK_XACT_SPI), reporting activity in pg_stat_activity.  Returns NULL on
 * success; on ERROR the transaction is rolled back and the error returned,
 * copied into the caller's memory context, after logging it (unless
 * TSK_XACT_QUIET, or it is the cancel of a shutdown).  A SIGTERM that
 * arrives while fn runs cancels it, so that no lock wait or long statement
 * delays the worker's exit.  The one transaction runner of every worker.
 */
extern ErrorData *tsk_worker_xact(void (*fn) (void *), void *arg, const char *activity, int flags);

/* tsk_worker_xact with SPI, errors logged: true on success. */
extern bool tsk_worker_run_in_xact(void (*fn) (void *), void *arg, const char *activity);

/*
 * Prepare a statement inside SPI and keep it for the life of the process
 * (cursor_options: 0, or CURSOR_OPT_CUSTOM_PLAN and friends); ERROR if it
 * cannot be prepared.  Free it with SPI_freeplan.
 */
extern SPIPlanPtr tsk_worker_keep_plan(const char *sql, int nargs, Oid *types, int cursor_options);

/*
 * Run fn(arg) as tsk_worker_xact does, during shutdown: cancelled after
 * timeout_ms (statement timeout), so a worker's last flush cannot hold up
 * its exit.  Returns NULL or the error.
 */
extern ErrorData *tsk_worker_xact_bounded(void (*fn) (void *), void *arg, const char *activity,
										  int flags, int timeout_ms);

/* "message: detail" of an error from tsk_worker_xact (palloc'd; edata freed). */
extern char *tsk_worker_error_text(ErrorData *edata);

/* Inside SPI: run one statement; ERROR "<what> statement failed" unless it returns expect. */
extern void tsk_worker_exec(const char *what, const char *sql, int nargs, Oid *types,
							Datum *values, const char *nulls, int expect);

/* Inside SPI: column col of row of SPI_tuptable as a string copied into cxt, or NULL. */
extern char *tsk_worker_getstr(uint64 row, int col, MemoryContext cxt);

/* A one-dimensional array of n datums (nulls may be NULL) of the given element type. */
extern Datum tsk_worker_array(Datum *values, bool *nulls, int n, Oid type, int typlen, bool byval,
							  char align);

/* True while the extension exists in the worker's database (own transaction). */
extern bool tsk_worker_extension_exists(void);

/* ERROR with a hint unless the library was preloaded. */
extern void tsk_require_preload(const char *what);

#endif							/* TRIGGERSTOCK_WORKERS_H */
