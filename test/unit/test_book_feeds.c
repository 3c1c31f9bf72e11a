/*
 * test_book_feeds.c
 *	  the real depth captures through the book decoders and the sync rules
 *	  (src/ingest/book_sync.c).
 *
 *   Kraken book-1000 (10 pairs): every update's CRC32 checksum must verify
 *   against the reconstructed book (3,413 of them), and each book must
 *   equal the reference book at the end; a corrupted quantity must fail
 *   its checksum and ask for a resubscription.
 *   Coinbase level2 (10 products): the reconstruction equals the
 *   reference every 250 frames and at the end, and is never crossed.
 *   Binance spot diff depth (5,196 diffs): with a REST snapshot derived
 *   from the capture, the book equals the full replay after every diff; a
 *   dropped diff is a gap, resynchronised by the next snapshot; a snapshot
 *   older than the buffer is refused.  The futures capture (pu) likewise.
 *   Coinbase Advanced Trade (every channel on one connection): the
 *   sequence_num runs without a break; a lost frame (a book update or a
 *   heartbeat) is a break on the next frame and discards every book.
 *
 * Derived Binance snapshot: the capture starts mid-stream without a
 * snapshot, so "the book" is defined as the replay of every diff from the
 * first one onto an empty book.  The snapshot at diff k is that replay's
 * state after diff k, with lastUpdateId = u of diff k: exactly what the
 * exchange would serve at that moment, restricted to the levels the
 * capture ever touched.  It is rendered as a REST JSON body and decoded by
 * the REST decoder.  The reference book is the same replay computed with
 * the sorted-array reference of test_book.h.
 */
#include "test_book.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define MAXBOOKS 32

/* Books per instrument: the synced book and its reference. */
typedef struct
{
	char		name[TB_INSTRUMENT_MAX];
	tb_sync		sync;
	ref_book	ref;
} feed_book;

typedef struct
{
	feed_book	b[MAXBOOKS];
	int			n;
	tb_source	src;
	int			max_levels;
} feed_set;

/*
 * feed_get
 *	  The book of an instrument (created on first use).
 */
static feed_book *
feed_get(feed_set *fs, const char *name)
{
	for (int i = 0; i < fs->n; i++)
		if (strcmp(fs->b[i].name, name) == 0)
			return &fs->b[i];
	if (fs->n == MAXBOOKS)
		return NULL;
	memset(&fs->b[fs->n], 0, sizeof fs->b[fs->n]);
	snprintf(fs->b[fs->n].name, sizeof fs->b[fs->n].name, "%s", name);
	tsk_tb_sync_init(&fs->b[fs->n].sync, fs->src, fs->max_levels, 100000);
	return &fs->b[fs->n++];
}

/*
 * feed_free
 *	  Free every book.
 */
static void
feed_free(feed_set *fs)
{
	for (int i = 0; i < fs->n; i++)
	{
		tsk_tb_sync_free(&fs->b[i].sync);
		ref_free(&fs->b[i].ref);
	}
	fs->n = 0;
}

/*
 * decode
 *	  Decode one frame with a growing change buffer.
 */
static tb_kind
decode(tb_source src, const char *f, size_t len, tb_change **out, int *cap, tb_msg *m)
{
	tb_kind		k = tsk_tb_decode(src, f, len, *out, *cap, m);

	if (k == TB_OVERFLOW)
	{
		*cap = m->needed + 1024;
		*out = realloc(*out, sizeof(tb_change) * (size_t) *cap);
		k = tsk_tb_decode(src, f, len, *out, *cap, m);
	}
	return k;
}

/*
 * ref_apply
 *	  Apply a group to the reference the way the exchange defines the book.
 */
static void
ref_apply(ref_book *r, const tb_group *g, const tb_change *ch, int depth)
{
	if (g->snapshot)
		ref_clear(r);
	for (int i = 0; i < g->n; i++)
		ref_set(r, ch[i].side, ch[i].price, ch[i].qty);
	if (depth > 0)
		ref_truncate(r, depth);
}

/* ---- Kraken ------------------------------------------------------------ */

