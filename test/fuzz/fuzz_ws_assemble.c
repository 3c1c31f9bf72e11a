/*
 * fuzz_ws_assemble.c
 *	  libFuzzer target for the WebSocket message reassembly of the ingest
 *	  worker (src/ingest/ws_assemble.c), checked against a model.
 *
 * Input: byte 0 picks the message size limit (1..1024, or 1 MB when its top
 * bit is set) and byte 1, when non-zero, caps the queue (to drive its
 * out-of-memory path).  Then records: a control byte (bit 0: final
 * fragment, bit 1: binary, bit 2: read the queue now), a length byte, and
 * that many bytes of fragment.  The model keeps every message whole; each
 * message read back must be its first min(limit, total) bytes, with the
 * total length and the type of its first fragment, in order; a message the
 * capped queue refused is skipped by both, and nothing is ever read past
 * the queue.
 *
 * Build and run: make fuzz (clang -fsanitize=fuzzer,address,undefined).
 */
#include "ingest/ws_assemble.h"

#include <stdlib.h>
#include <string.h>

#define MODEL_MAX 64			/* messages the model remembers between reads */

typedef struct model_msg
{
	char	   *data;
	size_t		len;
	int			binary;
} model_msg;

/*
 * drain
 *	  Read the queue and compare it with the model's pending messages.
 */
static void
drain(tsk_ws_assembler *a, model_msg *pending, int *npending, size_t limit)
{
	size_t		pos = 0;
	tsk_ws_frame f;
	const char *data;
	int			k = 0;

	while (tsk_ws_next(a, &pos, &f, &data))
	{
		size_t		want;

		if (k >= *npending)
			abort();			/* more messages than were queued */
		want = pending[k].len < limit ? pending[k].len : limit;
		if (f.len != want || f.total_len != pending[k].len || f.binary != (pending[k].binary != 0) ||
			(want > 0 && memcmp(data, pending[k].data, want) != 0) || f.received != k)
			abort();
		k++;
	}
	if (pos != a->queue.len || k != *npending)
		abort();				/* a torn queue, or a message lost */
	for (int i = 0; i < *npending; i++)
		free(pending[i].data);
	*npending = 0;
	tsk_ws_queue_clear(a);
}

/*
 * LLVMFuzzerTestOneInput
 *	  libFuzzer entry point: see the banner.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsk_ws_assembler a;
	model_msg	pending[MODEL_MAX];
	int			npending = 0;
	char	   *cur = NULL;
	size_t		curlen = 0;
	int			curbinary = -1;
	size_t		limit,
				i = 2;

	if (size < 2)
		return 0;
	memset(&a, 0, sizeof(a));
	limit = (data[0] & 0x80) ? 1024 * 1024 : (size_t) (data[0] & 0x7f) * 8 + 1;
	a.queue.max = data[1] ? (size_t) data[1] * 4 : 0;
	while (i + 2 <= size)
	{
		unsigned	ctl = data[i];
		size_t		len = data[i + 1];
		char	   *grown;

		i += 2;
		if (len > size - i)
			len = size - i;
		if (curbinary < 0)
			curbinary = (ctl & 2) != 0;
		if ((grown = realloc(cur, curlen + len + 1)) == NULL)
			abort();
		cur = grown;
		memcpy(cur + curlen, data + i, len);
		curlen += len;
		{
			size_t		before = a.queue.len;

			tsk_ws_assemble(&a, (const char *) data + i, len, (ctl & 2) != 0, (ctl & 1) != 0,
							limit, npending);
			i += len;
			if (ctl & 1)
			{
				if (a.queue.len > before)
				{
					if (npending == MODEL_MAX)
						abort();
					pending[npending].data = cur;
					pending[npending].len = curlen;
					pending[npending++].binary = curbinary;
					cur = NULL;
				}
				else if (!a.oom)
					abort();	/* refused without saying so */
				a.oom = false;
				free(cur);
				cur = NULL;
				curlen = 0;
				curbinary = -1;
			}
		}
		if ((ctl & 4) || npending == MODEL_MAX)
			drain(&a, pending, &npending, limit);
	}
	drain(&a, pending, &npending, limit);
	free(cur);
	tsk_ws_assembler_free(&a);
	return 0;
}
