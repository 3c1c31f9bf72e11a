/*
 * book.c
 *	  order books of a replayed depth capture, for the clients that need one
 *	  beside the stream:
 *
 *   Binance REST snapshot: GET /api/v3/depth?symbol=S&limit=N (also
 *   /fapi/v1/depth, /dapi/v1/depth) answers
 *   {"lastUpdateId":u,"bids":[[p,q],..],"asks":[..]} derived from the
 *   capture: the replay of every depthUpdate of S onto an empty book up
 *   to stream position P, lastUpdateId = u of the last diff replayed, the
 *   N best levels a side.  P is the position of the most advanced live
 *   connection plus --rest-ahead (default 3) frames: like the real
 *   exchange, the snapshot may be ahead of what the client has read, so
 *   it must drop the diffs the snapshot covers.  The capture starts
 *   mid-stream, so the derived book holds only levels the capture touched.
 *
 *   Kraken v1 book resubscription: a "book" subscribe for a pair once the
 *   stream is flowing gets a snapshot [channelID,{"as":..,"bs":..},
 *   "book-D",pair] of the replayed book at the connection's cursor (every
 *   book frame of the pair before it, truncated to D levels as Kraken's
 *   clients do), with the level timestamps as sent.
 *
 *   Faults: --drop-frame N never sends stream position N (a lost diff);
 *   --corrupt-checksum N sends position N with its Kraken checksum "c"
 *   altered (its last digit + 1).  Each happens once per server run.
 *
 * The book here is deliberately simple (sorted arrays, prices compared as
 * doubles, which is exact for the captures' fixed-decimal prices of at
 * most 15 significant digits); it shares nothing with src/ingest/book.c.
 * Invariants: strings kept as the capture wrote them; no allocation
 * survives a request.
 */
#define _GNU_SOURCE
#include "exchange_sim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct sim_level
{
	double		key;
	char		px[40];
	char		qty[40];
	char		ts[40];
} sim_level;

typedef struct sim_book
{
	sim_level  *lv[2];			/* 0 bids (descending), 1 asks (ascending) */
	int			n[2];
	int			cap[2];
	long long	last_id;
} sim_book;

/*
 * sim_book_set
 *	  Set one level (qty 0 deletes).
 */
static void
sim_book_set(sim_book *b, int side, const char *px, const char *qty, const char *ts)
{
	double		key = strtod(px, NULL);
	int			i = 0;

	while (i < b->n[side] && (side == 0 ? b->lv[side][i].key > key : b->lv[side][i].key < key))
		i++;
	if (strtod(qty, NULL) == 0)
	{
		if (i < b->n[side] && b->lv[side][i].key == key)
		{
			memmove(&b->lv[side][i], &b->lv[side][i + 1], sizeof(sim_level) * (size_t) (b->n[side] - i - 1));
			b->n[side]--;
		}
		return;
	}
	if (i == b->n[side] || b->lv[side][i].key != key)
	{
		if (b->n[side] == b->cap[side])
		{
			int			cap = b->cap[side] ? 2 * b->cap[side] : 256;
			sim_level  *p = realloc(b->lv[side], sizeof(sim_level) * (size_t) cap);

			if (p == NULL)
				return;
			b->lv[side] = p;
			b->cap[side] = cap;
		}
		memmove(&b->lv[side][i + 1], &b->lv[side][i], sizeof(sim_level) * (size_t) (b->n[side] - i));
		b->n[side]++;
	}
	b->lv[side][i].key = key;
	snprintf(b->lv[side][i].px, sizeof(b->lv[side][i].px), "%s", px);
	snprintf(b->lv[side][i].qty, sizeof(b->lv[side][i].qty), "%s", qty);
	snprintf(b->lv[side][i].ts, sizeof(b->lv[side][i].ts), "%s", ts ? ts : "");
}

/*
 * sim_book_free
 *	  Free a book.
 */
static void
sim_book_free(sim_book *b)
{
	free(b->lv[0]);
	free(b->lv[1]);
}

/*
 * sim_book_levels
 *	  Apply the [[p, q(, ts)], ...] array of one side.
 */
static void
sim_book_levels(sim_book *b, int side, const cJSON *arr)
{
	const cJSON *lv;

	cJSON_ArrayForEach(lv, arr)
	{
		const cJSON *p = cJSON_GetArrayItem(lv, 0),
				   *q = cJSON_GetArrayItem(lv, 1),
				   *t = cJSON_GetArrayItem(lv, 2);

		if (cJSON_IsString(p) && cJSON_IsString(q))
			sim_book_set(b, side, p->valuestring, q->valuestring,
						 cJSON_IsString(t) ? t->valuestring : NULL);
	}
}

/*
 * sim_book_replay
 *	  Replay stream positions [0, end) of one instrument into b.
 */
