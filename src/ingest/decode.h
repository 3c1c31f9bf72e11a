/*
 * decode.h
 *	  pure-C decoders for exchange WebSocket trade frames (triggerstock).
 *
 * Purpose: turn one WebSocket text frame, exactly as an exchange sent it, into
 * zero or more normalised trades (td_trade), or classify it as a control frame
 * (subscription ack, heartbeat, ping, status, other channel such as depth /
 * ticker / l2update) or as an error (malformed, or an exchange error reply).
 * Also builds subscribe messages and maps native symbols to canonical ones.
 *
 * No PostgreSQL headers: this layer is plain C11 + cJSON (-lcjson) so it can be
 * unit-tested and fuzzed outside the server.  The Postgres glue owns memory
 * contexts, SQL types, dead letters and retries.
 *
 * Invariants (guaranteed for every input byte sequence):
 *   - never reads frame[len] or beyond; NUL bytes inside the frame are rejected;
 *   - never writes more than `cap` elements of `out`;
 *   - recursion is bounded (cJSON nesting limit, CJSON_NESTING_LIMIT = 1000;
 *     our own code does not recurse);
 *   - res->error / res->detail are NUL-terminated printable ASCII (hostile text
 *     copied into them is sanitised), so they can go straight into a text column;
 *   - every returned trade has: instrument = 1..63 printable ASCII chars,
 *     trade_id >= 0, 0 <= ts_us <= 9999-12-31T23:59:59.999999Z, price finite > 0,
 *     qty finite >= 0, side in {'b','s',0};
 *   - no global state of our own (cJSON keeps a global last-error pointer that
 *     we never read, so one decoder per thread is fine; Postgres is single-threaded).
 *   - decimal strings go through strtod: LC_NUMERIC must be "C" (Postgres
 *     backends always run with LC_NUMERIC=C).
 *
 * Result kinds:
 *   TD_TRADES   res->ntrades trades were written to out[0..ntrades) (may be 0,
 *               e.g. an empty trades array in a trade channel).
 *   TD_CONTROL  nothing to store; res->detail says what it was ("heartbeat",
 *               "depthUpdate", "subscriptions", ...).
 *   TD_ERROR    res->error says why ("trade 2: field \"q\": negative (-1)").
 *               Also used for exchange error replies ("exchange error: ...")
 *               so they reach the dead-letter table.  out[] contents unspecified.
 *   TD_OVERFLOW the frame is valid but holds res->needed > cap trades; nothing
 *               was stored (ntrades = 0).  Retry with cap >= res->needed.
 *               A frame that is both malformed and too big reports TD_ERROR.
 *
 * Derived trade ids (feeds without a native integer id): FNV-1a 64 over a
 * domain tag and the length-prefixed trade fields, murmur3 fmix64 finaliser,
 * top bit cleared (so ids are >= 0 and fit a Postgres bigint); id_derived = 1.
 *   Kraken v1:   pair, price/volume/time/side/orderType/misc strings exactly as
 *                sent, and the trade's index in the frame (channelID excluded:
 *                it changes per connection).
 *   Finnhub:     symbol, t, p, v (numbers hashed by value), index in frame.
 *   Kraken fut.: uid string (uuid).  Coinbase Advanced: trade_id when it is not
 *                a plain decimal integer.  Generic: instrument, ts, price, qty,
 *                side, index (when no id path is mapped).
 * Replaying the same frames therefore yields the same ids (dedupe works);
 * two identical trades in one frame differ by index.  Collision odds are
 * ~n^2/2^64 for n trades of one instrument.
 */
#ifndef TRIGGERSTOCK_DECODE_H
#define TRIGGERSTOCK_DECODE_H

#include <stddef.h>
#include <stdint.h>

#define TD_INSTRUMENT_MAX 64                  /* incl. NUL: symbols <= 63 chars */
#define TD_ERROR_MAX 160
#define TD_DETAIL_MAX 48
#define TD_MAX_FRAME_LEN (16u * 1024u * 1024u) /* larger frames => TD_ERROR */
#define TD_PATH_MAX_SEGMENTS 16               /* generic map path depth */
#define TD_MAX_TS_US INT64_C(253402300799999999) /* 9999-12-31T23:59:59.999999Z */

typedef enum td_exchange
{
	TD_BINANCE = 0,	/* combined (or raw) streams: trade, aggTrade; spot + futures */
	TD_COINBASE,	/* legacy ws-feed match/last_match + Advanced Trade market_trades */
	TD_KRAKEN,		/* spot v1 arrays, spot v2 JSON, futures v1 trade/trade_snapshot */
	TD_FINNHUB,		/* {"type":"trade","data":[...]} */
	TD_GENERIC,		/* JSON with a caller-supplied td_generic_map */
	TD_EXCHANGE_COUNT
} td_exchange;

