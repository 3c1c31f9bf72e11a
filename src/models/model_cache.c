/*
 * model_cache.c
 *	  Per-backend cache of loaded boosters, keyed by model id, and of which
 *	  model is deployed for each symbol.
 *
 * Invariants:
 *	- at most triggerstock.model_cache_size boosters are loaded; the least
 *	  recently used one is evicted first;
 *	- each cached model lives in its own memory context under
 *	  "triggerstock model cache"; deleting that context frees the booster
 *	  through its reset callback (no other code frees boosters);
 *	- model rows are immutable (a trigger forbids UPDATE), so a booster
 *	  cached by id never goes stale; only "which model is deployed" can,
 *	  and that map is dropped by the relcache invalidation that an INSERT
 *	  into triggerstock.deployments sends at commit: other sessions see a
 *	  new deployment on their next call, never an uncommitted one;
 *	- the deployment map and model rows are read in the caller's snapshot
 *	  by index probes without SPI (direct_read.h: a cold predict() parses
 *	  and plans no statement for them), through SPI for a caller under
 *	  row-level security.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "direct_read.h"
#include "models/model.h"
#include "guc.h"
#include "schema.h"


/* Most symbols whose deployment is remembered before the map is reset. */
#define CACHE_MAX_SYMBOLS 256

/* One symbol's deployed model (0: none) and canary candidate (0: none). */
typedef struct cache_deployed
{
	char		symbol[NAMEDATALEN];
	int			target;			/* tsm_target */
	int64		model_id;
	int64		canary_model_id;
	double		canary_fraction;
} cache_deployed;

static MemoryContext cache_cxt = NULL;
static model_t **cache_models = NULL;	/* array of tsk_model_cache_size max */
static int	cache_nmodels = 0;
static int	cache_capacity = 0;
static uint64 cache_clock = 0;

static cache_deployed cache_deployments[CACHE_MAX_SYMBOLS];
static int	cache_ndeployments = 0;
static Oid	cache_deployments_relid = InvalidOid;
static Oid	cache_extension_nsp = InvalidOid;
static bool cache_callback_registered = false;


/*
 * cache_relcache_callback
 *	  A relcache invalidation of triggerstock.deployments (or of every
 *	  relation) drops the deployment map.
 */
static void
cache_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == cache_deployments_relid ||
		cache_deployments_relid == InvalidOid)
	{
		cache_ndeployments = 0;
		/* looked up again on next use: the extension may have been recreated */
		cache_deployments_relid = InvalidOid;
		cache_extension_nsp = InvalidOid;
	}
}

/*
 * cache_init
 *	  Create the cache context and register the invalidation callback.
 */
static void
cache_init(void)
{
	if (cache_cxt == NULL)
		cache_cxt = AllocSetContextCreate(TopMemoryContext, "triggerstock model cache",
										  ALLOCSET_SMALL_SIZES);
	if (!cache_callback_registered)
	{
		CacheRegisterRelcacheCallback(cache_relcache_callback, (Datum) 0);
		cache_callback_registered = true;
	}
	if (cache_deployments_relid == InvalidOid)
	{
		Oid			nsp = get_namespace_oid("triggerstock", true);

		if (OidIsValid(nsp))
			cache_deployments_relid = get_relname_relid("deployments", nsp);
	}
}

/*
 * tsk_model_has_target
 *	  Whether triggerstock.<relname> has the column target (0.2 after issue
 *	  15); a 0.1 database served by this library until ALTER EXTENSION
 *	  UPDATE has none, and every model in it is a direction model.  A
 *	  syscache probe: cheap enough to ask on every use.
 */
bool
tsk_model_has_target(const char *relname)
{
	return tsk_model_has_column(relname, "target");
}

/*
 * tsk_model_has_column
 *	  Whether triggerstock.<relname> has column attname (a syscache probe):
 *	  the columns 0.2 added (target; mode, the rollouts) are absent from a
 *	  0.1 database served before ALTER EXTENSION UPDATE.
 */