static void
sim_book_replay(sim_book *b, const char *instrument, uint64_t end, bool kraken)
{
	char		needle[96];
	size_t		nlen;

	/* cheap filter before parsing: the instrument as the frame names it */
	nlen = (size_t) snprintf(needle, sizeof(needle), kraken ? "\"%s\"]" : "\"s\":\"%s\"", instrument);
	if (!kraken)
		for (char *p = needle + 5; *p && *p != '"'; p++)
			*p = (char) toupper((unsigned char) *p);
	for (uint64_t pos = 0; pos < end; pos++)
	{
		sim_item	it;
		cJSON	   *root;

		if (sim_stream_get(pos, &it) != SIM_GET_OK || it.payload == NULL)
			break;
		if (memmem(it.payload, it.len, needle, nlen) == NULL ||
			(kraken ? (memmem(it.payload, it.len, "\"book-", 6) == NULL)
			 : (memmem(it.payload, it.len, "depthUpdate", 11) == NULL)))
			continue;
		if ((root = cJSON_ParseWithLength(it.payload, it.len)) == NULL)
			continue;
		if (kraken)
		{
			int			n = cJSON_GetArraySize(root);
			const cJSON *pair = cJSON_GetArrayItem(root, n - 1);
			const cJSON *chan = cJSON_GetArrayItem(root, n - 2);
			long		depth = cJSON_IsString(chan) ? strtol(chan->valuestring + 5, NULL, 10) : 0;

			if (n >= 4 && cJSON_IsString(pair) && strcmp(pair->valuestring, instrument) == 0)
				for (int i = 1; i < n - 2; i++)
				{
					const cJSON *o = cJSON_GetArrayItem(root, i);

					if (cJSON_GetObjectItemCaseSensitive(o, "as") || cJSON_GetObjectItemCaseSensitive(o, "bs"))
						b->n[0] = b->n[1] = 0;
					sim_book_levels(b, 1, cJSON_GetObjectItemCaseSensitive(o, "as"));
					sim_book_levels(b, 0, cJSON_GetObjectItemCaseSensitive(o, "bs"));
					sim_book_levels(b, 1, cJSON_GetObjectItemCaseSensitive(o, "a"));
					sim_book_levels(b, 0, cJSON_GetObjectItemCaseSensitive(o, "b"));
					for (int s = 0; s < 2 && depth > 0; s++)
						if (b->n[s] > depth)
							b->n[s] = (int) depth;
				}
		}
		else
		{
			const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "data");
			const char *s = sim_json_str(d ? d : root, "s");
			const cJSON *u = cJSON_GetObjectItemCaseSensitive(d ? d : root, "u");

			if (s != NULL && strcasecmp(s, instrument) == 0 && cJSON_IsNumber(u))
			{
				sim_book_levels(b, 0, cJSON_GetObjectItemCaseSensitive(d ? d : root, "b"));
				sim_book_levels(b, 1, cJSON_GetObjectItemCaseSensitive(d ? d : root, "a"));
				b->last_id = (long long) u->valuedouble;
			}
		}
		cJSON_Delete(root);
	}
}

/*
 * sim_query_arg
 *	  The value of query argument `name` in "a=1&b=2" (copied), or "".
 */
static void
sim_query_arg(const char *query, const char *name, char *out, size_t outsz)
{
	size_t		n = strlen(name);
	const char *p = query;

	out[0] = '\0';
	while (p && *p)
	{
		if (strncmp(p, name, n) == 0 && p[n] == '=')
		{
			size_t		len = strcspn(p + n + 1, "&");

			if (len >= outsz)
				len = outsz - 1;
			memcpy(out, p + n + 1, len);
			out[len] = '\0';
			return;
		}
		p = strchr(p, '&');
		if (p)
			p++;
	}
}

/*
 * sim_book_rest
 *	  Binance REST depth body for path "/api/v3/depth?symbol=..&limit=..",
 *	  malloc'd into *body; returns the HTTP status (200, 400 or 404).
 */
