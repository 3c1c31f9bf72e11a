/*
 * bytebuf.h
 *	  A growable malloc'd byte buffer, and the growth rule of malloc'd
 *	  arrays, for code that must not palloc: libcurl and libwebsockets
 *	  callbacks, the ingest worker's batch, pure-C cores and unit tests.
 *
 * Invariants:
 *	- plain C, no Postgres headers: safe inside library callbacks (no
 *	  palloc, no ereport, no longjmp); failures are flags and return values;
 *	- data is NUL-terminated after every successful append (one byte past
 *	  len), so a text body can be parsed in place;
 *	- len never exceeds max (0: no limit but the address space); an append
 *	  that would is refused whole and sets too_large; a failed realloc sets
 *	  failed_alloc; either way the buffer keeps what it had;
 *	- sizes are checked for overflow before any arithmetic that could wrap.
 */
#ifndef TSK_BYTEBUF_H
#define TSK_BYTEBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tsk_bytebuf
{
	char	   *data;			/* malloc'd, NULL until the first append */
	size_t		len;			/* bytes held (the NUL not counted) */
	size_t		cap;			/* bytes allocated */
	size_t		max;			/* most bytes it may hold; 0 = no limit */
	bool		too_large;		/* an append was refused: past max */
	bool		failed_alloc;	/* an append was refused: out of memory */
} tsk_bytebuf;

extern size_t tsk_grow_capacity(size_t cap, size_t need);
extern void *tsk_realloc_array(void *p, size_t nmemb, size_t size);

extern bool tsk_bytebuf_append(tsk_bytebuf *buf, const void *data, size_t n);
extern void tsk_bytebuf_reset(tsk_bytebuf *buf);
extern void tsk_bytebuf_free(tsk_bytebuf *buf);
extern size_t tsk_bytebuf_curl_write(char *data, size_t size, size_t nmemb, void *userdata);

#endif							/* TSK_BYTEBUF_H */
