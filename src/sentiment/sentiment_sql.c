/*
 * sentiment_sql.c
 *	  fmgr glue of the pure-C sentiment scorer (src/sentiment/sentiment.h):
 *	  sentiment(text), sentiment(text, lexicon) and load_lexicon(path, name,
 *	  format).
 *
 * Loaded lexicons live in triggerstock.lexicons as the file's bytes, so every
 * backend and the poll worker see the same ones and pg_dump keeps them.
 * sentiment(text, name) parses the named lexicon once per query (cached in
 * fn_extra, in the function's memory context) - a few milliseconds for
 * VADER's 7,500 entries.
 *
 * Invariants: the scorer is called on UTF-8 (converted from the server
 * encoding when that is neither UTF8 nor SQL_ASCII); the malloc'd block that
 * tsk_sentiment_lexicon_load() returns is copied into palloc'd memory and freed
 * before anything can ereport, so it never leaks.
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "sentiment/sentiment.h"
#include "schema.h"

extern PGDLLEXPORT Datum sentiment_builtin(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(sentiment_builtin);
extern PGDLLEXPORT Datum sentiment_lexicon(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(sentiment_lexicon);
extern PGDLLEXPORT Datum load_lexicon(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(load_lexicon);

#define SENT_SQL_CACHE 4

/* Per-query cache of sentiment(text, name): a few lexicons, so a query that
 * alternates between them does not re-parse each row. */
typedef struct sent_sql_cache
{
	char	   *name[SENT_SQL_CACHE];
	const SentimentLexicon *lex[SENT_SQL_CACHE];	/* NULL = built-in */
	int			next;			/* round-robin victim */
} sent_sql_cache;

/*
 * sent_sql_score
 *	  Score a text datum with lex (NULL = built-in), converting to UTF-8 if
 *	  needed.
 */
static double
sent_sql_score(const SentimentLexicon *lex, text *t)
{
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	int			enc = GetDatabaseEncoding();

	if (enc != PG_UTF8 && enc != PG_SQL_ASCII)
	{
		char	   *conv = (char *) pg_do_encoding_conversion((unsigned char *) s, len,
															  enc, PG_UTF8);

		if (conv != s)
			return tsk_sentiment_score(lex, conv, strlen(conv));
	}
	return tsk_sentiment_score(lex, s, (size_t) len);
}

/*
 * sent_sql_parse
 *	  Parse lexicon bytes; returns a palloc'd copy in CurrentMemoryContext or
 *	  raises an ERROR naming what (a path or a lexicon name).
 */
static const SentimentLexicon *
sent_sql_parse(const char *data, size_t len, sentiment_format format, const char *what)
{
	sentiment_error err;
	SentimentLexicon *lex;
	void	   *copy;
	size_t		size;

	memset(&err, 0, sizeof(err));
	lex = tsk_sentiment_lexicon_load(data, len, format, &err);
	if (lex == NULL)
		ereport(ERROR,
				(errcode(err.status == SENTIMENT_ERR_NOMEM ? ERRCODE_OUT_OF_MEMORY :
						 ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not load sentiment lexicon %s: %s", what, err.message),
				 errhint("Lexicons are VADER (token TAB mean TAB std TAB ratings), "
						 "Loughran-McDonald .cat (category lines, then words) or "
						 "AFINN (term TAB score) files; name the format if detection fails.")));
	size = tsk_sentiment_lexicon_memsize(lex);
	copy = MemoryContextAllocExtended(CurrentMemoryContext, size, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (copy != NULL)
		memcpy(copy, lex, size);
	tsk_sentiment_lexicon_free(lex);
	if (copy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory copying sentiment lexicon %s", what)));
	return (const SentimentLexicon *) copy;
}

/*
 * sent_sql_format
 *	  Parse a format name or raise an ERROR.
 */
static sentiment_format
sent_sql_format(const char *name)
{
	sentiment_format format;

	if (!tsk_sentiment_format_from_name(name, &format) || format == SENTIMENT_FORMAT_BUILTIN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown sentiment lexicon format \"%s\"", name),
				 errhint("Use auto, vader, lm (Loughran-McDonald) or afinn.")));
	return format;
}

/*
 * sentiment_builtin(text) -> float8
 *	  Score with the built-in lexicon.
 */
Datum
sentiment_builtin(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(sent_sql_score(NULL, PG_GETARG_TEXT_PP(0)));
}

/*
 * sent_sql_lookup
 *	  Read and parse the lexicon called name from triggerstock.lexicons into
 *	  memory context cxt.
 */
static const SentimentLexicon *
sent_sql_lookup(const char *name, MemoryContext cxt)
{
	Datum		arg = CStringGetTextDatum(name);
	Oid			argtype = TEXTOID;
	const SentimentLexicon *lex;
	bytea	   *source;
	char	   *format;
	bool		isnull;
	int			ret;
	int			spi;

	spi = tsk_spi_connect();
	ret = SPI_execute_with_args("SELECT l.format, l.source FROM triggerstock.lexicons l WHERE l.name = $1",
								1, &argtype, &arg, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading triggerstock.lexicons failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("sentiment lexicon \"%s\" does not exist", name),
				 errhint("Load it with load_lexicon(path, name), or use 'builtin'.")));
	format = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	source = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		lex = sent_sql_parse(VARDATA_ANY(source), VARSIZE_ANY_EXHDR(source),
							 sent_sql_format(format), name);
		MemoryContextSwitchTo(old);
	}
	tsk_spi_finish(spi);
	return lex;
}

