/*
 * fuzz_book_decode.c
 *	  libFuzzer target for the depth decoders (src/ingest/book_decode*.c) and
 *	  the sync rules fed by them (src/ingest/book_sync.c).
 *
 * Input: byte 0 selects the source (low 2 bits, mod TB_SRC_COUNT; pinned
 * by -DTB_FUZZ_ONLY=TB_SRC_KRAKEN etc.), the output capacity (bits 4-7,
 * times 4, so TB_OVERFLOW paths run) and the level cap of the books (bits
 * 2-3: 3, 10, 50 or 1000 a side).  The rest is split at '\n' into frames,
 * each copied to end exactly at a PROT_NONE guard page (a read past its
 * length faults even inside the uninstrumented libcjson).  Every result
 * must honour book_decode.h; every decoded group is applied to a tb_sync
 * per instrument (REST bodies: to the first Binance book), whose book must
 * never exceed its cap and must pass tsk_tb_book_check (after each frame
 * while it holds at most 128 levels, and at the end of the input).
 */
#include "ingest/book_sync.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define TB_FUZZ_REGION (4u << 20)
#define TB_FUZZ_BOOKS 4

/*
 * tb_fuzz_guarded
 *	  Copy n bytes so that they end right before an unreadable page.
 */
static char *
tb_fuzz_guarded(const uint8_t *src, size_t n)
{
	static char *region;
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);

	if (region == NULL)
	{
		region = mmap(NULL, TB_FUZZ_REGION + page, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (region == MAP_FAILED || mprotect(region + TB_FUZZ_REGION, page, PROT_NONE) != 0)
			abort();
	}
	if (n > TB_FUZZ_REGION)
		return NULL;
	memcpy(region + TB_FUZZ_REGION - n, src, n);
	return region + TB_FUZZ_REGION - n;
}

/*
 * tb_fuzz_check
 *	  Abort unless the result honours book_decode.h.
 */
static void
tb_fuzz_check(tb_kind k, const tb_msg *m, const tb_change *out, int cap)
{
	int			next = 0;

	if (k != m->kind || (unsigned) k > TB_OVERFLOW || !memchr(m->error, 0, sizeof m->error) ||
		!memchr(m->detail, 0, sizeof m->detail) || (k == TB_ERROR && !m->error[0]) ||
		(k == TB_OVERFLOW && m->needed <= cap) || m->nchanges > cap || m->nchanges < 0 ||
		m->ngroups < 0 || m->ngroups > TB_MAX_GROUPS)
		abort();
	for (const char *p = m->error; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
	for (const char *p = m->detail; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
	if (k != TB_BOOK)
		return;
	for (int g = 0; g < m->ngroups; g++)
	{
		if (m->groups[g].first != next || m->groups[g].n < 0 ||
			!memchr(m->groups[g].instrument, 0, TB_INSTRUMENT_MAX))
			abort();
		next += m->groups[g].n;
	}
	if (next != m->nchanges)
		abort();
	for (int i = 0; i < m->nchanges; i++)
		if (out[i].side > 1 || out[i].group >= m->ngroups || out[i].price.mant == 0 ||
			out[i].price.dec > TB_MAX_DEC || out[i].qty.dec > TB_MAX_DEC)
			abort();
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerTestOneInput
 *	  libFuzzer entry point.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int caps[4] = {3, 10, 50, 1000};
	tb_change	out[64];
	tb_msg		m;
	tb_source	src;
	tb_sync		books[TB_FUZZ_BOOKS];
	char		names[TB_FUZZ_BOOKS][TB_INSTRUMENT_MAX];
	int			nbooks = 0,
				cap,
				levels;
	size_t		pos = 1;
	char		err[256];
	tb_seq		seqs;

	if (size < 1)
		return 0;
#ifdef TB_FUZZ_ONLY
	src = TB_FUZZ_ONLY;
#else
	src = (tb_source) ((data[0] & 3) % TB_SRC_COUNT);
#endif
	tsk_tb_seq_init(&seqs);
	cap = (data[0] >> 4) * 4;
	levels = caps[(data[0] >> 2) & 3];
	while (pos <= size)
	{
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t		len = (nl ? (size_t) (nl - data) : size) - pos;
		char	   *frame = tb_fuzz_guarded(data + pos, len);
		tb_kind		k;

		pos += len + 1;
		if (frame == NULL)
			continue;
		k = tsk_tb_decode(src, frame, len, out, cap, &m);
		tb_fuzz_check(k, &m, out, cap);
		/* the Advanced Trade sequence scan reads the same guarded bytes */
		{
			int64_t		seq = tsk_tb_sequence_num(frame, len);

			if (seq < -1 || seq > INT64_C(999999999999999999))
				abort();
			if (seq >= 0)
				(void) tsk_tb_seq_check(&seqs, seq);
		}
		if (k != TB_BOOK)
			continue;
		for (int g = 0; g < m.ngroups; g++)
		{
			const tb_group *grp = &m.groups[g];
			tb_source	bs = src == TB_SRC_BINANCE_REST ? TB_SRC_BINANCE : src;
			int			b = 0,
						act;

			for (; b < nbooks; b++)
				if (src == TB_SRC_BINANCE_REST || strcmp(names[b], grp->instrument) == 0)
					break;
			if (b == nbooks)
			{
				if (nbooks == TB_FUZZ_BOOKS)
					continue;
				tsk_tb_sync_init(&books[nbooks], bs, levels, 200);
				memcpy(names[nbooks], grp->instrument, TB_INSTRUMENT_MAX);
				nbooks++;
			}
			if (src == TB_SRC_BINANCE_REST)
				act = tsk_tb_sync_rest(&books[b], grp, out + grp->first, err, sizeof err);
			else
				act = tsk_tb_sync_apply(&books[b], grp, out + grp->first, err, sizeof err);
			if (act < 0 || act > 7 || ((act & TB_ACT_REPORT) && !memchr(err, 0, sizeof err)))
				abort();
			/* the full O(n) check on small books after every frame, on big
			 * ones at the end of the input (below) */
			if ((tsk_tb_book_count(&books[b].book, TB_BID) + tsk_tb_book_count(&books[b].book, TB_ASK) <= 128 &&
				 tsk_tb_book_check(&books[b].book) != NULL) ||
				tsk_tb_book_count(&books[b].book, TB_BID) > levels ||
				tsk_tb_book_count(&books[b].book, TB_ASK) > levels ||
				books[b].nbuf > 200 + TB_MAX_FRAME_LEN)
				abort();
			if (books[b].state == TB_ST_SYNCED && src == TB_SRC_KRAKEN)
				(void) tsk_tb_kraken_checksum(&books[b].book);
		}
	}
	for (int b = 0; b < nbooks; b++)
	{
		tb_level	lv[10],
					lv2[10];
		tb_sample	s;

		tsk_tb_sync_sample(&books[b], 10, lv, lv2, &s);
		if (s.nbid > 10 || s.nask > 10 || tsk_tb_book_check(&books[b].book) != NULL)
			abort();
		tsk_tb_sync_free(&books[b]);
	}
	return 0;
}
