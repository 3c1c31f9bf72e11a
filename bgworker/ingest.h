/*
 * ingest.h
 *	  The ingest worker: one dynamic background worker per enabled row of
 *	  triggerstock.sources (worker_plan kind 'ingest'), streaming trades from
 *	  an exchange WebSocket into triggerstock.trades and keeping the touched
 *	  1-minute candles current.
 *
 * Files:
 *	ingest.c		the worker's loop: connection state machine, active hours,
 *					decoding frames into the batch, flush triggers, SIGTERM
 *	ingest_ws.c		the libwebsockets client: one context per connection,
 *					callbacks that only copy bytes into a malloc'd frame queue
 *	ingest_flush.c	everything that talks SQL: configuration, the batch flush
 *					(trades + candles + dead letters in one short transaction)
 *	ingest_copy.c	the flush's fast path: dedupe in C, one probe for stored
 *					keys, binary COPY of the new rows
 *	ingest_candles.c the candles of the trades a flush stored, aggregated in
 *					C and merged by store_candles() (the one candle writer)
 *	ingest_stats.c	shared-memory counters per worker slot, the SQL
 *					functions ingest_stats(), canonical_symbol() and redact_url()
 *
 * Invariants:
 *	- libwebsockets callbacks never palloc, ereport or touch SQL: they copy
 *	  frames into malloc'd memory and set flags; the loop acts after
 *	  lws_service() returns;
 *	- no transaction is open while the worker waits on the network: all
 *	  SQL runs in short transactions between waits;
 *	- trades are kept in process memory until their transaction commits; a
 *	  flush that fails keeps the batch and is retried (rows are deduplicated
 *	  on the unique key, so a retry never duplicates);
 *	- the lws context lives in process memory only, owned by a memory
 *	  context whose reset callback destroys it.
 */
#ifndef TRIGGERSTOCK_INGEST_H
#define TRIGGERSTOCK_INGEST_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "ingest/decode.h"

#define INGEST_STATE_CONNECTING "connecting"
#define INGEST_STATE_STREAMING "streaming"
#define INGEST_STATE_BACKOFF "backoff"
#define INGEST_STATE_OUTSIDE_HOURS "outside-hours"

/*
 * Longest subscribe message, in bytes (options->'subscribe' of a generic
 * source, or the one built for the instruments); sources_check() refuses a
 * longer one where the configuration enters.
 */
#define INGEST_SUBSCRIBE_MAX 65536

/* One source's configuration, read from triggerstock.sources (palloc'd). */
typedef struct ingest_config
{
	int32		id;
	char	   *name;
	char	   *exchange;		/* sources.exchange, stored in trades.exchange */
	char	   *market;			/* sources.market, stored in trades.market */
	td_exchange decoder;
	td_feed		feed;			/* subscribe flavour; ignored for generic */
	char	   *url;			/* ws:// or wss:// as configured (no token) */
	char	   *token;			/* source_secrets token, or NULL: never shown */
	int			ninstruments;
	char	  **instruments;
	char	  **symbols;
	bool		enabled;
	int			active_days;	/* bit d set: ISO day d (1 = Monday) allowed; 0 = every day */
	bool		has_hours;
	int			active_from_s;	/* seconds after UTC midnight */
	int			active_until_s;
	int			batch_size;
	int			flush_ms;
	bool		tls_skip_hostname_check;
	char	   *subscribe;		/* generic: message sent after connecting, or NULL */
	td_generic_map map;			/* generic only */
	Oid			watch[2];		/* sources, source_secrets: their changes reload */
} ingest_config;

/* A batch of decoded trades waiting for their transaction (malloc'd). */
typedef struct ingest_batch
{
	int			n;
	int			cap;
	td_trade   *trades;
	int		   *symbol_index;	/* index into config instruments/symbols */
	TimestampTz *received;		/* when the frame carrying the trade arrived */
	TimestampTz first_at;		/* when the oldest trade arrived, 0 if empty */
} ingest_batch;

/* A frame that could not be stored, waiting for the next flush (malloc'd). */
typedef struct ingest_dead_letter
{
	TimestampTz received;
	size_t		total_len;		/* original frame length */
	size_t		len;			/* bytes kept (<= dead letter cap) */
	char	   *payload;
	char		error[TD_ERROR_MAX + 64];
} ingest_dead_letter;

/* ---- ingest_ws.c ---- */

