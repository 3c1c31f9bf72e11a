/*
 * ingest_gaps.c
 *	  Automatic gap repair in the ingest worker: for feeds whose trade ids
 *	  are consecutive per market (Binance trade and aggTrade, Coinbase
 *	  matches, Kraken v2) every trade goes through the id tracker
 *	  (src/backfill/idgap.c); a jump in ids (a reconnect without overlap, a
 *	  silent drop) becomes a row of triggerstock.gaps and a backfill job of
 *	  exactly the missing ids, which the poll worker fetches over REST.
 *	  The first trade of an instrument after the worker (re)started is
 *	  compared with the newest stored trade of the day before it, so a gap
 *	  across a worker restart is found too.
 *
 * Source options: rest_url (the exchange's REST base, default its public
 * API), backfill (the repair jobs' options, e.g. {"min_interval_ms": 100}),
 * gap_repair (false: gaps are recorded, not repaired).
 *
 * Invariants: gaps and their jobs are written in the flush transaction of
 * the trades that revealed them, and leave the tracker only after its
 * commit (a failed flush keeps them for the next one); no network access
 * here; the tracker is malloc'd process memory, rebuilt when the source's
 * configuration is reloaded.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "backfill/idgap.h"
#include "bgworker/ingest.h"
#include "common/unix_time.h"

#define GAPS_MAX_PENDING 1024
#define GAPS_SEED_LOOKBACK "1 day"

static tsk_idgap_tracker gaps_tracker;
static bool gaps_active = false;
static const char *gaps_endpoint = NULL;
static bool *gaps_seed_pending = NULL;	/* per instrument: compare with the database */
static int64 *gaps_seed_id = NULL;		/* its first id and time since the start */
static int64 *gaps_seed_us = NULL;
static int	gaps_written = 0;		/* gaps stored by the open flush */

/*
 * gaps_endpoint_of
 *	  The backfill endpoint of a feed with consecutive ids, or NULL (also
 *	  for a market the backfill jobs do not know: Binance spot, usdm and
 *	  coinm, spot elsewhere).
 */
static const char *
gaps_endpoint_of(const ingest_config *cfg)
{
	const char *m = cfg->market ? cfg->market : "spot";

	if (cfg->decoder == TD_GENERIC)
		return NULL;
	if (strcmp(m, "spot") != 0 &&
		!(cfg->decoder == TD_BINANCE && (strcmp(m, "usdm") == 0 || strcmp(m, "coinm") == 0)))
		return NULL;
	switch (cfg->feed)
	{
		case TD_FEED_BINANCE_TRADE:
			return "binance_trades";
		case TD_FEED_BINANCE_AGGTRADE:
			return "binance_aggtrades";
		case TD_FEED_COINBASE_MATCHES:
			return "coinbase_trades";
		case TD_FEED_KRAKEN_V2:
			return "kraken_trades";
		default:
			return NULL;
	}
}

/*
 * tsk_ingest_gaps_configure
 *	  (Re)build the tracker for the source's instruments.
 */
void
tsk_ingest_gaps_configure(const ingest_config *cfg)
{
	int			n = cfg->ninstruments;

	tsk_idgap_free(&gaps_tracker);
	free(gaps_seed_pending);
	free(gaps_seed_id);
	free(gaps_seed_us);
	gaps_seed_pending = NULL;
	gaps_seed_id = gaps_seed_us = NULL;
	gaps_endpoint = gaps_endpoint_of(cfg);
	gaps_active = gaps_endpoint != NULL;
	if (!gaps_active)
		return;
	gaps_seed_pending = calloc(n + 1, sizeof(bool));
	gaps_seed_id = calloc(n + 1, sizeof(int64));
	gaps_seed_us = calloc(n + 1, sizeof(int64));
	if (gaps_seed_pending == NULL || gaps_seed_id == NULL || gaps_seed_us == NULL ||
		!tsk_idgap_init(&gaps_tracker, n, GAPS_MAX_PENDING))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory for the trade-id gap tracker")));
}

/*
 * tsk_ingest_gaps_observe
 *	  One trade of instrument k entering the batch.
 */
void
tsk_ingest_gaps_observe(int k, const td_trade *t)
{
	if (!gaps_active || t->id_derived || k < 0 || k >= gaps_tracker.ninstruments)
		return;
	if (gaps_tracker.high_id[k] < 0)
	{
		gaps_seed_pending[k] = true;	/* first since the start: ask the table */
		gaps_seed_id[k] = t->trade_id;
		gaps_seed_us[k] = t->ts_us;
	}
	(void) tsk_idgap_observe(&gaps_tracker, k, t->trade_id, t->ts_us);
}

/*
 * gaps_seed
 *	  Compare the first trade of instrument k since the start with the
 *	  newest stored one of the day before it; a jump is a gap too.
 */
