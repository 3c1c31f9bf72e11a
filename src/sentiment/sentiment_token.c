/*
 * sentiment_token.c
 *	  The tokeniser of the sentiment scorer (see sentiment.h): strict UTF-8
 *	  decoding, character classes, normalisation of words, numbers and
 *	  punctuation.  Used by the scorer (sentiment.c) and by the lexicon
 *	  loader (sentiment_load.c) to normalise keys the same way.
 *
 * Invariants: plain C, no allocation, no Postgres headers; invalid UTF-8 is
 * a separator, never read past len; calls nothing in the scorer or the
 * lexicon store (both call it: no circle between the files).
 */
#include "sentiment/sentiment_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- 1. Tokeniser ------------------------------------------------------- */

enum
{
	SENT_C_SPACE,
	SENT_C_LETTER,
	SENT_C_DIGIT,
	SENT_C_APOS,
	SENT_C_PERCENT,
	SENT_C_PUNCT,
	SENT_C_SKIP
};

/*
 * sent_utf8_decode
 *	  Decodes one strict UTF-8 sequence at s[0..n), n >= 1; returns its length
 *	  or 0 if invalid (bad lead/continuation byte, overlong, surrogate, cut).
 */
static size_t
sent_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t need, i;
	uint32_t c = s[0], min;

	if (c < 0x80)
		return *cp = c, 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1, c &= 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, c &= 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (n < need + 1)
		return 0;
	for (i = 1; i <= need; i++)
	{
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return *cp = c, need + 1;
}

/*
 * sent_classify
 *	  Class of code point c; *punct receives the boundary character of PUNCT.
 */
static int
sent_classify(uint32_t c, char *punct)
{
	if (c < 0x80)
	{
		if ((c | 32) >= 'a' && (c | 32) <= 'z')
			return SENT_C_LETTER;
		if (c >= '0' && c <= '9')
			return SENT_C_DIGIT;
		if (c == '\'' || c == '%')
			return c == '%' ? SENT_C_PERCENT : SENT_C_APOS;
		if (c == '\n' || (c != 0 && strchr(".,;:!?()[]{}", (int) c) != NULL))
			return *punct = (char) c, SENT_C_PUNCT;
		return c != 0 && strchr(" \t\r\f\v", (int) c) != NULL ? SENT_C_SPACE : SENT_C_SKIP;
	}
	if (c == 0xa0 || (c >= 0x2000 && c <= 0x200b) || c == 0x202f || c == 0x3000)
		return SENT_C_SPACE;
	if (c == 0x2018 || c == 0x2019 || c == 0x02bc)
		return SENT_C_APOS;
	if (c == 0x2026) /* ellipsis */
		return *punct = '.', SENT_C_PUNCT;
	/* Latin-1 symbols, general punctuation, currency and other symbols */
	if (c <= 0xbf || c == 0xd7 || c == 0xf7 || (c >= 0x2010 && c <= 0x2bff))
		return SENT_C_SKIP;
	return SENT_C_LETTER;
}

/*
 * sent_char_at
 *	  Class of the character at text[pos] (pos < len); invalid UTF-8 is one
 *	  SKIP byte.
 */
static int
sent_char_at(const char *text, size_t len, size_t pos, size_t *clen, uint32_t *cp, char *punct)
{
	if ((*clen = sent_utf8_decode((const unsigned char *) text + pos, len - pos, cp)) == 0)
	{
		*clen = 1, *cp = 0xfffd;
		return SENT_C_SKIP;
	}
	return sent_classify(*cp, punct);
}

/*
 * sent_norm_append
 *	  Appends one character to tok->norm, lowercasing ASCII and Latin-1
 *	  capitals; marks the token truncated when it no longer fits.
 */
