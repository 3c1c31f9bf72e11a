/*
 * book_decode.h
 *	  pure-C decoders for exchange order-book (L2 depth) frames, and the
 *	  subscribe texts of the depth channels (triggerstock).
 *
 * One WebSocket text frame (or one REST /depth body) becomes a tb_msg: one
 * or more groups (one per instrument the frame speaks about), each a
 * snapshot (replaces the book) or an update, with its sequence ids, its
 * checksum and its run of level changes in out[].  The book itself and
 * the sequencing rules live in book.h and book_sync.h.
 *
 * Formats (see ../shared/data/FORMATS.md):
 *   TB_SRC_BINANCE       diff depth, combined {"stream","data"} or raw:
 *                        {"e":"depthUpdate","E","s","U","u"[,"pu","T"],"b","a"}
 *   TB_SRC_BINANCE_REST  GET /api/v3/depth or /fapi/v1/depth answer:
 *                        {"lastUpdateId","bids","asks"[,"E","T"]}
 *   TB_SRC_COINBASE      Exchange ws-feed level2 "snapshot" / "l2update";
 *                        Advanced Trade "l2_data" (events: snapshot|update)
 *   TB_SRC_KRAKEN        spot v1 book-N: [id,{"as","bs"},"book-N",pair],
 *                        [id,{"a"|"b"[,"c"]}(,{"b","c"}),"book-N",pair]
 *
 * No PostgreSQL headers: C11 + cJSON.  Invariants for every input:
 *   - never reads frame[len] or beyond; NUL bytes inside are rejected;
 *   - never writes more than cap changes to out; TB_OVERFLOW reports
 *     msg->needed > cap and stores nothing;
 *   - msg->error and msg->detail are NUL-terminated printable ASCII;
 *   - every change has side TB_BID or TB_ASK, group < ngroups, a price
 *     with mant > 0 and at most TB_MAX_DEC decimals, a quantity with at
 *     most TB_MAX_DEC decimals (mant 0 = delete the level);
 *   - groups partition out[0..nchanges) in order; instruments are 1..63
 *     printable ASCII bytes (REST bodies: "", the caller knows);
 *   - decimal strings are read exactly (book.h), never through a double.
 */
#ifndef TRIGGERSTOCK_BOOK_DECODE_H
#define TRIGGERSTOCK_BOOK_DECODE_H

#include "ingest/book.h"

#include <stddef.h>
#include <stdint.h>

#define TB_MAX_GROUPS 16
#define TB_INSTRUMENT_MAX 64
#define TB_ERROR_MAX 160
#define TB_DETAIL_MAX 48
#define TB_MAX_FRAME_LEN (64u * 1024u * 1024u)

typedef enum tb_source
{
	TB_SRC_BINANCE = 0,
	TB_SRC_BINANCE_REST,
	TB_SRC_COINBASE,
	TB_SRC_KRAKEN,
	TB_SRC_COUNT
} tb_source;

typedef enum tb_kind
{
	TB_BOOK = 0,				/* groups and changes decoded */
	TB_CONTROL,					/* not a book frame (ack, heartbeat, trade, ...) */
	TB_ERROR,					/* malformed book frame or exchange error */
	TB_OVERFLOW					/* valid, but needs more than cap changes */
} tb_kind;

typedef struct tb_change
{
	uint8_t		side;			/* TB_BID or TB_ASK */
	uint8_t		group;			/* index into msg->groups */
	tb_dec		price;
	tb_dec		qty;			/* mant 0: remove the level */
} tb_change;

typedef struct tb_group
{
	char		instrument[TB_INSTRUMENT_MAX];
	bool		snapshot;		/* the changes are the whole book */
	int			first;			/* its changes: out[first .. first + n) */
	int			n;
	int64_t		first_id;		/* Binance U; Coinbase Advanced sequence_num; else -1 */
	int64_t		last_id;		/* Binance u, REST lastUpdateId; else -1 */
	int64_t		prev_id;		/* Binance futures pu; else -1 */
	bool		has_checksum;
	uint32_t	checksum;		/* Kraken "c" */
	int			depth;			/* Kraken book-N: N; else 0 */
	int64_t		event_us;		/* exchange time (µs since epoch), -1 if none */
} tb_group;