bool
tsk_model_has_column(const char *relname, const char *attname)
{
	Oid			nsp = get_namespace_oid("triggerstock", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;

	return OidIsValid(relid) && get_attnum(relid, attname) != InvalidAttrNumber;
}

/*
 * cache_evict_to
 *	  Free least recently used models until at most `keep` remain.
 */
static void
cache_evict_to(int keep)
{
	while (cache_nmodels > keep)
	{
		int			lru = 0;

		for (int i = 1; i < cache_nmodels; i++)
			if (cache_models[i]->last_used < cache_models[lru]->last_used)
				lru = i;
		MemoryContextDelete(cache_models[lru]->cxt);	/* frees the booster */
		cache_models[lru] = cache_models[--cache_nmodels];
	}
}

/*
 * cache_column
 *	  Column col of a models row, or ERROR when it is NULL (the columns are
 *	  NOT NULL; a row is never trusted to be what the constraints say).
 */
static Datum
cache_column(HeapTuple tup, TupleDesc desc, int col, int64 model_id)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model %lld has a NULL %s", (long long) model_id, SPI_fname(desc, col)),
				 errhint("Deploy another model: this row of triggerstock.models cannot be served.")));
	return d;
}

/*
 * cache_bad_model
 *	  ERROR for a models row that cannot be served.
 */
static void
cache_bad_model(int64 model_id, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("model %lld cannot be served: %s", (long long) model_id, what),
			 errhint("Deploy another model: this row of triggerstock.models is not what train() stores.")));
}

/*
 * cache_build
 *	  A model_t, in a new context under the cache's, from a models row
 *	  (cols: the attribute numbers of symbol, sha256, width, horizon,
 *	  features, model and target in tup; target 0: a 0.1 table without
 *	  it, a direction model), with its booster loaded.
 */
static model_t *
cache_build(int64 model_id, HeapTuple tup, TupleDesc desc, const int *cols)
{
	MemoryContext cxt;
	MemoryContext old;
	model_t    *m;
	bytea	   *bytes;
	ArrayType  *names;
	Datum	   *elems;
	bool	   *elem_nulls;
	int			nelems;
	bst_ulong	booster_features;

	cxt = AllocSetContextCreate(cache_cxt, "triggerstock model", ALLOCSET_SMALL_SIZES);
	PG_TRY();
	{
		old = MemoryContextSwitchTo(cxt);
		m = palloc0(sizeof(model_t));
		m->id = model_id;
		m->cxt = cxt;
		text_to_cstring_buffer(DatumGetTextPP(cache_column(tup, desc, cols[0], model_id)), m->symbol, NAMEDATALEN);
		text_to_cstring_buffer(DatumGetTextPP(cache_column(tup, desc, cols[1], model_id)), m->sha256,
							   sizeof(m->sha256));
		m->width = *DatumGetIntervalP(cache_column(tup, desc, cols[2], model_id));
		m->horizon = DatumGetInt32(cache_column(tup, desc, cols[3], model_id));
		if (m->horizon < 1 || m->horizon > 10000)
			cache_bad_model(model_id, "horizon outside 1 to 10000");
		m->target = cols[6] > 0
			? tsk_tsm_target_parse(TextDatumGetCString(cache_column(tup, desc, cols[6], model_id)))
			: TSM_TARGET_DIRECTION;
		if (m->target < 0)
			cache_bad_model(model_id, "unknown target");
		names = DatumGetArrayTypeP(cache_column(tup, desc, cols[4], model_id));
		if (ARR_NDIM(names) != 1)
			cache_bad_model(model_id, "features is not a one-dimensional array");
		deconstruct_array(names, TEXTOID, -1, false, TYPALIGN_INT, &elems, &elem_nulls, &nelems);
		if (nelems < 1)
			cache_bad_model(model_id, "no feature names");
		m->nfeatures = nelems;
		m->features = palloc(sizeof(char *) * nelems);
		for (int i = 0; i < nelems; i++)
		{
			if (elem_nulls[i])
				cache_bad_model(model_id, "a NULL feature name");
			m->features[i] = TextDatumGetCString(elems[i]);
		}
		bytes = DatumGetByteaPP(cache_column(tup, desc, cols[5], model_id));
		MemoryContextSwitchTo(old);
		m->booster = tsk_xgb_load(cxt, VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes),
								 tsk_predict_threads);
		/* the matrix handed to the booster has one column per name */
		tsk_xgb_check(XGBoosterGetNumFeature(m->booster, &booster_features), "XGBoosterGetNumFeature");
		if (booster_features != (bst_ulong) m->nfeatures)
			cache_bad_model(model_id, psprintf("the booster takes %llu features, the row names %d",
											   (unsigned long long) booster_features, m->nfeatures));
		m->forest = tsk_xgb_forest(cxt, m->booster, m->nfeatures);
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return m;
}

