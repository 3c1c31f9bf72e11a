/*
 * book_decode.c
 *	  the dispatcher of the book decoders (book_decode.h): frame checks and
 *	  parsing, the hand-over to the exchange halves
 *	  (book_decode_{binance,coinbase,kraken}.c, which use the helpers of
 *	  book_decode_util.c), and the depth-channel subscribe texts.
 *
 * Invariants: see book_decode.h.  cJSON_ParseWithLengthOpts never reads
 * past len; cJSON's nesting limit bounds its recursion and ours does not
 * recurse.
 */
#define TB_DECODE_INTERNAL
#include "ingest/book_decode.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* ---- dispatcher -------------------------------------------------------- */

/*
 * tsk_tb_decode
 *	  Check and parse the frame, hand it to the exchange's decoder, settle
 *	  TB_OVERFLOW.
 */
tb_kind
tsk_tb_decode(tb_source src, const char *frame, size_t len, tb_change *out, int cap, tb_msg *msg)
{
	tb_ctx		c = {out, cap < 0 ? 0 : cap, 0, msg, NULL};
	cJSON	   *root = NULL;
	const char *end = NULL;
	tb_kind		kind;

	memset(msg, 0, offsetof(tb_msg, groups));
	msg->detail[0] = msg->error[0] = '\0';
	if (out == NULL)
		c.cap = 0;
	if (frame == NULL || len == 0)
		kind = tsk_tb_fail(&c, "empty frame");
	else if (len > TB_MAX_FRAME_LEN)
		kind = tsk_tb_fail(&c, "frame too large (%zu bytes)", len);
	else if (memchr(frame, '\0', len) != NULL)
		kind = tsk_tb_fail(&c, "NUL byte in frame");
	else if ((root = cJSON_ParseWithLengthOpts(frame, len, &end, 0)) == NULL)
		kind = tsk_tb_fail(&c, "not JSON");
	else
	{
		while (end && end < frame + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
			end++;
		if (end != frame + len)
			kind = tsk_tb_fail(&c, "trailing bytes after JSON");
		else if (src == TB_SRC_BINANCE || src == TB_SRC_BINANCE_REST)
			kind = tsk_tb_decode_binance(&c, root, src == TB_SRC_BINANCE_REST);
		else if (src == TB_SRC_COINBASE)
			kind = tsk_tb_decode_coinbase(&c, root);
		else if (src == TB_SRC_KRAKEN)
			kind = tsk_tb_decode_kraken(&c, root);
		else
			kind = tsk_tb_fail(&c, "unknown book source");
	}
	cJSON_Delete(root);
	msg->kind = kind;
	if (kind == TB_BOOK)
	{
		msg->needed = c.n;
		if (c.n > c.cap)
		{
			msg->kind = kind = TB_OVERFLOW;
			msg->nchanges = 0;
		}
		else
			msg->nchanges = c.n;
	}
	else
	{
		msg->nchanges = 0;
		if (kind != TB_ERROR)
			msg->ngroups = 0;
	}
	return kind;
}

/*
 * tsk_tb_source_name
 *	  Name of a book source.
 */
const char *
tsk_tb_source_name(tb_source src)
{
	static const char *const names[TB_SRC_COUNT] = {"binance", "binance_rest", "coinbase", "kraken"};

	return (unsigned) src < TB_SRC_COUNT ? names[src] : "unknown";
}

/*
 * tsk_tb_kind_name
 *	  Name of a result kind.
 */
const char *
tsk_tb_kind_name(tb_kind kind)
{
	static const char *const names[] = {"book", "control", "error", "overflow"};

	return (unsigned) kind <= TB_OVERFLOW ? names[kind] : "unknown";
}

/* ---- subscribe texts --------------------------------------------------- */

/*
 * tb_symbols_ok
 *	  1..63 printable ASCII bytes each (url_safe: [A-Za-z0-9._-] only).
 */
static bool
tb_symbols_ok(const char *const *ins, int n, bool url_safe)
{
	if (ins == NULL || n < 1)
		return false;
	for (int i = 0; i < n; i++)
	{
		size_t		len = ins[i] ? strnlen(ins[i], TB_INSTRUMENT_MAX) : 0;

		if (len == 0 || len >= TB_INSTRUMENT_MAX)
			return false;
		for (size_t k = 0; k < len; k++)
		{
			char		ch = ins[i][k];

			if (ch < 0x20 || ch > 0x7e ||
				(url_safe && !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
							   (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-')))
				return false;
		}
	}
	return true;
}

/*
 * tb_finish
 *	  snprintf convention for a malloc'd text (NULL = failure).
 */
static int
tb_finish(char *text, char *out, size_t outsz)
{
	size_t		len;

	if (out && outsz)
		out[0] = '\0';
	if (text == NULL)
		return -1;
	len = strlen(text);
	if (out && len < outsz)
		memcpy(out, text, len + 1);
	cJSON_free(text);
	return len > INT_MAX ? -1 : (int) len;
}

/*
 * tsk_tb_binance_streams
 *	  "<sym>@depth@100ms" joined by '/', symbols lower-cased.
 */
int
tsk_tb_binance_streams(const char *const *ins, int n, char *out, size_t outsz)
{
	size_t		need = 0;

	if (out && outsz)
		out[0] = '\0';
	if (!tb_symbols_ok(ins, n, true))
		return -1;
	for (int i = 0; i < n; i++)
		need += strlen(ins[i]) + strlen("@depth@100ms") + (i > 0);
	if (need > INT_MAX)
		return -1;
	if (out && need < outsz)
	{
		char	   *p = out;

		for (int i = 0; i < n; i++)
		{
			if (i > 0)
				*p++ = '/';
			for (const char *s = ins[i]; *s; s++)
				*p++ = (*s >= 'A' && *s <= 'Z') ? (char) (*s - 'A' + 'a') : *s;
			memcpy(p, "@depth@100ms", 12);
			p += 12;
		}
		*p = '\0';
	}
	return (int) need;
}

/*
 * tsk_tb_binance_subscribe
 *	  SUBSCRIBE message of the depth streams (lower-case symbols).
 */
int
tsk_tb_binance_subscribe(const char *const *ins, int n, int id, char *out, size_t outsz)
{
	cJSON	   *msg,
			   *params;
	char	   *text = NULL;

	if (!tb_symbols_ok(ins, n, true))
		return tb_finish(NULL, out, outsz);
	msg = cJSON_CreateObject();
	params = cJSON_CreateArray();
	for (int i = 0; msg && params && i < n; i++)
	{
		char		s[TB_INSTRUMENT_MAX + 16];
		size_t		k;

		for (k = 0; ins[i][k]; k++)
			s[k] = (ins[i][k] >= 'A' && ins[i][k] <= 'Z') ? (char) (ins[i][k] - 'A' + 'a') : ins[i][k];
		memcpy(s + k, "@depth@100ms", 13);
		cJSON_AddItemToArray(params, cJSON_CreateString(s));
	}
	if (msg && params)
	{
		cJSON_AddStringToObject(msg, "method", "SUBSCRIBE");
		cJSON_AddItemToObject(msg, "params", params);
		params = NULL;
		cJSON_AddNumberToObject(msg, "id", id);
		text = cJSON_PrintUnformatted(msg);
	}
	cJSON_Delete(msg);
	cJSON_Delete(params);
	return tb_finish(text, out, outsz);
}

/*
 * tb_names
 *	  cJSON array of the instruments, or NULL.
 */
static cJSON *
tb_names(const char *const *ins, int n)
{
	cJSON	   *arr = cJSON_CreateArray();

	for (int i = 0; arr && i < n; i++)
	{
		cJSON	   *s = cJSON_CreateString(ins[i]);

		if (s == NULL)
		{
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddItemToArray(arr, s);
	}
	return arr;
}

/*
 * tsk_tb_coinbase_subscribe
 *	  level2 (un)subscription (Exchange ws-feed or Advanced Trade).
 */
int
tsk_tb_coinbase_subscribe(const char *const *ins, int n, bool advanced, bool subscribe,
						  char *out, size_t outsz)
{
	cJSON	   *msg,
			   *ids;
	char	   *text = NULL;

	if (!tb_symbols_ok(ins, n, false))
		return tb_finish(NULL, out, outsz);
	msg = cJSON_CreateObject();
	ids = tb_names(ins, n);
	if (msg && ids)
	{
		cJSON_AddStringToObject(msg, "type", subscribe ? "subscribe" : "unsubscribe");
		cJSON_AddItemToObject(msg, "product_ids", ids);
		ids = NULL;
		if (advanced)
			cJSON_AddStringToObject(msg, "channel", "level2");
		else
		{
			cJSON	   *ch = cJSON_AddArrayToObject(msg, "channels");

			if (ch)
				cJSON_AddItemToArray(ch, cJSON_CreateString("level2"));
		}
		text = cJSON_PrintUnformatted(msg);
	}
	cJSON_Delete(msg);
	cJSON_Delete(ids);
	return tb_finish(text, out, outsz);
}

/*
 * tsk_tb_kraken_subscribe
 *	  Kraken v1 book (un)subscription at a depth.
 */
int
tsk_tb_kraken_subscribe(const char *const *ins, int n, int depth, bool subscribe, char *out, size_t outsz)
{
	cJSON	   *msg,
			   *ids,
			   *sub;
	char	   *text = NULL;

	if (!tb_symbols_ok(ins, n, false) || depth < 1)
		return tb_finish(NULL, out, outsz);
	msg = cJSON_CreateObject();
	ids = tb_names(ins, n);
	sub = cJSON_CreateObject();
	if (msg && ids && sub)
	{
		cJSON_AddStringToObject(msg, "event", subscribe ? "subscribe" : "unsubscribe");
		cJSON_AddItemToObject(msg, "pair", ids);
		cJSON_AddStringToObject(sub, "name", "book");
		cJSON_AddNumberToObject(sub, "depth", depth);
		cJSON_AddItemToObject(msg, "subscription", sub);
		ids = sub = NULL;
		text = cJSON_PrintUnformatted(msg);
	}
	cJSON_Delete(msg);
	cJSON_Delete(ids);
	cJSON_Delete(sub);
	return tb_finish(text, out, outsz);
}
