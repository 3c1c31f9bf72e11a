/*
 * news_sql.c
 *	  SQL glue of the news cores: parse_feed(bytea) over the pure-C feed
 *	  reader (src/news/feed_parse.h) and match_symbols(text) over the alias
 *	  matcher (src/news/symbols.h).
 *
 * match_symbols keeps triggerstock.symbol_aliases in a per-backend cache
 * (TopMemoryContext) that a relcache invalidation drops: the table carries
 * the config_changed() trigger, so an edit reaches every backend and the
 * poll worker at commit.
 *
 * Invariants: the malloc'd feed_result is copied into palloc'd rows and freed
 * before anything can ereport (PG_TRY frees it on the error path of the
 * copy); text handed to SQL is valid UTF-8 converted to the server encoding.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "common/unix_time.h"
#include "news/feed_parse.h"
#include "news/symbols.h"
#include "schema.h"

extern PGDLLEXPORT Datum parse_feed(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(parse_feed);
extern PGDLLEXPORT Datum match_symbols(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(match_symbols);

/* Aliases cache (see the banner). */
static MemoryContext news_alias_cxt = NULL;
static symbol_alias *news_aliases = NULL;
static int	news_naliases = 0;
static char **news_symbols = NULL;	/* sorted, distinct */
static int	news_nsymbols = 0;
static bool news_alias_valid = false;
static bool news_callback_registered = false;

/*
 * news_text_datum
 *	  A text datum from a UTF-8 C string (converted to the server encoding),
 *	  or null.
 */
static Datum
news_text_datum(const char *s, bool *isnull)
{
	*isnull = (s == NULL);
	if (s == NULL)
		return (Datum) 0;
	return CStringGetTextDatum(pg_any_to_server(s, strlen(s), PG_UTF8));
}

/*
 * parse_feed(bytea) -> setof (guid, title, summary, link, published_at)
 *	  Items of an RSS / Atom document; ERROR (invalid_xml_document) with the
 *	  reader's message when it is not a usable feed.
 */
Datum
parse_feed(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bytea	   *body = PG_GETARG_BYTEA_PP(0);
	feed_result	r;

	InitMaterializedSRF(fcinfo, 0);
	if (!tsk_feed_parse(VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body), &r))
	{
		char		err[sizeof(r.error)];

		memcpy(err, r.error, sizeof(err));
		tsk_feed_result_free(&r);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_XML_DOCUMENT),
				 errmsg("invalid feed: %s", err),
				 errhint("The document must be well-formed RSS 2.0, RSS 1.0 or Atom without entity declarations.")));
	}
	PG_TRY();
	{
		for (size_t i = 0; i < r.n; i++)
		{
			const feed_item *it = &r.items[i];
			Datum		values[5];
			bool		nulls[5];

			values[0] = news_text_datum(it->guid, &nulls[0]);
			values[1] = news_text_datum(it->title, &nulls[1]);
			values[2] = news_text_datum(it->summary, &nulls[2]);
			values[3] = news_text_datum(it->link, &nulls[3]);
			nulls[4] = true;
			if (it->has_published)
			{
				TimestampTz ts = tsk_timestamptz_from_unix_us(it->published_us);

				if (IS_VALID_TIMESTAMP(ts))
					values[4] = TimestampTzGetDatum(ts), nulls[4] = false;
			}
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	PG_FINALLY();
	{
		tsk_feed_result_free(&r);
	}
	PG_END_TRY();
	return (Datum) 0;
}

/*
 * news_alias_invalidate
 *	  Relcache callback: any change may be to symbol_aliases; drop the cache.
 */
static void
news_alias_invalidate(Datum arg, Oid relid)
{
	news_alias_valid = false;
}

/*
 * news_alias_load
 *	  (Re)build the alias cache from triggerstock.symbol_aliases.
 */
static void
news_alias_load(void)
{
	MemoryContext old;
	int			ret;
	int			spi;
	uint64		n;

	if (!news_callback_registered)
	{
		CacheRegisterRelcacheCallback(news_alias_invalidate, (Datum) 0);
		news_callback_registered = true;
	}
	if (news_alias_cxt == NULL)
		news_alias_cxt = AllocSetContextCreate(TopMemoryContext, "triggerstock symbol aliases",
											   ALLOCSET_SMALL_SIZES);
	MemoryContextReset(news_alias_cxt);
	news_aliases = NULL, news_naliases = 0, news_symbols = NULL, news_nsymbols = 0;

	spi = tsk_spi_connect();
	/* dense_rank numbers the distinct symbols in sorted order */
	ret = SPI_execute("SELECT a.symbol, pg_catalog.btrim(a.alias), "
					  "pg_catalog.dense_rank() OVER (ORDER BY a.symbol COLLATE pg_catalog.\"C\") - 1 "
					  "FROM triggerstock.symbol_aliases a WHERE pg_catalog.btrim(a.alias) <> '' "
					  "ORDER BY a.symbol COLLATE pg_catalog.\"C\", pg_catalog.length(a.alias) DESC", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading triggerstock.symbol_aliases failed: %s", SPI_result_code_string(ret));
	n = SPI_processed;
	old = MemoryContextSwitchTo(news_alias_cxt);
	news_aliases = palloc0(sizeof(symbol_alias) * (n + 1));
	news_symbols = palloc0(sizeof(char *) * (n + 1));
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *alias = SPI_getvalue(tup, desc, 2);
		bool		isnull;
		int			sym = (int) DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));

		if (sym >= news_nsymbols)
		{
			news_symbols[sym] = SPI_getvalue(tup, desc, 1);
			news_nsymbols = sym + 1;
		}
		news_aliases[news_naliases].alias = alias;
		news_aliases[news_naliases].len = strlen(alias);
		news_aliases[news_naliases].symbol = sym;
		news_naliases++;
	}
	MemoryContextSwitchTo(old);
	tsk_spi_finish(spi);
	news_alias_valid = true;
}

/*
 * match_symbols(text) -> text[]
 *	  Symbols whose aliases occur in the text (sorted, distinct).
 */
Datum
match_symbols(PG_FUNCTION_ARGS)
{
	text	   *input = PG_GETARG_TEXT_PP(0);
	bool	   *found;
	Datum	   *elems;
	int			n = 0;

	if (!news_alias_valid)
		news_alias_load();
	found = palloc0(sizeof(bool) * (news_nsymbols + 1));
	elems = palloc(sizeof(Datum) * (news_nsymbols + 1));
	tsk_symbols_match(VARDATA_ANY(input), VARSIZE_ANY_EXHDR(input), news_aliases, news_naliases,
				  found, news_nsymbols);
	for (int i = 0; i < news_nsymbols; i++)
		if (found[i])
			elems[n++] = CStringGetTextDatum(news_symbols[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}
