/*
 * direct_read.h
 *	  Reading a row of the extension's tables without SPI: the lookups on
 *	  predict()'s path (deployment, model, completeness probes), where
 *	  parsing and planning a statement would cost more than the read.
 *
 * Invariants:
 *	- a direct read checks what a query would: USAGE on schema
 *	  triggerstock and SELECT on the table, for the current user, with the
 *	  errors a query raises;
 *	- where row-level security applies to the caller, the caller reads
 *	  through SPI instead (the executor applies the policies): the direct
 *	  path never shows a row a query would hide;
 *	- reads use the active snapshot (the transaction snapshot when none
 *	  is active), as a read-only SPI statement does.
 */
#ifndef TSK_DIRECT_READ_H
#define TSK_DIRECT_READ_H

#include "postgres.h"

#include "access/skey.h"
#include "executor/tuptable.h"
#include "utils/relcache.h"

/*
 * triggerstock.relname for a read by the current user: ERROR (as a query
 * raises it) without USAGE on the schema or SELECT on the table; false in
 * *direct when row-level security applies (read through SPI then).
 */
extern Oid	tsk_direct_table(const char *relname, bool *direct);

/*
 * The OID of triggerstock.relname (schema's OID in *nsp), InvalidOid when
 * either is missing; no privilege is checked.
 */
extern Oid	tsk_direct_lookup(const char *relname, Oid *nsp);

/* The first tuple of an index scan with keys, in direction dir, into slot. */
extern bool tsk_direct_first(Relation heap, Relation index, ScanKey keys, int nkeys,
							 bool backward, TupleTableSlot *slot);

/* The same, the first tuple that accept(slot, arg) takes. */
typedef bool (*tsk_direct_accept) (TupleTableSlot *slot, void *arg);
extern bool tsk_direct_first_where(Relation heap, Relation index, ScanKey keys, int nkeys,
								   bool backward, TupleTableSlot *slot,
								   tsk_direct_accept accept, void *arg);

/* The attribute number of column name of heap (ERROR if it is gone). */
extern AttrNumber tsk_direct_column(Relation heap, const char *name);

#endif							/* TSK_DIRECT_READ_H */