/*
 * cache_missing
 *	  ERROR for a model id without a row.
 */
static void
cache_missing(int64 model_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("model %lld does not exist", (long long) model_id),
			 errhint("Models are listed in triggerstock.models.")));
}

/*
 * cache_load_spi
 *	  Read model row model_id through SPI (a caller under row-level
 *	  security) and build it.
 */
static model_t *
cache_load_spi(int64 model_id)
{
	static const int cols[7] = {1, 2, 3, 4, 5, 6, 7};
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(model_id)};
	int			spi = tsk_spi_connect();
	int			ret;
	model_t    *m;

	ret = SPI_execute_with_args(tsk_model_has_target("models") ?
								"SELECT m.symbol, m.sha256, m.width, m.horizon, m.features, m.model, m.target "
								"FROM triggerstock.models m WHERE m.id OPERATOR(pg_catalog.=) $1" :
								"SELECT m.symbol, m.sha256, m.width, m.horizon, m.features, m.model, 'direction' "
								"FROM triggerstock.models m WHERE m.id OPERATOR(pg_catalog.=) $1",
								1, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != 1)
		cache_missing(model_id);
	m = cache_build(model_id, SPI_tuptable->vals[0], SPI_tuptable->tupdesc, cols);
	tsk_spi_finish(spi);
	return m;
}

/*
 * cache_load
 *	  Read model row model_id (one probe of its primary key, without SPI;
 *	  direct_read.h) and build it.
 */
static model_t *
cache_load(int64 model_id)
{
	static const char *const names[6] = {"symbol", "sha256", "width", "horizon", "features", "model"};
	bool		direct;
	Oid			relid = tsk_direct_table("models", &direct);
	Relation	heap,
				index;
	Oid			indexid;
	ScanKeyData key;
	TupleTableSlot *slot;
	HeapTuple	tup;
	bool		should_free;
	bool		pushed = false;
	int			cols[7];
	model_t    *m;

	if (!direct)
		return cache_load_spi(model_id);
	/* the model bytes may be TOASTed: detoasting needs an active snapshot */
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	heap = table_open(relid, AccessShareLock);
	indexid = RelationGetPrimaryKeyIndex(heap);
	if (!OidIsValid(indexid))
		elog(ERROR, "triggerstock.models has no primary key");
	index = index_open(indexid, AccessShareLock);
	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid, InvalidOid, F_INT8EQ,
						   Int64GetDatum(model_id));
	slot = table_slot_create(heap, NULL);
	if (!tsk_direct_first(heap, index, &key, 1, false, slot))
		cache_missing(model_id);
	for (int i = 0; i < 6; i++)
		cols[i] = tsk_direct_column(heap, names[i]);
	/* a 0.1 table (before ALTER EXTENSION UPDATE) has no target: direction */
	cols[6] = Max(attnameAttNum(heap, "target", false), 0);
	tup = ExecFetchSlotHeapTuple(slot, true, &should_free);
	m = cache_build(model_id, tup, RelationGetDescr(heap), cols);
	if (should_free)
		heap_freetuple(tup);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
	if (pushed)
		PopActiveSnapshot();
	return m;
}

