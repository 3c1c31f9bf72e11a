/*
 * idgap.c
 *	  trade-id gap tracking (triggerstock; see idgap.h).
 *
 * Invariants: see idgap.h; memory is malloc'd (the ingest worker's batch
 * memory is malloc'd too), freed by tsk_idgap_free.
 */
#include "backfill/idgap.h"

#include <stdlib.h>
#include <string.h>

/*
 * tsk_idgap_init
 *	  See idgap.h.
 */
bool
tsk_idgap_init(tsk_idgap_tracker *t, int ninstruments, int cap)
{
	memset(t, 0, sizeof(*t));
	if (ninstruments < 0 || cap < 1)
		return false;
	t->high_id = malloc(sizeof(int64_t) * (size_t) (ninstruments + 1));
	t->high_us = malloc(sizeof(int64_t) * (size_t) (ninstruments + 1));
	t->gaps = malloc(sizeof(tsk_idgap) * (size_t) cap);
	if (t->high_id == NULL || t->high_us == NULL || t->gaps == NULL)
	{
		tsk_idgap_free(t);
		return false;
	}
	for (int i = 0; i < ninstruments; i++)
		t->high_id[i] = t->high_us[i] = -1;
	t->ninstruments = ninstruments;
	t->cap = cap;
	return true;
}

/*
 * tsk_idgap_free
 *	  See idgap.h.
 */
void
tsk_idgap_free(tsk_idgap_tracker *t)
{
	free(t->high_id);
	free(t->high_us);
	free(t->gaps);
	memset(t, 0, sizeof(*t));
}

/*
 * tsk_idgap_seed
 *	  See idgap.h.
 */
void
tsk_idgap_seed(tsk_idgap_tracker *t, int instrument, int64_t id, int64_t ts_us)
{
	if (instrument < 0 || instrument >= t->ninstruments || id < 0)
		return;
	if (id > t->high_id[instrument])
	{
		t->high_id[instrument] = id;
		t->high_us[instrument] = ts_us;
	}
}

/*
 * tsk_idgap_observe
 *	  See idgap.h.
 */
bool
tsk_idgap_observe(tsk_idgap_tracker *t, int instrument, int64_t id, int64_t ts_us)
{
	int64_t		high;
	bool		gap;

	if (instrument < 0 || instrument >= t->ninstruments || id < 0)
		return false;
	high = t->high_id[instrument];
	if (id <= high)
		return false;			/* a replay or an overlap */
	gap = high >= 0 && id > high + 1;
	if (gap && t->ngaps < t->cap)
	{
		tsk_idgap  *g = &t->gaps[t->ngaps++];

		g->instrument = instrument;
		g->first_id = high + 1;
		g->last_id = id - 1;
		g->after_us = t->high_us[instrument];
		g->before_us = ts_us;
	}
	else if (gap)
		t->dropped++;
	t->high_id[instrument] = id;
	t->high_us[instrument] = ts_us;
	return gap;
}

/*
 * tsk_idgap_take
 *	  See idgap.h.
 */
void
tsk_idgap_take(tsk_idgap_tracker *t, int n)
{
	if (n <= 0)
		return;
	if (n >= t->ngaps)
	{
		t->ngaps = 0;
		return;
	}
	memmove(t->gaps, t->gaps + n, sizeof(tsk_idgap) * (size_t) (t->ngaps - n));
	t->ngaps -= n;
}
