/*
 * exchange_sim.h
 *	  shared declarations of the local test exchange.
 *
 * exchange_sim is a libwebsockets server on 127.0.0.1 that plays one
 * exchange (Binance combined streams, Coinbase Exchange, Coinbase Advanced
 * Trade, Kraken v1/v2, Finnhub): it either replays a capture file frame by
 * frame or simulates a market, answers subscribe messages the way the
 * exchange does, and can drop connections to exercise reconnect logic.
 *
 * Module map (one concern per file):
 *   main.c          command line, signals, lws context, ready/stats files
 *   server.c        lws protocol callback, batching, pacing, drops, resume
 *   conn.c          per-connection subscriptions and control-frame queue
 *   stream.c        instrument registry and the stream of frames to serve
 *   replay.c        capture reader (plain or gzip JSONL)
 *   market.c        simulated market (random walk, ids, frame history)
 *   text.c          byte buffer, WebSocket framing, number/time printing
 *   fmt_*.c         one file per exchange family: wire formats, acks
 *   book.c          order books of a replayed depth capture: Binance REST
 *                   /depth snapshots, Kraken resubscription snapshots,
 *                   --drop-frame and --corrupt-checksum faults
 *
 * Invariants shared by every module:
 *   - single-threaded: everything runs on the lws service thread;
 *   - the stream is a sequence of frames indexed from 0 (the position);
 *     every connection has its own cursor into it; a closed connection
 *     leaves a resume point (its cursor minus --overlap, or plus --gap)
 *     for the next one;
 *   - frames are framed by us (server frames are unmasked, no extensions)
 *     and written in batches with one lws_write(LWS_WRITE_RAW) per
 *     writeable callback, so a batch always holds whole frames;
 *   - prices and quantities are int64 fixed point with SIM_SCALE units.
 */
#ifndef EXCHANGE_SIM_H
#define EXCHANGE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>

#define SIM_SCALE		100000000LL	/* fixed point: 1e-8 units */
#define SIM_MAX_INSTR	4096	/* distinct instrument keys in a run */
#define SIM_BITWORDS	(SIM_MAX_INSTR / 64)
#define SIM_MAX_CHANNELS 8		/* subscribed channel names per connection */
#define SIM_MAX_SYMBOLS 256	/* simulated instruments */
#define SIM_MAX_BATCH	16		/* trades per simulated frame */
#define SIM_MAX_RENDER	8192	/* upper bound of one simulated payload */
#define SIM_BATCH_BYTES 65536	/* target bytes per lws_write */
#define SIM_MAX_RX		65536	/* largest accepted client message */
#define SIM_RING_SLACK	8192	/* simulated frames kept beyond --overlap */

/* ---- text.c: growable buffer, WebSocket framing, printing ---------------- */

typedef struct sim_buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} sim_buf;

int			sim_buf_reserve(sim_buf *b, size_t extra);
int			sim_buf_append(sim_buf *b, const void *p, size_t n);
void		sim_buf_free(sim_buf *b);
size_t		sim_ws_header(unsigned char *hdr, size_t payload_len);
char	   *sim_put_str(char *p, const char *s);
char	   *sim_put_u64(char *p, uint64_t v);
char	   *sim_put_i64(char *p, int64_t v);
char	   *sim_put_fixed(char *p, int64_t v, int decimals, bool trim);
char	   *sim_put_iso(char *p, int64_t ns, int digits, bool trim);
char	   *sim_put_epoch_us(char *p, int64_t ns);
char	   *sim_put_uuid(char *p, uint64_t a, uint64_t b);
int64_t		sim_wall_ns(void);
int64_t		sim_mono_us(void);

/* ---- stream.c: instrument registry and the served stream ------------------ */

/* One frame of the stream as the server sees it. */
typedef struct sim_frame sim_frame;
typedef struct sim_item
{
	const char *payload;		/* replay: bytes of the frame; else NULL */
	size_t		len;
	const int  *keys;			/* instrument ids the frame names */
	int			nkeys;
	int			ntrades;		/* trades carried by the frame */
	const sim_frame *frame;		/* simulate: the frame to render */
} sim_item;

enum sim_get
{
	SIM_GET_OK,
	SIM_GET_END,				/* end of data */
	SIM_GET_EVICTED				/* position no longer kept; see oldest */
};

int			sim_instr_id(const char *name, size_t len);
int			sim_instr_find(const char *name);
const char *sim_instr_name(int id);
int			sim_instr_count(void);
void		sim_instr_set_channel(int id, int64_t channel);
int64_t		sim_instr_channel(int id);
enum sim_get sim_stream_get(uint64_t pos, sim_item *it);
uint64_t	sim_stream_oldest(void);