/*
 * tsk_model_score
 *	  See model.h: the direct evaluator does the booster's arithmetic, far
 *	  cheaper per row.
 */
void
tsk_model_score(const model_t *m, const float *x, double *out)
{
	if (m->forest != NULL)
		*out = tsk_tsm_forest_predict(m->forest, x);
	else
		tsk_xgb_predict(m->booster, x, 1, m->nfeatures, out);
}

/*
 * tsk_model_get
 *	  The cached model, or load it (evicting the least recently used).
 */
model_t *
tsk_model_get(int64 model_id)
{
	model_t   *m;

	cache_init();
	for (int i = 0; i < cache_nmodels; i++)
		if (cache_models[i]->id == model_id)
		{
			m = cache_models[i];
			m->last_used = ++cache_clock;
			/* the GUC may have been lowered: m is the newest, never evicted */
			cache_evict_to(tsk_model_cache_size);
			return m;
		}

	cache_evict_to(tsk_model_cache_size - 1);
	if (cache_capacity < tsk_model_cache_size)
	{
		model_t  **grown = MemoryContextAllocZero(cache_cxt, sizeof(model_t *) * tsk_model_cache_size);

		if (cache_models != NULL)
		{
			memcpy(grown, cache_models, sizeof(model_t *) * cache_nmodels);
			pfree(cache_models);
		}
		cache_models = grown;
		cache_capacity = tsk_model_cache_size;
	}
	m = cache_load(model_id);
	m->last_used = ++cache_clock;
	cache_models[cache_nmodels++] = m;
	return m;
}

/*
 * tsk_model_extension_namespace
 *	  The extension's schema, looked up once per invalidation.
 */
Oid
tsk_model_extension_namespace(void)
{
	cache_init();
	if (!OidIsValid(cache_extension_nsp))
	{
		cache_extension_nsp = tsk_extension_namespace();
		if (!OidIsValid(cache_extension_nsp))
			elog(ERROR, "extension triggerstock is not installed");
	}
	return cache_extension_nsp;
}

/*
 * tsk_model_cache_count
 *	  Boosters loaded in this backend.
 */
int
tsk_model_cache_count(void)
{
	return cache_nmodels;
}

/*
 * deployed_canary_spi
 *	  The canary candidate of (symbol, target) through SPI (connected):
 *	  the latest row of the target when it is of mode canary.
 */
static void
deployed_canary_spi(Oid *argtypes, Datum *args, cache_deployed *out)
{
	int			ret;

	ret = SPI_execute_with_args("SELECT d.model_id, d.fraction FROM triggerstock.deployments d "
								"WHERE d.symbol OPERATOR(pg_catalog.=) $1 AND d.target OPERATOR(pg_catalog.=) $2 "
								"AND d.mode OPERATOR(pg_catalog.=) 'canary' "
								"AND d.id OPERATOR(pg_catalog.=) (SELECT pg_catalog.max(e.id) "
								"  FROM triggerstock.deployments e WHERE e.symbol OPERATOR(pg_catalog.=) $1 "
								"  AND e.target OPERATOR(pg_catalog.=) $2)",
								2, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1 && SPI_tuptable != NULL)
	{
		bool		n1,
					n2;
		Datum		id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &n1);
		Datum		fraction = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &n2);

		if (!n1 && !n2)
		{
			out->canary_model_id = DatumGetInt64(id);
			out->canary_fraction = DatumGetFloat8(fraction);
		}
	}
}

/*
 * deployed_read_spi
 *	  The latest live deployment of (symbol, target) through SPI (a caller
 *	  under row-level security), and its canary candidate; 0 when none.
 */