int
sim_book_rest(const char *path, uint64_t position, char **body, size_t *len)
{
	const char *q = strchr(path, '?');
	char		sym[64],
				lim[16];
	sim_book	b;
	sim_buf		out = {0};
	long		limit;
	uint64_t	end = position + sim_cfg.rest_ahead;

	*body = NULL;
	*len = 0;
	if (strncmp(path, "/api/v3/depth", 13) != 0 && strncmp(path, "/fapi/v1/depth", 14) != 0 &&
		strncmp(path, "/dapi/v1/depth", 14) != 0)
		return 404;
	sim_query_arg(q ? q + 1 : "", "symbol", sym, sizeof(sym));
	sim_query_arg(q ? q + 1 : "", "limit", lim, sizeof(lim));
	limit = lim[0] ? strtol(lim, NULL, 10) : 100;
	if (sym[0] == '\0' || limit < 1 || limit > 5000)
	{
		*body = strdup("{\"code\":-1100,\"msg\":\"Illegal characters found in parameter 'symbol'.\"}");
		*len = *body ? strlen(*body) : 0;
		return 400;
	}
	memset(&b, 0, sizeof(b));
	sim_book_replay(&b, sym, end, false);
	if (sim_buf_reserve(&out, 64) != 0)
		return 404;
	out.len = (size_t) snprintf(out.data, out.cap, "{\"lastUpdateId\":%lld", b.last_id);
	for (int side = 0; side < 2; side++)
	{
		const char *head = side == 0 ? ",\"bids\":[" : "],\"asks\":[";

		sim_buf_append(&out, head, strlen(head));
		for (int i = 0; i < b.n[side] && i < limit; i++)
		{
			char		lv[128];
			int			n = snprintf(lv, sizeof(lv), "%s[\"%s\",\"%s\"]", i ? "," : "",
									 b.lv[side][i].px, b.lv[side][i].qty);

			sim_buf_append(&out, lv, (size_t) n);
		}
	}
	sim_buf_append(&out, "]}", 2);
	sim_book_free(&b);
	*body = out.data;
	*len = out.len;
	if (sim_cfg.verbose)
		lwsl_user("REST depth %s at position %llu: lastUpdateId %lld\n", sym,
				  (unsigned long long) end, b.last_id);
	return 200;
}

/*
 * sim_book_kraken_snapshot
 *	  Kraken: queue a book snapshot of pair at depth for c (resubscription). 0
 *	  on success, -1 if out of memory.
 */
int
sim_book_kraken_snapshot(sim_conn *c, int id, int depth)
{
	sim_book	b;
	sim_buf		out = {0};
	char		head[160];
	int			rc;

	memset(&b, 0, sizeof(b));
	sim_book_replay(&b, sim_instr_name(id), c->pos, true);
	snprintf(head, sizeof(head), "[%lld,{\"as\":[", (long long) sim_instr_channel(id));
	sim_buf_append(&out, head, strlen(head));
	for (int k = 0; k < 2; k++)
	{
		int			side = k == 0 ? 1 : 0;

		if (k == 1)
			sim_buf_append(&out, "],\"bs\":[", 8);
		for (int i = 0; i < b.n[side] && i < depth; i++)
		{
			char		lv[160];
			int			n = snprintf(lv, sizeof(lv), "%s[\"%s\",\"%s\",\"%s\"]", i ? "," : "",
									 b.lv[side][i].px, b.lv[side][i].qty, b.lv[side][i].ts);

			sim_buf_append(&out, lv, (size_t) n);
		}
	}
	snprintf(head, sizeof(head), "]},\"book-%d\",\"%s\"]", depth, sim_instr_name(id));
	sim_buf_append(&out, head, strlen(head));
	rc = out.data ? sim_conn_send(c, out.data, out.len, 0) : -1;
	sim_buf_free(&out);
	sim_book_free(&b);
	if (sim_cfg.verbose)
		lwsl_user("connection %llu: book snapshot of %s at frame %llu\n", (unsigned long long) c->id,
				  sim_instr_name(id), (unsigned long long) c->pos);
	return rc;
}

/*
 * sim_book_fault
 *	  Fault injection for stream position pos: returns 1 to skip the frame
 *	  (--drop-frame), or 0 with the payload and its length possibly replaced by
 *	  an altered copy in scratch (--corrupt-checksum).
 */
int
sim_book_fault(uint64_t pos, const char **payload, size_t *len, sim_buf *scratch)
{
	static bool dropped,
				corrupted;

	if (sim_cfg.drop_frame > 0 && !dropped && pos == sim_cfg.drop_frame)
	{
		dropped = true;
		if (sim_cfg.verbose)
			lwsl_user("dropping stream frame %llu\n", (unsigned long long) pos);
		return 1;
	}
	if (sim_cfg.corrupt_checksum > 0 && !corrupted && pos == sim_cfg.corrupt_checksum && *payload)
	{
		const char *c = memmem(*payload, *len, "\"c\":\"", 5);

		corrupted = true;
		if (c != NULL)
		{
			size_t		at = (size_t) (c - *payload) + 5;

			while (at < *len && isdigit((unsigned char) (*payload)[at]))
				at++;
			scratch->len = 0;
			if (at > 0 && sim_buf_append(scratch, *payload, *len) == 0)
			{
				char	   *d = scratch->data + at - 1;

				*d = *d == '9' ? '0' : (char) (*d + 1);
				*payload = scratch->data;
				if (sim_cfg.verbose)
					lwsl_user("corrupting the checksum of stream frame %llu\n", (unsigned long long) pos);
			}
		}
	}
	return 0;
}
