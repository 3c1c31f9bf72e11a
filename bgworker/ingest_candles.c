/*
 * ingest_candles.c
 *	  The 1-minute candles of the trades one flush stored: aggregated in C
 *	  with the same candle state as ohlcv() (candles/candle.h), one per
 *	  (symbol, minute), then merged into triggerstock.candles by one call
 *	  of store_candles(symbols, buckets, candles, false), the extension's
 *	  one writer of 1-minute candles (refresh_candle_buckets() uses it too).
 *
 * Invariants:
 *	- only trades the flush actually stored are added (the COPY path's
 *	  stored rows, the statement path's RETURNING rows), so a trade is
 *	  counted in its candle exactly once;
 *	- the candle of a flush carries the (ts, seq) of its open and close
 *	  and its exact sums, and store_candles() merges it with rollup(), so
 *	  the stored candle equals ohlcv(ts, price, qty, trade_id) over its
 *	  stored trades in every field, whatever the flush boundaries;
 *	- candles are passed sorted by (symbol, minute), so concurrent writers
 *	  of the same candles lock them in the same order;
 *	- everything is allocated in the caller's (per-flush) memory context,
 *	  except the kept plan and the ohlcv tuple descriptor (reset on ERROR).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "parser/parse_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "bgworker/ingest.h"
#include "bgworker/workers.h"
#include "candles/ohlcv.h"

/* One candle being built: its (symbol, minute) and its state. */
typedef struct candle_key
{
	int32		symbol;			/* index into ingest_candles.symbols */
	TimestampTz bucket;
} candle_key;

typedef struct candle_entry
{
	candle_key	key;
	candle_state state;
} candle_entry;

struct ingest_candles
{
	HTAB	   *groups;
	const char **symbols;		/* distinct symbols seen, in order */
	int			nsymbols;
	int			cap;
	int			last;			/* index of the last symbol looked up */
	candle_entry *recent;		/* the last candle added to: trades come in runs */
};

static SPIPlanPtr candles_store_plan = NULL;
static TupleDesc candles_tupdesc = NULL;	/* ohlcv, blessed, in TopMemoryContext */
static Oid	candles_array_type = InvalidOid;

/* Sort context of candles_entry_cmp (qsort has no argument). */
static const ingest_candles *candles_sorting = NULL;

/*
 * tsk_ingest_candles_prepare
 *	  Prepare the store_candles() call and look up type ohlcv (inside SPI);
 *	  `schema` is the extension's quoted schema.
 */
void
tsk_ingest_candles_prepare(const char *schema)
{
	Oid			type;
	int32		typmod;
	Oid			types[3];
	MemoryContext old;

	if (candles_store_plan != NULL)
		return;
	parseTypeString(psprintf("%s.ohlcv", schema), &type, &typmod, false);
	if (!OidIsValid(candles_array_type = get_array_type(type)))
		elog(ERROR, "type ohlcv of extension triggerstock has no array type");
	old = MemoryContextSwitchTo(TopMemoryContext);
	candles_tupdesc = BlessTupleDesc(lookup_rowtype_tupdesc_copy(type, -1));
	MemoryContextSwitchTo(old);
	tsk_ohlcv_tupdesc_check(candles_tupdesc);

	types[0] = TEXTARRAYOID;
	types[1] = TIMESTAMPTZARRAYOID;
	types[2] = candles_array_type;
	candles_store_plan = tsk_worker_keep_plan(psprintf("SELECT %s.store_candles($1, $2, $3, false)", schema),
											  3, types, 0);
}

/*
 * tsk_ingest_candles_reset_plans
 *	  Forget the plan and the type (after an ERROR, or a schema change).
 */
void
tsk_ingest_candles_reset_plans(void)
{
	if (candles_store_plan != NULL)
		SPI_freeplan(candles_store_plan);
	candles_store_plan = NULL;
	if (candles_tupdesc != NULL)
		FreeTupleDesc(candles_tupdesc);
	candles_tupdesc = NULL;
	candles_array_type = InvalidOid;
}

/*
 * tsk_ingest_candles_begin
 *	  An empty set of candles, in the current memory context.
 */
