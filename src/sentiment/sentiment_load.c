/*
 * sentiment_load.c
 *	  lexicon storage and file parsers (see sentiment.h).
 *
 * Layout
 *   2. Lexicon block: ONE pointer-free allocation = header, entry array, hash
 *      slots (uint32 entry index + 1, 0 = empty; open addressing, load <= 1/2)
 *      and key bytes.  It is built in two passes over the same "emitter":
 *      pass 1 measures, pass 2 fills, so file parsers simply run twice and
 *      never need growable buffers.  Keys are normalised with the tokeniser,
 *      so lexicon keys and text tokens always compare equal byte for byte.
 *   3. File parsers (VADER, Loughran-McDonald .cat, AFINN) and detection.
 *      Every read is bounded by the buffer length; no NUL terminator needed.
 *   The built-in lexicon and the accessors follow.
 *
 * Invariants: parsing never trusts its input (every malformed buffer yields
 * NULL and a sentiment_error); the only allocation is the final block.
 */
#include "sentiment/sentiment_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENT_BUILTIN_ARENA   (96u * 1024u) /* built-in block: ~45 KB used */

/* ---- 2. Lexicon block --------------------------------------------------- */

/* Measuring (lex == NULL) or filling state shared by all parsers. */
typedef struct sent_builder
{
	SentimentLexicon *lex;
	size_t keys, heads, key_bytes; /* measured: keys, phrase keys, key bytes */
} sent_builder;

/*
 * sent_hash
 *	  FNV-1a hash of s[0..n).
 */
static uint32_t
sent_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ (unsigned char) *s++) * 16777619u;
	return h;
}

/*
 * sent_probe
 *	  Entry for normalised key[0..n), or NULL; *slot gets the probe end.
 */
static sent_entry *
sent_probe(const SentimentLexicon *lex, const char *key, size_t n, uint32_t *slot)
{
	const uint32_t *slots = SENT_SLOTS(lex);
	uint32_t mask = lex->n_slots - 1, i = sent_hash(key, n) & mask;

	for (; slots[i] != 0; i = (i + 1) & mask)
	{
		sent_entry *e = &SENT_ENTRIES(lex)[slots[i] - 1];

		if (e->key_len == n && memcmp(SENT_KEYS(lex) + e->key_off, key, n) == 0)
			return *slot = i, e;
	}
	return *slot = i, NULL;
}

/*
 * tsk_sent_find
 *	  See sentiment_int.h.
 */
const sent_entry *
tsk_sent_find(const SentimentLexicon *lex, const char *key, size_t n)
{
	uint32_t slot;
	return sent_probe(lex, key, n, &slot);
}

/*
 * sent_insert
 *	  Finds or creates the entry for key[0..n); *created tells which.
 */
static sent_entry *
sent_insert(SentimentLexicon *lex, const char *key, size_t n, bool *created)
{
	uint32_t slot;
	sent_entry *e = sent_probe(lex, key, n, &slot);

	if ((*created = e == NULL) == false)
		return e;
	if (lex->n_entries >= lex->cap_entries || lex->key_used + n > lex->key_cap)
		return NULL; /* cannot happen: capacities were measured */
	e = &SENT_ENTRIES(lex)[lex->n_entries];
	memset(e, 0, sizeof(*e));
	e->key_off = lex->key_used;
	e->key_len = (uint8_t) n;
	memcpy(SENT_KEYS(lex) + lex->key_used, key, n);
	lex->key_used += (uint32_t) n;
	SENT_SLOTS(lex)[slot] = ++lex->n_entries;
	return e;
}

/*
 * sent_normalise_key
 *	  Normalises a raw key with the tokeniser into out (words joined by one
 *	  space); returns the word count, 0 if unusable (no word, a non-word token,
 *	  an over-long word, more than SENTIMENT_MAX_PHRASE words).
 */
static size_t
sent_normalise_key(const char *key, size_t len, char *out, size_t *out_len, size_t *head_len)
{
	sentiment_token tok;
	size_t pos = 0, words = 0, n = 0;

	while (tsk_sentiment_next_token(key, len, &pos, &tok))
	{
		if (tok.type != SENTIMENT_TOK_WORD || tok.truncated || tok.norm_len == 0 ||
			words == SENTIMENT_MAX_PHRASE)
			return 0;
		if (words++ > 0)
			out[n++] = ' ';
		else
			*head_len = tok.norm_len;
		memcpy(out + n, tok.norm, tok.norm_len);
		n += tok.norm_len;
	}
	*out_len = n;
	return words;
}

