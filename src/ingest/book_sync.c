/*
 * book_sync.c
 *	  the sequencing rules of book_sync.h: Binance diff depth with REST
 *	  snapshots, Kraken checksums, Coinbase snapshots.
 *
 * Invariants: the book is only changed while synced or by a snapshot; a
 * Binance book's last_id is the u of the last diff applied (or the
 * snapshot's lastUpdateId); the diff buffer never holds more than
 * max_buffer changes (plus one diff larger than the limit on its own);
 * err is always NUL-terminated when an action carries TB_ACT_REPORT.
 * tsk_tb_sequence_num never reads frame[len] or beyond.
 */
#include "ingest/book_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * tsk_tb_sync_init
 *	  An empty, waiting book.
 */
void
tsk_tb_sync_init(tb_sync *s, tb_source src, int max_levels, int max_buffer)
{
	memset(s, 0, sizeof *s);
	s->src = src;
	tsk_tb_book_init(&s->book, max_levels);
	s->max_buffer = max_buffer < 1 ? 1 : max_buffer;
	s->event_us = -1;
	s->last_id = -1;
}

/*
 * tsk_tb_sync_free
 *	  Release the book and the buffer.
 */
void
tsk_tb_sync_free(tb_sync *s)
{
	tsk_tb_book_free(&s->book);
	free(s->buf);
	free(s->pend);
	s->buf = NULL;
	s->pend = NULL;
	s->nbuf = s->bufalloc = s->npend = s->pendalloc = 0;
}

/*
 * tb_discard
 *	  Drop the book; a synced book counts one resync.
 */
static void
tb_discard(tb_sync *s, tb_state next)
{
	if (s->state == TB_ST_SYNCED)
	{
		s->st.resyncs++;
		s->resyncs_acc++;
	}
	tsk_tb_book_clear(&s->book);
	tsk_tb_ofi_reset(&s->ofi);
	s->state = next;
	s->last_id = -1;
	s->first_diff = false;
}

/*
 * tsk_tb_sync_reset
 *	  Connection gone: nothing we hold is current any more.
 */
void
tsk_tb_sync_reset(tb_sync *s)
{
	tb_discard(s, s->state == TB_ST_WAITING ? TB_ST_WAITING : TB_ST_RESYNCING);
	s->st.skipped += s->npend;	/* buffered diffs the next snapshot supersedes */
	s->nbuf = s->npend = 0;
}

/*
 * tb_report
 *	  Append a sentence to err (kept short and NUL-terminated).
 */
static void
tb_report(char *err, size_t errsz, const char *text)
{
	size_t		len;

	if (err == NULL || errsz == 0)
		return;
	len = strnlen(err, errsz);
	if (len >= errsz)
		len = errsz - 1;
	snprintf(err + len, errsz - len, "%s%s", len ? "; " : "", text);
}

/*
 * tb_apply_levels
 *	  Set n levels; returns TB_ACT_REPORT if the cap evicted or refused any.
 */
static int
tb_apply_levels(tb_sync *s, const tb_change *ch, int n, char *err, size_t errsz)
{
	int			evicted = 0,
				refused = 0;
	tb_level	last = {{0, 0}, {0, 0}};

	for (int i = 0; i < n; i++)
	{
		tb_level	ev;
		tb_set		r = tsk_tb_book_set(&s->book, ch[i].side, ch[i].price, ch[i].qty, &ev);

		if (r == TB_SET_EVICTED)
		{
			evicted++;
			last = ev;
		}
		else if (r == TB_SET_REFUSED || r == TB_SET_NOMEM || r == TB_SET_INVALID)
		{
			refused++;
			last.price = ch[i].price;
			last.qty = ch[i].qty;
		}
	}
	s->st.levels += n;
	s->st.evicted += evicted;
	s->st.refused += refused;
	if (evicted + refused > 0)
	{
		char		px[TB_DEC_TEXT],
					text[160];

		tsk_tb_dec_format(last.price, px);
		snprintf(text, sizeof text, "level cap %d per side reached: %d levels evicted, %d refused (last at price %s)",
				 s->book.max_levels, evicted, refused, px);
		tb_report(err, errsz, text);
		return TB_ACT_REPORT;
	}
	return 0;
}

/*
 * tb_applied
 *	  Bookkeeping after a message changed a synced book.
 */