static void
sent_norm_append(sentiment_token *tok, const char *p, size_t n, uint32_t cp)
{
	if (tok->truncated || tok->norm_len + n > SENTIMENT_MAX_WORD)
	{
		tok->truncated = true;
		return;
	}
	memcpy(tok->norm + tok->norm_len, p, n);
	if (n == 1 && cp >= 'A' && cp <= 'Z')
		tok->norm[tok->norm_len] = (char) (cp + 32);
	else if (n == 2 && cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
		tok->norm[tok->norm_len + 1] = (char) (tok->norm[tok->norm_len + 1] + 32);
	tok->norm_len = (uint8_t) (tok->norm_len + n);
	tok->norm[tok->norm_len] = '\0';
}

/*
 * sent_parse_number
 *	  Value of digits/separators s[0..n): "," followed by exactly three digits
 *	  is a thousands separator, the first other "," or "." the decimal point.
 */
static double
sent_parse_number(const char *s, size_t n)
{
	double v = 0, scale = 0;
	size_t i, d;

	for (i = 0; i < n; i++)
	{
		if (s[i] >= '0' && s[i] <= '9')
		{
			sent_digit(&v, &scale, s[i]);
			continue;
		}
		for (d = i + 1; d < n && s[d] >= '0' && s[d] <= '9'; d++)
			;
		if (scale == 0 && !(s[i] == ',' && d - i == 4))
			scale = 1;
	}
	return v;
}

/*
 * tsk_sentiment_next_token
 *	  See sentiment.h.
 */
bool
tsk_sentiment_next_token(const char *text, size_t len, size_t *pos, sentiment_token *tok)
{
	size_t p = *pos, clen = 0, nlen;
	uint32_t cp = 0, ncp;
	char punct = 0;
	int cls = SENT_C_SPACE, prev = SENT_C_SPACE, ncls;
	bool letters = false;

	/* skip to the start of a token */
	for (;; p += clen)
	{
		if (text == NULL || p >= len)
			return *pos = text == NULL ? *pos : len, false;
		cls = sent_char_at(text, len, p, &clen, &cp, &punct);
		if (cls == SENT_C_LETTER || cls == SENT_C_DIGIT || cls == SENT_C_PERCENT ||
			cls == SENT_C_PUNCT)
			break;
	}
	if (cp == '.' && p + 1 < len && text[p + 1] >= '0' && text[p + 1] <= '9')
		cls = prev = SENT_C_DIGIT; /* ".5": a number */
	memset(tok, 0, sizeof(*tok));
	tok->offset = p;
	if (cls == SENT_C_PERCENT || cls == SENT_C_PUNCT)
	{
		tok->type = cls == SENT_C_PERCENT ? SENTIMENT_TOK_PERCENT : SENTIMENT_TOK_PUNCT;
		tok->punct = punct;
		sent_norm_append(tok, text + p, clen, cp);
		tok->length = clen;
		*pos = p + clen;
		return true;
	}
	while (p < len)
	{
		cls = sent_char_at(text, len, p, &clen, &cp, &punct);
		if (cls == SENT_C_LETTER || cls == SENT_C_DIGIT)
		{
			letters |= cls == SENT_C_LETTER;
			sent_norm_append(tok, text + p, clen, cp);
		}
		else
		{
			/* an apostrophe between letters, "." or "," between digits */
			if (p + clen >= len)
				break;
			ncls = sent_char_at(text, len, p + clen, &nlen, &ncp, &punct);
			if (cls == SENT_C_APOS && prev == SENT_C_LETTER && ncls == SENT_C_LETTER)
				sent_norm_append(tok, "'", 1, '\'');
			else if (cls == SENT_C_PUNCT && (cp == '.' || cp == ',') && !letters &&
					 prev == SENT_C_DIGIT && ncls == SENT_C_DIGIT)
				sent_norm_append(tok, text + p, 1, cp);
			else
				break;
		}
		prev = cls;
		p += clen;
	}
	tok->length = p - tok->offset;
	tok->type = letters ? SENTIMENT_TOK_WORD : SENTIMENT_TOK_NUMBER;
	if (!letters && !tok->truncated)
		tok->number = sent_parse_number(tok->norm, tok->norm_len);
	if (letters && tok->norm_len > 2 && memcmp(tok->norm + tok->norm_len - 2, "'s", 2) == 0)
		tok->norm[tok->norm_len -= 2] = '\0'; /* possessive: drop 's */
	*pos = p;
	return true;
}

/*
 * tsk_sentiment_token_ends_sentence
 *	  See sentiment.h.
 */
bool
tsk_sentiment_token_ends_sentence(const sentiment_token *tok)
{
	return tok->type == SENTIMENT_TOK_PUNCT && tok->punct != 0 &&
		   strchr(".!?;\n", tok->punct) != NULL;
}
