/*
 * civil_time.h
 *	  The calendar arithmetic of the pure-C parsers (exchange decoders, the
 *	  feed reader): days between 1970-01-01 and a proleptic Gregorian date.
 *
 * Invariants: plain C, no Postgres headers (the glue converts Unix time to
 * TimestampTz with common/unix_time.h); exact for every year an int64 holds
 * (H. Hinnant's days_from_civil); the caller validates month and day.
 */
#ifndef TSK_CIVIL_TIME_H
#define TSK_CIVIL_TIME_H

#include <stdint.h>

/*
 * tsk_days_from_civil
 *	  Days from 1970-01-01 to y-m-d (negative before it), m in 1..12.
 */
static inline int64_t
tsk_days_from_civil(int64_t y, int m, int d)
{
	int64_t		era,
				yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

#endif							/* TSK_CIVIL_TIME_H */
