/*
 * subxact.c
 *	  fn(arg) in an internal subtransaction, its ERROR returned instead of
 *	  raised (see subxact.h for the invariants), as PL/pgSQL's exception
 *	  blocks and worker_spi-style loops do it.
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "subxact.h"

/*
 * tsk_subxact_try
 *	  See subxact.h.  fn runs in the caller's memory context, so that what
 *	  it returns through arg outlives the subtransaction.
 */
ErrorData *
tsk_subxact_try(void (*fn) (void *arg), void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return edata;
}
