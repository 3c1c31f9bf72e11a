/*
 * http_header.c
 *	  ETag, Last-Modified and the rate-limit headers of an HTTP response
 *	  (see http_header.h).
 */
#include <string.h>
#include <strings.h>

#include "news/http_header.h"

/*
 * http_header_copy
 *	  Copy a header value, trimmed, into dst (TSK_HTTP_HEADER_LEN bytes);
 *	  an empty string if it is too long or holds a control character.
 */
static void
http_header_copy(char *dst, const char *v, size_t n)
{
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= TSK_HTTP_HEADER_LEN)
		n = 0;					/* absurdly long: ignore it */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) v[i] < 0x20 || (unsigned char) v[i] == 0x7f)
		{
			n = 0;				/* CR, LF, NUL...: ignore it */
			break;
		}
	memcpy(dst, v, n);
	dst[n] = '\0';
}

/*
 * tsk_http_header_line
 *	  See http_header.h.
 */
void
tsk_http_header_line(tsk_http_validators *v, const char *data, size_t n)
{
	if (n >= 5 && strncasecmp(data, "HTTP/", 5) == 0)
		v->etag[0] = v->last_modified[0] = v->retry_after[0] = v->used_weight[0] = '\0';
	else if (n > 5 && strncasecmp(data, "etag:", 5) == 0)
		http_header_copy(v->etag, data + 5, n - 5);
	else if (n > 14 && strncasecmp(data, "last-modified:", 14) == 0)
		http_header_copy(v->last_modified, data + 14, n - 14);
	else if (n > 12 && strncasecmp(data, "retry-after:", 12) == 0)
		http_header_copy(v->retry_after, data + 12, n - 12);
	else if (n > 21 && strncasecmp(data, "x-mbx-used-weight-1m:", 21) == 0)
		http_header_copy(v->used_weight, data + 21, n - 21);
}