/* What the callbacks saw; read and cleared by the loop. */
typedef struct ingest_ws_events
{
	bool		established;	/* handshake done since last look */
	bool		closed;			/* the connection is gone (error or close) */
	char		reason[256];	/* why it closed, for the log */
} ingest_ws_events;

/* Called by tsk_ingest_ws_service for every complete frame. */
typedef void (*ingest_frame_fn) (const char *data, size_t len, size_t total_len,
								  bool binary, TimestampTz received);

extern bool tsk_ingest_ws_connect(const ingest_config *cfg, char *err, size_t errsz);
extern void tsk_ingest_ws_close(void);
extern bool tsk_ingest_ws_active(void);
extern int	tsk_ingest_ws_fd(void);
extern uint64 tsk_ingest_ws_generation(void);
extern bool tsk_ingest_ws_wants_service(void);
extern int	tsk_ingest_ws_service(ingest_frame_fn fn);
extern void tsk_ingest_ws_events_take(ingest_ws_events *ev);
extern bool tsk_ingest_ws_send(const char *text);
extern void tsk_ingest_ws_shown_url(const ingest_config *cfg, char *out, size_t outsz);

/* ---- ingest_flush.c ---- */

extern ingest_config *tsk_ingest_load_config(int32 id, MemoryContext cxt);
extern ErrorData *tsk_ingest_flush(const ingest_config *cfg, ingest_batch *batch,
								   ingest_dead_letter *dead, int ndead, int timeout_ms);
extern void tsk_ingest_flush_reset_plans(void);

/*
 * The daily trade partitions of the days of t[0..n) this process has not
 * seen, created in the caller's transaction (SPI connected); the days
 * created go to created[] (returns how many: at most INGEST_NEW_DAYS, the
 * rest go to trades_default until maintain()), for the caller to give
 * tsk_ingest_partitions_committed() after its commit, never after a
 * rollback.  The ingest flush and the backfill's pages.
 */
#define INGEST_NEW_DAYS 8
extern int	tsk_ingest_partitions(const td_trade *t, int n, int64 *created);
extern void tsk_ingest_partitions_committed(const int64 *created, int n);

/* ---- ingest_copy.c ---- */

/* The candles of a flush being built (ingest_candles.c). */
typedef struct ingest_candles ingest_candles;

/*
 * Whose trades a batch holds: the key columns of its rows (an ingest
 * source's configuration, or a backfill job's one instrument).
 */
typedef struct ingest_trade_owner
{
	const char *exchange;		/* trades.exchange */
	const char *market;			/* trades.market */
	int			ninstruments;
	char	  **instruments;	/* batch symbol_index points here */
	char	  **symbols;
} ingest_trade_owner;

extern void tsk_ingest_copy_prepare(void);
extern void tsk_ingest_copy_reset_plans(void);
extern int64 tsk_ingest_copy_trades(const ingest_trade_owner *own, const ingest_batch *batch,
									ingest_candles *candles);

/* ---- ingest_candles.c ---- */

extern void tsk_ingest_candles_prepare(const char *schema);
extern void tsk_ingest_candles_reset_plans(void);
extern ingest_candles *tsk_ingest_candles_begin(void);
extern void tsk_ingest_candles_add(ingest_candles *c, const char *symbol, TimestampTz ts, int64 seq,
								   double price, double qty);
extern int64 tsk_ingest_candles_store(ingest_candles *c);

/* ---- ingest_gaps.c ---- */
extern void tsk_ingest_gaps_configure(const ingest_config *cfg);
extern void tsk_ingest_gaps_observe(int k, const td_trade *t);
extern void tsk_ingest_gaps_store(const ingest_config *cfg);
extern void tsk_ingest_gaps_committed(void);

/* ---- ingest_stats.c ---- */

extern void tsk_ingest_preload(void);
extern void tsk_ingest_stats_begin(int32 source);
extern void tsk_ingest_stats_connected(TimestampTz since);
extern void tsk_ingest_stats_disconnected(bool reconnect);
extern void tsk_ingest_stats_frames(int64 frames, int64 bytes);
extern void tsk_ingest_stats_dead_dropped(int64 n);
extern void tsk_ingest_stats_committed(int64 stored, int64 dead_letters, const TimestampTz *received,
								   int n, int64 last_trade_us);

#endif							/* TRIGGERSTOCK_INGEST_H */
