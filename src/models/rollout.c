/*
 * rollout.c
 *	  Canary rollouts (issue 15): which scored buckets a canary candidate
 *	  serves in predict(), and the explanation predict_explain() gives.
 *
 * Invariants:
 *	- the choice is a pure function of (symbol, target, scored bucket) and
 *	  the canary's fraction: the share of a bucket is the first 32 bits of
 *	  md5(symbol || ' ' || target || ' ' || epoch seconds of the bucket),
 *	  read as a big-endian unsigned integer, divided by 2^32; the canary
 *	  serves the bucket iff share < fraction.  The SQL function
 *	  rollout_canary_share() (src/models/rollout.sql) computes the same
 *	  share in SQL, so anyone can tell which buckets a canary served, and
 *	  predict()'s answer for a bucket never depends on which session or
 *	  call asks (a cache of predictions keyed by (symbol, target, bucket)
 *	  stays true);
 *	- a canary serves only a bucket of its own question (same width,
 *	  horizon and target as the live model; deploy() refuses another, and
 *	  predict() checks it again); when it cannot answer, the fallback
 *	  levels follow as they would for the live model.
 */
#include "postgres.h"

#include <math.h>

#include "common/md5.h"
#include "datatype/timestamp.h"
#include "utils/datetime.h"

#include "models/model.h"

/*
 * tsk_rollout_canary_share
 *	  See model.h and the file header; NaN when md5 fails (out of memory
 *	  in a FIPS build): the canary then serves nothing.
 */
double
tsk_rollout_canary_share(const char *symbol, const char *target, TimestampTz bucket)
{
	/* epoch seconds (Unix), floored: buckets are whole minutes */
	int64		secs = bucket / USECS_PER_SEC - (bucket % USECS_PER_SEC < 0 ? 1 : 0)
		+ (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	char	   *key = psprintf("%s %s " INT64_FORMAT, symbol, target, secs);
	char		hex[33];
	const char *errstr = NULL;
	uint32		v = 0;

	if (!pg_md5_hash(key, strlen(key), hex, &errstr))
	{
		pfree(key);
		return NAN;
	}
	pfree(key);
	for (int i = 0; i < 8; i++)
	{
		char		c = hex[i];

		v = (v << 4) | (uint32) (c >= 'a' ? c - 'a' + 10 : c - '0');
	}
	return (double) v / 4294967296.0;
}