/*
 * kraken_run
 *	  Replay the book-1000 capture; corrupt_line >= 0 alters one quantity.
 */
static void
kraken_run(const book_lines *L, int corrupt_line, int64_t *ok, int64_t *fail, int *resub, int *equal)
{
	feed_set	fs = {.src = TB_SRC_KRAKEN, .max_levels = 5000};
	tb_change  *out = NULL;
	int			cap = 0;
	tb_msg		m;
	char		err[256],
				why[200];

	*ok = *fail = 0;
	*resub = 0;
	*equal = 1;
	for (int i = 0; i < L->n; i++)
	{
		char	   *line = L->line[i];
		char	   *copy = NULL;

		if (i == corrupt_line)
		{
			/* a snapshot: the first level's volume, first digit + 1; an
			 * update: the checksum's last digit + 1 */
			char	   *v;

			copy = strdup(line);
			if ((v = strstr(copy, "\"c\":\"")) != NULL)
				v += strcspn(v + 5, "\"") + 4;
			else if ((v = strstr(copy, "\",\"")) != NULL)
				v += 3;
			if (v)
				*v = *v == '9' ? '1' : (char) (*v + 1);
			line = copy;
		}
		if (decode(TB_SRC_KRAKEN, line, L->len[i], &out, &cap, &m) == TB_BOOK)
		{
			tb_group   *g = &m.groups[0];
			feed_book  *fb = feed_get(&fs, g->instrument);
			int			act = tsk_tb_sync_apply(&fb->sync, g, out + g->first, err, sizeof err);

			ref_apply(&fb->ref, g, out + g->first, g->depth);
			if (act & TB_ACT_RESUBSCRIBE)
				(*resub)++;
		}
		free(copy);
	}
	for (int i = 0; i < fs.n; i++)
	{
		*ok += fs.b[i].sync.st.checksum_ok;
		*fail += fs.b[i].sync.st.checksum_fail;
		if (fs.b[i].sync.state == TB_ST_SYNCED && !ref_equal(&fs.b[i].ref, &fs.b[i].sync.book, -1, why, sizeof why))
		{
			printf("  %s: %s\n", fs.b[i].name, why);
			*equal = 0;
		}
		if (tsk_tb_book_check(&fs.b[i].sync.book) != NULL)
			*equal = 0;
	}
	CHECK(fs.n == 10, "kraken: %d pairs", fs.n);
	feed_free(&fs);
	free(out);
}

/*
 * test_kraken_capture
 *	  Every checksum of the capture verifies; a corrupted one is caught.
 */
void
test_kraken_capture(const char *shared)
{
	char		path[1024];
	book_lines	L;
	int64_t		ok,
				fail;
	int			resub,
				equal,
				victim = -1;

	snprintf(path, sizeof path, "%s/data/websocket/kraken/spot_v1_book1000_2021-04-17.jsonl", shared);
	if (book_load_lines(path, &L) != 0)
	{
		snprintf(path, sizeof path, "%s/websocket/kraken/spot_v1_book1000_2021-04-17.jsonl", shared);
		if (book_load_lines(path, &L) != 0)
		{
			CHECK(0, "cannot read %s", path);
			return;
		}
	}
	kraken_run(&L, -1, &ok, &fail, &resub, &equal);
	printf("kraken book-1000: %lld checksums verified, %lld failed\n", (long long) ok, (long long) fail);
	CHECK(ok == 3413 && fail == 0 && resub == 0, "kraken: %lld ok, %lld failed (expected 3413, 0)",
		  (long long) ok, (long long) fail);
	CHECK(equal, "kraken: books equal the reference at the end");
	/* a corrupted checksum in the middle of the capture */
	for (int i = L.n / 2; i < L.n && victim < 0; i++)
		if (strstr(L.line[i], "\"c\":") && strstr(L.line[i], "XMR/USD"))
			victim = i;
	kraken_run(&L, victim, &ok, &fail, &resub, &equal);
	CHECK(fail == 1 && resub == 1, "kraken: corrupted checksum on line %d -> %lld failure(s), %d resubscribe(s)",
		  victim, (long long) fail, resub);
	/* a corrupted best ask in the XMR/USD snapshot: its first update fails */
	victim = -1;
	for (int i = 0; i < L.n && victim < 0; i++)
		if (strstr(L.line[i], "\"as\":") && strstr(L.line[i], "XMR/USD"))
			victim = i;
	kraken_run(&L, victim, &ok, &fail, &resub, &equal);
	CHECK(fail == 1 && resub == 1, "kraken: corrupted snapshot volume on line %d -> %lld failure(s), %d resubscribe(s)",
		  victim, (long long) fail, resub);
	book_free_lines(&L);
}

