/*
 * quote.h
 *	  The JSON quote reader of the poll worker, in plain C: the price, the
 *	  quantity and the time of one quote, found at dotted paths ("c",
 *	  "data.price", "0.c" for arrays) of an HTTP response body.
 *
 * Invariants: no Postgres headers (fuzzed on its own, test/fuzz/fuzz_quote.c);
 * the body is untrusted: any length, any bytes; errors are messages in a
 * caller's buffer, always NUL-terminated; a path segment longer than
 * TSK_QUOTE_SEGMENT_MAX or an array index beyond TSK_QUOTE_INDEX_MAX matches
 * nothing.
 */
#ifndef TSK_QUOTE_H
#define TSK_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define TSK_QUOTE_SEGMENT_MAX 255
#define TSK_QUOTE_INDEX_MAX 1000000

/* Where a quote's fields are; NULL qty: 0, NULL ts: the time of receipt. */
typedef struct tsk_quote_paths
{
	const char *price;
	const char *qty;
	const char *ts;
	int64_t		ts_unit_us;		/* µs per unit of the ts field (1, 1000, 1000000) */
} tsk_quote_paths;

typedef struct tsk_quote
{
	double		price;			/* > 0, finite */
	double		qty;			/* finite; 0 without a qty path */
	bool		has_ts;
	int64_t		ts_unix_us;		/* when has_ts: µs since 1970 */
} tsk_quote;

/* The item at a dotted path, or NULL. */
extern const cJSON *tsk_json_path(const cJSON *root, const char *path);

/* A JSON number, or a string holding one; false otherwise (or not finite). */
extern bool tsk_json_number(const cJSON *item, double *out);

/* Parse a quote body: 0, or -1 with a message in err. */
extern int	tsk_quote_parse(const char *body, size_t len, const tsk_quote_paths *paths, tsk_quote *q,
							char *err, size_t errlen);

#endif							/* TSK_QUOTE_H */
