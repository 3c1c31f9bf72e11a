/*
 * feature_stream.h
 *	  The candle part of the model's feature row, computed online: one
 *	  relocatable state per (symbol, width) that folds closed candles oldest
 *	  first and emits the feature row of each (pure C, no Postgres headers,
 *	  no malloc).
 *
 * This is the streaming twin of the SQL definition of features()
 * (src/indicators/indicators.sql): every feature it emits is computed with
 * the same indicator state machines (indicators.h) fed the same values in
 * the same order, and the same floating-point expression as the SQL, so a
 * state that has folded a (symbol, width)'s candles from the first one on
 * emits rows bit-identical to features() for the same bucket.  The news
 * columns (sentiment_1h, news_1h) are not part of it: they are a window
 * over triggerstock.news, not over candles (src/features/online.c).
 *
 * Invariants:
 *	- the state is one block of tsk_fs_size() bytes holding no pointers
 *	  (sub-states are addressed by offsets), so it may be copied, stored as
 *	  bytea and loaded again by the same build; tsk_fs_valid() checks the
 *	  header (magic, format version, size) before a stored block is used,
 *	  and FS_FORMAT_VERSION changes whenever the layout or any indicator
 *	  state changes, so a stale stored state is rebuilt, never misread;
 *	- candles are pushed in strictly increasing bucket order; pushing a
 *	  bucket at or before the last one is refused (FS_ERR_ORDER) without
 *	  touching the state;
 *	- a candle with a non-finite high, low, close, volume or vwap is refused
 *	  (FS_ERR_NOT_FINITE) without touching the state: features() raises an
 *	  error for it, so no row may exist for it either;
 *	- O(1) per candle except cci (O(14)).
 */
#ifndef TRIGGERSTOCK_FEATURE_STREAM_H
#define TRIGGERSTOCK_FEATURE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bump when the state layout or any indicator state changes. */
#define FS_FORMAT_VERSION 1

/* Microseconds per day (timestamps are Postgres microseconds since 2000). */
#define FS_USECS_PER_DAY INT64_C(86400000000)

/* The Unix epoch in Postgres microseconds (origin of every date_bin). */
#define FS_UNIX_EPOCH (-INT64_C(946684800000000))

/* Candle features in features() column order (after bucket and close). */
typedef enum fs_feature
{
	FS_RET_1,
	FS_RET_5,
	FS_RET_15,
	FS_RSI_14,
	FS_MACD_HIST,
	FS_BB_PCT_B,
	FS_BB_WIDTH,
	FS_ATR_PCT,
	FS_STOCH_K,
	FS_STOCH_D,
	FS_WILLR_14,
	FS_CCI_14,
	FS_MFI_14,
	FS_ADX_14,
	FS_VOLUME_Z,
	FS_VWAP_DIST,
	FS_RV_30,
	FS_TOD_SIN,
	FS_TOD_COS,
	FS_NFEATURES
} fs_feature;

/* Column names, indexed by fs_feature. */
extern const char *const tsk_fs_feature_names[FS_NFEATURES];

/* Status codes of tsk_fs_push and tsk_fs_init. */
typedef enum fs_status
{
	FS_OK = 0,
	FS_ERR_ORDER = -1,			/* bucket not after the last one pushed */
	FS_ERR_NOT_FINITE = -2,		/* a value or the bucket is not finite */
	FS_ERR_WIDTH = -3			/* width not a positive whole number of minutes */
} fs_status;

/* One closed candle of the (symbol, width). */
typedef struct fs_candle
{
	int64_t		bucket;			/* start, Postgres microseconds */
	double		high;
	double		low;
	double		close;
	double		volume;
	double		vwap;			/* used only when has_vwap */
	bool		has_vwap;		/* false: candle vwap is NULL */
} fs_candle;

/* The feature row of one candle. */
typedef struct fs_row
{
	int64_t		bucket;
	double		close;
	double		value[FS_NFEATURES];
	bool		isnull[FS_NFEATURES];
} fs_row;

/* Opaque state. */
typedef struct fs_state fs_state;

/* Bytes of a state (fixed: every parameter is fixed by the definition). */
extern size_t tsk_fs_size(void);

/* Sets up an empty state for candles of width_usecs (a whole number of
 * minutes); mem is tsk_fs_size() bytes aligned for a double. */
extern int	tsk_fs_init(void *mem, int64_t width_usecs);

/* True when mem (len bytes) is a state of this build's format. */
extern bool tsk_fs_valid(const void *mem, size_t len);

/* Folds one closed candle; fills *out with its feature row. */
extern int	tsk_fs_push(fs_state *s, const fs_candle *c, fs_row *out);

/* Candles folded so far, the last bucket folded (valid when rows > 0) and
 * the width the state was set up for. */
extern int64_t tsk_fs_rows(const fs_state *s);
extern int64_t tsk_fs_last_bucket(const fs_state *s);
extern int64_t tsk_fs_width(const fs_state *s);

/* Message for a status code. */
extern const char *tsk_fs_strerror(int status);

/* date_bin(stride, ts, TIMESTAMPTZ 'epoch') in Postgres microseconds. */
extern int64_t tsk_fs_date_bin(int64_t stride, int64_t ts);

#endif							/* TRIGGERSTOCK_FEATURE_STREAM_H */
