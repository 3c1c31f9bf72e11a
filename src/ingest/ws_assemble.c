/*
 * ws_assemble.c
 *	  WebSocket message reassembly (see ws_assemble.h for the invariants).
 */
#include <string.h>

#include "ingest/ws_assemble.h"

/*
 * tsk_ws_assemble
 *	  See ws_assemble.h.
 */
void
tsk_ws_assemble(tsk_ws_assembler *a, const char *in, size_t len, bool binary, bool final,
				size_t limit, int64_t received)
{
	if (!a->in_message)
	{
		a->msg_binary = binary;
		a->in_message = true;
	}
	a->msg_total = a->msg_total + len < a->msg_total ? SIZE_MAX : a->msg_total + len;
	if (a->msg.len < limit && len > 0)
	{
		size_t		keep = len < limit - a->msg.len ? len : limit - a->msg.len;

		if (!tsk_bytebuf_append(&a->msg, in, keep))
			a->oom = true;
	}
	if (!final)
		return;
	{
		tsk_ws_frame f;
		size_t		before = a->queue.len;

		memset(&f, 0, sizeof(f));
		f.len = a->msg.len;
		f.total_len = a->msg_total;
		f.binary = a->msg_binary;
		f.received = received;
		if (!tsk_bytebuf_append(&a->queue, &f, sizeof(f)) ||
			(f.len > 0 && !tsk_bytebuf_append(&a->queue, a->msg.data, f.len)))
		{
			/* never a header without its bytes */
			a->queue.len = before;
			if (a->queue.data != NULL)
				a->queue.data[before] = '\0';
			a->oom = true;
		}
	}
	tsk_bytebuf_reset(&a->msg);
	a->msg_total = 0;
	a->in_message = false;
}

/*
 * tsk_ws_next
 *	  See ws_assemble.h.
 */
bool
tsk_ws_next(const tsk_ws_assembler *a, size_t *pos, tsk_ws_frame *f, const char **data)
{
	size_t		left;

	if (*pos > a->queue.len || a->queue.len - *pos < sizeof(*f))
		return false;
	memcpy(f, a->queue.data + *pos, sizeof(*f));
	left = a->queue.len - *pos - sizeof(*f);
	if (f->len > left)
		return false;
	*data = a->queue.data + *pos + sizeof(*f);
	*pos += sizeof(*f) + f->len;
	return true;
}

/*
 * tsk_ws_queue_clear
 *	  See ws_assemble.h.
 */
void
tsk_ws_queue_clear(tsk_ws_assembler *a)
{
	tsk_bytebuf_reset(&a->queue);
}

/*
 * tsk_ws_assembler_reset
 *	  See ws_assemble.h.
 */
void
tsk_ws_assembler_reset(tsk_ws_assembler *a)
{
	tsk_bytebuf_reset(&a->msg);
	tsk_bytebuf_reset(&a->queue);
	a->msg_total = 0;
	a->in_message = false;
	a->oom = false;
}

/*
 * tsk_ws_assembler_free
 *	  See ws_assemble.h.
 */
void
tsk_ws_assembler_free(tsk_ws_assembler *a)
{
	tsk_bytebuf_free(&a->msg);
	tsk_bytebuf_free(&a->queue);
	memset(a, 0, sizeof(*a));
}
