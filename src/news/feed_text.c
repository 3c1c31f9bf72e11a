/*
 * feed_text.c
 *	  text helpers of the feed reader (see feed_parse.h): HTML stripping with
 *	  entity decoding, and RFC 822 / RFC 3339 dates.
 *
 * Invariants: every read is bounded by the input length; the HTML stripper
 * writes at most as many bytes as it reads (every rewrite shrinks: a tag
 * becomes at most one space, an entity of >= 4 bytes becomes <= 4 bytes
 * ("&lt;" -> 1 byte, "&#x10FFFF;" -> 4)), so a buffer of len + 1 is enough.
 */
#include "news/feed_parse.h"

#include <string.h>

#include "common/civil_time.h"

/* ---- HTML ---------------------------------------------------------------- */

typedef struct feed_entity
{
	const char *name;
	const char *utf8;
} feed_entity;

/* Named entities that matter in news text (others are kept as written). */
static const feed_entity feed_entities[] = {
	{"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"},
	{"nbsp", " "}, {"rsquo", "\xe2\x80\x99"}, {"lsquo", "\xe2\x80\x98"},
	{"rdquo", "\xe2\x80\x9d"}, {"ldquo", "\xe2\x80\x9c"}, {"ndash", "\xe2\x80\x93"},
	{"mdash", "\xe2\x80\x94"}, {"hellip", "\xe2\x80\xa6"}, {"euro", "\xe2\x82\xac"},
	{"pound", "\xc2\xa3"}, {"yen", "\xc2\xa5"}, {"copy", "\xc2\xa9"}, {"reg", "\xc2\xae"},
	{"trade", "\xe2\x84\xa2"}, {"deg", "\xc2\xb0"}, {"middot", "\xc2\xb7"},
	{"bull", "\xe2\x80\xa2"}, {"laquo", "\xc2\xab"}, {"raquo", "\xc2\xbb"},
};

/*
 * feed_is_alpha
 *	  ASCII letter test.
 */
static bool
feed_is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * feed_prefix_ci
 *	  ASCII case-insensitive prefix test of s[0..n) against word.
 */
static bool
feed_prefix_ci(const char *s, size_t n, const char *word)
{
	size_t		i;

	for (i = 0; word[i] != '\0'; i++)
	{
		unsigned char c;

		if (i >= n)
			return false;
		c = (unsigned char) s[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != (unsigned char) word[i])
			return false;
	}
	return true;
}

/*
 * feed_utf8_encode
 *	  Encodes code point cp as UTF-8 into out; returns its length, 0 if
 *	  invalid.
 */
