/*
 * unit_check.h
 *	  The check counter of the small unit tests: check(ok, what) records one
 *	  check and prints what failed; unit_summary() prints the last line every
 *	  unit test prints, "N passed, N failed", and gives the exit status.
 *
 * Invariants: header-only and static, so each test program has its own
 * counts; no allocation.
 */
#ifndef UNIT_CHECK_H
#define UNIT_CHECK_H

#include <stdio.h>

static int	unit_passed,
			unit_failed;

/*
 * check
 *	  Records one check; prints it only when it fails.
 */
static inline void
check(int ok, const char *what)
{
	if (ok)
		unit_passed++;
	else
	{
		unit_failed++;
		printf("FAIL: %s\n", what);
	}
}

/*
 * unit_summary
 *	  Prints "[prefix: ]N passed, N failed"; returns the exit status (1 on
 *	  any failure).
 */
static inline int
unit_summary(const char *prefix)
{
	if (prefix != NULL)
		printf("%s: ", prefix);
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed == 0 ? 0 : 1;
}

#endif							/* UNIT_CHECK_H */
