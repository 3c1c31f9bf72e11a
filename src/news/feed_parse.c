/*
 * feed_parse.c
 *	  RSS 2.0 / RSS 1.0 / Atom reader over libxml2 (see feed_parse.h for the
 *	  safety rules this file implements).
 *
 * Invariants: all memory is malloc'd and owned by the feed_result (freed by
 * tsk_feed_result_free, also after a failure); the libxml2 document and parser
 * context are freed before tsk_feed_parse returns; the process-wide external
 * entity loader is replaced only for the duration of the parse and restored.
 */
#include "news/feed_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/entities.h>
#include <libxml/hash.h>

/* Growable byte buffer for gathering an element's text. */
typedef struct feed_buf
{
	char	   *data;
	size_t		len,
				cap;
	bool		failed;			/* out of memory */
} feed_buf;

/*
 * feed_no_entity_loader
 *	  External entity loader installed while parsing: refuses every load, so
 *	  nothing outside the buffer is ever read.
 */
static xmlParserInputPtr
feed_no_entity_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void) url;
	(void) id;
	(void) ctxt;
	return NULL;
}

/*
 * feed_buf_append
 *	  Appends s[0..n) to b, up to limit bytes (the rest is dropped).
 */
static void
feed_buf_append(feed_buf *b, const char *s, size_t n, size_t limit)
{
	if (b->failed || b->len >= limit)
		return;
	if (n > limit - b->len)
		n = limit - b->len;
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap * 2 : 256;
		char	   *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->data, cap)) == NULL)
		{
			b->failed = true;
			return;
		}
		b->data = p, b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/*
 * feed_gather
 *	  Gathers the text and CDATA of node's descendants (entity references are
 *	  skipped: never substituted).
 */
static void
feed_gather(const xmlNode *node, feed_buf *b, size_t limit, int depth)
{
	for (const xmlNode *c = node->children; c != NULL && depth < 64; c = c->next)
	{
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
			feed_buf_append(b, (const char *) c->content, strlen((const char *) c->content), limit);
		else if (c->type == XML_ELEMENT_NODE)
		{
			feed_buf_append(b, " ", 1, limit);
			feed_gather(c, b, limit, depth + 1);
		}
	}
}

/*
 * feed_cut_utf8
 *	  Cuts s to at most max bytes at a UTF-8 character boundary.
 */
static void
feed_cut_utf8(char *s, size_t max)
{
	size_t		n = strlen(s);

	if (n <= max)
		return;
	while (max > 0 && ((unsigned char) s[max] & 0xC0) == 0x80)
		max--;
	s[max] = '\0';
}

/*
 * feed_text
 *	  Text of an element, HTML-stripped (strip) or only trimmed, capped at max
 *	  bytes; NULL when empty or out of memory (*oom set).
 */
static char *
feed_text(const xmlNode *node, bool strip, size_t max, bool *oom)
{
	feed_buf		b = {NULL, 0, 0, false};
	char	   *out;

	/* HTML shrinks when stripped: gather a bounded multiple of the cap */
	feed_gather(node, &b, max * 8 + 1024, 0);
	if (b.failed)
		return free(b.data), *oom = true, NULL;
	if (b.data == NULL)
		return NULL;
	if (strip)
		tsk_feed_strip_html(b.data, b.len, b.data);
	else
	{
		/* identifiers: trim whitespace only */
		size_t		s = 0,
					e = b.len;

		while (s < e && (b.data[s] == ' ' || b.data[s] == '\t' || b.data[s] == '\n' || b.data[s] == '\r'))
			s++;
		while (e > s && (b.data[e - 1] == ' ' || b.data[e - 1] == '\t' || b.data[e - 1] == '\n' || b.data[e - 1] == '\r'))
			e--;
		memmove(b.data, b.data + s, e - s);
		b.data[e - s] = '\0';
	}
	if (b.data[0] == '\0')
		return free(b.data), NULL;
	feed_cut_utf8(b.data, max);
	out = b.data;
	return out;
}

/*
 * feed_is
 *	  True if node is an element with this local name.
 */
static bool
feed_is(const xmlNode *node, const char *name)
{
	return node->type == XML_ELEMENT_NODE && xmlStrcmp(node->name, (const xmlChar *) name) == 0;
}

/*
 * feed_ns
 *	  True if node's namespace prefix or href contains ns (NULL: no namespace).
 */
static bool
feed_ns(const xmlNode *node, const char *ns)
{
	if (ns == NULL)
		return node->ns == NULL || node->ns->prefix == NULL;
	return node->ns != NULL &&
		((node->ns->prefix && xmlStrcmp(node->ns->prefix, (const xmlChar *) ns) == 0) ||
		 (node->ns->href && xmlStrstr(node->ns->href, (const xmlChar *) ns) != NULL));
}