/*
 * sent_emit
 *	  Adds one raw entry (measuring or filling); unusable keys are skipped, the
 *	  first of duplicate keys wins; a phrase also flags its first word.
 */
static void
sent_emit(sent_builder *b, const char *key, size_t len, double value, int role)
{
	char norm[SENT_PHRASE_BUF];
	size_t n = 0, head = 0, words = sent_normalise_key(key, len, norm, &n, &head);
	bool created;
	sent_entry *e;

	if (words == 0)
		return;
	if (b->lex == NULL)
	{
		b->keys++;
		b->heads += words > 1;
		b->key_bytes += n + (words > 1 ? head : 0);
		return;
	}
	if ((e = sent_insert(b->lex, norm, n, &created)) == NULL)
		return;
	if (created || (e->flags & SENT_F_PLACEHOLDER))
	{
		e->value = (float) (value > 1 ? 1 : value < -1 ? -1 : value);
		e->role = (uint8_t) role;
		e->flags &= (uint8_t) ~SENT_F_PLACEHOLDER;
		b->lex->n_keys++;
	}
	if (words > 1 && (e = sent_insert(b->lex, norm, head, &created)) != NULL)
	{
		e->flags |= (uint8_t) (SENT_F_HEAD | (created ? SENT_F_PLACEHOLDER : 0));
		if (words > b->lex->max_phrase)
			b->lex->max_phrase = (uint32_t) words;
	}
}

/*
 * sent_block_create
 *	  Lays out an empty block for the measured builder m, in mem[0..memsize)
 *	  or, if mem is NULL, in a new malloc'd block; NULL if it does not fit.
 */
static SentimentLexicon *
sent_block_create(const sent_builder *m, sentiment_format fmt, void *mem, size_t memsize)
{
	size_t cap = m->keys + m->heads + 1, slots = 16, size;
	SentimentLexicon *lex;

	while (slots < cap * 2)
		slots <<= 1;
	size = sizeof(SentimentLexicon) + cap * sizeof(sent_entry) + slots * sizeof(uint32_t) +
		   m->key_bytes + 1;
	if ((mem != NULL && size > memsize) || (lex = mem != NULL ? mem : malloc(size)) == NULL)
		return NULL;
	memset(lex, 0, size);
	lex->magic = SENT_MAGIC;
	lex->format = (uint32_t) fmt;
	lex->memsize = size;
	lex->cap_entries = (uint32_t) cap;
	lex->n_slots = (uint32_t) slots;
	lex->key_cap = (uint32_t) (m->key_bytes + 1);
	lex->max_phrase = 1;
	return lex;
}

/* ---- 3. File parsers ---------------------------------------------------- */

/* Per-line parser: returns NULL or an error message; *state carries state
 * between lines (LM: current category value, 2 = none yet). */
typedef const char *(*SentLineParser)(const char *line, size_t n, sent_builder *b, int *state);

/*
 * sent_fail
 *	  Fills *err (if not NULL) and returns status.
 */
static sentiment_status
sent_fail(sentiment_error *err, sentiment_status status, size_t line, const char *msg)
{
	if (err != NULL)
	{
		err->status = status;
		err->line = line;
		if (line > 0)
			snprintf(err->message, sizeof(err->message), "line %zu: %s", line, msg);
		else
			snprintf(err->message, sizeof(err->message), "%s", msg);
	}
	return status;
}

/*
 * sent_next_line
 *	  Next line of buf[0..len) from *pos, without "\n" or "\r\n"; false at end.
 */
static bool
sent_next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
{
	const char *nl;

	if (*pos >= len)
		return false;
	*line = buf + *pos;
	nl = memchr(*line, '\n', len - *pos);
	*n = nl != NULL ? (size_t) (nl - *line) : len - *pos;
	*pos += *n + (nl != NULL);
	if (*n > 0 && (*line)[*n - 1] == '\r')
		(*n)--;
	return true;
}

/*
 * sent_parse_lines
 *	  Runs a per-line parser over the non-empty lines of buf[0..len).
 */
static sentiment_status
sent_parse_lines(SentLineParser fn, const char *buf, size_t len, sent_builder *b,
				 sentiment_error *err)
{
	const char *line, *msg;
	size_t n, pos = 0, no = 0;
	int state = 2;

	while (sent_next_line(buf, len, &pos, &line, &n))
		if (++no, n > 0 && (msg = fn(line, n, b, &state)) != NULL)
			return sent_fail(err, SENTIMENT_ERR_SYNTAX, no, msg);
	return SENTIMENT_OK;
}