/* ---- Coinbase ---------------------------------------------------------- */

/*
 * test_coinbase_capture
 *	  level2 snapshot + l2update reconstruction.
 */
void
test_coinbase_capture(const char *shared)
{
	char		path[1024],
				err[256],
				why[200];
	book_lines	L;
	feed_set	fs = {.src = TB_SRC_COINBASE, .max_levels = 100000};
	tb_change  *out = NULL;
	int			cap = 0,
				updates = 0,
				errors = 0,
				mism = 0,
				crossed = 0;
	tb_msg		m;

	snprintf(path, sizeof path, "%s/data/websocket/coinbase/exchange_wsfeed_level2_ticker_matches_2021-04-17.jsonl", shared);
	if (book_load_lines(path, &L) != 0)
	{
		CHECK(0, "cannot read %s", path);
		return;
	}
	for (int i = 0; i < L.n; i++)
	{
		tb_kind		k = decode(TB_SRC_COINBASE, L.line[i], L.len[i], &out, &cap, &m);

		errors += k == TB_ERROR;
		if (k != TB_BOOK)
			continue;
		for (int gi = 0; gi < m.ngroups; gi++)
		{
			tb_group   *g = &m.groups[gi];
			feed_book  *fb = feed_get(&fs, g->instrument);

			tsk_tb_sync_apply(&fb->sync, g, out + g->first, err, sizeof err);
			ref_apply(&fb->ref, g, out + g->first, 0);
			updates += !g->snapshot;
			if (tsk_tb_book_crossed(&fb->sync.book))
				crossed++;
		}
		if (i % 250 == 0 || i == L.n - 1)
			for (int b = 0; b < fs.n; b++)
				if (!ref_equal(&fs.b[b].ref, &fs.b[b].sync.book, -1, why, sizeof why) ||
					tsk_tb_book_check(&fs.b[b].sync.book) != NULL)
				{
					if (mism++ < 3)
						printf("  line %d %s: %s\n", i, fs.b[b].name, why);
				}
	}
	printf("coinbase level2: %d products, %d l2updates, %lld snapshots\n", fs.n, updates,
		   (long long) (fs.n ? fs.b[0].sync.st.snapshots : 0));
	CHECK(fs.n == 10 && updates == 7804, "coinbase: %d products, %d updates", fs.n, updates);
	CHECK(errors == 0, "coinbase: %d frames failed to decode", errors);
	CHECK(mism == 0, "coinbase: %d sampled books differ from the reference", mism);
	CHECK(crossed == 0, "coinbase: book crossed after %d frames", crossed);
	for (int b = 0; b < fs.n; b++)
		CHECK(fs.b[b].sync.state == TB_ST_SYNCED && fs.b[b].sync.st.skipped == 0,
			  "coinbase %s synced, nothing skipped", fs.b[b].name);
	feed_free(&fs);
	free(out);
	book_free_lines(&L);
}

/* ---- Binance ----------------------------------------------------------- */

/* A decoded diff stream of one symbol. */
typedef struct
{
	tb_group   *g;
	tb_change **ch;
	int			n;
} diff_list;

/*
 * diffs_load
 *	  Decode every depthUpdate of one symbol in a capture.
 */