ingest_candles *
tsk_ingest_candles_begin(void)
{
	ingest_candles *c = palloc0(sizeof(ingest_candles));
	HASHCTL		ctl;

	ctl.keysize = sizeof(candle_key);
	ctl.entrysize = sizeof(candle_entry);
	ctl.hcxt = CurrentMemoryContext;
	c->groups = hash_create("triggerstock flush candles", 64, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	c->cap = 8;
	c->symbols = palloc(sizeof(char *) * c->cap);
	return c;
}

/*
 * candles_symbol
 *	  Index of a symbol, added if new (symbols are few per source).
 */
static int32
candles_symbol(ingest_candles *c, const char *symbol)
{
	if (c->last < c->nsymbols && strcmp(c->symbols[c->last], symbol) == 0)
		return c->last;
	for (int i = 0; i < c->nsymbols; i++)
		if (strcmp(c->symbols[i], symbol) == 0)
			return c->last = i;
	if (c->nsymbols == c->cap)
	{
		c->cap *= 2;
		c->symbols = repalloc(c->symbols, sizeof(char *) * c->cap);
	}
	c->symbols[c->nsymbols] = pstrdup(symbol);
	return c->last = c->nsymbols++;
}

/*
 * tsk_ingest_candles_add
 *	  Add one stored trade (ts in Postgres time) to the candle of its
 *	  symbol and minute.  The values were validated by the decoder and the
 *	  table's CHECK constraints, so the candle accepts them.
 */
void
tsk_ingest_candles_add(ingest_candles *c, const char *symbol, TimestampTz ts, int64 seq,
					   double price, double qty)
{
	candle_key	key;
	candle_entry *entry;
	bool		found;
	double		rejected;

	memset(&key, 0, sizeof(key));
	key.symbol = candles_symbol(c, symbol);

	/*
	 * date_bin('1 minute', ts, 'epoch'): the Postgres epoch is a whole
	 * number of minutes after the Unix epoch, so flooring to a minute of
	 * either is the same
	 */
	key.bucket = ts - (ts % USECS_PER_MINUTE + USECS_PER_MINUTE) % USECS_PER_MINUTE;
	entry = c->recent;
	if (entry == NULL || entry->key.symbol != key.symbol || entry->key.bucket != key.bucket)
	{
		entry = hash_search(c->groups, &key, HASH_ENTER, &found);
		if (!found)
			tsk_candle_init(&entry->state);
		c->recent = entry;
	}
	if (tsk_candle_add_trade(&entry->state, ts, seq, price, qty, &rejected) != CANDLE_OK)
		elog(ERROR, "stored trade rejected by its candle (value %g)", rejected);
}

/*
 * candles_entry_cmp
 *	  qsort comparator: by symbol text, then minute.
 */
static int
candles_entry_cmp(const void *a, const void *b)
{
	const candle_entry *x = *(candle_entry *const *) a;
	const candle_entry *y = *(candle_entry *const *) b;
	int			cmp = strcmp(candles_sorting->symbols[x->key.symbol],
							 candles_sorting->symbols[y->key.symbol]);

	if (cmp != 0)
		return cmp;
	return x->key.bucket < y->key.bucket ? -1 : (x->key.bucket > y->key.bucket ? 1 : 0);
}

/*
 * tsk_ingest_candles_store
 *	  Merge the candles into triggerstock.candles with store_candles();
 *	  returns the number of candles written.
 */
int64
tsk_ingest_candles_store(ingest_candles *c)
{
	long		n = hash_get_num_entries(c->groups);
	candle_entry **entries;
	Datum	   *symbols,
			   *buckets,
			   *candles;
	Datum		args[3];
	HASH_SEQ_STATUS seq;
	candle_entry *entry;
	int			i = 0;
	int			ret;
	bool		isnull;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (n == 0)
		return 0;
	entries = palloc(sizeof(candle_entry *) * n);
	hash_seq_init(&seq, c->groups);
	while ((entry = hash_seq_search(&seq)) != NULL)
		entries[i++] = entry;
	candles_sorting = c;
	qsort(entries, n, sizeof(candle_entry *), candles_entry_cmp);
	candles_sorting = NULL;

	symbols = palloc(sizeof(Datum) * n);
	buckets = palloc(sizeof(Datum) * n);
	candles = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
	{
		candle_summary summary;

		if (!tsk_candle_result(&entries[i]->state, &summary))
			elog(ERROR, "empty flush candle");
		symbols[i] = CStringGetTextDatum(c->symbols[entries[i]->key.symbol]);
		buckets[i] = TimestampTzGetDatum(entries[i]->key.bucket);
		candles[i] = tsk_ohlcv_datum(candles_tupdesc, &summary);
	}
	get_typlenbyvalalign(candles_tupdesc->tdtypeid, &typlen, &typbyval, &typalign);
	args[0] = PointerGetDatum(construct_array(symbols, n, TEXTOID, -1, false, TYPALIGN_INT));
	args[1] = PointerGetDatum(construct_array(buckets, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL,
											  TYPALIGN_DOUBLE));
	args[2] = PointerGetDatum(construct_array(candles, n, candles_tupdesc->tdtypeid, typlen, typbyval,
											  typalign));
	ret = SPI_execute_plan(candles_store_plan, args, NULL, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "store_candles failed: %s", SPI_result_code_string(ret));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}
