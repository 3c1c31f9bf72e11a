/*
 * test_news.c
 *	  unit tests of the news cores without a server: the RSS/Atom reader on the
 *	  real feeds and on hostile input, HTML stripping, RFC 822 / RFC 3339
 *	  dates, and word-boundary symbol matching.
 *
 * Usage: test_news SHARED_DIR (reads SHARED_DIR/data/news/rss/).
 */
#include "news/feed_parse.h"
#include "news/symbols.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_check.h"

/*
 * read_file
 *	  Reads a whole file; NULL if missing.
 */
static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	if (buf == NULL || fread(buf, 1, n, f) != (size_t) n)
	{
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t) n;
	return buf;
}

/*
 * parse_count
 *	  Parses a string as a feed; returns the item count or -1.
 */
static long
parse_count(const char *xml, char *err, size_t errlen)
{
	feed_result	r;
	long		n = -1;

	if (tsk_feed_parse(xml, strlen(xml), &r))
		n = (long) r.n;
	else if (err != NULL)
		snprintf(err, errlen, "%s", r.error);
	tsk_feed_result_free(&r);
	return n;
}

/*
 * date_is
 *	  The date s parses to us microseconds since the epoch.
 */
static int
date_is(const char *s, long long us)
{
	int64_t		got;

	return tsk_feed_parse_date(s, &got) && got == us;
}

/*
 * has
 *	  Symbol matching helper: does text mention alias?
 */
static int
has(const char *text, const char *alias)
{
	return tsk_symbols_alias_occurs(text, strlen(text), alias, strlen(alias));
}

/*
 * main
 *	  Runs every test on the feeds of SHARED_DIR (argv[1]); exit status 1 on
 *	  any failure.
 */
int
main(int argc, char **argv)
{
	static const struct
	{
		const char *file;
		size_t		items;
	}			feeds[] = {{"coindesk_2025-12-12.rss", 25}, {"cointelegraph_2025-12-12.rss", 30},
		{"decrypt_2025-12-12.rss", 58}, {"prnewswire_news_releases_2025-12-13.rss", 20}};
	char		path[1024],
				err[256],
				out[256];
	size_t		len;

	for (size_t i = 0; i < 4 && argc > 1; i++)
	{
		feed_result	r;
		char	   *buf;
		size_t		dated = 0;

		snprintf(path, sizeof(path), "%s/data/news/rss/%s", argv[1], feeds[i].file);
		if ((buf = read_file(path, &len)) == NULL)
		{
			check(0, path);
			continue;
		}
		check(tsk_feed_parse(buf, len, &r) && r.n == feeds[i].items && r.skipped == 0, feeds[i].file);
		for (size_t k = 0; k < r.n; k++)
			dated += r.items[k].has_published && r.items[k].title != NULL;
		check(dated == feeds[i].items, "every real item has a title and a date");
		tsk_feed_result_free(&r);
		free(buf);
	}

	/* hostile input */
	check(parse_count("<rss><channel><item><title>x</channel>", err, sizeof(err)) == -1 &&
		  strstr(err, "malformed XML") != NULL, "malformed XML");
	check(parse_count("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><rss><channel>"
					  "<item><guid>a</guid><title>&x;</title></item></channel></rss>", err, sizeof(err)) == -1 &&
		  strstr(err, "entities") != NULL, "XXE refused");
	check(parse_count("<!DOCTYPE r [<!ENTITY % p SYSTEM \"http://127.0.0.1:1/x\"> %p;]><rss/>",
					  err, sizeof(err)) == -1, "parameter entity refused");
	check(parse_count("<html/>", err, sizeof(err)) == -1 && strstr(err, "not a feed") != NULL, "not a feed");
	check(parse_count("<rss><channel><item><title>no id</title></item></channel></rss>", NULL, 0) == 0,
		  "items without guid or link are skipped");
	check(parse_count("<feed xmlns='http://www.w3.org/2005/Atom'><entry><id>1</id></entry>"
					  "<entry><link href='https://x/2'/></entry></feed>", NULL, 0) == 2, "atom entries");

	/* HTML */
	tsk_feed_strip_html("<p>A &amp; B</p>\n<script>x()</script>  &#8217;C&rsquo; &bogus; &#0; <3",
					strlen("<p>A &amp; B</p>\n<script>x()</script>  &#8217;C&rsquo; &bogus; &#0; <3"), out);
	check(strcmp(out, "A & B \xe2\x80\x99" "C\xe2\x80\x99 &bogus; &#0; <3") == 0, "strip html");
	tsk_feed_strip_html("  <!-- c -->x&nbsp;&nbsp;y ", 27, out);
	check(strcmp(out, "x y") == 0, "comments, nbsp, trimming");

	/* dates */
	check(date_is("Fri, 12 Dec 2025 22:20:18 +0000", 1765578018000000LL), "rfc822 +0000");
	check(date_is("Fri, 12 Dec 2025 17:20:18 EST", 1765578018000000LL), "rfc822 EST");
	check(date_is("12 Dec 25 22:20 GMT", 1765578000000000LL), "rfc822 2-digit year, no seconds");
	check(date_is("2025-12-12T22:20:18Z", 1765578018000000LL), "rfc3339 Z");
	check(date_is("2025-12-12T23:20:18.5+01:00", 1765578018500000LL), "rfc3339 offset and fraction");
	check(date_is("2025-12-12", 1765497600000000LL), "date only");
	check(!date_is("2025-02-30T00:00:00Z", 0) && !date_is("yesterday", 0) && !date_is("", 0),
		  "invalid dates");

	/* symbols */
	check(has("Bitcoin's rally", "bitcoin") && has("buy $BTC now", "btc") && has("BTC-USD", "btc") &&
		  has("(BTC)", "btc") && has("BTC", "btc"), "word-boundary matches");
	check(!has("BTCUSD", "btc") && !has("ethereum", "ether") && !has("subtle", "btc") &&
		  !has("caf\xc3\xa9" "btc", "btc"), "no match inside words");
	check(has("Shiba \n Inu", "shiba inu") && !has("ShibaInu", "shiba inu"), "multi-word aliases");

	return unit_summary(NULL);
}