static void
diffs_load(const book_lines *L, const char *symbol, diff_list *d)
{
	tb_change  *out = NULL;
	int			cap = 0;
	tb_msg		m;

	d->g = malloc(sizeof(tb_group) * (size_t) (L->n + 1));
	d->ch = malloc(sizeof(tb_change *) * (size_t) (L->n + 1));
	d->n = 0;
	for (int i = 0; i < L->n; i++)
		if (decode(TB_SRC_BINANCE, L->line[i], L->len[i], &out, &cap, &m) == TB_BOOK &&
			strcmp(m.groups[0].instrument, symbol) == 0)
		{
			d->g[d->n] = m.groups[0];
			d->ch[d->n] = malloc(sizeof(tb_change) * (size_t) (m.nchanges + 1));
			memcpy(d->ch[d->n], out, sizeof(tb_change) * (size_t) m.nchanges);
			d->n++;
		}
	free(out);
}

/*
 * diffs_free
 *	  Free a diff list.
 */
static void
diffs_free(diff_list *d)
{
	for (int i = 0; i < d->n; i++)
		free(d->ch[i]);
	free(d->g);
	free(d->ch);
}

/*
 * derived_snapshot
 *	  The REST body of the derived snapshot after diff k (see the banner).
 */
static char *
derived_snapshot(const diff_list *d, int k)
{
	ref_book	r;

	memset(&r, 0, sizeof r);
	size_t		cap = 1 << 16,
				len = 0;
	char	   *s = malloc(cap);

	for (int i = 0; i <= k; i++)
		ref_apply(&r, &d->g[i], d->ch[i], 0);
	len += (size_t) snprintf(s, cap, "{\"lastUpdateId\":%lld", (long long) d->g[k].last_id);
	for (int side = 0; side < 2; side++)
	{
		len += (size_t) snprintf(s + len, cap - len, ",\"%s\":[", side == TB_BID ? "bids" : "asks");
		for (int i = 0; i < r.n[side]; i++)
		{
			char		p[TB_DEC_TEXT],
						q[TB_DEC_TEXT];

			if (cap - len < 128)
				s = realloc(s, cap *= 2);
			tsk_tb_dec_format(r.lv[side][i].price, p);
			tsk_tb_dec_format(r.lv[side][i].qty, q);
			len += (size_t) snprintf(s + len, cap - len, "%s[\"%s\",\"%s\"]", i ? "," : "", p, q);
		}
		len += (size_t) snprintf(s + len, cap - len, "]");
	}
	snprintf(s + len, cap - len, "}");
	ref_free(&r);
	return s;
}

/*
 * feed_rest
 *	  Feed a REST body to the sync.
 */
static int
feed_rest(tb_sync *s, const char *body, char *err, size_t errsz)
{
	tb_change  *out = NULL;
	int			cap = 0,
				act = -1;
	tb_msg		m;

	if (decode(TB_SRC_BINANCE_REST, body, strlen(body), &out, &cap, &m) == TB_BOOK)
		act = tsk_tb_sync_rest(s, &m.groups[0], out, err, errsz);
	free(out);
	return act;
}

/*
 * binance_run
 *	  One scenario: subscribe at diff `start`, snapshot derived at diff `snap`
 *	  served after diff `served` arrived, `drop` (or -1) never delivered, a
 *	  second snapshot derived at `snap2` served after diff `served2`.  The book
 *	  must equal the full replay after every diff once synced.
 */