static void
tb_applied(tb_sync *s, int64_t event_us)
{
	s->st.messages++;
	s->messages_acc++;
	if (event_us >= 0)
		s->event_us = event_us;
	if (tsk_tb_book_crossed(&s->book))
		s->st.crossed++;
	s->ofi_acc += tsk_tb_ofi_step(&s->ofi, &s->book);
}

/*
 * tb_snapshot
 *	  Replace the book by a snapshot's levels.
 */
static int
tb_snapshot(tb_sync *s, const tb_change *ch, int n, int depth, int64_t event_us, char *err, size_t errsz)
{
	int			act;

	tsk_tb_book_clear(&s->book);
	tsk_tb_ofi_reset(&s->ofi);
	act = tb_apply_levels(s, ch, n, err, errsz);
	s->depth = depth;
	if (depth > 0)
		tsk_tb_book_truncate(&s->book, depth);
	s->state = TB_ST_SYNCED;
	s->st.snapshots++;
	/* a snapshot is no update: its state has no message time (and its
	 * newest level time is not the time of the state) */
	(void) event_us;
	s->event_us = -1;
	s->ofi_acc += tsk_tb_ofi_step(&s->ofi, &s->book);	/* first observation: 0 */
	return act;
}

/* ---- Binance ----------------------------------------------------------- */

/*
 * tb_buffer
 *	  Keep a diff until the snapshot arrives; oldest dropped beyond the limit.
 */
static void
tb_buffer(tb_sync *s, const tb_group *g, const tb_change *ch)
{
	while (s->npend > 0 && s->nbuf + g->n > s->max_buffer)
	{
		int			k = s->pend[0].n;

		memmove(s->buf, s->buf + k, sizeof(tb_change) * (size_t) (s->nbuf - k));
		s->nbuf -= k;
		memmove(s->pend, s->pend + 1, sizeof(tb_pending) * (size_t) (s->npend - 1));
		s->npend--;
		for (int i = 0; i < s->npend; i++)
			s->pend[i].first -= k;
		s->st.buffer_dropped++;
	}
	if (s->nbuf + g->n > s->bufalloc)
	{
		int			want = s->nbuf + g->n + 256;
		tb_change  *p = realloc(s->buf, sizeof(tb_change) * (size_t) want);

		if (p == NULL)
		{
			s->st.buffer_dropped++;
			return;
		}
		s->buf = p;
		s->bufalloc = want;
	}
	if (s->npend == s->pendalloc)
	{
		int			want = s->pendalloc ? s->pendalloc * 2 : 16;
		tb_pending *p = realloc(s->pend, sizeof(tb_pending) * (size_t) want);

		if (p == NULL)
		{
			s->st.buffer_dropped++;
			return;
		}
		s->pend = p;
		s->pendalloc = want;
	}
	if (g->n > 0)
		memcpy(s->buf + s->nbuf, ch, sizeof(tb_change) * (size_t) g->n);
	s->pend[s->npend].first_id = g->first_id;
	s->pend[s->npend].last_id = g->last_id;
	s->pend[s->npend].prev_id = g->prev_id;
	s->pend[s->npend].event_us = g->event_us;
	s->pend[s->npend].first = s->nbuf;
	s->pend[s->npend].n = g->n;
	s->npend++;
	s->nbuf += g->n;
}

/*
 * tb_binance_diff
 *	  Apply one diff to a synced book, or detect a gap (book discarded,
 *	  diff buffered, snapshot wanted).
 */
