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
 *	- the deployment map is read in the caller's snapshot through SPI.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "models/model.h"
#include "guc.h"
#include "schema.h"


/* Most symbols whose deployment is remembered before the map is reset. */
#define CACHE_MAX_SYMBOLS 256

/* One symbol's deployed model (0: none). */
typedef struct cache_deployed
{
	char		symbol[NAMEDATALEN];
	int			target;			/* tsm_target */
	int64		model_id;
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
	Oid			nsp = get_namespace_oid("triggerstock", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;

	return OidIsValid(relid) && get_attnum(relid, "target") != InvalidAttrNumber;
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
 * cache_load
 *	  Read model row model_id and load its booster into a new context.
 */
static model_t *
cache_load(int64 model_id)
{
	MemoryContext cxt;
	MemoryContext old;
	model_t   *m;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(model_id)};
	int			ret;
	HeapTuple	tup;
	TupleDesc	desc;
	bytea	   *bytes;
	ArrayType  *names;
	Datum	   *elems;
	bool	   *elem_nulls;
	int			nelems;
	bst_ulong	booster_features;
	int			spi = tsk_spi_connect();

	ret = SPI_execute_with_args(tsk_model_has_target("models") ?
								"SELECT m.symbol, m.sha256, m.width, m.horizon, m.features, m.model, m.target "
								"FROM triggerstock.models m WHERE m.id OPERATOR(pg_catalog.=) $1" :
								"SELECT m.symbol, m.sha256, m.width, m.horizon, m.features, m.model, 'direction' "
								"FROM triggerstock.models m WHERE m.id OPERATOR(pg_catalog.=) $1",
								1, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("model %lld does not exist", (long long) model_id),
				 errhint("Models are listed in triggerstock.models.")));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	cxt = AllocSetContextCreate(cache_cxt, "triggerstock model", ALLOCSET_SMALL_SIZES);
	PG_TRY();
	{
		old = MemoryContextSwitchTo(cxt);
		m = palloc0(sizeof(model_t));
		m->id = model_id;
		m->cxt = cxt;
		text_to_cstring_buffer(DatumGetTextPP(cache_column(tup, desc, 1, model_id)), m->symbol, NAMEDATALEN);
		text_to_cstring_buffer(DatumGetTextPP(cache_column(tup, desc, 2, model_id)), m->sha256,
							   sizeof(m->sha256));
		m->width = *DatumGetIntervalP(cache_column(tup, desc, 3, model_id));
		m->horizon = DatumGetInt32(cache_column(tup, desc, 4, model_id));
		if (m->horizon < 1 || m->horizon > 10000)
			cache_bad_model(model_id, "horizon outside 1 to 10000");
		m->target = tsk_tsm_target_parse(TextDatumGetCString(cache_column(tup, desc, 7, model_id)));
		if (m->target < 0)
			cache_bad_model(model_id, "unknown target");
		names = DatumGetArrayTypeP(cache_column(tup, desc, 5, model_id));
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
		bytes = DatumGetByteaPP(cache_column(tup, desc, 6, model_id));
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
	tsk_spi_finish(spi);
	return m;
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
 * tsk_model_deployed
 *	  The deployed model of (symbol, target) from the map, read on a miss.
 */
int64
tsk_model_deployed(const char *symbol, int target)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	int64		model_id = 0;
	int			ret;
	int			spi;

	cache_init();
	for (int i = 0; i < cache_ndeployments; i++)
		if (cache_deployments[i].target == target && strcmp(cache_deployments[i].symbol, symbol) == 0)
			return cache_deployments[i].model_id;

	args[0] = CStringGetTextDatum(symbol);
	args[1] = CStringGetTextDatum(tsk_tsm_target_name((tsm_target) target));
	spi = tsk_spi_connect();
	if (!tsk_model_has_target("deployments"))
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
	tsk_spi_finish(spi);

	if (strlen(symbol) < NAMEDATALEN)
	{
		if (cache_ndeployments >= CACHE_MAX_SYMBOLS)
			cache_ndeployments = 0;
		strlcpy(cache_deployments[cache_ndeployments].symbol, symbol, NAMEDATALEN);
		cache_deployments[cache_ndeployments].target = target;
		cache_deployments[cache_ndeployments].model_id = model_id;
		cache_ndeployments++;
	}
	return model_id;
}