static void
binance_run(const char *what, const diff_list *d, int start, int snap, int served, int drop,
			int snap2, int served2, int expect_gaps)
{
	tb_sync		s;
	ref_book	r;

	memset(&r, 0, sizeof r);
	char		err[256],
				why[200];
	int			compared = 0,
				mism = 0,
				fetch = 0,
				reports = 0;

	tsk_tb_sync_init(&s, TB_SRC_BINANCE, 100000, 100000);
	for (int i = 0; i < start; i++)
		ref_apply(&r, &d->g[i], d->ch[i], 0);
	for (int i = start; i < d->n; i++)
	{
		int			act = 0;

		ref_apply(&r, &d->g[i], d->ch[i], 0);
		if (i != drop)
			act = tsk_tb_sync_apply(&s, &d->g[i], d->ch[i], err, sizeof err);
		fetch += (act & TB_ACT_FETCH_SNAPSHOT) != 0;
		reports += (act & TB_ACT_REPORT) != 0;
		if (i == served || i == served2)
		{
			char	   *body = derived_snapshot(d, i == served ? snap : snap2);

			act = feed_rest(&s, body, err, sizeof err);
			CHECK(act >= 0 && !(act & TB_ACT_FETCH_SNAPSHOT), "%s: snapshot after diff %d accepted (%s)",
				  what, i, err);
			free(body);
		}
		/* the lost diff itself is invisible until the next one reveals the gap */
		if (s.state == TB_ST_SYNCED && i != drop)
		{
			compared++;
			if (!ref_equal(&r, &s.book, i % 16 == 0 ? -1 : 25, why, sizeof why) && mism++ < 3)
				printf("  %s: after diff %d: %s\n", what, i, why);
		}
	}
	CHECK(compared > d->n / 2 && mism == 0, "%s: book equals the replay after %d diffs (every level each 16th diff, the 25 best otherwise; %d differ)",
		  what, compared, mism);
	CHECK(s.st.gaps == expect_gaps && s.st.resyncs == expect_gaps,
		  "%s: %lld gaps, %lld resyncs (expected %d)", what, (long long) s.st.gaps,
		  (long long) s.st.resyncs, expect_gaps);
	CHECK(fetch == 1 + expect_gaps && reports == expect_gaps, "%s: %d snapshot requests, %d reports",
		  what, fetch, reports);
	CHECK(s.state == TB_ST_SYNCED, "%s: synced at the end", what);
	printf("%s: %d diffs, %lld stale dropped after the snapshot, %lld gaps, book compared %d times\n", what,
		   d->n - start, (long long) s.st.stale, (long long) s.st.gaps, compared);
	tsk_tb_sync_free(&s);
	ref_free(&r);
}

/*
 * test_binance_capture
 *	  Derived snapshots, a dropped diff, a stale snapshot.
 */
void
test_binance_capture(const char *shared)
{
	char		path[1024],
				err[256];
	book_lines	L;
	diff_list	d;

	snprintf(path, sizeof path, "%s/data/websocket/binance/spot_btcusdt_depth100ms_2024-08-08T2354Z_0005Z.jsonl.gz", shared);
	if (book_load_lines(path, &L) != 0)
	{
		CHECK(0, "cannot read %s", path);
		return;
	}
	diffs_load(&L, "BTCUSDT", &d);
	CHECK(d.n == 5196, "binance: %d diffs", d.n);
	/* subscribe at diff 100, snapshot of diff 104 served after diff 106 arrived */
	binance_run("binance spot", &d, 100, 104, 106, -1, -1, -1, 0);
	/* diff 2000 lost: gap at 2001; snapshot of 2003 served after 2004 */
	binance_run("binance spot, diff 2000 dropped", &d, 100, 104, 106, 2000, 2003, 2004, 1);
	{
		tb_sync		s;
		char	   *body = derived_snapshot(&d, 150);
		int			act;

		tsk_tb_sync_init(&s, TB_SRC_BINANCE, 100000, 100000);
		for (int i = 200; i < 205; i++)
			tsk_tb_sync_apply(&s, &d.g[i], d.ch[i], err, sizeof err);
		act = feed_rest(&s, body, err, sizeof err);
		CHECK((act & TB_ACT_FETCH_SNAPSHOT) && s.state != TB_ST_SYNCED && s.st.snapshot_refused == 1,
			  "binance: a snapshot older than the buffer is refused (%s)", err);
		free(body);
		tsk_tb_sync_free(&s);
	}
	diffs_free(&d);
	book_free_lines(&L);

	snprintf(path, sizeof path, "%s/data/websocket/binance/cryptofeed_usdm_combined_2021-07-22.jsonl", shared);
	if (book_load_lines(path, &L) != 0)
	{
		CHECK(0, "cannot read %s", path);
		return;
	}
	diffs_load(&L, "SUSHIUSDT", &d);
	CHECK(d.n == 216, "binance futures: %d SUSHIUSDT diffs", d.n);
	binance_run("binance usdm (pu)", &d, 5, 8, 10, -1, -1, -1, 0);
	binance_run("binance usdm (pu), diff 100 dropped", &d, 5, 8, 10, 100, 102, 103, 1);
	diffs_free(&d);
	book_free_lines(&L);
}

