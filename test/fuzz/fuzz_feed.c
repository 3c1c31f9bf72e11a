/*
 * fuzz_feed.c
 *	  libFuzzer target for the RSS/Atom reader, the HTML stripper, the date
 *	  parser and the symbol matcher.
 *
 * Input: the whole buffer is parsed as a feed; the same bytes go through
 * tsk_feed_strip_html (whose output must never be longer than its input),
 * tsk_feed_parse_date (NUL-terminated copy) and tsk_symbols_match with a few aliases.
 * Every item of a parsed feed must have a guid and fields within the caps.
 *
 * Build and run: make fuzz (clang -fsanitize=fuzzer,address,undefined).
 */
#include "news/feed_parse.h"
#include "news/symbols.h"

#include <stdlib.h>
#include <string.h>

/*
 * LLVMFuzzerTestOneInput
 *	  libFuzzer entry point: see the banner.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const symbol_alias aliases[] = {{"bitcoin", 7, 0}, {"btc", 3, 0}, {"shiba inu", 9, 1}};
	feed_result	r;
	char	   *buf = malloc(size + 1);
	int64_t		us;
	bool		found[2] = {false, false};

	if (buf == NULL)
		return 0;
	if (tsk_feed_parse((const char *) data, size, &r))
	{
		for (size_t i = 0; i < r.n; i++)
			if (r.items[i].guid == NULL || strlen(r.items[i].guid) > FEED_MAX_ID ||
				(r.items[i].title && strlen(r.items[i].title) > FEED_MAX_TITLE) ||
				(r.items[i].summary && strlen(r.items[i].summary) > FEED_MAX_SUMMARY))
				abort();
	}
	else if (r.error[0] == '\0')
		abort();
	tsk_feed_result_free(&r);

	if (tsk_feed_strip_html((const char *) data, size, buf) > size)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	(void) tsk_feed_parse_date(buf, &us);
	(void) tsk_symbols_match(buf, size, aliases, 3, found, 2);
	free(buf);
	return 0;
}