/*
 * feed_take
 *	  Sets *field to text unless already set; frees text otherwise.
 */
static void
feed_take(char **field, char *text)
{
	if (*field == NULL)
		*field = text;
	else
		free(text);
}

/*
 * feed_item_free
 *	  Frees one item's strings.
 */
static void
feed_item_free(feed_item *it)
{
	free(it->guid);
	free(it->title);
	free(it->summary);
	free(it->link);
	memset(it, 0, sizeof(*it));
}

/*
 * feed_atom_link
 *	  Atom <link>: href of rel="alternate" (or no rel); NULL otherwise.
 */
static char *
feed_atom_link(const xmlNode *node, bool *oom)
{
	xmlChar    *rel = xmlGetNoNsProp(node, (const xmlChar *) "rel");
	xmlChar    *href;
	char	   *out = NULL;
	bool		alternate = rel == NULL || xmlStrcmp(rel, (const xmlChar *) "alternate") == 0;

	xmlFree(rel);
	if (!alternate || (href = xmlGetNoNsProp(node, (const xmlChar *) "href")) == NULL)
		return NULL;
	if (href[0] != '\0' && (out = strdup((const char *) href)) == NULL)
		*oom = true;
	xmlFree(href);
	return out;
}

/*
 * feed_read_item
 *	  Reads one <item> / <entry> into *it; returns false on out of memory.
 */
static bool
feed_read_item(const xmlNode *item, bool atom, feed_item *it)
{
	char	   *date = NULL,
			   *updated = NULL,
			   *content = NULL;
	bool		oom = false;
	xmlChar    *about;

	memset(it, 0, sizeof(*it));
	for (const xmlNode *c = item->children; c != NULL; c = c->next)
	{
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (feed_is(c, "title") && feed_ns(c, atom ? "Atom" : NULL))
			feed_take(&it->title, feed_text(c, true, FEED_MAX_TITLE, &oom));
		else if (feed_is(c, "link") && atom)
			feed_take(&it->link, feed_atom_link(c, &oom));
		else if (feed_is(c, "link") && feed_ns(c, NULL))
			feed_take(&it->link, feed_text(c, false, FEED_MAX_ID + 1, &oom));
		else if ((feed_is(c, "guid") && !atom) || (feed_is(c, "id") && atom))
			feed_take(&it->guid, feed_text(c, false, FEED_MAX_ID + 1, &oom));
		else if ((feed_is(c, "description") && feed_ns(c, NULL)) || (feed_is(c, "summary") && atom))
			feed_take(&it->summary, feed_text(c, true, FEED_MAX_SUMMARY, &oom));
		else if (feed_is(c, "encoded") || (feed_is(c, "content") && atom))
			feed_take(&content, feed_text(c, true, FEED_MAX_SUMMARY, &oom));
		else if (feed_is(c, "pubDate") || feed_is(c, "published") || (feed_is(c, "date") && feed_ns(c, "dc")))
			feed_take(&date, feed_text(c, false, 100, &oom));
		else if (feed_is(c, "updated"))
			feed_take(&updated, feed_text(c, false, 100, &oom));
	}
	if (!atom && it->guid == NULL && (about = xmlGetProp(item, (const xmlChar *) "about")) != NULL)
	{
		if (about[0] != '\0' && (it->guid = strdup((const char *) about)) == NULL)
			oom = true;
		xmlFree(about);
	}
	if (it->summary == NULL)
		it->summary = content, content = NULL;
	if (date == NULL)
		date = updated, updated = NULL;
	it->has_published = tsk_feed_parse_date(date, &it->published_us);
	free(date);
	free(updated);
	free(content);
	return !oom;
}

/*
 * feed_push
 *	  Appends a parsed item to r (items beyond FEED_MAX_ITEMS are dropped).
 */
static bool
feed_push(feed_result *r, feed_item *it, size_t *cap)
{
	if (it->guid == NULL && it->link != NULL)
		it->guid = strdup(it->link);	/* NULL on OOM: then skipped */
	if (it->guid == NULL || strlen(it->guid) > FEED_MAX_ID ||
		(it->link && strlen(it->link) > FEED_MAX_ID) || r->n >= FEED_MAX_ITEMS)
	{
		r->skipped++;
		feed_item_free(it);
		return true;
	}
	if (r->n == *cap)
	{
		size_t		ncap = *cap ? *cap * 2 : 64;
		feed_item   *p = realloc(r->items, ncap * sizeof(feed_item));

		if (p == NULL)
			return feed_item_free(it), false;
		r->items = p, *cap = ncap;
	}
	r->items[r->n++] = *it;
	return true;
}

