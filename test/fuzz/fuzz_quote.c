/*
 * fuzz_quote.c
 *	  libFuzzer target for the poll worker's JSON quote reader
 *	  (src/news/quote.c: tsk_quote_parse, tsk_json_path).
 *
 * Input: a first line "price|qty|ts|unit" (empty qty or ts: none; unit s,
 * ms or us) of dotted paths, then the body.  A parsed quote must have a
 * positive finite price, a finite qty and a time within the accepted range;
 * a failure must leave a NUL-terminated message.  The paths are also
 * walked over the body on their own.
 *
 * Build and run: make fuzz (clang -fsanitize=fuzzer,address,undefined).
 */
#include "news/quote.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * LLVMFuzzerTestOneInput
 *	  libFuzzer entry point: see the banner.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t		head = nl ? (size_t) (nl - (const char *) data) : 0;
	char	   *spec = malloc(head + 1);
	char	   *field[4] = {"c", NULL, "t", "s"};
	char		err[128];
	tsk_quote	q;
	tsk_quote_paths paths;
	const char *body = nl ? nl + 1 : (const char *) data;
	size_t		blen = size - (size_t) (body - (const char *) data);

	if (spec == NULL)
		return 0;
	memcpy(spec, data, head);
	spec[head] = '\0';
	if (nl != NULL)
	{
		char	   *p = spec;

		for (int k = 0; k < 4 && p != NULL; k++)
		{
			char	   *bar = strchr(p, '|');

			if (bar)
				*bar = '\0';
			field[k] = p[0] ? p : NULL;
			p = bar ? bar + 1 : NULL;
		}
	}
	paths.price = field[0] ? field[0] : "c";
	paths.qty = field[1];
	paths.ts = field[2];
	paths.ts_unit_us = field[3] && strcmp(field[3], "ms") == 0 ? 1000 :
		field[3] && strcmp(field[3], "us") == 0 ? 1 : 1000000;
	memset(err, 'x', sizeof(err));
	if (tsk_quote_parse(body, blen, &paths, &q, err, sizeof(err)) == 0)
	{
		if (!(q.price > 0) || !isfinite(q.price) || !isfinite(q.qty) ||
			(q.has_ts && (q.ts_unix_us <= 0 || q.ts_unix_us > (int64_t) 4e15)))
			abort();
	}
	else if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
		abort();
	{
		cJSON	   *root = cJSON_ParseWithLength(body, blen);
		double		d;

		if (root != NULL)
		{
			(void) tsk_json_number(tsk_json_path(root, paths.price), &d);
			if (paths.ts)
				(void) tsk_json_path(root, paths.ts);
			cJSON_Delete(root);
		}
	}
	free(spec);
	return 0;
}
