/*
 * poll_store.c
 *	  The poll worker's database side: reading its targets and storing what
 *	  a completed transfer brought, each in one short transaction (SPI).
 *
 * Feeds: the body goes through parse_feed() (the pure-C reader) and one
 * INSERT ... SELECT stores the new items with match_symbols() and
 * sentiment() computed at insert; ON CONFLICT (guid) DO NOTHING makes
 * re-polls idempotent.  The feed row is updated in the same transaction, so
 * items and the ETag that covers them commit together.  Any error rolls the
 * whole poll back (nothing half-stored) and is then recorded in last_error
 * by a second transaction.
 *
 * With triggerstock.sentiment_url set, a feed poll first lists the new
 * items in a short transaction, then (no transaction open) asks the model
 * endpoint for the score of up to triggerstock.sentiment_max_items of them
 * (src/sentiment/sentiment_api.c), and the INSERT takes those scores, joined on guid,
 * with scorer 'openai' / 'huggingface'; every other item, and every item the
 * endpoint failed on, gets the lexicon score and scorer 'builtin'.
 *
 * Quotes: the JSON body is parsed with cJSON (malloc'd, freed before any
 * ereport); a trade row is written only when the price or the timestamp
 * changed.
 *
 * Invariants: called only between network waits, never from a curl
 * callback; no function here lets an ERROR escape (errors become strings).
 */
#include "postgres.h"

#include <math.h>
#include <cjson/cJSON.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bgworker/poll.h"
#include "bgworker/workers.h"
#include "common/unix_time.h"
#include "guc.h"
#include "news/quote.h"
#include "schema.h"

/* Quoted schema of the extension's functions (looked up with the targets). */
static char poll_ext_schema[2 * NAMEDATALEN + 3] = "public";

/* What a store step does inside its transaction. */
typedef void (*PollTxnFn) (void *arg);

/*
 * poll_txn
 *	  Run fn(arg) in a transaction with SPI (tsk_worker_xact); returns NULL
 *	  or the error message (palloc'd in the caller's context) after
 *	  rolling back.
 */
static char *
poll_txn(PollTxnFn fn, void *arg, const char *activity)
{
	ErrorData  *edata = tsk_worker_xact(fn, arg, activity, TSK_XACT_SPI | TSK_XACT_QUIET);

	return edata ? tsk_worker_error_text(edata) : NULL;
}

/* ---- targets ----------------------------------------------------------- */

typedef struct poll_load_arg
{
	MemoryContext cxt;
	List	   *targets;
} poll_load_arg;

/*
 * poll_load_in_txn
 *	  Read the enabled feeds and quote sources.
 */