static int
tb_binance_diff(tb_sync *s, const tb_pending *d, const tb_change *ch, char *err, size_t errsz)
{
	bool		ok;
	char		text[160];

	if (d->prev_id >= 0)
		s->futures = true;
	if (s->futures)
	{
		if (s->first_diff ? d->last_id < s->last_id : d->last_id <= s->last_id)
		{
			s->st.stale++;
			return 0;
		}
		ok = d->prev_id == s->last_id || (s->first_diff && d->first_id <= s->last_id);
	}
	else
	{
		if (d->last_id <= s->last_id)
		{
			s->st.stale++;
			return 0;
		}
		ok = d->first_id <= s->last_id + 1;
	}
	if (!ok)
	{
		tb_group	g;

		snprintf(text, sizeof text, "depth gap: book at update %lld, diff U=%lld u=%lld pu=%lld; resynchronising",
				 (long long) s->last_id, (long long) d->first_id, (long long) d->last_id, (long long) d->prev_id);
		tb_report(err, errsz, text);
		s->st.gaps++;
		tb_discard(s, TB_ST_RESYNCING);
		memset(&g, 0, sizeof g);
		g.first_id = d->first_id;
		g.last_id = d->last_id;
		g.prev_id = d->prev_id;
		g.event_us = d->event_us;
		g.n = d->n;
		tb_buffer(s, &g, ch);
		return TB_ACT_REPORT | TB_ACT_FETCH_SNAPSHOT;
	}
	s->first_diff = false;
	s->last_id = d->last_id;
	ok = tb_apply_levels(s, ch, d->n, err, errsz) != 0;
	tb_applied(s, d->event_us);
	return ok ? TB_ACT_REPORT : 0;
}

/*
 * tsk_tb_sync_rest
 *	  A REST snapshot: check it against the buffer, install it, replay.
 */
int
tsk_tb_sync_rest(tb_sync *s, const tb_group *g, const tb_change *ch, char *err, size_t errsz)
{
	int64_t		L = g->last_id;
	int			act = 0;
	int			npend;
	tb_change  *old_buf;
	tb_pending *old_pend;

	if (err && errsz)
		err[0] = '\0';
	if (s->src != TB_SRC_BINANCE)
		return 0;
	if (s->npend > 0)
	{
		bool		fut = s->futures || s->pend[0].prev_id >= 0;
		int64_t		U = s->pend[0].first_id;

		if (fut ? L < U : L + 1 < U)
		{
			char		text[128];

			s->st.snapshot_refused++;
			snprintf(text, sizeof text, "depth snapshot at update %lld is older than the first buffered diff (U=%lld); fetching again",
					 (long long) L, (long long) U);
			tb_report(err, errsz, text);
			return TB_ACT_REPORT | TB_ACT_FETCH_SNAPSHOT;
		}
	}
	act |= tb_snapshot(s, ch, g->n, 0, g->event_us, err, errsz);
	s->last_id = L;
	s->first_diff = true;
	/* replay the buffer, taken out of s: a gap inside it buffers afresh */
	old_buf = s->buf;
	old_pend = s->pend;
	npend = s->npend;
	s->buf = NULL;
	s->pend = NULL;
	s->nbuf = s->bufalloc = s->npend = s->pendalloc = 0;
	for (int i = 0; i < npend; i++)
	{
		const tb_pending *d = &old_pend[i];

		if (s->state == TB_ST_SYNCED)
			act |= tb_binance_diff(s, d, old_buf + d->first, err, errsz);
		else
		{
			tb_group	gg;

			memset(&gg, 0, sizeof gg);
			gg.first_id = d->first_id;
			gg.last_id = d->last_id;
			gg.prev_id = d->prev_id;
			gg.event_us = d->event_us;
			gg.n = d->n;
			tb_buffer(s, &gg, old_buf + d->first);
		}
	}
	free(old_buf);
	free(old_pend);
	return act;
}

/*
 * tsk_tb_sync_wants_snapshot
 *	  Binance, not synced, diffs waiting.
 */
bool
tsk_tb_sync_wants_snapshot(const tb_sync *s)
{
	return s->src == TB_SRC_BINANCE && s->state != TB_ST_SYNCED && s->npend > 0;
}

/* ---- every exchange ---------------------------------------------------- */

/*
 * tsk_tb_sync_apply
 *	  One group of a stream frame.
 */
