/*
 * decode_out.c
 *	  The plumbing of the subscribe-message builders (decode_<exchange>.c and
 *	  decode_subscribe.c): symbol checks, ASCII case folding, the cJSON
 *	  array of symbols, and the output buffer with snprintf semantics.
 *
 * Invariants: the output buffer never writes past outsz and never leaves a
 * truncated message (out is "" when it does not fit); symbols are checked
 * (printable ASCII, 1..63 bytes) before use; case folding is ASCII-only and
 * locale-independent.  This file calls no builder: the builders call it (no
 * circle between the files).
 */
#define TD_DECODE_INTERNAL
#include "ingest/decode.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/*
 * tsk_td_symbols_ok
 *	  Validate a list of symbols for a subscribe message or stream path.
 */
bool
tsk_td_symbols_ok(const char *const *instruments, int n, bool url_safe)
{
	if (instruments == NULL || n < 1)
		return false;
	for (int i = 0; i < n; i++)
		if (!tsk_td_symbol_ok(instruments[i], url_safe))
			return false;
	return true;
}

/*
 * tsk_td_ascii_fold
 *	  ASCII-only case folding (locale-independent, unlike toupper/tolower).
 */
void
tsk_td_ascii_fold(char *s, bool upper)
{
	for (; *s; s++)
		if (upper && *s >= 'a' && *s <= 'z')
			*s = (char) (*s - 'a' + 'A');
		else if (!upper && *s >= 'A' && *s <= 'Z')
			*s = (char) (*s - 'A' + 'a');
}

/*
 * tsk_td_string_array
 *	  cJSON array of the symbols, optionally lower-cased and suffixed.
 */
cJSON *
tsk_td_string_array(const char *const *instruments, int n, bool lower, const char *suffix)
{
	cJSON	   *arr = cJSON_CreateArray();

	for (int i = 0; arr && i < n; i++)
	{
		char		buf[TD_INSTRUMENT_MAX + 32];
		cJSON	   *s;

		snprintf(buf, sizeof buf, "%s", instruments[i]);
		if (lower)
			tsk_td_ascii_fold(buf, false);	/* the symbol only: "@aggTrade" keeps its case */
		strncat(buf, suffix ? suffix : "", sizeof buf - strlen(buf) - 1);
		if ((s = cJSON_CreateString(buf)) == NULL)
		{
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddItemToArray(arr, s);
	}
	return arr;
}

/*
 * tsk_td_out_text
 *	  Append raw text; past outsz only the needed length is counted.
 */
void
tsk_td_out_text(td_outbuf *ob, const char *text)
{
	size_t		n = strlen(text);

	if (ob->out && ob->len + n < ob->outsz)
		memcpy(ob->out + ob->len, text, n);
	ob->len += n;
}

/*
 * tsk_td_out_json
 *	  Append one JSON message (own line) and free it; NULL msg = OOM.
 */
bool
tsk_td_out_json(td_outbuf *ob, cJSON *msg)
{
	char	   *text = msg ? cJSON_PrintUnformatted(msg) : NULL;

	cJSON_Delete(msg);
	if (text == NULL)
	{
		ob->failed = 1;
		return false;
	}
	if (ob->len > 0)
		tsk_td_out_text(ob, "\n");
	tsk_td_out_text(ob, text);
	cJSON_free(text);
	return true;
}

/*
 * tsk_td_out_finish
 *	  NUL-terminate (or blank, if it did not fit) and return the needed length.
 */
int
tsk_td_out_finish(td_outbuf *ob)
{
	if (ob->failed || ob->len > INT_MAX)
	{
		if (ob->out && ob->outsz)
			ob->out[0] = '\0';
		return -1;
	}
	if (ob->out && ob->outsz)
		ob->out[ob->len < ob->outsz ? ob->len : 0] = '\0';
	return (int) ob->len;
}