static void
poll_load_in_txn(void *p)
{
	poll_load_arg *arg = p;
	char	   *schema;

	schema = tsk_extension_schema();
	if (schema == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"triggerstock\" is not installed in this database")));
	strlcpy(poll_ext_schema, schema, sizeof(poll_ext_schema));
	/*
	 * Times are clamped to 1900..2200 before they become microseconds: any
	 * stored value (infinity, year 294276) converts (issue 11).
	 */
	tsk_worker_exec("poll", "SELECT 0, f.id, f.url, (extract(epoch FROM f.poll_interval) * 1000)::bigint, "
			  "  (extract(epoch FROM least(greatest(f.last_polled, '1900-01-01+00'), '2200-01-01+00')) * 1000000)::bigint, "
			  "  f.etag, f.last_modified, NULL, NULL, NULL, NULL, NULL, NULL, NULL "
			  "FROM triggerstock.feeds f WHERE f.enabled "
			  "UNION ALL "
			  "SELECT 1, q.id, q.url, (extract(epoch FROM q.poll_interval) * 1000)::bigint, "
			  "  (extract(epoch FROM least(greatest(q.last_polled, '1900-01-01+00'), '2200-01-01+00')) * 1000000)::bigint, "
			  "  NULL, NULL, "
			  "  q.symbol, coalesce(q.options->>'price', 'c'), "
			  "  CASE WHEN q.options ? 'ts' THEN q.options->>'ts' ELSE 't' END, q.options->>'qty', "
			  "  coalesce(q.options->>'ts_unit', 's'), q.last_price::pg_catalog.text, "
			  "  (extract(epoch FROM least(greatest(q.last_ts, '1900-01-01+00'), '2200-01-01+00')) * 1000000)::bigint::pg_catalog.text "
			  "FROM triggerstock.quote_sources q WHERE q.enabled ORDER BY 1, 2",
			  0, NULL, NULL, NULL, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		poll_target *t = MemoryContextAllocZero(arg->cxt, sizeof(poll_target));
		char	   *v;
		MemoryContext old;

		t->kind = atoi(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1)) == 0
			? POLL_FEED : POLL_QUOTE;
		t->id = atoi(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
		t->url = tsk_worker_getstr(i, 3, arg->cxt);
		t->interval_ms = strtoll(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4), NULL, 10);
		if ((v = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 5)) != NULL)
			t->last_polled = tsk_timestamptz_from_unix_us(strtoll(v, NULL, 10));
		t->etag = tsk_worker_getstr(i, 6, arg->cxt);
		t->last_modified = tsk_worker_getstr(i, 7, arg->cxt);
		t->symbol = tsk_worker_getstr(i, 8, arg->cxt);
		t->price_path = tsk_worker_getstr(i, 9, arg->cxt);
		t->ts_path = tsk_worker_getstr(i, 10, arg->cxt);
		if (t->ts_path != NULL && t->ts_path[0] == '\0')
			t->ts_path = NULL;
		t->qty_path = tsk_worker_getstr(i, 11, arg->cxt);
		t->ts_unit_us = 1000000;
		if ((v = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 12)) != NULL)
			t->ts_unit_us = strcmp(v, "ms") == 0 ? 1000 : strcmp(v, "us") == 0 ? 1 : 1000000;
		if ((v = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 13)) != NULL)
		{
			char	   *ts = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 14);

			t->has_last = true;
			t->last_price = strtod(v, NULL);
			t->last_ts = ts ? tsk_timestamptz_from_unix_us(strtoll(ts, NULL, 10)) : 0;
		}
		old = MemoryContextSwitchTo(arg->cxt);
		arg->targets = lappend(arg->targets, t);
		MemoryContextSwitchTo(old);
	}
}

/*
 * tsk_poll_load_targets
 *	  See poll.h.
 */
List *
tsk_poll_load_targets(MemoryContext cxt)
{
	poll_load_arg arg = {cxt, NIL};
	char	   *err = poll_txn(poll_load_in_txn, &arg, "triggerstock poll: reading targets");

	if (err != NULL)
	{
		if (!ShutdownRequestPending && !tsk_worker_extension_exists())
		{
			ereport(LOG, (errmsg("triggerstock poll worker exits: the extension was dropped")));
			proc_exit(0);
		}
		ereport(LOG,
				(errmsg("triggerstock poll worker could not read its targets: %s", err)));
		return NIL;
	}
	return arg.targets;
}

/* ---- status ------------------------------------------------------------ */

typedef struct poll_status_arg
{
	poll_target *t;
	long		status;
	const char *error;
} poll_status_arg;

/*
 * poll_status_in_txn
 *	  Record last_polled, last_status and last_error on the target's row.
 */
static void
poll_status_in_txn(void *p)
{
	poll_status_arg *a = p;
	Oid			types[3] = {INT4OID, INT4OID, TEXTOID};
	Datum		values[3];
	char		nulls[4] = "   ";

	values[0] = Int32GetDatum(a->t->id);
	values[1] = Int32GetDatum((int32) a->status);
	nulls[1] = a->status == 0 ? 'n' : ' ';
	values[2] = a->error ? CStringGetTextDatum(a->error) : (Datum) 0;
	nulls[2] = a->error ? ' ' : 'n';
	tsk_worker_exec("poll", a->t->kind == POLL_FEED
			  ? "UPDATE triggerstock.feeds SET last_polled = pg_catalog.now(), last_status = $2, last_error = $3 WHERE id = $1"
			  : "UPDATE triggerstock.quote_sources SET last_polled = pg_catalog.now(), last_status = $2, last_error = $3 WHERE id = $1",
			  3, types, values, nulls, SPI_OK_UPDATE);
}

/*
 * tsk_poll_record_status
 *	  See poll.h.
 */
void
tsk_poll_record_status(poll_target *t, long status, const char *error)
{
	poll_status_arg a = {t, status, error};
	char	   *err;

	if (error != NULL)
		ereport(LOG,
				(errmsg("triggerstock poll: %s %d (%s): %s",
						t->kind == POLL_FEED ? "feed" : "quote source", t->id, t->url, error)));
	if ((err = poll_txn(poll_status_in_txn, &a, "triggerstock poll: recording status")) != NULL)
		ereport(LOG, (errmsg("triggerstock poll: could not record the poll status: %s", err)));
}