int
tsk_tb_sync_apply(tb_sync *s, const tb_group *g, const tb_change *ch, char *err, size_t errsz)
{
	int			act;

	if (err && errsz)
		err[0] = '\0';
	if (s->src == TB_SRC_BINANCE)
	{
		tb_pending	d = {g->first_id, g->last_id, g->prev_id, g->event_us, 0, g->n};

		if (s->state != TB_ST_SYNCED)
		{
			bool		first = s->npend == 0;

			tb_buffer(s, g, ch);
			return first ? TB_ACT_FETCH_SNAPSHOT : 0;
		}
		return tb_binance_diff(s, &d, ch, err, errsz);
	}
	if (g->snapshot)
		return tb_snapshot(s, ch, g->n, s->src == TB_SRC_KRAKEN ? g->depth : 0, g->event_us, err, errsz);
	if (s->state != TB_ST_SYNCED)
	{
		s->st.skipped++;
		return 0;
	}
	act = tb_apply_levels(s, ch, g->n, err, errsz);
	if (s->src == TB_SRC_KRAKEN)
	{
		if (s->depth > 0)
			tsk_tb_book_truncate(&s->book, s->depth);
		if (g->has_checksum)
		{
			uint32_t	mine = tsk_tb_kraken_checksum(&s->book);

			if (mine == g->checksum)
				s->st.checksum_ok++;
			else
			{
				char		text[160];

				s->st.checksum_fail++;
				snprintf(text, sizeof text, "book checksum mismatch: exchange %u, reconstructed %u; resubscribing",
						 g->checksum, mine);
				tb_report(err, errsz, text);
				tb_discard(s, TB_ST_RESYNCING);
				return act | TB_ACT_REPORT | TB_ACT_RESUBSCRIBE;
			}
		}
	}
	tb_applied(s, g->event_us);
	return act;
}

/*
 * tsk_tb_sync_sample
 *	  Top levels plus the accumulators since the last sample.
 */
void
tsk_tb_sync_sample(tb_sync *s, int n, tb_level *bids, tb_level *asks, tb_sample *out)
{
	out->synced = s->state == TB_ST_SYNCED;
	out->nbid = out->synced ? tsk_tb_book_top(&s->book, TB_BID, n, bids) : 0;
	out->nask = out->synced ? tsk_tb_book_top(&s->book, TB_ASK, n, asks) : 0;
	out->ofi = s->ofi_acc;
	out->messages = s->messages_acc;
	out->resyncs = s->resyncs_acc;
	out->event_us = s->event_us;
	s->ofi_acc = 0;
	s->messages_acc = 0;
	s->resyncs_acc = 0;
}

/*
 * tsk_tb_state_name
 *	  Name of a sync state.
 */
const char *
tsk_tb_state_name(tb_state st)
{
	return st == TB_ST_SYNCED ? "synced" : st == TB_ST_RESYNCING ? "resyncing" : "waiting";
}

/*
 * tsk_tb_seq_init
 *	  No frame seen yet.
 */
void
tsk_tb_seq_init(tb_seq *q)
{
	memset(q, 0, sizeof *q);
	q->last = -1;
}

/*
 * tsk_tb_sequence_num
 *	  Scan for "sequence_num" : digits without parsing the JSON (the key
 *	  sits in the envelope, before the events).
 */
int64_t
tsk_tb_sequence_num(const char *frame, size_t len)
{
	static const char key[] = "\"sequence_num\"";
	const size_t klen = sizeof key - 1;

	for (size_t i = 0; i + klen <= len; i++)
	{
		size_t		j;
		int64_t		v = 0;
		int			nd = 0;

		if (frame[i] != '"' || memcmp(frame + i, key, klen) != 0)
			continue;
		j = i + klen;
		while (j < len && (frame[j] == ' ' || frame[j] == '\t' || frame[j] == '\n' || frame[j] == '\r'))
			j++;
		if (j >= len || frame[j] != ':')
			return -1;
		j++;
		while (j < len && (frame[j] == ' ' || frame[j] == '\t' || frame[j] == '\n' || frame[j] == '\r'))
			j++;
		while (j < len && frame[j] >= '0' && frame[j] <= '9' && nd < 18)
		{
			v = v * 10 + (frame[j++] - '0');
			nd++;
		}
		if (nd == 0 || nd > 18 || (j < len && frame[j] >= '0' && frame[j] <= '9') ||
			(j < len && (frame[j] == '.' || frame[j] == 'e' || frame[j] == 'E')))
			return -1;
		return v;
	}
	return -1;
}

/*
 * tsk_tb_seq_check
 *	  One numbered frame: a break unless it is the first or last + 1.
 */
bool
tsk_tb_seq_check(tb_seq *q, int64_t seq)
{
	bool		gap = q->last >= 0 && seq != q->last + 1;

	if (gap)
	{
		q->gaps++;
		if (seq > q->last + 1)
			q->missed += seq - q->last - 1;
	}
	q->frames++;
	q->last = seq;
	return gap;
}