static void
gaps_seed(const ingest_config *cfg, int k)
{
	Oid			types[5] = {TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID, TEXTOID};
	Datum		args[5];
	bool		isnull;
	int			ret;

	args[0] = CStringGetTextDatum(cfg->exchange);
	args[1] = CStringGetTextDatum(cfg->instruments[k]);
	args[2] = Int64GetDatum(gaps_seed_id[k]);
	args[3] = TimestampTzGetDatum(tsk_timestamptz_from_unix_us(gaps_seed_us[k]));
	args[4] = CStringGetTextDatum(cfg->market ? cfg->market : "spot");
	ret = SPI_execute_with_args(
		"SELECT t.trade_id, t.ts"
		"  FROM triggerstock.trades t"
		" WHERE t.exchange OPERATOR(pg_catalog.=) $1 AND t.market OPERATOR(pg_catalog.=) $5"
		"   AND t.instrument OPERATOR(pg_catalog.=) $2"
		"   AND t.trade_id OPERATOR(pg_catalog.<) $3 AND t.ts OPERATOR(pg_catalog.<=) $4"
		"   AND t.ts OPERATOR(pg_catalog.>=) ($4 OPERATOR(pg_catalog.-) INTERVAL '" GAPS_SEED_LOOKBACK "')"
		" ORDER BY t.trade_id DESC LIMIT 1", 5, types, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "gap seed query failed: %s", SPI_result_code_string(ret));
	gaps_seed_pending[k] = false;	/* a gap found stays queued until stored */
	if (SPI_processed == 1)
	{
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		int64		us = tsk_unix_us_from_timestamptz(DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
																						 SPI_tuptable->tupdesc, 2, &isnull)));

		if (id < gaps_seed_id[k] - 1 && gaps_tracker.ngaps < gaps_tracker.cap)
		{
			tsk_idgap  *g = &gaps_tracker.gaps[gaps_tracker.ngaps++];

			g->instrument = k;
			g->first_id = id + 1;
			g->last_id = gaps_seed_id[k] - 1;
			g->after_us = us;
			g->before_us = gaps_seed_us[k];
		}
	}
}

/*
 * tsk_ingest_gaps_store
 *	  Inside the flush transaction, after the trades: check the pending
 *	  seeds, then write each gap and its repair job.
 */
void
tsk_ingest_gaps_store(const ingest_config *cfg)
{
	Oid			types[10] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		INT8OID, INT8OID, INT4OID, TEXTOID};
	Datum		args[10];
	int			ret;

	gaps_written = 0;
	if (!gaps_active)
		return;
	for (int k = 0; k < gaps_tracker.ninstruments; k++)
		if (gaps_seed_pending[k])
			gaps_seed(cfg, k);
	for (int i = 0; i < gaps_tracker.ngaps; i++)
	{
		const tsk_idgap *g = &gaps_tracker.gaps[i];

		args[0] = CStringGetTextDatum(cfg->exchange);
		args[1] = CStringGetTextDatum(cfg->instruments[g->instrument]);
		args[2] = CStringGetTextDatum(cfg->symbols[g->instrument]);
		args[3] = CStringGetTextDatum(gaps_endpoint);
		args[4] = TimestampTzGetDatum(tsk_timestamptz_from_unix_us(g->after_us));
		args[5] = TimestampTzGetDatum(tsk_timestamptz_from_unix_us(g->before_us + 1));
		args[6] = Int64GetDatum(g->first_id);
		args[7] = Int64GetDatum(g->last_id);
		args[8] = Int32GetDatum(cfg->id);
		args[9] = CStringGetTextDatum(cfg->market ? cfg->market : "spot");
		ret = SPI_execute_with_args(
			"WITH src AS ("
			"  SELECT s.options OPERATOR(pg_catalog.->>) 'rest_url' AS rest_url,"
			"         coalesce(s.options OPERATOR(pg_catalog.->) 'backfill', '{}') AS options,"
			"         coalesce((s.options OPERATOR(pg_catalog.->>) 'gap_repair')::pg_catalog.bool, true) AS repair"
			"    FROM triggerstock.sources s WHERE s.id OPERATOR(pg_catalog.=) $9"
			"), job AS ("
			"  INSERT INTO triggerstock.backfills AS b (exchange, market, instrument, symbol, kind, endpoint,"
			"         range_from, range_to, from_id, to_id, base_url, options, source)"
			"  SELECT $1, $10, $2, $3, 'trades', $4, $5, $6, $7, $8, src.rest_url, src.options, $9"
			"    FROM src WHERE src.repair"
			"  RETURNING b.id"
			")"
			"INSERT INTO triggerstock.gaps (source, exchange, instrument, first_id, last_id, after_ts,"
			"       before_ts, backfill)"
			"SELECT $9, $1, $2, $7, $8, $5, $6 OPERATOR(pg_catalog.-) INTERVAL '1 microsecond',"
			"       (SELECT job.id FROM job)",
			10, types, args, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "gap insert failed: %s", SPI_result_code_string(ret));
		ereport(LOG,
				(errmsg("triggerstock ingest source %d: trade ids of %s jumped from %lld to %lld; "
						"backfilling the %lld missing trades",
						cfg->id, cfg->instruments[g->instrument], (long long) g->first_id - 1,
						(long long) g->last_id + 1, (long long) (g->last_id - g->first_id + 1))));
	}
	gaps_written = gaps_tracker.ngaps;
}

/*
 * tsk_ingest_gaps_committed
 *	  The flush committed: its gaps and seeds are done.
 */
void
tsk_ingest_gaps_committed(void)
{
	if (!gaps_active)
		return;
	tsk_idgap_take(&gaps_tracker, gaps_written);
	gaps_written = 0;
}