/*
 * sent_split_tabs
 *	  Splits line[0..n) at tabs into at most max fields; returns the number of
 *	  fields, max + 1 if there are more.
 */
static size_t
sent_split_tabs(const char *line, size_t n, const char **f, size_t *flen, size_t max)
{
	const char *end = line + n, *tab;
	size_t count = 0;

	for (;; line = tab + 1)
	{
		tab = memchr(line, '\t', (size_t) (end - line));
		if (count == max)
			return max + 1;
		f[count] = line;
		flen[count++] = (size_t) ((tab != NULL ? tab : end) - line);
		if (tab == NULL)
			return count;
	}
}

/*
 * sent_parse_decimal
 *	  Strict decimal s[0..n): [+-]digits[.digits] or [+-].digits (at most 32
 *	  digits, no exponent or spaces); with integer_only, no ".".
 */
static bool
sent_parse_decimal(const char *s, size_t n, bool integer_only, double *out)
{
	size_t i = n > 0 && (s[0] == '-' || s[0] == '+'), digits = 0;
	double v = 0, scale = 0;

	for (; i < n; i++)
	{
		if (s[i] >= '0' && s[i] <= '9' && digits++ < 32)
			sent_digit(&v, &scale, s[i]);
		else if (s[i] == '.' && scale == 0 && !integer_only)
			scale = 1;
		else
			return false;
	}
	*out = n > 0 && s[0] == '-' ? -v : v;
	return digits > 0;
}

/*
 * sent_line_vader
 *	  VADER line: token TAB mean TAB std TAB [ratings]; valence mean / 4.
 */
static const char *
sent_line_vader(const char *line, size_t n, sent_builder *b, int *state)
{
	const char *f[4];
	size_t fl[4];
	double mean, sd;

	(void) state;
	if (sent_split_tabs(line, n, f, fl, 4) != 4 || fl[0] == 0)
		return "expected token TAB mean TAB std TAB [ratings]";
	if (!sent_parse_decimal(f[1], fl[1], false, &mean) || mean < -4 || mean > 4)
		return "mean is not a number in [-4, 4]";
	if (!sent_parse_decimal(f[2], fl[2], false, &sd) || sd < 0)
		return "std is not a number >= 0";
	if (fl[3] < 2 || f[3][0] != '[' || f[3][fl[3] - 1] != ']')
		return "ratings must be [...]";
	sent_emit(b, f[0], fl[0], mean / 4.0, SENTIMENT_ROLE_NONE);
	return NULL;
}

/*
 * sent_line_afinn
 *	  AFINN line: term TAB integer in -5..5; valence score / 5.
 */
static const char *
sent_line_afinn(const char *line, size_t n, sent_builder *b, int *state)
{
	const char *f[2];
	size_t fl[2];
	double v;

	(void) state;
	if (sent_split_tabs(line, n, f, fl, 2) != 2 || fl[0] == 0)
		return "expected term TAB score";
	if (!sent_parse_decimal(f[1], fl[1], true, &v) || v < -5 || v > 5)
		return "score is not an integer in [-5, 5]";
	sent_emit(b, f[0], fl[0], v / 5.0, SENTIMENT_ROLE_NONE);
	return NULL;
}

/*
 * sent_is_category
 *	  True if s[0..n) is a .cat category header: letters (at least one),
 *	  digits, spaces, '_' and '-'.
 */
static bool
sent_is_category(const char *s, size_t n)
{
	size_t i, letters = 0;

	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if ((c | 32) >= 'a' && (c | 32) <= 'z')
			letters++;
		else if (!(c >= '0' && c <= '9') && c != ' ' && c != '_' && c != '-')
			return false;
	}
	return letters > 0;
}

/*
 * sent_ieq
 *	  Case-insensitive (ASCII) equality of s[0..n) and NUL-terminated word.
 */
static bool
sent_ieq(const char *s, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (word[i] == '\0' || ((unsigned char) s[i] | 32) != ((unsigned char) word[i] | 32))
			return false;
	return word[n] == '\0';
}

/*
 * sent_line_lm
 *	  Loughran-McDonald .cat line: a category header, or "TAB WORD (count)"
 *	  (the count is optional; words are letters, ' and -).  Words under
 *	  POSITIVE give +1, under NEGATIVE -1; other categories are checked but
 *	  ignored.
 */
