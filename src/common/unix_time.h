/*
 * unix_time.h
 *	  The one conversion between Unix time (µs since 1970-01-01 UTC, what
 *	  the decoders, the feed reader and the quote parser produce) and
 *	  TimestampTz (µs since 2000-01-01 UTC), for the Postgres glue.
 *
 * Invariants: the shift is derived from PostgreSQL's own constants
 * (POSTGRES_EPOCH_JDATE, UNIX_EPOCH_JDATE, SECS_PER_DAY, USECS_PER_SEC),
 * never written as a literal; include after postgres.h.
 */
#ifndef TSK_UNIX_TIME_H
#define TSK_UNIX_TIME_H

#include "datatype/timestamp.h"

/* µs from the Unix epoch to the Postgres epoch: 946684800000000. */
#define TSK_UNIX_EPOCH_SHIFT_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC)

/*
 * tsk_timestamptz_from_unix_us
 *	  The TimestampTz of a Unix time in µs.
 */
static inline TimestampTz
tsk_timestamptz_from_unix_us(int64 unix_us)
{
	return (TimestampTz) (unix_us - TSK_UNIX_EPOCH_SHIFT_US);
}

/*
 * tsk_unix_us_from_timestamptz
 *	  The Unix time in µs of a TimestampTz.
 */
static inline int64
tsk_unix_us_from_timestamptz(TimestampTz ts)
{
	return (int64) ts + TSK_UNIX_EPOCH_SHIFT_US;
}

#endif							/* TSK_UNIX_TIME_H */
