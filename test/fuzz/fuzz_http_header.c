/*
 * fuzz_http_header.c
 *	  libFuzzer target for the poll worker's response header reader
 *	  (src/news/http_header.c: tsk_http_header_line).
 *
 * Input: header lines, split after each '\n' (the last one may lack it),
 * handed over as libcurl does (not NUL-terminated).  After every line all
 * kept values must be NUL-terminated, shorter than TSK_HTTP_HEADER_LEN and
 * free of control characters.
 *
 * Build and run: make fuzz (clang -fsanitize=fuzzer,address,undefined).
 */
#include "news/http_header.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * header_clean
 *	  True if s is a proper kept value.
 */
static int
header_clean(const char *s)
{
	const char *end = memchr(s, '\0', TSK_HTTP_HEADER_LEN);

	if (end == NULL)
		return 0;
	for (const char *p = s; p < end; p++)
		if ((unsigned char) *p < 0x20 || (unsigned char) *p == 0x7f)
			return 0;
	return 1;
}

/*
 * LLVMFuzzerTestOneInput
 *	  libFuzzer entry point: see the banner.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsk_http_validators v;
	size_t		i = 0;

	memset(&v, 0, sizeof(v));
	while (i < size)
	{
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t		n = nl ? (size_t) (nl - (data + i)) + 1 : size - i;
		/* a copy of exactly n bytes: ASan sees any read past the line */
		char	   *line = malloc(n);

		if (line == NULL)
			return 0;
		memcpy(line, data + i, n);
		tsk_http_header_line(&v, line, n);
		free(line);
		if (!header_clean(v.etag) || !header_clean(v.last_modified) ||
			!header_clean(v.retry_after) || !header_clean(v.used_weight))
			abort();
		i += n;
	}
	return 0;
}