/* ---- replay.c ------------------------------------------------------------- */

struct sim_format;
int			sim_replay_load(const char *path, const struct sim_format *fmt);
enum sim_get sim_replay_get(uint64_t pos, sim_item *it);
uint64_t	sim_replay_frames(void);
void		sim_replay_free(void);

/* ---- market.c: the simulated market -------------------------------------- */

typedef struct sim_trade
{
	int64_t		id;				/* per-instrument trade id, increasing */
	int64_t		seq;			/* per-instrument feed sequence */
	int64_t		price;			/* SIM_SCALE units */
	int64_t		qty;			/* SIM_SCALE units */
	int64_t		ts_ns;			/* wall clock at generation */
	bool		taker_buy;		/* aggressor side */
	bool		market_order;	/* aggressor used a market order */
} sim_trade;

typedef struct sim_symbol
{
	char		name[48];		/* exchange's own naming */
	int			keys[2];		/* instrument ids a subscription can use */
	int64_t		price;
	int64_t		tick;
	int64_t		qty_lot;
	int64_t		qty_mean;
	int			price_dec;		/* decimals of fixed-width price strings */
	int			qty_dec;
	int64_t		next_id;
	int64_t		next_seq;
	bool		has_last;
	sim_trade	last;			/* most recent trade (snapshots) */
} sim_symbol;

struct sim_frame
{
	int			sym;			/* index into the market's symbols */
	int			n;				/* trades in t[] */
	int64_t		ts_ns;
	sim_trade	t[SIM_MAX_BATCH];
};

int			sim_market_init(const struct sim_format *fmt, const char *symbols,
							uint64_t seed, int64_t count, int batch,
							uint64_t keep);
int			sim_market_ensure(const char *symbol);
const sim_symbol *sim_market_symbol(int idx);
enum sim_get sim_market_get(uint64_t pos, sim_item *it);
struct sim_conn;
bool		sim_market_wanted(const struct sim_conn *c);
uint64_t	sim_market_oldest(void);
void		sim_market_free(void);
uint64_t	sim_rand(uint64_t *state);
double		sim_rand_exp(uint64_t *state);

/* ---- conn.c: per-connection state ----------------------------------------- */

typedef struct sim_channel
{
	char		name[32];
	bool		active;
	uint64_t	bits[SIM_BITWORDS];	/* subscribed instrument ids */
} sim_channel;

typedef struct sim_conn
{
	struct lws *wsi;
	struct sim_conn *next;		/* list of live connections */
	lws_sorted_usec_list_t pace_sul;	/* next frame due (--rate) */
	lws_sorted_usec_list_t hb_sul;	/* periodic control frames */
	uint64_t	id;				/* connection number, from 1 */
	uint64_t	pos;			/* next stream position to examine */
	uint64_t	sent_stream;	/* stream frames sent on this connection */
	int64_t		next_due_us;	/* monotonic time the next frame is due */
	int64_t		last_send_us;	/* monotonic time of the last frame */
	int64_t		hb_us;			/* heartbeat period; 0 = none */
	int64_t		start_us;		/* no stream frame before this time */
	uint64_t	rng;			/* pacing random state */
	int64_t		seq_num;		/* per-connection counter (Advanced Trade) */
	uint64_t	hb_count;		/* heartbeats sent */
	bool		established;
	bool		streaming;		/* subscribed (or no subscription needed) */
	bool		filtering;		/* filter frames by subscribed instruments */
	bool		closing;		/* close once the output is flushed */
	bool		at_end;			/* reached the end of data */
	int			close_code;
	sim_buf		ctl;			/* framed control frames, sent first */
	sim_buf		rx;				/* reassembly of a client message */
	uint64_t	any[SIM_BITWORDS];	/* union of the channels' instruments */
	sim_channel chans[SIM_MAX_CHANNELS];
} sim_conn;

sim_channel *sim_conn_channel(sim_conn *c, const char *name, bool create);
int			sim_conn_subscribe(sim_conn *c, const char *channel, int id, bool on);
void		sim_conn_activate(sim_conn *c);
bool		sim_conn_has(const sim_conn *c, int id);
bool		sim_conn_wants(const sim_conn *c, const sim_item *it);
int			sim_conn_send(sim_conn *c, const char *payload, size_t len,
						  int ntrades);
int			sim_conn_send_json(sim_conn *c, cJSON *msg);

/* ---- fmt_*.c: exchange formats -------------------------------------------- */

/*
 * One exchange's behaviour.  Every hook is called on the service thread;
 * hooks that answer the client queue frames with sim_conn_send*().
 */