/* ---- Coinbase Advanced Trade: the connection's sequence_num -------------- */

/*
 * advanced_apply
 *	  Apply a decoded frame to a set's books (and their references if ref).
 */
static void
advanced_apply(feed_set *fs, const tb_msg *m, const tb_change *out, bool ref)
{
	char		err[256];

	for (int gi = 0; gi < m->ngroups; gi++)
	{
		const tb_group *g = &m->groups[gi];
		feed_book  *fb = feed_get(fs, g->instrument);

		if (ref)
			ref_apply(&fb->ref, g, out + g->first, 0);
		else
			tsk_tb_sync_apply(&fb->sync, g, out + g->first, err, sizeof err);
	}
}

/*
 * advanced_run
 *	  Replay the Advanced Trade capture (every channel on one connection)
 *	  without line `drop` (-1: none), doing what the worker does: every
 *	  frame's sequence_num checked first, a break discards every book.
 *	  Returns the line where the break was seen (-1: none).  The reference
 *	  (fs's ref) takes every frame; *blind_differs: a replay that does not
 *	  check the sequence holds, right after the lost frame, a book unlike
 *	  the reference (so the loss mattered).
 */
static int
advanced_run(const book_lines *L, int drop, tb_seq *q, feed_set *fs, int *mism, int *numbers_wrong,
			 int *blind_differs)
{
	tb_change  *out = NULL;
	int			cap = 0,
				seen_at = -1;
	tb_msg		m;
	char		why[200];
	feed_set	blind = {.src = TB_SRC_COINBASE, .max_levels = 100000};

	tsk_tb_seq_init(q);
	*mism = *numbers_wrong = *blind_differs = 0;
	for (int i = 0; i < L->n; i++)
	{
		cJSON	   *root = cJSON_ParseWithLength(L->line[i], L->len[i]);
		const cJSON *sn = cJSON_GetObjectItemCaseSensitive(root, "sequence_num");
		int64_t		seq = tsk_tb_sequence_num(L->line[i], L->len[i]);
		tb_kind		k = decode(TB_SRC_COINBASE, L->line[i], L->len[i], &out, &cap, &m);

		/* the scan equals the JSON parse (an independent reading) */
		if (!cJSON_IsNumber(sn) || (double) seq != sn->valuedouble)
			(*numbers_wrong)++;
		cJSON_Delete(root);
		if (k == TB_BOOK)
			advanced_apply(fs, &m, out, true);
		if (i == drop)
		{
			for (int gi = 0; gi < m.ngroups; gi++)
			{
				feed_book  *fb = feed_get(fs, m.groups[gi].instrument);

				*blind_differs |= !ref_equal(&fb->ref, &feed_get(&blind, fb->name)->sync.book, -1,
											 why, sizeof why);
			}
			continue;
		}
		if (seq >= 0 && tsk_tb_seq_check(q, seq))
		{
			if (seen_at < 0)
				seen_at = i;
			for (int b = 0; b < fs->n; b++)
				tsk_tb_sync_reset(&fs->b[b].sync);
		}
		if (k != TB_BOOK)
			continue;
		advanced_apply(fs, &m, out, false);
		advanced_apply(&blind, &m, out, false);
	}
	for (int b = 0; b < fs->n; b++)
		if (fs->b[b].sync.state == TB_ST_SYNCED &&
			!ref_equal(&fs->b[b].ref, &fs->b[b].sync.book, -1, why, sizeof why))
			(*mism)++;
	feed_free(&blind);
	free(out);
	return seen_at;
}

/*
 * test_coinbase_advanced_capture
 *	  The capture intact: numbered 0..N-1 without a break, both books
 *	  synced and equal to the reference.  A lost l2_data update (BTC-USD,
 *	  line 402) or a lost heartbeat (line 400): the break is seen on the
 *	  next frame, every book discarded (no snapshot follows in the
 *	  capture, so they stay resyncing and skip what follows).  The scanner
 *	  on hand-made envelopes.
 */