/* ---- feeds ------------------------------------------------------------- */

typedef struct poll_feed_arg
{
	poll_target *t;
	const char *body;
	size_t		len;
	long		status;
	const char *etag;
	const char *last_modified;
	int64		inserted;
	/* scores from the sentiment endpoint (nscored 0: none) */
	int			nscored;
	char	  **scored_guids;
	double	   *scores;
	const char *scorer;			/* 'openai' or 'huggingface' */
} poll_feed_arg;

/*
 * poll_scores_param
 *	  The endpoint's scores as $6 text[] guids, $7 float8[] scores and
 *	  $8 text[] scorers (NULLs when there are none).
 */
static void
poll_scores_param(poll_feed_arg *a, Datum *values, char *nulls)
{
	Datum	   *guids,
			   *scores,
			   *scorers;

	if (a->nscored == 0)
	{
		nulls[5] = nulls[6] = nulls[7] = 'n';
		return;
	}
	guids = palloc(sizeof(Datum) * a->nscored);
	scores = palloc(sizeof(Datum) * a->nscored);
	scorers = palloc(sizeof(Datum) * a->nscored);
	for (int i = 0; i < a->nscored; i++)
	{
		guids[i] = CStringGetTextDatum(a->scored_guids[i]);
		scores[i] = Float8GetDatum(a->scores[i]);
		scorers[i] = CStringGetTextDatum(a->scorer);
	}
	values[5] = PointerGetDatum(construct_array(guids, a->nscored, TEXTOID, -1, false, TYPALIGN_INT));
	values[6] = PointerGetDatum(construct_array(scores, a->nscored, FLOAT8OID, sizeof(float8),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[7] = PointerGetDatum(construct_array(scorers, a->nscored, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * poll_feed_in_txn
 *	  Insert the new items of the body (with the endpoint's scores where
 *	  there are some, else the lexicon's), then record the poll on the feed.
 */
static void
poll_feed_in_txn(void *p)
{
	poll_feed_arg *a = p;
	Oid			types[8] = {BYTEAOID, INT4OID, INT4OID, TEXTOID, TEXTOID,
	TEXTARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID};
	Datum		values[8];
	char		nulls[9] = "        ";
	bytea	   *body = palloc(VARHDRSZ + a->len);
	bool		isnull;

	SET_VARSIZE(body, VARHDRSZ + a->len);
	memcpy(VARDATA(body), a->body, a->len);
	values[0] = PointerGetDatum(body);
	values[1] = Int32GetDatum(a->t->id);
	values[2] = Int32GetDatum((int32) a->status);
	values[3] = a->etag[0] ? CStringGetTextDatum(a->etag) : (Datum) 0;
	nulls[3] = a->etag[0] ? ' ' : 'n';
	values[4] = a->last_modified[0] ? CStringGetTextDatum(a->last_modified) : (Datum) 0;
	nulls[4] = a->last_modified[0] ? ' ' : 'n';
	poll_scores_param(a, values, nulls);

	tsk_worker_exec("poll", psprintf("WITH api AS ("
					   "  SELECT * FROM ROWS FROM (pg_catalog.unnest($6::pg_catalog.text[]), "
					   "    pg_catalog.unnest($7::double precision[]), pg_catalog.unnest($8::pg_catalog.text[])) "
					   "    AS s(guid, score, scorer)), "
					   "ins AS ("
					   "  INSERT INTO triggerstock.news (guid, feed_id, title, summary, link, "
					   "                                 published_at, symbols, sentiment, scorer) "
					   "  SELECT i.guid, $2, i.title, i.summary, i.link, i.published_at, "
					   "         %1$s.match_symbols(pg_catalog.concat_ws(E'\\n', i.title, i.summary)), "
					   "         coalesce(s.score, %1$s.sentiment(pg_catalog.concat_ws(E'\\n', i.title, i.summary))), "
					   "         CASE WHEN s.score IS NULL THEN 'builtin' ELSE s.scorer END "
					   "  FROM %1$s.parse_feed($1) i LEFT JOIN api s ON s.guid = i.guid "
					   "  ON CONFLICT (guid) DO NOTHING RETURNING 1), "
					   "upd AS ("
					   "  UPDATE triggerstock.feeds SET last_polled = pg_catalog.now(), last_status = $3, "
					   "         last_error = NULL, etag = $4, last_modified = $5 WHERE id = $2) "
					   "SELECT pg_catalog.count(*) FROM ins", poll_ext_schema),
			  8, types, values, nulls, SPI_OK_SELECT);
	a->inserted = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* ---- sentiment endpoint ----------------------------------------------- */

/* A failing endpoint's WARNING is repeated at most this often (same error). */
#define POLL_SENTIMENT_WARN_MS 60000
/* Scoring one poll's items stops after this many timeouts' worth of time, */
#define POLL_SENTIMENT_BUDGET_TIMEOUTS 3
/* or after this many failures in a row. */
#define POLL_SENTIMENT_MAX_FAILURES 3

static TimestampTz poll_sentiment_warned_at = 0;
static char poll_sentiment_warned[256] = "";
static int	poll_sentiment_suppressed = 0;

typedef struct poll_list_arg
{
	poll_feed_arg *feed;
	MemoryContext cxt;			/* where the copies go (the caller's) */
	int			n;
	char	  **guids;
	char	  **texts;
} poll_list_arg;

/*
 * poll_list_in_txn
 *	  The first sentiment_max_items new items of the body (guid and the text
 *	  to score), distinct, in feed order, copied out of SPI memory.
 */
static void
poll_list_in_txn(void *p)
{
	poll_list_arg *l = p;
	Oid			types[2] = {BYTEAOID, INT4OID};
	Datum		values[2];
	bytea	   *body = palloc(VARHDRSZ + l->feed->len);

	SET_VARSIZE(body, VARHDRSZ + l->feed->len);
	memcpy(VARDATA(body), l->feed->body, l->feed->len);
	values[0] = PointerGetDatum(body);
	values[1] = Int32GetDatum(tsk_sentiment_max_items);
	tsk_worker_exec("poll", psprintf("SELECT guid, txt FROM ("
					   "  SELECT DISTINCT ON (i.guid) i.guid, pg_catalog.concat_ws(E'\\n', i.title, i.summary) AS txt, i.ord "
					   "  FROM %s.parse_feed($1) WITH ORDINALITY AS i(guid, title, summary, link, published_at, ord) "
					   "  WHERE NOT EXISTS (SELECT 1 FROM triggerstock.news n WHERE n.guid = i.guid) "
					   "  ORDER BY i.guid, i.ord) d "
					   "ORDER BY ord LIMIT $2", poll_ext_schema),
			  2, types, values, NULL, SPI_OK_SELECT);
	l->n = (int) SPI_processed;
	l->guids = MemoryContextAllocZero(l->cxt, sizeof(char *) * (l->n + 1));
	l->texts = MemoryContextAllocZero(l->cxt, sizeof(char *) * (l->n + 1));
	for (int i = 0; i < l->n; i++)
	{
		l->guids[i] = tsk_worker_getstr(i, 1, l->cxt);
		l->texts[i] = tsk_worker_getstr(i, 2, l->cxt);
	}
}

/*
 * poll_sentiment_warn
 *	  One WARNING for a poll whose scoring failed, unless the same error was
 *	  reported less than POLL_SENTIMENT_WARN_MS ago (then it is counted).
 */
static void
poll_sentiment_warn(poll_target *t, const char *error, const char *detail)
{
	TimestampTz now = GetCurrentTimestamp();

	if (strncmp(poll_sentiment_warned, error, sizeof(poll_sentiment_warned) - 1) == 0 &&
		!TimestampDifferenceExceeds(poll_sentiment_warned_at, now, POLL_SENTIMENT_WARN_MS))
	{
		poll_sentiment_suppressed++;
		return;
	}
	ereport(WARNING,
			(errmsg("triggerstock poll: feed %d: sentiment endpoint failed: %s", t->id, error),
			 errdetail("%s%s", detail,
					   poll_sentiment_suppressed > 0
					   ? psprintf(" %d similar warnings were suppressed.", poll_sentiment_suppressed) : ""),
			 errhint("Check triggerstock.sentiment_url, triggerstock.sentiment_api and triggerstock.sentiment_timeout.")));
	strlcpy(poll_sentiment_warned, error, sizeof(poll_sentiment_warned));
	poll_sentiment_warned_at = now;
	poll_sentiment_suppressed = 0;
}

/*
 * poll_score_new_items
 *	  List the new items (short transaction), then score them through the
 *	  endpoint with no transaction open; the scores go into a->scores.
 *	  Stops early on shutdown, after a few timeouts' worth of time, or after
 *	  a few failures in a row; what is left gets the lexicon at insert.
 */
static void
poll_score_new_items(poll_feed_arg *a)
{
	poll_list_arg l = {a, CurrentMemoryContext, 0, NULL, NULL};
	sentiment_api_config cfg;
	char		errbuf[256];
	char	   *first_error = NULL;
	char	   *err;
	TimestampTz start;
	int			tried = 0,
				failed = 0,
				in_a_row = 0;

	if ((err = poll_txn(poll_list_in_txn, &l, "triggerstock poll: listing new feed items")) != NULL)
	{
		/* a bad body: the insert fails the same way and records last_error */
		elog(DEBUG1, "triggerstock poll: feed %d: could not list the new items: %s", a->t->id, err);
		return;
	}
	if (l.n == 0)
		return;
	cfg.url = tsk_sentiment_url;
	cfg.api = (sentiment_api_kind) tsk_sentiment_api;
	cfg.model = tsk_sentiment_model;
	cfg.api_key = tsk_sentiment_api_key;
	cfg.timeout_ms = tsk_sentiment_timeout;
	cfg.max_response = 0;
	cfg.abort_flag = &ShutdownRequestPending;
	cfg.check_hosts = true;
	cfg.hosts = tsk_allowed_hosts_policy;
	a->scorer = cfg.api == SENTIMENT_API_HUGGINGFACE ? "huggingface" : "openai";
	a->scored_guids = palloc(sizeof(char *) * l.n);
	a->scores = palloc(sizeof(double) * l.n);
	start = GetCurrentTimestamp();
	pgstat_report_activity(STATE_RUNNING, "triggerstock poll: scoring new items through triggerstock.sentiment_url");
	for (int i = 0; i < l.n && !ShutdownRequestPending; i++)
	{
		double		score;

		if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(),
									   POLL_SENTIMENT_BUDGET_TIMEOUTS * tsk_sentiment_timeout))
		{
			if (first_error == NULL)
				first_error = psprintf("stopped after %d ms (%d x triggerstock.sentiment_timeout)",
									   POLL_SENTIMENT_BUDGET_TIMEOUTS * tsk_sentiment_timeout,
									   POLL_SENTIMENT_BUDGET_TIMEOUTS);
			break;
		}
		tried++;
		if (tsk_sentiment_api_score(&cfg, l.texts[i] ? l.texts[i] : "", &score, errbuf, sizeof(errbuf)) == 0)
		{
			a->scored_guids[a->nscored] = l.guids[i];
			a->scores[a->nscored++] = score;
			in_a_row = 0;
			continue;
		}
		failed++;
		if (first_error == NULL)
			first_error = pstrdup(errbuf);
		if (++in_a_row >= POLL_SENTIMENT_MAX_FAILURES)
			break;
	}
	pgstat_report_activity(STATE_IDLE, NULL);
	if (first_error != NULL)
		poll_sentiment_warn(a->t, first_error,
							psprintf("%d of %d requests failed; the built-in lexicon scored %d of the %d "
									 "new items meant for the endpoint (scorer 'builtin').",
									 failed, tried, l.n - a->nscored, l.n));
}

/*
 * tsk_poll_store_feed
 *	  See poll.h.
 */
char *
tsk_poll_store_feed(poll_target *t, const char *body, size_t len, long status,
				const char *etag, const char *last_modified, int64 *inserted)
{
	poll_feed_arg a = {t, body, len, status, etag, last_modified, 0};
	char	   *err;

	if (body == NULL || len == 0)
		err = pstrdup("empty response body; nothing stored");
	else
	{
		if (tsk_sentiment_url != NULL && tsk_sentiment_url[0] != '\0' &&
			tsk_sentiment_max_items > 0)
			poll_score_new_items(&a);	/* no transaction open while it waits */
		err = poll_txn(poll_feed_in_txn, &a, "triggerstock poll: storing feed items");
	}
	if (err != NULL)
	{
		tsk_poll_record_status(t, status, err);
		return err;
	}
	/* the next request is conditional on what this one returned */
	t->etag = etag[0] ? MemoryContextStrdup(GetMemoryChunkContext(t), etag) : NULL;
	t->last_modified = last_modified[0] ? MemoryContextStrdup(GetMemoryChunkContext(t), last_modified) : NULL;
	*inserted = a.inserted;
	return NULL;
}

/* ---- quotes ------------------------------------------------------------ */

typedef struct poll_quote_arg
{
	poll_target *t;
	long		status;
	double		price,
				qty;
	TimestampTz ts;
	bool		store;
} poll_quote_arg;

/*
 * poll_quote_in_txn
 *	  Insert the quote as a trade (exchange 'quote') if new; record the poll.
 */
static void
poll_quote_in_txn(void *p)
{
	poll_quote_arg *a = p;
	Oid			types[7] = {INT4OID, TEXTOID, INT8OID, TIMESTAMPTZOID, FLOAT8OID, FLOAT8OID, INT4OID};
	Datum		values[7];
	int64		trade_id = tsk_unix_us_from_timestamptz(a->ts);

	values[0] = Int32GetDatum(a->t->id);
	values[1] = CStringGetTextDatum(a->t->symbol);
	values[2] = Int64GetDatum(trade_id);	/* the quote time in Unix microseconds */
	values[3] = TimestampTzGetDatum(a->ts);
	values[4] = Float8GetDatum(a->price);
	values[5] = Float8GetDatum(a->qty);
	values[6] = Int32GetDatum((int32) a->status);
	if (a->store)
		tsk_worker_exec("poll", "INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty) "
				  "VALUES ('quote', $2, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
				  6, types, values, NULL, SPI_OK_INSERT);
	tsk_worker_exec("poll", a->store
			  ? "UPDATE triggerstock.quote_sources SET last_polled = pg_catalog.now(), last_status = $7, "
			  "  last_error = NULL, last_price = $5, last_ts = $4 WHERE id = $1 AND $2 IS NOT NULL "
			  "  AND $3 IS NOT NULL AND $6 IS NOT NULL"
			  : "UPDATE triggerstock.quote_sources SET last_polled = pg_catalog.now(), last_status = $7, "
			  "  last_error = NULL WHERE id = $1 AND $2 IS NOT NULL AND $3 IS NOT NULL "
			  "  AND $4 IS NOT NULL AND $5 IS NOT NULL AND $6 IS NOT NULL",
			  7, types, values, NULL, SPI_OK_UPDATE);
}

/*
 * poll_parse_quote
 *	  Extract price, qty and time from the body (src/news/quote.c, fuzzed
 *	  on its own); NULL or an error message.
 */
static char *
poll_parse_quote(poll_target *t, const char *body, size_t len, poll_quote_arg *a)
{
	tsk_quote_paths paths = {t->price_path, t->qty_path, t->ts_path, t->ts_unit_us};
	tsk_quote	q;
	char		err[512];

	if (tsk_quote_parse(body, len, &paths, &q, err, sizeof(err)) != 0)
		return pstrdup(err);
	a->price = q.price;
	a->qty = q.qty;
	a->ts = q.has_ts ? tsk_timestamptz_from_unix_us(q.ts_unix_us) : GetCurrentTimestamp();
	return NULL;
}

/*
 * tsk_poll_store_quote
 *	  See poll.h.
 */
char *
tsk_poll_store_quote(poll_target *t, const char *body, size_t len, long status, bool *stored)
{
	poll_quote_arg a = {t, status, 0, 0, 0, false};
	char	   *err;

	if (body == NULL || len == 0)
		err = pstrdup("empty response body; nothing stored");
	else
		err = poll_parse_quote(t, body, len, &a);
	if (err == NULL)
	{
		if (!t->has_last || a.ts != t->last_ts || a.price != t->last_price)
		{
			/* a new price under an unchanged source time: stamped on receipt */
			if (t->has_last && a.ts == t->last_ts)
				a.ts = GetCurrentTimestamp();
			a.store = true;
		}
		err = poll_txn(poll_quote_in_txn, &a, "triggerstock poll: storing a quote");
	}
	if (err != NULL)
	{
		tsk_poll_record_status(t, status, err);
		return err;
	}
	if (a.store)
		t->has_last = true, t->last_price = a.price, t->last_ts = a.ts;
	*stored = a.store;
	return NULL;
}