static const char *
sent_line_lm(const char *line, size_t n, sent_builder *b, int *state)
{
	size_t i, j;

	while (n > 0 && line[n - 1] == ' ')
		n--;
	if (n == 0)
		return NULL;
	if (line[0] != '\t')
	{
		if (!sent_is_category(line, n))
			return "bad category header";
		*state = sent_ieq(line, n, "POSITIVE") ? 1 : sent_ieq(line, n, "NEGATIVE") ? -1 : 0;
		return NULL;
	}
	if (*state == 2)
		return "word before any category header";
	for (line++, n--, i = 0; i < n && (((line[i] | 32) >= 'a' && (line[i] | 32) <= 'z') ||
									   line[i] == '\'' || line[i] == '-');
		 i++)
		;
	if (i == 0 ||
		(i < n && (n - i < 4 || line[i] != ' ' || line[i + 1] != '(' || line[n - 1] != ')')))
		return "expected TAB WORD (count)";
	for (j = i + 2; i < n && j < n - 1 && line[j] >= '0' && line[j] <= '9'; j++)
		;
	if (i < n && j != n - 1)
		return "bad (count)";
	if (*state != 0)
		sent_emit(b, line, i, *state, SENTIMENT_ROLE_NONE);
	return NULL;
}

/*
 * sent_detect
 *	  Guesses the format from the first non-empty line (AUTO if unknown).
 */
static sentiment_format
sent_detect(const char *buf, size_t len)
{
	const char *line, *f[4];
	size_t n, fl[4], pos = 0, nf;
	double v;

	while (sent_next_line(buf, len, &pos, &line, &n))
	{
		if (n == 0)
			continue;
		if (memchr(line, '\t', n) == NULL)
			return sent_is_category(line, n) ? SENTIMENT_FORMAT_LM : SENTIMENT_FORMAT_AUTO;
		nf = sent_split_tabs(line, n, f, fl, 4);
		if (nf == 4 && fl[3] > 0 && f[3][0] == '[')
			return SENTIMENT_FORMAT_VADER;
		return nf == 2 && sent_parse_decimal(f[1], fl[1], true, &v) ? SENTIMENT_FORMAT_AFINN
																	: SENTIMENT_FORMAT_AUTO;
	}
	return SENTIMENT_FORMAT_AUTO;
}

/*
 * tsk_sentiment_lexicon_load
 *	  See sentiment.h.
 */
SentimentLexicon *
tsk_sentiment_lexicon_load(const void *data, size_t len, sentiment_format format, sentiment_error *err)
{
	static const SentLineParser parsers[] = {[SENTIMENT_FORMAT_VADER] = sent_line_vader,
											 [SENTIMENT_FORMAT_LM] = sent_line_lm,
											 [SENTIMENT_FORMAT_AFINN] = sent_line_afinn};
	const char *buf = data;
	sent_builder b = {NULL, 0, 0, 0};

	sent_fail(err, SENTIMENT_OK, 0, "ok");
	if ((buf == NULL && len > 0) || format < SENTIMENT_FORMAT_AUTO ||
		format > SENTIMENT_FORMAT_AFINN)
		return sent_fail(err, SENTIMENT_ERR_ARGUMENT, 0, "invalid argument"), NULL;
	if (len > SENTIMENT_MAX_LEXICON_BYTES)
		return sent_fail(err, SENTIMENT_ERR_TOO_LARGE, 0, "lexicon file too large"), NULL;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		buf += 3, len -= 3; /* UTF-8 byte order mark */
	if (len == 0)
		return sent_fail(err, SENTIMENT_ERR_EMPTY, 0, "empty lexicon"), NULL;
	if (memchr(buf, '\0', len) != NULL)
		return sent_fail(err, SENTIMENT_ERR_SYNTAX, 0, "NUL byte in lexicon"), NULL;
	if (format == SENTIMENT_FORMAT_AUTO &&
		(format = sent_detect(buf, len)) == SENTIMENT_FORMAT_AUTO)
		return sent_fail(err, SENTIMENT_ERR_DETECT, 0, "unrecognised lexicon format"), NULL;
	if (sent_parse_lines(parsers[format], buf, len, &b, err) != SENTIMENT_OK)
		return NULL;
	if (b.keys == 0)
		return sent_fail(err, SENTIMENT_ERR_EMPTY, 0, "no usable lexicon entry"), NULL;
	if ((b.lex = sent_block_create(&b, format, NULL, 0)) == NULL)
		return sent_fail(err, SENTIMENT_ERR_NOMEM, 0, "out of memory"), NULL;
	sent_parse_lines(parsers[format], buf, len, &b, NULL); /* same input: cannot fail */
	return b.lex;
}

