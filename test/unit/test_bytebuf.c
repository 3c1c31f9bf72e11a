/*
 * test_bytebuf.c
 *	  unit tests of the growable byte buffer (common/bytebuf.c): appends of
 *	  every size up to and past the limit, the NUL after the data, reset and
 *	  free, the curl write callback (including a size * nmemb that overflows),
 *	  the growth rule and the overflow checks of tsk_realloc_array. Each check
 *	  compares against an independent copy built with plain arrays.
 *
 * Usage: test_bytebuf [SHARED_DIR] (the argument is ignored).
 */
#include "common/bytebuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_check.h"

/*
 * test_appends
 *	  Appends of 0..300 bytes, 2000 times, against a plain reference copy.
 */
static void
test_appends(void)
{
	tsk_bytebuf buf = {0};
	size_t		reflen = 0;
	unsigned char *ref = malloc(2000 * 300);
	unsigned char chunk[300];
	int			ok = 1;

	srand(42);
	for (int i = 0; i < 2000 && ref != NULL; i++)
	{
		size_t		n = (size_t) (rand() % 300);

		for (size_t k = 0; k < n; k++)
			chunk[k] = (unsigned char) rand();
		ok &= tsk_bytebuf_append(&buf, chunk, n);
		memcpy(ref + reflen, chunk, n);
		reflen += n;
		ok &= buf.len == reflen && buf.cap > buf.len && buf.data[buf.len] == '\0';
	}
	check(ref != NULL && ok, "2000 appends: length, capacity and the NUL after the data");
	check(ref != NULL && memcmp(buf.data, ref, reflen) == 0, "2000 appends: the bytes equal the reference");
	check(!buf.too_large && !buf.failed_alloc, "no flag set");
	tsk_bytebuf_reset(&buf);
	check(buf.len == 0 && buf.data != NULL && buf.data[0] == '\0' && buf.cap >= reflen,
		  "reset empties and keeps the memory");
	tsk_bytebuf_free(&buf);
	check(buf.len == 0 && buf.cap == 0 && buf.data == NULL, "free");
	check(tsk_bytebuf_append(&buf, "", 0) && buf.data != NULL && buf.len == 0 && buf.data[0] == '\0',
		  "an empty append gives an empty NUL-terminated string");
	tsk_bytebuf_free(&buf);
	free(ref);
}

/*
 * test_limit
 *	  The limit: an append that would pass max is refused whole.
 */
static void
test_limit(void)
{
	tsk_bytebuf buf = {0};

	buf.max = 10;
	check(tsk_bytebuf_append(&buf, "0123456", 7), "7 of 10 bytes");
	check(!tsk_bytebuf_append(&buf, "7890", 4) && buf.too_large, "4 more refused: past max");
	check(buf.len == 7 && memcmp(buf.data, "0123456", 8) == 0, "the refused append left the buffer as it was");
	check(tsk_bytebuf_append(&buf, "789", 3) && buf.len == 10, "exactly max is accepted");
	check(!tsk_bytebuf_append(&buf, "x", 1), "one past max is refused");
	check(!tsk_bytebuf_append(&buf, "x", SIZE_MAX), "SIZE_MAX bytes refused without overflow");
	tsk_bytebuf_reset(&buf);
	check(!buf.too_large && buf.max == 10, "reset clears the flag, keeps max");
	tsk_bytebuf_free(&buf);
}

/*
 * test_curl_write
 *	  The curl write callback: returns what it took, 0 to abort.
 */
static void
test_curl_write(void)
{
	tsk_bytebuf buf = {0};
	char		data[64];

	memset(data, 'a', sizeof(data));
	buf.max = 100;
	check(tsk_bytebuf_curl_write(data, 1, 64, &buf) == 64, "64 bytes taken");
	check(tsk_bytebuf_curl_write(data, 8, 4, &buf) == 32 && buf.len == 96, "8 * 4 bytes taken");
	check(tsk_bytebuf_curl_write(data, 1, 5, &buf) == 0 && buf.too_large && buf.len == 96,
		  "past max: 0 returned (aborts the transfer), too_large set");
	tsk_bytebuf_reset(&buf);
	check(tsk_bytebuf_curl_write(data, SIZE_MAX / 2, 4, &buf) == 0 && buf.too_large,
		  "size * nmemb overflowing: refused");
	tsk_bytebuf_free(&buf);
}

/*
 * test_growth
 *	  The growth rule and the array reallocation.
 */
static void
test_growth(void)
{
	int		   *a;

	check(tsk_grow_capacity(0, 10) == 10, "from 0: need");
	check(tsk_grow_capacity(100, 10) == 200, "doubles");
	check(tsk_grow_capacity(100, 1000) == 1000, "need when more than double");
	check(tsk_grow_capacity(SIZE_MAX / 2, 10) == 10, "a capacity that cannot double: need");
	check(tsk_grow_capacity(0, SIZE_MAX / 2) == 0, "a need too large: 0");
	a = tsk_realloc_array(NULL, 1000, sizeof(int));
	check(a != NULL, "1000 ints");
	if (a != NULL)
	{
		for (int i = 0; i < 1000; i++)
			a[i] = i;
		a = tsk_realloc_array(a, 2000, sizeof(int));
		check(a != NULL && a[999] == 999, "grown to 2000, contents kept");
	}
	check(tsk_realloc_array(a, SIZE_MAX / 2, 4) == NULL, "nmemb * size overflowing: NULL");
	check(tsk_realloc_array(a, 0, 4) == NULL, "0 items: NULL (the array is not freed)");
	check(a == NULL || a[0] == 0, "the array is untouched after a refused realloc");
	free(a);
}

/*
 * main
 *	  Runs every test; exit status 1 on any failure.
 */
int
main(void)
{
	test_appends();
	test_limit();
	test_curl_write();
	test_growth();
	return unit_summary("test_bytebuf");
}
