/*
 * direct_read.c
 *	  Reading a row of the extension's tables without SPI (direct_read.h):
 *	  the privilege checks a query would make, one index scan, column
 *	  lookups by name.
 *
 * Invariants: see direct_read.h.  Nothing here keeps state between calls:
 * relation OIDs are looked up per call (two syscache probes), so a
 * dropped and re-created extension is never read through stale OIDs.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "direct_read.h"

/*
 * tsk_direct_lookup
 *	  See direct_read.h.
 */
Oid
tsk_direct_lookup(const char *relname, Oid *nsp)
{
	*nsp = get_namespace_oid("triggerstock", true);
	return OidIsValid(*nsp) ? get_relname_relid(relname, *nsp) : InvalidOid;
}

/*
 * tsk_direct_table
 *	  See direct_read.h.
 */
Oid
tsk_direct_table(const char *relname, bool *direct)
{
	Oid			nsp;
	Oid			relid = tsk_direct_lookup(relname, &nsp);
	AclResult	acl;

	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_SCHEMA),
				 errmsg("schema \"triggerstock\" does not exist")));
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"triggerstock.%s\" does not exist", relname)));
	acl = pg_namespace_aclcheck(nsp, GetUserId(), ACL_USAGE);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_SCHEMA, "triggerstock");
	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, relname);
	*direct = check_enable_rls(relid, InvalidOid, true) != RLS_ENABLED;
	return relid;
}

/*
 * tsk_direct_first_where
 *	  See direct_read.h.
 */
bool
tsk_direct_first_where(Relation heap, Relation index, ScanKey keys, int nkeys, bool backward,
					   TupleTableSlot *slot, tsk_direct_accept accept, void *arg)
{
	Snapshot	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	IndexScanDesc scan = index_beginscan(heap, index, snapshot, nkeys, 0);
	bool		found;

	index_rescan(scan, keys, nkeys, NULL, 0);
	while ((found = index_getnext_slot(scan, backward ? BackwardScanDirection : ForwardScanDirection,
									   slot)) && accept != NULL && !accept(slot, arg))
		CHECK_FOR_INTERRUPTS();
	index_endscan(scan);
	return found;
}

/*
 * tsk_direct_first
 *	  See direct_read.h.
 */
bool
tsk_direct_first(Relation heap, Relation index, ScanKey keys, int nkeys, bool backward,
				 TupleTableSlot *slot)
{
	return tsk_direct_first_where(heap, index, keys, nkeys, backward, slot, NULL, NULL);
}

/*
 * tsk_direct_column
 *	  See direct_read.h.
 */
AttrNumber
tsk_direct_column(Relation heap, const char *name)
{
	AttrNumber	att = attnameAttNum(heap, name, false);

	if (att <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of triggerstock.%s does not exist", name,
						RelationGetRelationName(heap)),
				 errhint("Reinstall the extension: the table was altered.")));
	return att;
}