/*
 * sentiment_lexicon(text, name) -> float8
 *	  Score with a loaded lexicon ('builtin' = the built-in one).
 */
Datum
sentiment_lexicon(PG_FUNCTION_ARGS)
{
	text	   *input = PG_GETARG_TEXT_PP(0);
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	sent_sql_cache *cache = (sent_sql_cache *) fcinfo->flinfo->fn_extra;
	MemoryContext cxt = fcinfo->flinfo->fn_mcxt;
	int			i;

	if (cache == NULL)
		fcinfo->flinfo->fn_extra = cache = MemoryContextAllocZero(cxt, sizeof(sent_sql_cache));
	for (i = 0; i < SENT_SQL_CACHE; i++)
		if (cache->name[i] != NULL && strcmp(cache->name[i], name) == 0)
			break;
	if (i == SENT_SQL_CACHE)
	{
		i = cache->next;
		cache->next = (cache->next + 1) % SENT_SQL_CACHE;
		if (cache->name[i] != NULL)
			pfree(cache->name[i]);
		if (cache->lex[i] != NULL)
			pfree((void *) cache->lex[i]);
		cache->name[i] = NULL;
		cache->lex[i] = NULL;
		if (pg_strcasecmp(name, "builtin") != 0)
			cache->lex[i] = sent_sql_lookup(name, cxt);
		cache->name[i] = MemoryContextStrdup(cxt, name);
	}
	PG_RETURN_FLOAT8(sent_sql_score(cache->lex[i], input));
}

/*
 * sent_sql_read_file
 *	  Read a whole server file (at most SENTIMENT_MAX_LEXICON_BYTES).
 */
static char *
sent_sql_read_file(const char *path, size_t *len)
{
	FILE	   *f;
	char	   *buf;
	long		size;

	if ((f = AllocateFile(path, PG_BINARY_R)) == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open lexicon file \"%s\": %m", path),
				 errhint("The path is read by the server process; give an absolute path it can read.")));
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not seek in lexicon file \"%s\": %m", path)));
	if ((unsigned long) size > SENTIMENT_MAX_LEXICON_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("lexicon file \"%s\" is larger than %u bytes", path,
						SENTIMENT_MAX_LEXICON_BYTES),
				 errhint("Lexicons are word lists of a few megabytes at most.")));
	buf = palloc(size + 1);
	if (size > 0 && fread(buf, 1, size, f) != (size_t) size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read lexicon file \"%s\": %m", path)));
	if (FreeFile(f) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close lexicon file \"%s\": %m", path)));
	buf[size] = '\0';
	*len = (size_t) size;
	return buf;
}

/*
 * load_lexicon(path, name, format) -> integer
 *	  Validate a lexicon file and store it in triggerstock.lexicons; returns
 *	  its entry count.  Reading server files needs pg_read_server_files.
 */
Datum
load_lexicon(PG_FUNCTION_ARGS)
{
	char	   *path,
			   *name,
			   *format_name;
	const SentimentLexicon *lex;
	sentiment_format format;
	char	   *data;
	size_t		len;
	int			entries,
				ret,
				spi;
	Datum		args[4];
	Oid			types[4] = {TEXTOID, TEXTOID, INT4OID, BYTEAOID};
	bytea	   *source;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lexicon path must not be null"),
				 errhint("Give the absolute path of a lexicon file on the server.")));
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to load a lexicon from a server file"),
				 errhint("Only roles with the privileges of pg_read_server_files may read server files.")));
	path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	format_name = PG_ARGISNULL(2) ? "auto" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	format = sent_sql_format(format_name);

	data = sent_sql_read_file(path, &len);
	lex = sent_sql_parse(data, len, format, path);
	entries = (int) tsk_sentiment_lexicon_entries(lex);
	format = tsk_sentiment_lexicon_format(lex);
	name = PG_ARGISNULL(1) ? pstrdup(tsk_sentiment_format_name(format))
		: text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (pg_strcasecmp(name, "builtin") == 0 || name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid lexicon name \"%s\"", name),
				 errhint("The name 'builtin' is reserved for the built-in lexicon; choose another.")));

	source = (bytea *) palloc(VARHDRSZ + len);
	SET_VARSIZE(source, VARHDRSZ + len);
	memcpy(VARDATA(source), data, len);
	args[0] = CStringGetTextDatum(name);
	args[1] = CStringGetTextDatum(tsk_sentiment_format_name(format));
	args[2] = Int32GetDatum(entries);
	args[3] = PointerGetDatum(source);

	spi = tsk_spi_connect();
	ret = SPI_execute_with_args("INSERT INTO triggerstock.lexicons (name, format, entries, source) "
								"VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET "
								"format = EXCLUDED.format, entries = EXCLUDED.entries, "
								"source = EXCLUDED.source, loaded_at = pg_catalog.now()",
								4, types, args, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "storing the lexicon failed: %s", SPI_result_code_string(ret));
	tsk_spi_finish(spi);
	PG_RETURN_INT32(entries);
}
