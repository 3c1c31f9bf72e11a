/*
 * book_sync.h
 *	  keeping one instrument's order book in step with an exchange's depth
 *	  stream (pure C, no PostgreSQL headers).
 *
 * A tb_sync owns a tb_book and applies decoded groups (book_decode.h) to
 * it under the exchange's sequencing rules:
 *
 *   Binance (diff depth + REST snapshot, as Binance documents): until the
 *   book is synced, diffs are buffered (oldest dropped beyond the buffer
 *   limit: a snapshot must then be newer than the oldest kept) and the
 *   caller is asked to fetch GET /depth.  A snapshot whose lastUpdateId L
 *   leaves a hole before the first buffered diff (spot: L + 1 < U, futures:
 *   L < U) is refused and fetched again.  Otherwise the book becomes the
 *   snapshot and the buffered diffs replay: spot skips u <= L and needs
 *   U <= last + 1; futures skips u < L, needs U <= L <= u (or pu == L)
 *   for the first diff and pu == previous u afterwards.  A diff that breaks the rule is a
 *   gap: the book is discarded, the diff buffered, a snapshot fetched.
 *
 *   Kraken (book-N): the snapshot replaces the book; every update is
 *   applied, the book truncated to N levels a side, and the CRC32 checksum
 *   of the update compared with the book's.  A mismatch discards the book
 *   and asks the caller to resubscribe; updates before the new snapshot
 *   are counted as skipped.
 *
 *   Coinbase (level2 / l2_data): the snapshot replaces the book, updates
 *   apply; updates before a snapshot are counted as skipped.  Advanced
 *   Trade's per-connection sequence_num is checked by tb_seq (below): a
 *   break discards every book of the connection.
 *
 * Every discarded book counts one resync.  Levels beyond the book's cap
 * are evicted or refused (book.h) and reported.  The order-flow imbalance
 * e_n (book.h) is accumulated after every applied message; tsk_tb_sync_sample
 * reads the top levels and hands over the accumulators since the last
 * sample.  Memory: the book's cap plus the diff buffer's limit.
 */
#ifndef TRIGGERSTOCK_BOOK_SYNC_H
#define TRIGGERSTOCK_BOOK_SYNC_H

#include "ingest/book.h"
#include "ingest/book_decode.h"

/* actions for the caller, or-ed */
#define TB_ACT_FETCH_SNAPSHOT 1		/* Binance: fetch a REST snapshot */
#define TB_ACT_RESUBSCRIBE	2		/* Kraken: resubscribe the instrument */
#define TB_ACT_REPORT		4		/* err holds something to record (dead letter) */

typedef enum tb_state
{
	TB_ST_WAITING = 0,			/* no book yet (never synced since reset) */
	TB_ST_SYNCED,
	TB_ST_RESYNCING				/* book discarded, waiting for a snapshot */
} tb_state;

typedef struct tb_stats
{
	int64_t		messages;		/* update messages applied */
	int64_t		levels;			/* level changes applied */
	int64_t		snapshots;		/* snapshots applied */
	int64_t		resyncs;		/* books discarded (gap, checksum, reset) */
	int64_t		gaps;			/* Binance sequence gaps */
	int64_t		checksum_ok;
	int64_t		checksum_fail;
	int64_t		stale;			/* Binance diffs the book already covers */
	int64_t		skipped;		/* updates while not synced and not buffered, and
								 * buffered diffs a reset discarded */
	int64_t		buffer_dropped; /* Binance diffs dropped from a full buffer */
	int64_t		snapshot_refused;	/* Binance snapshots older than the buffer */
	int64_t		evicted;		/* levels evicted at the cap */
	int64_t		refused;		/* levels refused at the cap */
	int64_t		crossed;		/* messages leaving the book crossed */
} tb_stats;

/* A buffered Binance diff (changes live in tb_sync.buf). */
typedef struct tb_pending
{
	int64_t		first_id;
	int64_t		last_id;
	int64_t		prev_id;
	int64_t		event_us;
	int			first;
	int			n;
} tb_pending;