typedef enum td_kind
{
	TD_TRADES = 0,
	TD_CONTROL,
	TD_ERROR,
	TD_OVERFLOW
} td_kind;

/* Unit of a timestamp field (generic map).  Numbers or strings are accepted;
 * decimal strings ("1618678142.557535") are converted exactly (truncated to
 * µs); JSON numbers with a fraction are rounded to the nearest µs (the double
 * is already an approximation); RFC 3339 strings keep up to 6 fraction digits
 * (more are truncated). */
typedef enum td_ts_unit
{
	TD_TS_S = 0,
	TD_TS_MS,
	TD_TS_US,
	TD_TS_NS,
	TD_TS_RFC3339
} td_ts_unit;

/* How a side field is meant: the taker's side, or the maker's side (inverted).
 * Values: "b"/"buy"/"bid" and "s"/"sell"/"ask"/"offer" (any case); booleans
 * true = buy, false = sell, so Binance's "m" (buyer is maker) is side "m" with
 * TD_SIDE_MAKER; JSON null = unknown. */
typedef enum td_side_mode
{
	TD_SIDE_TAKER = 0,
	TD_SIDE_MAKER = 1
} td_side_mode;

typedef struct td_trade
{
	char		instrument[TD_INSTRUMENT_MAX]; /* native symbol, e.g. "BTCUSDT", "XBT/USD" */
	int64_t		trade_id;		/* native id, or derived (see above); >= 0 */
	int64_t		ts_us;			/* trade time, µs since Unix epoch, UTC */
	double		price;
	double		qty;
	char		side;			/* 'b' taker bought, 's' taker sold, 0 unknown */
	uint8_t		id_derived;		/* 1 if trade_id is a hash, 0 if native */
} td_trade;

typedef struct td_result
{
	td_kind		kind;
	int			ntrades;		/* trades written to out (TD_TRADES only) */
	int			needed;			/* trades in the frame (TD_TRADES, TD_OVERFLOW) */
	int			snapshot;		/* 1: trades are a (re)play of history sent on
								 * subscribe (Coinbase last_match / snapshot, Kraken
								 * v2 snapshot, Kraken futures trade_snapshot) */
	char		detail[TD_DETAIL_MAX];	/* TD_CONTROL: what it was; else "" */
	char		error[TD_ERROR_MAX];	/* TD_ERROR: why; else "" */
} td_result;

/*
 * Field map for TD_GENERIC.  Paths are '.'-separated object keys or decimal
 * array indices ("data.0.p"), resolved against the trade item; a path starting
 * with "$." (or exactly "$") is resolved against the frame root.  Keys that
 * contain '.' cannot be addressed.  At most TD_PATH_MAX_SEGMENTS segments of
 * <= 63 bytes each.  NULL or "" means "not mapped".
 *
 *   match_path/value  optional: frames whose string at match_path is not
 *                     match_value are TD_CONTROL (e.g. "type" = "trade").
 *   items             optional path (from the root) to an array of trade
 *                     objects (or one object).  Frames without it are
 *                     TD_CONTROL.  Unmapped: a root array is the list of
 *                     trades, a root object is one trade.
 *   instrument        required unless instrument_const is set.
 *   price, qty, ts    required.  ts_unit says how to read ts.
 *   trade_id          optional; unmapped => derived id.
 *   side              optional; unmapped => side 0.  side_mode as above.
 */
typedef struct td_generic_map
{
	const char *match_path;
	const char *match_value;
	const char *items;
	const char *instrument;
	const char *instrument_const;
	const char *price;
	const char *qty;
	const char *ts;
	td_ts_unit	ts_unit;
	const char *trade_id;
	const char *side;
	td_side_mode side_mode;
} td_generic_map;

/*
 * Decode one frame.  `map` is used only for TD_GENERIC (may be NULL
 * otherwise).  `out` must have room for `cap` trades (cap >= 0; out may be
 * NULL when cap == 0, e.g. to count).  Fills *res and returns res->kind.
 * The exchange is auto-detected within a family (Kraken spot v1 vs v2 vs
 * futures; Coinbase legacy vs Advanced Trade; Binance combined vs raw).
 */
td_kind		tsk_td_decode(td_exchange ex, const td_generic_map *map,
					  const char *frame, size_t len,
					  td_trade *out, int cap, td_result *res);

/* Check a generic map once at configuration time.  Returns 0 if usable,
 * else -1 with a message in err (printable ASCII, NUL-terminated). */
