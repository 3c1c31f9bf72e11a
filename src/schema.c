/*
 * schema.c
 *	  The extension's schema by one catalog lookup, and the safe
 *	  search_path (see schema.h for the invariants).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "schema.h"

/*
 * tsk_extension_namespace
 *	  pg_extension.extnamespace of triggerstock, InvalidOid if it is not
 *	  installed in this database.  Needs a transaction.
 */
Oid
tsk_extension_namespace(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("triggerstock"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return nsp;
}

/*
 * tsk_extension_schema
 *	  The extension's schema name, quoted for SQL, or NULL.
 */
char *
tsk_extension_schema(void)
{
	Oid			nsp = tsk_extension_namespace();
	char	   *name;

	if (!OidIsValid(nsp) || (name = get_namespace_name(nsp)) == NULL)
		return NULL;
	return pstrdup(quote_identifier(name));
}

/*
 * tsk_search_path_pin_for_life
 *	  A background worker's search_path, overriding whatever ALTER DATABASE
 *	  or ALTER ROLE set for the database it connected to.
 */
void
tsk_search_path_pin_for_life(void)
{
	SetConfigOption("search_path", TSK_SAFE_SEARCH_PATH, PGC_SUSET, PGC_S_OVERRIDE);
}

/*
 * tsk_search_path_push
 *	  Set search_path = TSK_SAFE_SEARCH_PATH for the SQL an fmgr function
 *	  runs; returns the level to give tsk_search_path_pop.  An ERROR in
 *	  between restores the caller's search_path at abort.
 */
int
tsk_search_path_push(void)
{
	return tsk_search_path_push_value(TSK_SAFE_SEARCH_PATH);
}

/*
 * tsk_search_path_push_value
 *	  Set search_path = path until tsk_search_path_pop (train_from_query
 *	  runs its user's query under the user's own search_path this way).
 */
int
tsk_search_path_push_value(const char *path)
{
	int			nest = NewGUCNestLevel();

	(void) set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

/*
 * tsk_search_path_pop
 *	  Restore the caller's search_path.
 */
void
tsk_search_path_pop(int nest_level)
{
	AtEOXact_GUC(true, nest_level);
}

/*
 * tsk_spi_connect
 *	  SPI_connect (or ERROR) under the safe search_path.
 */
int
tsk_spi_connect(void)
{
	int			ret = SPI_connect();

	if (ret != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));
	return tsk_search_path_push();
}

/*
 * tsk_spi_finish
 *	  SPI_finish (or ERROR) and the caller's search_path back.
 */
void
tsk_spi_finish(int nest_level)
{
	int			ret;

	tsk_search_path_pop(nest_level);
	ret = SPI_finish();
	if (ret != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed: %s", SPI_result_code_string(ret));
}