typedef struct tb_sync
{
	tb_source	src;
	tb_book		book;
	tb_state	state;
	int			depth;			/* Kraken: truncate to this; 0 = no truncation */
	int64_t		last_id;		/* Binance: update id the book is at */
	bool		first_diff;		/* Binance: next applied diff is the first after a snapshot */
	bool		futures;		/* Binance: pu seen (futures rules) */
	tb_change  *buf;			/* Binance buffer of changes */
	int			nbuf,
				bufalloc,
				max_buffer;
	tb_pending *pend;
	int			npend,
				pendalloc;
	tb_stats	st;
	tb_ofi		ofi;
	double		ofi_acc;		/* sum of e_n since the last sample */
	int64_t		messages_acc;	/* messages applied since the last sample */
	int64_t		resyncs_acc;	/* resyncs since the last sample */
	int64_t		event_us;		/* exchange time of the last applied update
								 * message, -1 (none since the snapshot) */
} tb_sync;

/* What tsk_tb_sync_sample hands over. */
typedef struct tb_sample
{
	bool		synced;
	int			nbid;
	int			nask;
	double		ofi;
	int64_t		messages;
	int64_t		resyncs;
	int64_t		event_us;
} tb_sample;

/* Initialise: src is TB_SRC_BINANCE, TB_SRC_COINBASE or TB_SRC_KRAKEN;
 * max_levels per side (book.h); max_buffer changes kept while waiting for
 * a Binance snapshot (>= 1). */
void		tsk_tb_sync_init(tb_sync *s, tb_source src, int max_levels, int max_buffer);
void		tsk_tb_sync_free(tb_sync *s);
/* Forget the book (connection lost or resubscribed); counts a resync if it was synced. */
void		tsk_tb_sync_reset(tb_sync *s);
/* Apply one group of a decoded stream frame (ch = its changes). */
int			tsk_tb_sync_apply(tb_sync *s, const tb_group *g, const tb_change *ch,
							  char *err, size_t errsz);
/* Apply a Binance REST snapshot (a decoded TB_SRC_BINANCE_REST group). */
int			tsk_tb_sync_rest(tb_sync *s, const tb_group *g, const tb_change *ch,
							 char *err, size_t errsz);
/* True if a Binance book waits for a snapshot and has diffs buffered. */
bool		tsk_tb_sync_wants_snapshot(const tb_sync *s);
/* The n best levels of each side (bids/asks need n entries) and the
 * accumulators since the previous sample, which restart from zero. */
void		tsk_tb_sync_sample(tb_sync *s, int n, tb_level *bids, tb_level *asks, tb_sample *out);
/* "waiting", "synced", "resyncing". */
const char *tsk_tb_state_name(tb_state st);

/*
 * Coinbase Advanced Trade numbers every message of a connection, of every
 * channel (l2_data, market_trades, heartbeats, subscriptions, ...), with
 * an envelope "sequence_num" one more than the previous message's.  A
 * number that is not last + 1 means messages were lost (or repeated, or
 * reordered): any of them may have been a book update, so the caller
 * discards every book of the connection and resubscribes.
 */
typedef struct tb_seq
{
	int64_t		last;			/* last sequence_num seen, -1 before the first */
	int64_t		frames;			/* numbered frames seen */
	int64_t		gaps;			/* discontinuities */
	int64_t		missed;			/* numbers skipped over by forward gaps */
} tb_seq;

/* Before the first frame of a connection. */
void		tsk_tb_seq_init(tb_seq *q);
/* The envelope's sequence_num of a frame (its first "sequence_num" key
 * followed by a non-negative integer of at most 18 digits), or -1. */
int64_t		tsk_tb_sequence_num(const char *frame, size_t len);
/* Account for one numbered frame: true if it breaks the sequence (the
 * first frame never does); the sequence continues from seq either way. */
bool		tsk_tb_seq_check(tb_seq *q, int64_t seq);

#endif							/* TRIGGERSTOCK_BOOK_SYNC_H */