/*
 * feed_read_doc
 *	  Reads the items of the document; false (with r->error) on failure.
 */
static bool
feed_read_doc(xmlDoc *doc, feed_result *r)
{
	xmlNode    *root = xmlDocGetRootElement(doc);
	const xmlNode *container = NULL;
	const char *child = NULL;
	size_t		cap = 0;
	bool		atom = false;

	if (root == NULL)
		return snprintf(r->error, sizeof(r->error), "document has no root element"), false;
	if (feed_is(root, "rss"))
	{
		for (const xmlNode *c = root->children; c != NULL && container == NULL; c = c->next)
			if (feed_is(c, "channel"))
				container = c;
		if (container == NULL)
			return snprintf(r->error, sizeof(r->error), "RSS document has no <channel>"), false;
		r->format = "rss", child = "item";
	}
	else if (feed_is(root, "RDF"))
		container = root, r->format = "rdf", child = "item";
	else if (feed_is(root, "feed"))
		container = root, r->format = "atom", child = "entry", atom = true;
	else
		return snprintf(r->error, sizeof(r->error),
						"not a feed: root element <%.60s> is not <rss>, <rdf:RDF> or <feed>",
						(const char *) root->name), false;

	for (const xmlNode *c = container->children; c != NULL; c = c->next)
	{
		feed_item	it;

		if (!feed_is(c, child))
			continue;
		if (!feed_read_item(c, atom, &it) || !feed_push(r, &it, &cap))
		{
			feed_item_free(&it);
			return snprintf(r->error, sizeof(r->error), "out of memory reading the feed"), false;
		}
	}
	return true;
}

/*
 * feed_declares_entities
 *	  True if the DOCTYPE declares general or parameter entities.
 */
static bool
feed_declares_entities(const xmlDoc *doc)
{
	const xmlDtd *dtds[2] = {doc->intSubset, doc->extSubset};

	for (int i = 0; i < 2; i++)
		if (dtds[i] != NULL &&
			((dtds[i]->entities && xmlHashSize((xmlHashTablePtr) dtds[i]->entities) > 0) ||
			 (dtds[i]->pentities && xmlHashSize((xmlHashTablePtr) dtds[i]->pentities) > 0)))
			return true;
	return false;
}

/*
 * tsk_feed_parse
 *	  See feed_parse.h.
 */
bool
tsk_feed_parse(const char *buf, size_t len, feed_result *out)
{
	xmlExternalEntityLoader saved;
	xmlParserCtxtPtr ctxt;
	xmlDoc	   *doc;
	bool		ok;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || len == 0)
		return snprintf(out->error, sizeof(out->error), "empty document"), false;
	if (len > (size_t) 1 << 30)
		return snprintf(out->error, sizeof(out->error), "document larger than 1 GB"), false;

	xmlInitParser();
	if ((ctxt = xmlNewParserCtxt()) == NULL)
		return snprintf(out->error, sizeof(out->error), "out of memory creating the XML parser"), false;
	saved = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(feed_no_entity_loader);
	doc = xmlCtxtReadMemory(ctxt, buf, (int) len, NULL, NULL,
							XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
							XML_PARSE_NOBLANKS | XML_PARSE_NOCDATA);
	xmlSetExternalEntityLoader(saved);

	if (doc == NULL)
	{
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char		msg[200];
		size_t		n;

		snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "unknown error");
		n = strlen(msg);
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
		snprintf(out->error, sizeof(out->error), "malformed XML at line %d: %s",
				 e ? e->line : 0, msg);
		xmlFreeParserCtxt(ctxt);
		return false;
	}
	if (feed_declares_entities(doc))
	{
		snprintf(out->error, sizeof(out->error),
				 "refused: the document's DOCTYPE declares XML entities (external entities and "
				 "entity expansion are not allowed)");
		ok = false;
	}
	else
		ok = feed_read_doc(doc, out);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	if (!ok)
	{
		char		err[sizeof(out->error)];

		memcpy(err, out->error, sizeof(err));
		tsk_feed_result_free(out);
		memcpy(out->error, err, sizeof(err));
	}
	return ok;
}

/*
 * tsk_feed_result_free
 *	  See feed_parse.h.
 */
void
tsk_feed_result_free(feed_result *r)
{
	for (size_t i = 0; r->items != NULL && i < r->n; i++)
		feed_item_free(&r->items[i]);
	free(r->items);
	memset(r, 0, sizeof(*r));
}