int			tsk_td_generic_map_check(const td_generic_map *map, char *err, size_t errsz);

/* Names: "binance", "coinbase", "kraken", "finnhub", "generic". */
const char *tsk_td_exchange_name(td_exchange ex);
/* Parse a name (case-insensitive); returns 0 and sets *ex, or -1. */
int			tsk_td_exchange_from_name(const char *name, td_exchange *ex);
/* "trades", "control", "error", "overflow". */
const char *tsk_td_kind_name(td_kind kind);

/* ---- subscriptions ---------------------------------------------------- */

typedef enum td_feed
{
	TD_FEED_BINANCE_TRADE = 0,	/* <sym>@trade */
	TD_FEED_BINANCE_AGGTRADE,	/* <sym>@aggTrade */
	TD_FEED_COINBASE_MATCHES,	/* legacy ws-feed "matches" channel */
	TD_FEED_COINBASE_ADVANCED,	/* Advanced Trade "market_trades" (+ heartbeats) */
	TD_FEED_KRAKEN_V1,			/* ws.kraken.com "trade" */
	TD_FEED_KRAKEN_V2,			/* ws.kraken.com/v2 "trade" */
	TD_FEED_KRAKEN_FUTURES,		/* futures.kraken.com/ws/v1 "trade" */
	TD_FEED_FINNHUB,			/* ws.finnhub.io, one message per symbol */
	TD_FEED_COUNT
} td_feed;

/* Feed names: "binance_trade", "binance_aggtrade", "coinbase_matches",
 * "coinbase_advanced", "kraken_v1", "kraken_v2", "kraken_futures", "finnhub". */
const char *tsk_td_feed_name(td_feed feed);
int			tsk_td_feed_from_name(const char *name, td_feed *feed);
/* Which decoder handles a feed's frames. */
td_exchange tsk_td_feed_exchange(td_feed feed);

/*
 * Subscribe message(s) for `n` instruments (native symbols).  Writes JSON
 * text, one message per line ('\n'-separated, no trailing newline): Finnhub
 * needs one message per symbol and Coinbase Advanced gets a second
 * "heartbeats" subscription that keeps the connection open.  Binance gets a
 * {"method":"SUBSCRIBE",...} message (for an open connection; the combined
 * stream URL is tsk_td_binance_stream_path).
 * snprintf-like: returns the length needed (excluding NUL); if that is >=
 * outsz nothing useful was written (out is "" when outsz > 0).  Returns -1 if
 * n < 1 or a symbol is empty, longer than 63 bytes or not printable ASCII.
 */
int			tsk_td_subscribe_message(td_feed feed, const char *const *instruments, int n,
								 char *out, size_t outsz);

/*
 * Binance combined-stream path, e.g. "/stream?streams=btcusdt@trade/ethusdt@trade"
 * (append to wss://stream.binance.com:9443 or wss://fstream.binance.com).
 * Symbols are lower-cased and must match [A-Za-z0-9._-].  feed must be a
 * Binance feed.  Same return convention as tsk_td_subscribe_message.
 */
int			tsk_td_binance_stream_path(td_feed feed, const char *const *instruments, int n,
								   char *out, size_t outsz);

/*
 * Default canonical symbol: the base asset, upper case.  Rule, in order:
 *  1. upper-case; keep what follows the last ':' ("BINANCE:BTCUSDT" -> "BTCUSDT");
 *  2. drop a Kraken futures prefix PI_/PF_/FI_/FF_ ("PI_XBTUSD" -> "XBTUSD");
 *  3. drop a trailing "_PERP" or "_<digits>" (expiry) suffix;
 *  4. if a '/', '-' or '_' separator remains, keep the part before the first;
 *  5. else strip the first quote suffix, in the order FDUSD USDT USDC BUSD
 *     TUSD USDP USD EUR GBP JPY AUD CAD CHF TRY BRL BTC XBT ETH BNB, that
 *     leaves >= 3 characters; failing that, the first that leaves >= 2
 *     ("BTCUSDT" -> "BTC", "BNBUSD" -> "BNB" not "BN"+BUSD, "XBTUSD" -> "XBT",
 *     "OPUSDT" -> "OP", "ETHBTC" -> "ETH", "TSLA" stays);
 *  6. aliases XBT -> BTC, XDG -> DOGE.
 * Heuristic by nature ("1000SHIBUSDT" -> "1000SHIB"); callers can override
 * with an explicit table.  Returns 0, or -1 (out = "" if outsz > 0) when the
 * input is empty, not printable ASCII, >= 64 bytes, or out is too small.
 */
