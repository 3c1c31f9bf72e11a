/*
 * ws_assemble.h
 *	  WebSocket message reassembly for the ingest worker, in plain C: the
 *	  fragments libwebsockets hands its receive callback become complete
 *	  messages in a queue that the worker's loop reads after lws_service()
 *	  has returned.
 *
 * Invariants:
 *	- no Postgres headers, no palloc, no ereport: it runs inside the
 *	  libwebsockets callback; failures are flags (oom);
 *	- a message keeps at most `limit` bytes; its full length is counted in
 *	  total_len, so one hostile message cannot exhaust memory and the loop
 *	  can still say how long it was;
 *	- the queue holds, per message, a tsk_ws_frame header followed by its
 *	  len bytes; a header is never queued without its bytes (a failed
 *	  append rolls the queue back), and tsk_ws_next() stops at anything
 *	  that does not fit, so a reader never reads past the queue.
 */
#ifndef TSK_WS_ASSEMBLE_H
#define TSK_WS_ASSEMBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytebuf.h"

/* One queued message (followed by its len bytes). */
typedef struct tsk_ws_frame
{
	size_t		len;			/* bytes kept (<= the limit) */
	size_t		total_len;		/* bytes received */
	bool		binary;
	int64_t		received;		/* the caller's stamp (TimestampTz) */
} tsk_ws_frame;

typedef struct tsk_ws_assembler
{
	tsk_bytebuf msg;			/* the message being assembled */
	tsk_bytebuf queue;			/* complete messages */
	size_t		msg_total;		/* bytes of it received so far */
	bool		msg_binary;
	bool		in_message;		/* a fragment of it has been seen */
	bool		oom;			/* out of memory: the connection must go */
} tsk_ws_assembler;

/*
 * One fragment of len bytes; binary is the message's type (taken from its
 * first fragment), final says whether it ends the message, which is then
 * queued with the stamp received.  At most limit bytes of a message are
 * kept.
 */
extern void tsk_ws_assemble(tsk_ws_assembler *a, const char *in, size_t len, bool binary,
							bool final, size_t limit, int64_t received);

/*
 * The queued message at *pos (start at 0): its header in *f and its bytes
 * in *data; advances *pos.  False at the end of the queue.
 */
extern bool tsk_ws_next(const tsk_ws_assembler *a, size_t *pos, tsk_ws_frame *f, const char **data);

/* Empty the queue (after reading it). */
extern void tsk_ws_queue_clear(tsk_ws_assembler *a);

/* Forget the message in progress and the queue; keeps the memory. */
extern void tsk_ws_assembler_reset(tsk_ws_assembler *a);

/* Free all memory. */
extern void tsk_ws_assembler_free(tsk_ws_assembler *a);

#endif							/* TSK_WS_ASSEMBLE_H */