static size_t
feed_utf8_encode(uint32_t cp, char *out)
{
	if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	if (cp < 0x80)
		return out[0] = (char) cp, 1;
	if (cp < 0x800)
		return out[0] = (char) (0xC0 | (cp >> 6)), out[1] = (char) (0x80 | (cp & 0x3F)), 2;
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/*
 * feed_decode_entity
 *	  Decodes the entity at in[0..n) (in[0] == '&') into out; returns the bytes
 *	  consumed (0: not an entity we decode) and sets *outlen.
 */
static size_t
feed_decode_entity(const char *in, size_t n, char *out, size_t *outlen)
{
	size_t		i = 1,
				end;

	for (end = 1; end < n && end < 12 && in[end] != ';'; end++)
		;
	if (end >= n || in[end] != ';' || end < 2)
		return 0;
	if (in[1] == '#')
	{
		uint32_t	cp = 0;
		bool		hex = end > 2 && (in[2] == 'x' || in[2] == 'X');
		size_t		digits = 0;

		for (i = hex ? 3 : 2; i < end; i++, digits++)
		{
			char		c = in[i];
			int			d = (c >= '0' && c <= '9') ? c - '0' :
				hex && c >= 'a' && c <= 'f' ? c - 'a' + 10 :
				hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

			if (d < 0 || cp > 0x10FFFF)
				return 0;
			cp = cp * (hex ? 16 : 10) + (uint32_t) d;
		}
		if (digits == 0 || (*outlen = feed_utf8_encode(cp, out)) == 0)
			return 0;
		if (cp == 0xA0)			/* no-break space: a plain space */
			out[0] = ' ', *outlen = 1;
		return end + 1;
	}
	for (i = 0; i < sizeof(feed_entities) / sizeof(feed_entities[0]); i++)
	{
		size_t		k = strlen(feed_entities[i].name);

		if (k == end - 1 && memcmp(in + 1, feed_entities[i].name, k) == 0)
		{
			*outlen = strlen(feed_entities[i].utf8);
			memcpy(out, feed_entities[i].utf8, *outlen);
			return end + 1;
		}
	}
	return 0;
}

/*
 * feed_skip_raw
 *	  End of the element whose raw-text content starts at in[i] (script,
 *	  style): the offset just after "</name>", or n.
 */
static size_t
feed_skip_raw(const char *in, size_t n, size_t i, const char *name)
{
	for (; i + 1 < n; i++)
		if (in[i] == '<' && in[i + 1] == '/' && feed_prefix_ci(in + i + 2, n - i - 2, name))
		{
			while (i < n && in[i] != '>')
				i++;
			return i < n ? i + 1 : n;
		}
	return n;
}

/*
 * tsk_feed_strip_html
 *	  See feed_parse.h.
 */
size_t
tsk_feed_strip_html(const char *in, size_t len, char *out)
{
	size_t		i = 0,
				o = 0;
	bool		space = true;	/* drops leading spaces */

	while (i < len)
	{
		unsigned char c = (unsigned char) in[i];
		char		buf[4];
		size_t		blen = 0,
					used = 0;

		if (c == '<' && i + 1 < len &&
			(feed_is_alpha((unsigned char) in[i + 1]) || in[i + 1] == '/' || in[i + 1] == '!'))
		{
			const char *raw = feed_prefix_ci(in + i + 1, len - i - 1, "script") ? "script" :
				feed_prefix_ci(in + i + 1, len - i - 1, "style") ? "style" : NULL;
			size_t		j = i + 1;

			if (i + 3 < len && memcmp(in + i, "<!--", 4) == 0)
			{
				for (j = i + 4; j + 2 < len && memcmp(in + j, "-->", 3) != 0; j++)
					;
				j = j + 2 < len ? j + 2 : len;
			}
			else
				while (j < len && in[j] != '>')
					j++;
			if (j < len)		/* a real tag: replaced by one space */
			{
				i = raw != NULL ? feed_skip_raw(in, len, j + 1, raw) : j + 1;
				if (!space)
					out[o++] = ' ', space = true;
				continue;
			}
		}
		if (c == '&' && (used = feed_decode_entity(in + i, len - i, buf, &blen)) > 0)
		{
			if (blen == 1 && buf[0] == ' ')
			{
				if (!space)
					out[o++] = ' ', space = true;
			}
			else
			{
				memcpy(out + o, buf, blen);
				o += blen;
				space = false;
			}
			i += used;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
		{
			if (!space)
				out[o++] = ' ', space = true;
		}
		else
			out[o++] = (char) c, space = false;
		i++;
	}
	if (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return o;
}

/* ---- Dates --------------------------------------------------------------- */

/*
 * feed_digits
 *	  Reads exactly n digits at *p; advances.
 */
static bool
feed_digits(const char **p, int n, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/*
 * feed_number
 *	  Reads 1..max digits at *p; advances.
 */
static bool
feed_number(const char **p, int max, int *out)
{
	int			v = 0,
				n = 0;

	while (n < max && **p >= '0' && **p <= '9')
		v = v * 10 + (*(*p)++ - '0'), n++;
	*out = v;
	return n > 0;
}

/*
 * feed_skip_space
 *	  Skips spaces and tabs.
 */
static void
feed_skip_space(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

/*
 * feed_offset
 *	  Reads a numeric zone offset "+hh:mm", "-hhmm" at *p (at the sign) into
 *	  minutes east of UTC; advances.
 */
static bool
feed_offset(const char **p, int *off)
{
	int			sign = *(*p)++ == '-' ? -1 : 1,
				oh,
				om;

	if (!feed_digits(p, 2, &oh))
		return false;
	if (**p == ':')
		(*p)++;
	if (!feed_digits(p, 2, &om))
		return false;
	*off = sign * (oh * 60 + om);
	return true;
}

/*
 * feed_make_time
 *	  Combines validated fields into microseconds since the epoch.
 */
static bool
feed_make_time(int y, int mo, int d, int h, int mi, int s, int64_t frac_us, int offset_min,
			   int64_t *us)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (y < 1900 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
		h > 23 || mi > 59 || s > 60 || offset_min < -24 * 60 || offset_min > 24 * 60)
		return false;
	if (s == 60)
		s = 59;					/* leap second */
	*us = ((tsk_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) -
		   (int64_t) offset_min * 60) * 1000000 + frac_us;
	return true;
}

/*
 * feed_parse_rfc3339
 *	  RFC 3339 (and the common "YYYY-MM-DD HH:MM:SS" variants).
 */
static bool
feed_parse_rfc3339(const char *p, int64_t *us)
{
	int			y, mo, d, h = 0, mi = 0, s = 0, off = 0;
	int64_t		frac = 0,
				scale = 100000;

	if (!feed_digits(&p, 4, &y) || *p++ != '-' || !feed_digits(&p, 2, &mo) || *p++ != '-' ||
		!feed_digits(&p, 2, &d))
		return false;
	if (*p == 'T' || *p == 't' || *p == ' ')
	{
		p++;
		if (!feed_digits(&p, 2, &h) || *p++ != ':' || !feed_digits(&p, 2, &mi))
			return false;
		if (*p == ':' && (p++, !feed_digits(&p, 2, &s)))
			return false;
		if (*p == '.' || *p == ',')
			for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
				frac += (*p - '0') * scale;
		feed_skip_space(&p);
		if (*p == 'Z' || *p == 'z')
			p++;
		else if ((*p == '+' || *p == '-') && !feed_offset(&p, &off))
			return false;
	}
	feed_skip_space(&p);
	return *p == '\0' && feed_make_time(y, mo, d, h, mi, s, frac, off, us);
}

/*
 * feed_parse_rfc822
 *	  RFC 822 / 1123 / 2822.
 */
static bool
feed_parse_rfc822(const char *p, int64_t *us)
{
	static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
		"jul", "aug", "sep", "oct", "nov", "dec"};
	static const struct
	{
		const char *name;
		int			off;
	}			zones[] = {{"gmt", 0}, {"utc", 0}, {"ut", 0}, {"z", 0}, {"est", -300},
		{"edt", -240}, {"cst", -360}, {"cdt", -300}, {"mst", -420}, {"mdt", -360},
		{"pst", -480}, {"pdt", -420}};
	int			d, mo = 0, y, h, mi, s = 0, off = 0;
	size_t		i;

	feed_skip_space(&p);
	if (feed_is_alpha((unsigned char) *p))	/* day name */
	{
		while (feed_is_alpha((unsigned char) *p))
			p++;
		if (*p == ',')
			p++;
		feed_skip_space(&p);
	}
	if (!feed_number(&p, 2, &d))
		return false;
	feed_skip_space(&p);
	for (i = 0; i < 12 && mo == 0; i++)
		if (feed_prefix_ci(p, strlen(p), months[i]))
			mo = (int) i + 1;
	if (mo == 0)
		return false;
	while (feed_is_alpha((unsigned char) *p))
		p++;
	feed_skip_space(&p);
	if (!feed_number(&p, 4, &y))
		return false;
	if (y < 100)
		y += y < 50 ? 2000 : 1900;
	feed_skip_space(&p);
	if (!feed_number(&p, 2, &h) || *p++ != ':' || !feed_number(&p, 2, &mi))
		return false;
	if (*p == ':' && (p++, !feed_number(&p, 2, &s)))
		return false;
	feed_skip_space(&p);
	if (*p == '+' || *p == '-')
	{
		if (!feed_offset(&p, &off))
			return false;
	}
	else if (feed_is_alpha((unsigned char) *p))
	{
		const char *z = p;

		while (feed_is_alpha((unsigned char) *p))
			p++;
		for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
			if ((size_t) (p - z) == strlen(zones[i].name) &&
				feed_prefix_ci(z, (size_t) (p - z), zones[i].name))
				break;
		if (i == sizeof(zones) / sizeof(zones[0]))
			return false;
		off = zones[i].off;
	}
	feed_skip_space(&p);
	return *p == '\0' && feed_make_time(y, mo, d, h, mi, s, 0, off, us);
}

/*
 * tsk_feed_parse_date
 *	  See feed_parse.h.
 */
bool
tsk_feed_parse_date(const char *s, int64_t *us)
{
	const char *p = s;

	if (s == NULL)
		return false;
	feed_skip_space(&p);
	if (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' &&
		p[2] >= '0' && p[2] <= '9' && p[3] >= '0' && p[3] <= '9' && p[4] == '-')
		return feed_parse_rfc3339(p, us);
	return feed_parse_rfc822(p, us);
}
