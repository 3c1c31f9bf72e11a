/*
 * feed_parse.h
 *	  RSS 2.0 / RSS 1.0 (RDF) / Atom reader over libxml2 (pure C, no PostgreSQL
 *	  headers; SQL glue: parse_feed() in src/news/news_sql.c).
 *
 * Bytes in, plain malloc'd structs out.  Safety rules (the input comes from
 * the internet):
 *   - libxml2 runs with XML_PARSE_NONET and without XML_PARSE_NOENT,
 *     XML_PARSE_DTDLOAD, XML_PARSE_DTDATTR or XML_PARSE_HUGE, with an external
 *     entity loader that refuses everything while we parse: no file or
 *     network access, no entity substitution;
 *   - a document whose DOCTYPE declares any entity is refused outright (XXE
 *     and "billion laughs" payloads get a clear error, not a partial read);
 *   - only text and CDATA nodes are read, entity references are skipped;
 *   - fields are capped (FEED_MAX_*), items beyond FEED_MAX_ITEMS dropped.
 * Text fields are HTML-stripped (tags removed, script/style dropped),
 * HTML entities decoded, whitespace collapsed; always valid UTF-8.
 *
 * Items: guid = <guid> (RSS) / <id> (Atom) / rdf:about (RSS 1.0), else the
 * link; items with neither are counted in skipped.  published = pubDate
 * (RFC 822) or dc:date / published / updated (RFC 3339).
 */
#ifndef TRIGGERSTOCK_FEED_PARSE_H
#define TRIGGERSTOCK_FEED_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FEED_MAX_ITEMS    100000
#define FEED_MAX_TITLE    2000		/* bytes, cut at a UTF-8 boundary */
#define FEED_MAX_SUMMARY  8000
#define FEED_MAX_ID       2000		/* longer guids/links: item skipped */

typedef struct feed_item
{
	char	   *guid;			/* never NULL */
	char	   *title;			/* NULL when absent */
	char	   *summary;
	char	   *link;
	bool		has_published;
	int64_t		published_us;	/* microseconds since 1970-01-01 UTC */
} feed_item;

typedef struct feed_result
{
	feed_item   *items;
	size_t		n;
	size_t		skipped;		/* items without usable guid or link */
	const char *format;			/* "rss", "rdf" or "atom" */
	char		error[256];		/* set when tsk_feed_parse() returns false */
} feed_result;

/*
 * Parses buf[0..len).  Returns true and fills *out, or false with
 * out->error set (and no items).  Always call tsk_feed_result_free() after.
 */
extern bool tsk_feed_parse(const char *buf, size_t len, feed_result *out);

/* Frees what tsk_feed_parse() allocated; *r is zeroed. */
extern void tsk_feed_result_free(feed_result *r);

/*
 * Strips HTML from in[0..len) into out (room for len + 1 bytes), decodes
 * entities and collapses whitespace; returns the output length (out is
 * NUL-terminated).  The output never exceeds the input length.
 */
extern size_t tsk_feed_strip_html(const char *in, size_t len, char *out);

/*
 * Parses an RFC 822 / RFC 1123 date ("Fri, 12 Dec 2025 22:20:18 +0000",
 * zone names GMT/UT/UTC/Z/EST..PDT) or an RFC 3339 one
 * ("2025-12-12T22:20:18.5Z", "+01:00", date only = midnight UTC).
 */
extern bool tsk_feed_parse_date(const char *s, int64_t *us);

#endif							/* TRIGGERSTOCK_FEED_PARSE_H */