static void
deployed_read_spi(const char *symbol, int target, cache_deployed *out)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	int64		model_id = 0;
	int			spi;
	int			ret;

	args[0] = CStringGetTextDatum(symbol);
	args[1] = CStringGetTextDatum(tsk_tsm_target_name((tsm_target) target));
	spi = tsk_spi_connect();
	/* the live rows only: candidates (rollouts) are never served */
	if (tsk_model_has_column("deployments", "mode"))
		ret = SPI_execute_with_args("SELECT d.model_id FROM triggerstock.deployments d "
									"WHERE d.symbol OPERATOR(pg_catalog.=) $1 AND d.target OPERATOR(pg_catalog.=) $2 "
									"AND d.mode OPERATOR(pg_catalog.=) 'live' "
									"ORDER BY d.id DESC LIMIT 1",
									2, argtypes, args, NULL, true, 1);
	else if (!tsk_model_has_target("deployments"))
		ret = target != TSM_TARGET_DIRECTION ? SPI_OK_SELECT :
			SPI_execute_with_args("SELECT d.model_id FROM triggerstock.deployments d "
								  "WHERE d.symbol OPERATOR(pg_catalog.=) $1 ORDER BY d.id DESC LIMIT 1",
								  1, argtypes, args, NULL, true, 1);
	else
		ret = SPI_execute_with_args("SELECT d.model_id FROM triggerstock.deployments d "
									"WHERE d.symbol OPERATOR(pg_catalog.=) $1 AND d.target OPERATOR(pg_catalog.=) $2 "
									"ORDER BY d.id DESC LIMIT 1",
									2, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1 && SPI_tuptable != NULL)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		model_id = isnull ? 0 : DatumGetInt64(d);
	}
	out->model_id = model_id;
	if (model_id != 0 && tsk_model_has_column("deployments", "mode"))
		deployed_canary_spi(argtypes, args, out);
	tsk_spi_finish(spi);
}

/* Which deployments rows deployed_read takes: the live ones of one target;
 * on the way, the first (latest) row of the target says whether a canary
 * candidate is active. */
typedef struct deployed_filter
{
	AttrNumber	att;			/* deployments.target */
	AttrNumber	mode_att;		/* deployments.mode, 0 before the rollouts */
	AttrNumber	model_att;		/* deployments.model_id */
	AttrNumber	fraction_att;	/* deployments.fraction */
	const char *target;
	bool		seen_latest;	/* the target's latest row was looked at */
	int64		canary_model_id;
	double		canary_fraction;
} deployed_filter;

/*
 * deployed_accept
 *	  tsk_direct_accept: a live deployments row of the filter's target (a
 *	  rollout candidate or retirement row is never the deployed model).
 */
static bool
deployed_accept(TupleTableSlot *slot, void *arg)
{
	deployed_filter *f = arg;
	bool		isnull;
	Datum		d = slot_getattr(slot, f->att, &isnull);

	if (isnull || strcmp(TextDatumGetCString(d), f->target) != 0)
		return false;
	if (f->mode_att <= 0)
		return true;
	d = slot_getattr(slot, f->mode_att, &isnull);
	if (isnull)
		return false;
	if (!f->seen_latest)
	{
		/* the latest row of the target: an active canary when of mode canary */
		f->seen_latest = true;
		if (strcmp(TextDatumGetCString(d), "canary") == 0)
		{
			bool		n1,
						n2;
			Datum		id = slot_getattr(slot, f->model_att, &n1);
			Datum		fraction = slot_getattr(slot, f->fraction_att, &n2);

			if (!n1 && !n2)
			{
				f->canary_model_id = DatumGetInt64(id);
				f->canary_fraction = DatumGetFloat8(fraction);
			}
		}
	}
	return strcmp(TextDatumGetCString(d), "live") == 0;
}

