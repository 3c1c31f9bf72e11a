/*
 * bytebuf.c
 *	  The growable malloc'd byte buffer (see bytebuf.h): the receive
 *	  buffers of the WebSocket client and of both libcurl clients, and the
 *	  growth rule of the ingest worker's arrays.
 *
 * Invariants: see bytebuf.h.  Capacities double (at least 4096 bytes for a
 * buffer), so n appends cost O(n) copies in total.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytebuf.h"

/* The smallest allocation of a byte buffer. */
#define BYTEBUF_MIN_CAP 4096

/*
 * tsk_grow_capacity
 *	  The capacity to grow to from cap so that need items fit: twice cap,
 *	  or need if that is more.  0 if need cannot be doubled-to safely
 *	  (the caller reports out of memory).
 */
size_t
tsk_grow_capacity(size_t cap, size_t need)
{
	size_t		grown;

	if (need > SIZE_MAX / 4)
		return 0;
	grown = cap > SIZE_MAX / 4 ? need : cap * 2;
	return grown > need ? grown : need;
}

/*
 * tsk_realloc_array
 *	  realloc p to nmemb items of size bytes; NULL (p untouched) when out of
 *	  memory, when nmemb * size overflows, or when it is 0 (realloc(p, 0)
 *	  would free p).
 */
void *
tsk_realloc_array(void *p, size_t nmemb, size_t size)
{
	if (nmemb == 0 || size == 0 || nmemb > SIZE_MAX / size)
		return NULL;
	return realloc(p, nmemb * size);
}

/*
 * tsk_bytebuf_append
 *	  Append n bytes and a terminating NUL; false (nothing appended, a flag
 *	  set) past max or when out of memory.
 */
bool
tsk_bytebuf_append(tsk_bytebuf *buf, const void *data, size_t n)
{
	size_t		limit = buf->max != 0 ? buf->max : SIZE_MAX / 4;

	if (n > limit || buf->len > limit - n)
	{
		buf->too_large = true;
		return false;
	}
	if (buf->len + n + 1 > buf->cap)
	{
		size_t		cap = tsk_grow_capacity(buf->cap, buf->len + n + 1);
		char	   *p;

		if (cap != 0 && cap < BYTEBUF_MIN_CAP)
			cap = BYTEBUF_MIN_CAP;
		if (cap == 0 || (p = realloc(buf->data, cap)) == NULL)
		{
			buf->failed_alloc = true;
			return false;
		}
		buf->data = p;
		buf->cap = cap;
	}
	if (n > 0)
		memcpy(buf->data + buf->len, data, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
	return true;
}

/*
 * tsk_bytebuf_reset
 *	  Empty the buffer and clear its flags; the memory stays for reuse.
 */
void
tsk_bytebuf_reset(tsk_bytebuf *buf)
{
	buf->len = 0;
	if (buf->data != NULL)
		buf->data[0] = '\0';
	buf->too_large = false;
	buf->failed_alloc = false;
}

/*
 * tsk_bytebuf_free
 *	  Free the memory; the buffer is empty again and keeps its max.
 */
void
tsk_bytebuf_free(tsk_bytebuf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->too_large = false;
	buf->failed_alloc = false;
}

/*
 * tsk_bytebuf_curl_write
 *	  A CURLOPT_WRITEFUNCTION whose CURLOPT_WRITEDATA is a tsk_bytebuf:
 *	  returning less than given aborts the transfer (CURLE_WRITE_ERROR);
 *	  the buffer's flags say why.
 */
size_t
tsk_bytebuf_curl_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	tsk_bytebuf *buf = (tsk_bytebuf *) userdata;

	if (size != 0 && nmemb > SIZE_MAX / size)
	{
		buf->too_large = true;
		return 0;
	}
	return tsk_bytebuf_append(buf, data, size * nmemb) ? size * nmemb : 0;
}