typedef struct sim_format
{
	const char *name;			/* --exchange value */
	const char *default_symbols;
	bool		needs_subscribe;	/* default of --require-subscribe */
	bool		batches;		/* several trades per frame are natural */
	int			heartbeat_ms;	/* simulate: default heartbeat period */
	/* keys a client subscribes to for one simulated symbol */
	void		(*symbol_keys) (const char *symbol, char keys[2][64]);
	/* wire decimals and a plausible start price for a simulated symbol */
	void		(*symbol_defaults) (sim_symbol *s);
	/* connection established: path holds the request URI with arguments */
	int			(*on_connect) (sim_conn *c, const char *path);
	/* one complete client message, already parsed */
	int			(*on_message) (sim_conn *c, const cJSON *msg);
	/* periodic hook; idle_us = time since the last frame was sent */
	int			(*on_heartbeat) (sim_conn *c, int64_t idle_us);
	/* replay: instrument keys and trade count of a captured frame */
	void		(*describe) (const cJSON *root, int *keys, int *nkeys,
							 int maxkeys, int *ntrades);
	/* simulate: write the wire frame(s) of f for c; see sim_conn_render */
	int			(*render) (sim_conn *c, const sim_frame *f, char *out,
						   size_t *lens, int max);
} sim_format;

extern const sim_format sim_fmt_binance;
extern const sim_format sim_fmt_coinbase;
extern const sim_format sim_fmt_coinbase_adv;
extern const sim_format sim_fmt_kraken;
extern const sim_format sim_fmt_kraken_v2;
extern const sim_format sim_fmt_finnhub;

/* fmt_common.c: helpers shared by the formats */
const sim_format *sim_format_by_name(const char *name);
void		sim_collect_keys(const cJSON *node, const char *key, bool deep,
							 int *keys, int *nkeys, int maxkeys);
int			sim_subscribe_instr(sim_conn *c, const char *channel,
								const char *name, bool on);
int			sim_json_array_size(const cJSON *node);
const char *sim_json_str(const cJSON *obj, const char *key);
cJSON	   *sim_json_ids(const sim_channel *ch);
void		sim_now_iso(char *buf, int digits, bool trim);
void		sim_symbol_keys_same(const char *symbol, char keys[2][64]);
bool		sim_str_in(const char *s, const char *const *list, size_t n);
#define SIM_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- global configuration and statistics ---------------------------------- */

typedef struct sim_config
{
	const char *host;
	int			port;
	const sim_format *fmt;
	const char *replay;
	bool		simulate;
	double		rate;			/* frames/s; 0 = as fast as possible */
	const char *symbols;
	int64_t		count;			/* simulate: trades; 0 = unlimited */
	uint64_t	drop_every;		/* 0 = never */
	uint64_t	overlap;
	uint64_t	gap;			/* --gap: frames skipped after a drop */
	int			require_subscribe;	/* -1 = exchange default */
	const char *tls_cert;
	const char *tls_key;
	const char *ready_file;
	const char *stats_file;
	const char *port_file;
	uint64_t	seed;
	int			batch;
	int			heartbeat_ms;	/* -1 = default for the mode */
	int			settle_ms;		/* wait after the first subscribe */
	bool		hold;			/* keep connections open at end of data */
	int			verbose;
	uint64_t	rest_ahead;		/* REST depth snapshot: frames beyond the cursor */
	uint64_t	drop_frame;		/* never send this stream position (0 = none) */
	uint64_t	corrupt_checksum;	/* alter the Kraken checksum at this position */
} sim_config;

typedef struct sim_stats
{
	uint64_t	frames_sent;	/* every text frame written */
	uint64_t	trades_sent;	/* trades inside those frames */
	uint64_t	connections;	/* WebSocket connections established */
	uint64_t	drops;			/* connections closed by --drop-every */
	uint64_t	skipped;		/* frames never sent (--gap) */
	uint64_t	stream_frames;	/* frames taken from the stream */
	uint64_t	control_frames; /* acks, greetings, heartbeats */
	uint64_t	bytes_sent;
	uint64_t	messages_in;	/* client messages received */
	uint64_t	bad_messages;	/* unparsable or rejected client messages */
} sim_stats;

extern sim_config sim_cfg;
extern sim_stats sim_st;

/* server.c */
extern const struct lws_protocols sim_protocols[];
bool		sim_server_finished(void);
void		sim_server_shutdown(void);
uint64_t	sim_server_position(void);

/* book.c: order books of a replayed depth capture (REST snapshot, Kraken
 * resubscription snapshot, fault injection) */
int			sim_book_rest(const char *path, uint64_t position, char **body, size_t *len);
int			sim_book_kraken_snapshot(sim_conn *c, int id, int depth);
int			sim_book_fault(uint64_t pos, const char **payload, size_t *len, sim_buf *scratch);

#endif							/* EXCHANGE_SIM_H */