/*
 * deployed_read
 *	  The latest live deployment (highest id) of (symbol, target): a
 *	  backward scan of index deployments_symbol_id (symbol, id) to the
 *	  first live row of the target, without SPI (direct_read.h); 0 when
 *	  none; the canary candidate when the latest row of the target is one
 *	  (the scan passes over it: candidates are never older than the live
 *	  row they were deployed beside, a later row ends them).  A 0.1 table
 *	  has no target column: its rows are direction deployments; nor a mode
 *	  column: every row is live.
 */
static void
deployed_read(const char *symbol, int target, cache_deployed *out)
{
	bool		direct;
	Oid			relid = tsk_direct_table("deployments", &direct);
	Oid			indexid = direct ? get_relname_relid("deployments_symbol_id", get_rel_namespace(relid))
		: InvalidOid;
	Relation	heap,
				index;
	ScanKeyData key;
	TupleTableSlot *slot;
	deployed_filter filter;

	out->model_id = 0;
	out->canary_model_id = 0;
	out->canary_fraction = 0;
	if (!OidIsValid(indexid))
	{
		deployed_read_spi(symbol, target, out);
		return;
	}
	heap = table_open(relid, AccessShareLock);
	memset(&filter, 0, sizeof(filter));
	filter.att = attnameAttNum(heap, "target", false);
	filter.mode_att = Max(attnameAttNum(heap, "mode", false), 0);
	filter.model_att = tsk_direct_column(heap, "model_id");
	filter.fraction_att = Max(attnameAttNum(heap, "fraction", false), 0);
	if (filter.fraction_att <= 0)
		filter.mode_att = 0;	/* a table between versions: no candidate */
	filter.target = tsk_tsm_target_name((tsm_target) target);
	if (filter.att <= 0 && target != TSM_TARGET_DIRECTION)
	{
		table_close(heap, AccessShareLock);
		return;
	}
	index = index_open(indexid, AccessShareLock);
	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid, index->rd_indcollation[0],
						   F_TEXTEQ, CStringGetTextDatum(symbol));
	slot = table_slot_create(heap, NULL);
	if (tsk_direct_first_where(heap, index, &key, 1, true, slot,
							   filter.att > 0 ? deployed_accept : NULL, &filter))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, filter.model_att, &isnull);

		out->model_id = isnull ? 0 : DatumGetInt64(d);
		out->canary_model_id = filter.canary_model_id;
		out->canary_fraction = filter.canary_fraction;
	}
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
}

/*
 * deployed_lookup
 *	  The deployment of (symbol, target) from the map, read on a miss (into
 *	  *scratch when the symbol is too long to be remembered).
 */
static const cache_deployed *
deployed_lookup(const char *symbol, int target, cache_deployed *scratch)
{
	cache_deployed *e;

	cache_init();
	for (int i = 0; i < cache_ndeployments; i++)
		if (cache_deployments[i].target == target && strcmp(cache_deployments[i].symbol, symbol) == 0)
			return &cache_deployments[i];

	deployed_read(symbol, target, scratch);
	if (strlen(symbol) >= NAMEDATALEN)
		return scratch;
	if (cache_ndeployments >= CACHE_MAX_SYMBOLS)
		cache_ndeployments = 0;
	e = &cache_deployments[cache_ndeployments++];
	*e = *scratch;
	strlcpy(e->symbol, symbol, NAMEDATALEN);
	e->target = target;
	return e;
}

/*
 * tsk_model_deployed
 *	  The deployed model of (symbol, target) from the map, read on a miss.
 */
int64
tsk_model_deployed(const char *symbol, int target)
{
	cache_deployed scratch;

	return deployed_lookup(symbol, target, &scratch)->model_id;
}

/*
 * tsk_model_canary
 *	  See model.h.
 */
int64
tsk_model_canary(const char *symbol, int target, double *fraction)
{
	cache_deployed scratch;
	const cache_deployed *e = deployed_lookup(symbol, target, &scratch);

	*fraction = e->canary_fraction;
	return e->canary_model_id;
}