void
test_coinbase_advanced_capture(const char *shared)
{
	char		path[1024];
	book_lines	L;
	tb_seq		q;
	int			mism,
				wrong,
				blind,
				at;
	static const struct
	{
		const char *text;
		int64_t		want;
	}			scans[] = {
		{"{\"channel\":\"l2_data\",\"sequence_num\": 12,\"events\":[]}", 12},
		{"{\"sequence_num\":0}", 0},
		{"{\"sequence_num\":-1}", -1},
		{"{\"sequence_num\":1.5}", -1},
		{"{\"sequence_num\":1e3}", -1},
		{"{\"sequence_num\":\"7\"}", -1},
		{"{\"sequence_num\"", -1},
		{"{\"sequence_num\":999999999999999999}", INT64_C(999999999999999999)},
		{"{\"sequence_num\":1000000000000000000}", -1},
		{"{\"sequence\":5}", -1},
	};

	for (size_t i = 0; i < sizeof scans / sizeof scans[0]; i++)
		CHECK(tsk_tb_sequence_num(scans[i].text, strlen(scans[i].text)) == scans[i].want,
			  "sequence_num scan of %s", scans[i].text);
	/* never past len: the number cut by len is read as far as len */
	CHECK(tsk_tb_sequence_num("{\"sequence_num\":123", 18) == 12, "sequence_num scan stops at len");

	snprintf(path, sizeof path, "%s/data/websocket/coinbase/advanced_trade_all_channels_2026-08-09.jsonl.gz", shared);
	if (book_load_lines(path, &L) != 0)
	{
		CHECK(0, "cannot read %s", path);
		return;
	}
	{
		feed_set	fs = {.src = TB_SRC_COINBASE, .max_levels = 100000};

		at = advanced_run(&L, -1, &q, &fs, &mism, &wrong, &blind);
		printf("coinbase advanced: %d frames, sequence_num %lld..%lld, %lld breaks; %d books\n", L.n,
			   (long long) (q.last - q.frames + 1), (long long) q.last, (long long) q.gaps, fs.n);
		CHECK(wrong == 0, "advanced: %d sequence_num scans differ from the JSON", wrong);
		CHECK(at == -1 && q.gaps == 0 && q.frames == L.n && q.last == L.n - 1,
			  "advanced intact: no break (%lld, at %d)", (long long) q.gaps, at);
		CHECK(fs.n == 2 && fs.b[0].sync.state == TB_ST_SYNCED && fs.b[1].sync.state == TB_ST_SYNCED &&
			  mism == 0, "advanced intact: %d books synced and equal to the reference (%d differ)", fs.n, mism);
		feed_free(&fs);
	}
	for (int d = 0; d < 2; d++)
	{
		int			drop = d == 0 ? 402 : 400;	/* an l2_data update, a heartbeat */
		feed_set	fs = {.src = TB_SRC_COINBASE, .max_levels = 100000};

		at = advanced_run(&L, drop, &q, &fs, &mism, &wrong, &blind);
		printf("coinbase advanced, line %d dropped: break seen at line %d (%lld missed); "
			   "unchecked book differs: %s\n", drop, at, (long long) q.missed, blind ? "yes" : "no");
		CHECK(at == drop + 1 && q.gaps == 1 && q.missed == 1,
			  "advanced, line %d dropped: one break at the next line (at %d, %lld)", drop, at, (long long) q.gaps);
		CHECK(d == 1 || blind, "advanced: the lost l2_data update changes the book");
		for (int b = 0; b < fs.n; b++)
			CHECK(fs.b[b].sync.state == TB_ST_RESYNCING && fs.b[b].sync.st.resyncs == 1 &&
				  fs.b[b].sync.st.skipped > 0,
				  "advanced, line %d dropped: %s discarded (state %s, %lld resyncs, %lld skipped)", drop,
				  fs.b[b].name, tsk_tb_state_name(fs.b[b].sync.state), (long long) fs.b[b].sync.st.resyncs,
				  (long long) fs.b[b].sync.st.skipped);
		CHECK(fs.n == 2 && mism == 0, "advanced, line %d dropped: %d books", drop, fs.n);
		feed_free(&fs);
	}
	book_free_lines(&L);
}