int			tsk_td_canonical_symbol(const char *native, char *out, size_t outsz);

/* ======================================================================
 * Internal interface shared by src/ingest/decode*.c only.  Not part of the API.
 * ====================================================================== */
#ifdef TD_DECODE_INTERNAL
#include <stdbool.h>
#include <cjson/cJSON.h>

/* Decoding state for one frame. */
typedef struct td_ctx
{
	td_trade   *out;
	int			cap;
	int			n;				/* trades seen; may exceed cap (then not stored) */
	int			index;			/* index of the trade being decoded, -1 if none */
	td_result  *res;
	const cJSON *root;
} td_ctx;

/* Streaming id hasher (FNV-1a 64 + fmix64). */
typedef struct td_hash
{
	uint64_t	h;
} td_hash;

/* flags for tsk_td_read_number */
#define TD_NUM_POSITIVE 1		/* must be > 0 */
#define TD_NUM_NONNEG	2		/* must be >= 0 */

const cJSON *tsk_td_get(const cJSON *obj, const char *key);
const char *tsk_td_get_string(const cJSON *obj, const char *key);
td_kind		tsk_td_fail(td_ctx *c, const char *fmt,...) __attribute__((format(printf, 2, 3)));
bool		tsk_td_reject(td_ctx *c, const char *fmt,...) __attribute__((format(printf, 2, 3)));
td_kind		tsk_td_control(td_ctx *c, const char *detail);
td_kind		tsk_td_exchange_error(td_ctx *c, const cJSON *obj, const char *const *keys);
bool		tsk_td_read_number(td_ctx *c, const cJSON *it, const char *name, int flags, double *out);
bool		tsk_td_read_ts(td_ctx *c, const cJSON *it, const char *name, td_ts_unit unit, int64_t *out);
bool		tsk_td_read_id(td_ctx *c, const cJSON *it, const char *name, int64_t *out, uint8_t *derived);
bool		tsk_td_read_side(td_ctx *c, const cJSON *it, const char *name, td_side_mode mode, char *out);
bool		tsk_td_set_instrument(td_ctx *c, td_trade *t, const cJSON *it, const char *name);
bool		tsk_td_check_array(td_ctx *c, const cJSON *it, const char *name);
void		tsk_td_emit(td_ctx *c, const td_trade *t);

void		tsk_td_hash_init(td_hash *h, const char *domain);
void		tsk_td_hash_bytes(td_hash *h, const void *p, size_t n);
void		tsk_td_hash_item(td_hash *h, const cJSON *it);
void		tsk_td_hash_i64(td_hash *h, int64_t v);
int64_t		tsk_td_hash_final(const td_hash *h);

/* Subscribe helpers (decode_out.c): output accumulator with snprintf semantics. */
typedef struct td_outbuf
{
	char	   *out;
	size_t		outsz;
	size_t		len;			/* bytes needed so far */
	int			failed;			/* out of memory while building */
} td_outbuf;
bool		tsk_td_symbol_ok(const char *s, bool url_safe);
void		tsk_td_ascii_fold(char *s, bool upper);
bool		tsk_td_symbols_ok(const char *const *instruments, int n, bool url_safe);
cJSON	   *tsk_td_string_array(const char *const *instruments, int n, bool lower, const char *suffix);
bool		tsk_td_out_json(td_outbuf *ob, cJSON *msg);
void		tsk_td_out_text(td_outbuf *ob, const char *text);
int			tsk_td_out_finish(td_outbuf *ob);

/* Per-exchange entry points (src/ingest/decode_<exchange>.c). */
td_kind		tsk_td_decode_binance(td_ctx *c, const cJSON *root);
td_kind		tsk_td_decode_coinbase(td_ctx *c, const cJSON *root);
td_kind		tsk_td_decode_kraken(td_ctx *c, const cJSON *root);
td_kind		tsk_td_decode_finnhub(td_ctx *c, const cJSON *root);
td_kind		tsk_td_decode_generic(td_ctx *c, const cJSON *root, const td_generic_map *map);
int			tsk_td_subscribe_binance(td_feed feed, const char *const *ins, int n, td_outbuf *ob);
int			tsk_td_subscribe_coinbase(td_feed feed, const char *const *ins, int n, td_outbuf *ob);
int			tsk_td_subscribe_kraken(td_feed feed, const char *const *ins, int n, td_outbuf *ob);
int			tsk_td_subscribe_finnhub(const char *const *ins, int n, td_outbuf *ob);
#endif							/* TD_DECODE_INTERNAL */

#endif							/* TRIGGERSTOCK_DECODE_H */
