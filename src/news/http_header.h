/*
 * http_header.h
 *	  The response headers the poll worker keeps, in plain C: ETag and
 *	  Last-Modified of the final response (for the next conditional GET),
 *	  and for backfill jobs Retry-After and X-MBX-USED-WEIGHT-1M (rate
 *	  limits), read one header line at a time as libcurl hands them over.
 *
 * Invariants: no Postgres headers, no allocation (safe in a curl callback,
 * fuzzed on its own, test/fuzz/fuzz_http_header.c); the line is untrusted:
 * any length, any bytes, not NUL-terminated; every value is always
 * NUL-terminated, shorter than TSK_HTTP_HEADER_LEN and free of control
 * characters (they go back to the server in a request header, so a CR or
 * LF in them could forge headers): a value that is too long or holds one
 * is dropped.
 */
#ifndef TSK_HTTP_HEADER_H
#define TSK_HTTP_HEADER_H

#include <stddef.h>

#define TSK_HTTP_HEADER_LEN 256

typedef struct tsk_http_validators
{
	char		etag[TSK_HTTP_HEADER_LEN];
	char		last_modified[TSK_HTTP_HEADER_LEN];
	char		retry_after[TSK_HTTP_HEADER_LEN];	/* backfills: rate limits */
	char		used_weight[TSK_HTTP_HEADER_LEN];	/* X-MBX-USED-WEIGHT-1M */
} tsk_http_validators;

/*
 * One header line of n bytes: a status line ("HTTP/...") starts a new
 * response and forgets every value (redirects); "ETag:", "Last-Modified:",
 * "Retry-After:" and "X-MBX-USED-WEIGHT-1M:" (any case) are kept, trimmed.
 */
extern void tsk_http_header_line(tsk_http_validators *v, const char *data, size_t n);

#endif							/* TSK_HTTP_HEADER_H */
