/*
 * text.c
 *	  byte buffers, WebSocket framing and fast number/time printing.
 *
 * The simulator renders hundreds of thousands of frames per second, so the
 * printers here avoid stdio: each writes at p and returns the new end.
 * Callers guarantee room (payloads are bounded by SIM_MAX_RENDER); none of
 * them writes a terminating NUL.
 *
 * Invariants: fixed-point values are SIM_SCALE (1e-8) units; times are
 * nanoseconds since the Unix epoch (UTC); a sim_buf's data is NULL or
 * malloc'd and len <= cap.
 */
#include "exchange_sim.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * sim_buf_reserve
 *	  Make room for extra more bytes; 0 on success, -1 if out of memory.
 */
int
sim_buf_reserve(sim_buf *b, size_t extra)
{
	size_t		need = b->len + extra;
	size_t		cap = b->cap ? b->cap : 256;
	char	   *p;

	if (need <= b->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

/*
 * sim_buf_append
 *	  Append n bytes; 0 on success, -1 if out of memory.
 */
int
sim_buf_append(sim_buf *b, const void *p, size_t n)
{
	if (sim_buf_reserve(b, n) != 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/*
 * sim_buf_free
 *	  Release the buffer's memory and reset it to empty.
 */
void
sim_buf_free(sim_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/*
 * sim_ws_header
 *	  Write the header of an unmasked, final text frame of payload_len bytes
 *	  (RFC 6455 section 5.2) into hdr (room for 10 bytes); returns its length.
 */
size_t
sim_ws_header(unsigned char *hdr, size_t payload_len)
{
	hdr[0] = 0x81;				/* FIN | text */
	if (payload_len < 126)
	{
		hdr[1] = (unsigned char) payload_len;
		return 2;
	}
	if (payload_len < 65536)
	{
		hdr[1] = 126;
		hdr[2] = (unsigned char) (payload_len >> 8);
		hdr[3] = (unsigned char) payload_len;
		return 4;
	}
	hdr[1] = 127;
	for (int i = 0; i < 8; i++)
		hdr[2 + i] = (unsigned char) ((uint64_t) payload_len >> (56 - 8 * i));
	return 10;
}

/*
 * sim_put_str
 *	  Copy a NUL-terminated string (without the NUL).
 */
char *
sim_put_str(char *p, const char *s)
{
	size_t		n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/*
 * sim_put_u64
 *	  Decimal digits of an unsigned integer.
 */
char *
sim_put_u64(char *p, uint64_t v)
{
	char		tmp[20];
	int			n = 0;

	do
	{
		tmp[n++] = (char) ('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/*
 * sim_put_i64
 *	  Decimal digits of a signed integer.
 */
char *
sim_put_i64(char *p, int64_t v)
{
	if (v < 0)
	{
		*p++ = '-';
		return sim_put_u64(p, (uint64_t) 0 - (uint64_t) v);
	}
	return sim_put_u64(p, (uint64_t) v);
}

/*
 * sim_put_fixed
 *	  A fixed-point value with the given number of decimals (0..8), truncated
 *	  toward zero; with trim, trailing zeros and a bare point are dropped
 *	  ("0.04", "985"), as Coinbase and JSON numbers print them.
 */
char *
sim_put_fixed(char *p, int64_t v, int decimals, bool trim)
{
	uint64_t	u;
	uint64_t	frac;
	char		digits[8];

	if (v < 0)
	{
		*p++ = '-';
		u = (uint64_t) 0 - (uint64_t) v;
	}
	else
		u = (uint64_t) v;
	p = sim_put_u64(p, u / SIM_SCALE);
	frac = u % SIM_SCALE;
	for (int i = 7; i >= 0; i--)
	{
		digits[i] = (char) ('0' + frac % 10);
		frac /= 10;
	}
	if (trim)
		while (decimals > 0 && digits[decimals - 1] == '0')
			decimals--;
	if (decimals <= 0)
		return p;
	*p++ = '.';
	memcpy(p, digits, (size_t) decimals);
	return p + decimals;
}

/*
 * sim_put_iso
 *	  RFC 3339 UTC time with `digits` fractional digits (0..9) and a 'Z'; with
 *	  trim, trailing zeros of the fraction are dropped the way Go's RFC3339Nano
 *	  does ("21:05:38.50436Z").  The calendar part is cached per second:
 *	  gmtime_r is the slow step.
 */
char *
sim_put_iso(char *p, int64_t ns, int digits, bool trim)
{
	static int64_t sim_iso_sec = INT64_MIN;
	static char sim_iso_prefix[20];
	int64_t		sec = ns / 1000000000;
	int64_t		frac = ns % 1000000000;
	char		f[9];

	if (sec != sim_iso_sec)
	{
		time_t		t = (time_t) sec;
		struct tm	tm;
		char		tmp[32];

		if (gmtime_r(&t, &tm) == NULL ||
			strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm) != 19)
			memcpy(tmp, "1970-01-01T00:00:00", 20);
		memcpy(sim_iso_prefix, tmp, 19);
		sim_iso_sec = sec;
	}
	memcpy(p, sim_iso_prefix, 19);
	p += 19;
	for (int i = 8; i >= 0; i--)
	{
		f[i] = (char) ('0' + frac % 10);
		frac /= 10;
	}
	if (trim)
		while (digits > 0 && f[digits - 1] == '0')
			digits--;
	if (digits > 0)
	{
		*p++ = '.';
		memcpy(p, f, (size_t) digits);
		p += digits;
	}
	*p++ = 'Z';
	return p;
}

/*
 * sim_put_epoch_us
 *	  Seconds since the epoch with 6 decimals ("1618678142.557535", Kraken).
 */
char *
sim_put_epoch_us(char *p, int64_t ns)
{
	int64_t		us = ns / 1000;

	p = sim_put_i64(p, us / 1000000);
	*p++ = '.';
	for (int i = 5; i >= 0; i--)
	{
		p[i] = (char) ('0' + us % 10);
		us /= 10;
	}
	return p + 6;
}

/*
 * sim_put_uuid
 *	  A UUID-shaped string (8-4-4-4-12 lower-case hex) from 128 bits.
 */
char *
sim_put_uuid(char *p, uint64_t a, uint64_t b)
{
	static const char sim_hex[] = "0123456789abcdef";
	unsigned char raw[16];
	static const int sim_dash_after[] = {4, 6, 8, 10};
	int			d = 0;

	for (int i = 0; i < 8; i++)
	{
		raw[i] = (unsigned char) (a >> (56 - 8 * i));
		raw[8 + i] = (unsigned char) (b >> (56 - 8 * i));
	}
	raw[6] = (unsigned char) ((raw[6] & 0x0f) | 0x40);	/* version 4 */
	raw[8] = (unsigned char) ((raw[8] & 0x3f) | 0x80);	/* variant */
	for (int i = 0; i < 16; i++)
	{
		if (d < 4 && i == sim_dash_after[d])
		{
			*p++ = '-';
			d++;
		}
		*p++ = sim_hex[raw[i] >> 4];
		*p++ = sim_hex[raw[i] & 15];
	}
	return p;
}

/*
 * sim_wall_ns
 *	  Wall clock in nanoseconds since the epoch (trade timestamps).
 */
int64_t
sim_wall_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * sim_mono_us
 *	  Monotonic clock in microseconds (pacing).
 */
int64_t
sim_mono_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
