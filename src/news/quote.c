/*
 * quote.c
 *	  The JSON quote reader (see quote.h for the invariants).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "news/quote.h"

/*
 * tsk_json_path
 *	  See quote.h.
 */
const cJSON *
tsk_json_path(const cJSON *root, const char *path)
{
	char		key[TSK_QUOTE_SEGMENT_MAX + 1];
	const char *p = path;

	while (root != NULL && *p != '\0')
	{
		size_t		n = strcspn(p, ".");

		if (n == 0 || n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (cJSON_IsArray(root) && strspn(key, "0123456789") == n)
		{
			unsigned long idx;

			if (n > 7 || (idx = strtoul(key, NULL, 10)) > TSK_QUOTE_INDEX_MAX)
				return NULL;
			root = cJSON_GetArrayItem(root, (int) idx);
		}
		else
			root = cJSON_GetObjectItemCaseSensitive(root, key);
		p += n;
		if (*p == '.')
			p++;
	}
	return root;
}

/*
 * tsk_json_number
 *	  See quote.h.
 */
bool
tsk_json_number(const cJSON *item, double *out)
{
	char	   *end;

	if (cJSON_IsNumber(item))
		*out = item->valuedouble;
	else if (cJSON_IsString(item) && item->valuestring != NULL && item->valuestring[0] != '\0')
	{
		*out = strtod(item->valuestring, &end);
		if (*end != '\0')
			return false;
	}
	else
		return false;
	return isfinite(*out);
}

/*
 * tsk_quote_parse
 *	  See quote.h.
 */
int
tsk_quote_parse(const char *body, size_t len, const tsk_quote_paths *paths, tsk_quote *q,
				char *err, size_t errlen)
{
	cJSON	   *root;
	const cJSON *item;
	double		ts = 0;
	int			rc = -1;

	memset(q, 0, sizeof(*q));
	if (errlen > 0)
		err[0] = '\0';
	root = cJSON_ParseWithLength(body, len);
	if (root == NULL)
	{
		const char *at = cJSON_GetErrorPtr();

		snprintf(err, errlen, "response is not valid JSON (near byte %ld)",
				 at != NULL && at >= body && at <= body + len ? (long) (at - body) : 0L);
		return -1;
	}
	if (!tsk_json_number(tsk_json_path(root, paths->price), &q->price))
		snprintf(err, errlen, "no number at the price path \"%s\"", paths->price);
	else if (q->price <= 0)
		snprintf(err, errlen, "price %g at \"%s\" is not positive (unknown symbol?)", q->price, paths->price);
	else if (paths->qty != NULL && !tsk_json_number(tsk_json_path(root, paths->qty), &q->qty))
		snprintf(err, errlen, "no number at the qty path \"%s\"", paths->qty);
	else if (paths->ts != NULL &&
			 ((item = tsk_json_path(root, paths->ts)) == NULL || !tsk_json_number(item, &ts) ||
			  !(ts * (double) paths->ts_unit_us >= 1) || ts * (double) paths->ts_unit_us > 4e15))
		snprintf(err, errlen, "no valid timestamp at the ts path \"%s\"", paths->ts);
	else
	{
		q->has_ts = paths->ts != NULL;
		q->ts_unix_us = q->has_ts ? llround(ts * (double) paths->ts_unit_us) : 0;
		rc = 0;
	}
	cJSON_Delete(root);
	return rc;
}