/*
 * tsk_sentiment_builtin_lexicon
 *	  See sentiment.h.
 */
const SentimentLexicon *
tsk_sentiment_builtin_lexicon(void)
{
	static uint64_t arena[SENT_BUILTIN_ARENA / sizeof(uint64_t)];
	static SentimentLexicon *lex;
	static bool failed;
	sent_builder b = {NULL, 0, 0, 0};
	size_t i, pass;

	for (pass = 0; lex == NULL && !failed && pass < 2; pass++)
	{
		for (i = 0; i < tsk_sentiment_builtin_count; i++)
		{
			const sentiment_builtin_entry *e = &tsk_sentiment_builtin_entries[i];

			sent_emit(&b, e->key, strlen(e->key), e->value, e->role);
		}
		if (pass == 1)
			lex = b.lex;
		else if ((b.lex = sent_block_create(&b, SENTIMENT_FORMAT_BUILTIN, arena, sizeof(arena))) ==
				 NULL)
			failed = true; /* arena too small: unit tests catch it */
	}
	return lex;
}

/*
 * tsk_sentiment_lexicon_free
 *	  See sentiment.h.
 */
void
tsk_sentiment_lexicon_free(SentimentLexicon *lex)
{
	if (lex != NULL && lex != tsk_sentiment_builtin_lexicon())
		free(lex);
}

/*
 * sent_resolve
 *	  Resolves NULL to the built-in lexicon.
 */
static const SentimentLexicon *
sent_resolve(const SentimentLexicon *lex)
{
	return lex != NULL ? lex : tsk_sentiment_builtin_lexicon();
}

/*
 * tsk_sentiment_lexicon_memsize
 *	  See sentiment.h.
 */
size_t
tsk_sentiment_lexicon_memsize(const SentimentLexicon *lex)
{
	return (lex = sent_resolve(lex)) != NULL ? (size_t) lex->memsize : 0;
}

/*
 * tsk_sentiment_lexicon_entries
 *	  See sentiment.h.
 */
size_t
tsk_sentiment_lexicon_entries(const SentimentLexicon *lex)
{
	return (lex = sent_resolve(lex)) != NULL ? lex->n_keys : 0;
}

/*
 * tsk_sentiment_lexicon_format
 *	  See sentiment.h.
 */
sentiment_format
tsk_sentiment_lexicon_format(const SentimentLexicon *lex)
{
	return (lex = sent_resolve(lex)) != NULL ? (sentiment_format) lex->format
											 : SENTIMENT_FORMAT_BUILTIN;
}

/*
 * tsk_sentiment_lexicon_lookup
 *	  See sentiment.h.
 */
bool
tsk_sentiment_lexicon_lookup(const SentimentLexicon *lex, const char *key, size_t len, double *valence)
{
	char norm[SENT_PHRASE_BUF];
	size_t n = 0, head = 0;
	const sent_entry *e;

	if ((lex = sent_resolve(lex)) == NULL || key == NULL ||
		sent_normalise_key(key, len, norm, &n, &head) == 0 ||
		(e = tsk_sent_find(lex, norm, n)) == NULL || (e->flags & SENT_F_PLACEHOLDER))
		return false;
	if (valence != NULL)
		*valence = e->value;
	return true;
}

static const char *const sent_format_names[] = {"auto", "vader", "lm", "afinn", "builtin"};

/*
 * tsk_sentiment_format_name
 *	  See sentiment.h.
 */
const char *
tsk_sentiment_format_name(sentiment_format format)
{
	return format >= SENTIMENT_FORMAT_AUTO && format <= SENTIMENT_FORMAT_BUILTIN
			   ? sent_format_names[format]
			   : NULL;
}

/*
 * tsk_sentiment_format_from_name
 *	  See sentiment.h.
 */
bool
tsk_sentiment_format_from_name(const char *name, sentiment_format *out)
{
	size_t i, n = name != NULL ? strlen(name) : 0;

	for (i = 0; name != NULL && i <= SENTIMENT_FORMAT_BUILTIN; i++)
		if (sent_ieq(name, n, sent_format_names[i]))
			return *out = (sentiment_format) i, true;
	if (name != NULL &&
		(sent_ieq(name, n, "loughran-mcdonald") || sent_ieq(name, n, "loughran_mcdonald")))
		return *out = SENTIMENT_FORMAT_LM, true;
	return false;
}