typedef struct tb_msg
{
	tb_kind		kind;
	int			ngroups;
	int			nchanges;		/* changes written (TB_BOOK) */
	int			needed;			/* changes in the frame (TB_BOOK, TB_OVERFLOW) */
	tb_group	groups[TB_MAX_GROUPS];
	char		detail[TB_DETAIL_MAX];	/* TB_CONTROL: what it was */
	char		error[TB_ERROR_MAX];	/* TB_ERROR: why */
} tb_msg;

/*
 * Decode one frame of len bytes.  out has room for cap changes (cap >= 0;
 * out may be NULL when cap is 0).  Fills *msg, returns msg->kind.
 */
tb_kind		tsk_tb_decode(tb_source src, const char *frame, size_t len,
						  tb_change *out, int cap, tb_msg *msg);

/* "binance", "binance_rest", "coinbase", "kraken". */
const char *tsk_tb_source_name(tb_source src);
/* "book", "control", "error", "overflow". */
const char *tsk_tb_kind_name(tb_kind kind);

/*
 * Subscribe texts (snprintf convention: returns the length needed,
 * excluding the NUL; out is "" if it did not fit; -1 for bad arguments:
 * n < 1, or a symbol empty, >= 64 bytes or not printable ASCII).
 *   binance:  the stream list "btcusdt@depth@100ms/ethusdt@depth@100ms"
 *             (append to /stream?streams=...; symbols [A-Za-z0-9._-]);
 *   coinbase: {"type":"subscribe"|"unsubscribe","product_ids":[..],
 *             "channels":["level2"]} (advanced = true: "channel":"level2");
 *   kraken:   {"event":"subscribe"|"unsubscribe","pair":[..],
 *             "subscription":{"name":"book","depth":D}}.
 */
int			tsk_tb_binance_streams(const char *const *instruments, int n, char *out, size_t outsz);
/* {"method":"SUBSCRIBE","params":["btcusdt@depth@100ms",...],"id":id} */
int			tsk_tb_binance_subscribe(const char *const *instruments, int n, int id, char *out, size_t outsz);
int			tsk_tb_coinbase_subscribe(const char *const *instruments, int n, bool advanced,
									  bool subscribe, char *out, size_t outsz);
int			tsk_tb_kraken_subscribe(const char *const *instruments, int n, int depth, bool subscribe,
									char *out, size_t outsz);

/* ======================================================================
 * Internal interface shared by src/ingest/book_decode*.c only.
 * ====================================================================== */
#ifdef TB_DECODE_INTERNAL
#include <cjson/cJSON.h>

typedef struct tb_ctx
{
	tb_change  *out;
	int			cap;
	int			n;				/* changes seen (may exceed cap) */
	tb_msg	   *msg;
	tb_group   *g;				/* the open group */
} tb_ctx;

tb_kind		tsk_tb_fail(tb_ctx *c, const char *fmt,...) __attribute__((format(printf, 2, 3)));
tb_kind		tsk_tb_control(tb_ctx *c, const char *detail);
tb_group   *tsk_tb_group_open(tb_ctx *c, const char *instrument, bool snapshot);
bool		tsk_tb_add(tb_ctx *c, int side, const cJSON *price, const cJSON *qty, const char *where);
bool		tsk_tb_int(const cJSON *it, int64_t *out);
bool		tsk_tb_rfc3339(const char *s, int64_t *us);
bool		tsk_tb_epoch_text(const char *s, int64_t *us);
void		tsk_tb_sanitize(char *dst, size_t dstsz, const char *src);

tb_kind		tsk_tb_decode_binance(tb_ctx *c, const cJSON *root, bool rest);
tb_kind		tsk_tb_decode_coinbase(tb_ctx *c, const cJSON *root);
tb_kind		tsk_tb_decode_kraken(tb_ctx *c, const cJSON *root);
#endif							/* TB_DECODE_INTERNAL */

#endif							/* TRIGGERSTOCK_BOOK_DECODE_H */
