/*
 * sentiment.c
 *	  The scorer (see sentiment.h); the tokeniser is in sentiment_token.c,
 *	  the lexicon store and the file parsers in sentiment_load.c.
 *
 * Layout
 *   1. Tokeniser: see sentiment_token.c.
 *   2-3. Lexicon block and file parsers: see sentiment_load.c.
 *   4. Scorer: reads one sentence at a time (at most SENT_CHUNK tokens) into
 *      a stack array, annotates the tokens, applies the financial rules and
 *      the grammar, and sums the contributions.  No allocation.
 *
 * The financial composition rules R1/R2 are documented in sentiment.h.
 */
#include "sentiment/sentiment_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENT_CHUNK           256         /* tokens per scored sentence piece */
#define SENT_NEG_WINDOW      3           /* negator look-back, tokens */
#define SENT_BOOST_WINDOW    3           /* booster look-back, tokens */
#define SENT_BACK_WINDOW     15          /* R1 look-back for an object */
#define SENT_FWD_WINDOW      6           /* R1 look-ahead for an object */
#define SENT_NUM_WINDOW      20          /* R2 look-ahead */
#define SENT_DIR_ALONE       0.5         /* weight of an unbound direction word */
#define SENT_NUM_WEIGHT      0.5         /* magnitude of an R2 comparison */
#define SENT_BEFORE_CONTRAST 0.5         /* weight before "but" */
#define SENT_AFTER_CONTRAST  1.5         /* weight after "but" */

/* ---- 4. Scorer ---------------------------------------------------------- */

/* One token of the sentence being scored, with its annotation. */
typedef struct sent_item
{
	sentiment_token tok;
	float value;     /* own valence (booster: b) */
	uint8_t role;    /* sentiment_role */
	uint8_t span;    /* tokens matched from here; 0 = inside a phrase */
	bool bound;      /* object consumed by R1/R2 */
	int8_t polarity; /* R1/R2: sign of the composed contribution */
	int object;      /* R1: bound object, -1 = none */
} sent_item;

typedef struct sent_scorer
{
	const SentimentLexicon *lex;     /* source of valences */
	const SentimentLexicon *grammar; /* built-in: source of roles */
	bool domain;                     /* apply R1/R2 (lex is built-in) */
	size_t n;                        /* tokens in it[] */
	long contrast;                   /* index of the effective contrast word */
	sentiment_detail d;
	sent_item it[SENT_CHUNK];
} sent_scorer;

/*
 * sent_is_object
 *	  True for an object word (R1/R2).
 */
static bool
sent_is_object(const sent_item *t)
{
	return t->span > 0 && (t->role == SENTIMENT_ROLE_GOOD || t->role == SENTIMENT_ROLE_BAD);
}

/*
 * sent_is_direction
 *	  True for a direction word (R1).
 */
static bool
sent_is_direction(const sent_item *t)
{
	return t->span > 0 && (t->role == SENTIMENT_ROLE_UP || t->role == SENTIMENT_ROLE_DOWN);
}

/*
 * sent_object_sign
 *	  +1 for a good object, -1 for a bad one.
 */
static int
sent_object_sign(const sent_item *t)
{
	return t->role == SENTIMENT_ROLE_BAD ? -1 : 1;
}

/*
 * sent_match
 *	  Longest match at it[i] in lex (0 = none, else its length in tokens).
 */
static size_t
sent_match(const SentimentLexicon *lex, const sent_item *it, size_t i, size_t n,
		   const sent_entry **out)
{
	char buf[SENT_PHRASE_BUF];
	size_t ends[SENTIMENT_MAX_PHRASE], k, len = 0;
	const sent_entry *e, *p;

	if (it[i].tok.type != SENTIMENT_TOK_WORD || it[i].tok.truncated ||
		(e = tsk_sent_find(lex, it[i].tok.norm, it[i].tok.norm_len)) == NULL)
		return 0;
	for (k = 0; (e->flags & SENT_F_HEAD) && k < lex->max_phrase && k < SENTIMENT_MAX_PHRASE &&
				i + k < n && it[i + k].tok.type == SENTIMENT_TOK_WORD && !it[i + k].tok.truncated;
		 k++)
	{
		if (k > 0)
			buf[len++] = ' ';
		memcpy(buf + len, it[i + k].tok.norm, it[i + k].tok.norm_len);
		ends[k] = len += it[i + k].tok.norm_len;
	}
	while (k-- > 1)
		if ((p = tsk_sent_find(lex, buf, ends[k])) != NULL && !(p->flags & SENT_F_PLACEHOLDER))
			return *out = p, k + 1;
	if (e->flags & SENT_F_PLACEHOLDER)
		return 0;
	return *out = e, 1;
}

/*
 * sent_annotate
 *	  Annotates it[i] with role, valence and span; returns the span.  Roles
 *	  come from the built-in table; with a loaded lexicon only the generic
 *	  grammar (negators, boosters, contrast) and built-in blocker phrases
 *	  ("not only") are kept, and they win over an equally long or shorter
 *	  lexicon match.
 */
static size_t
sent_annotate(sent_scorer *sc, size_t i)
{
	sent_item *t = &sc->it[i];
	const sent_entry *g = NULL, *e = NULL;
	size_t gk, ek;
	bool grammar;

	t->role = SENTIMENT_ROLE_NONE, t->value = 0, t->span = 1;
	if (t->tok.type != SENTIMENT_TOK_WORD)
		return 1;
	gk = sent_match(sc->grammar, sc->it, i, sc->n, &g);
	if (gk == 0 && t->tok.norm_len > 3 && memcmp(t->tok.norm + t->tok.norm_len - 3, "n't", 3) == 0)
		return t->role = SENTIMENT_ROLE_NEGATOR, 1; /* isn't, wouldn't ... */
	if (sc->domain)
	{
		if (gk > 0)
			t->role = g->role, t->value = g->value, t->span = (uint8_t) gk;
		return t->span;
	}
	grammar = gk > 0 && (g->role == SENTIMENT_ROLE_NEGATOR || g->role == SENTIMENT_ROLE_BOOSTER ||
						 g->role == SENTIMENT_ROLE_CONTRAST ||
						 (gk > 1 && g->role == SENTIMENT_ROLE_NONE && g->value == 0));
	ek = sent_match(sc->lex, sc->it, i, sc->n, &e);
	if (grammar && gk >= ek)
	{
		t->role = g->role, t->span = (uint8_t) gk;
		t->value = g->role == SENTIMENT_ROLE_BOOSTER ? g->value : 0;
	}
	else if (ek > 0)
		t->value = e->value, t->span = (uint8_t) ek;
	return t->span;
}

/*
 * sent_forward_object
 *	  Index of the first object at or after it[from] (-1 if none): gives up at
 *	  punctuation, a direction word, after window other tokens and, with
 *	  plain_only, at anything but a plain word.  A run of objects resolves to
 *	  its last one.
 */
static int
sent_forward_object(const sent_scorer *sc, size_t from, size_t window, bool plain_only)
{
	const sent_item *it = sc->it;
	size_t j, dist = 0;

	for (j = from; j < sc->n; j += (it[j].span > 0 ? it[j].span : 1))
	{
		if (it[j].tok.type == SENTIMENT_TOK_PUNCT || sent_is_direction(&it[j]))
			return -1;
		if (sent_is_object(&it[j]))
		{
			while (j + it[j].span < sc->n && sent_is_object(&it[j + it[j].span]))
				j += it[j].span;
			return (int) j;
		}
		if ((plain_only &&
			 (it[j].role != SENTIMENT_ROLE_NONE || it[j].tok.type != SENTIMENT_TOK_WORD)) ||
			++dist > window)
			return -1;
	}
	return -1;
}

/*
 * sent_backward_object
 *	  Nearest object before direction word it[i] (R1 look-back), -1 if none.
 */
static int
sent_backward_object(const sent_scorer *sc, size_t i)
{
	const sent_item *it = sc->it;
	size_t j = i, dist = 0;

	while (j-- > 0)
	{
		if (it[j].tok.type == SENTIMENT_TOK_PUNCT)
		{
			if (strchr(",()", it[j].tok.punct) == NULL)
				return -1;
			continue;
		}
		if (++dist > SENT_BACK_WINDOW ||
			(it[j].span > 0 &&
			 (it[j].role == SENTIMENT_ROLE_CONTRAST || it[j].role == SENTIMENT_ROLE_CLAUSE)))
			return -1;
		if (sent_is_object(&it[j]))
			return (int) j;
		if (sent_is_direction(&it[j]) && it[j].object >= 0)
			return it[j].object;
	}
	return -1;
}

/*
 * sent_word_is
 *	  True if t is the plain word w.
 */
static bool
sent_word_is(const sent_item *t, const char *w)
{
	return t->tok.type == SENTIMENT_TOK_WORD && strcmp(t->tok.norm, w) == 0;
}

/*
 * sent_bind
 *	  R1 (see sentiment.h): binds direction word it[i] and sets its polarity.
 */
static void
sent_bind(sent_scorer *sc, size_t i)
{
	sent_item *it = sc->it;
	size_t after = i + it[i].span;
	int obj = -1, origin, dir = it[i].role == SENTIMENT_ROLE_UP ? 1 : -1;

	if (after < sc->n && (sent_word_is(&it[after], "to") || sent_word_is(&it[after], "into")) &&
		(obj = sent_forward_object(sc, after + 1, 3, true)) >= 0)
		it[i].polarity = (int8_t) sent_object_sign(&it[obj]); /* destination */
	else if ((obj = sent_forward_object(sc, after, 2, true)) >= 0 ||
			 (obj = sent_backward_object(sc, i)) >= 0 ||
			 (obj = sent_forward_object(sc, after, SENT_FWD_WINDOW, false)) >= 0)
	{
		it[i].polarity = (int8_t) (dir * sent_object_sign(&it[obj]));
		if (after < sc->n && it[after].role == SENTIMENT_ROLE_COMPARE &&
			(origin = sent_forward_object(sc, after + 1, 3, true)) >= 0 &&
			it[origin].role != it[obj].role)
		{
			it[i].polarity = (int8_t) sent_object_sign(&it[obj]); /* origin: a swing */
			it[origin].bound = true;
		}
	}
	if ((it[i].object = obj) >= 0)
		it[obj].bound = true;
}

/*
 * sent_unit_scale
 *	  Scale of the number it[j] from the unit after it (0 = no unit); *pct is
 *	  set for a percentage.
 */
static double
sent_unit_scale(const sent_scorer *sc, size_t j, bool *pct)
{
	static const struct
	{
		const char *w;
		double scale;
	} units[] = {{"thousand", 1e-3}, {"k", 1e-3},     {"mn", 1},        {"m", 1},   {"million", 1},
				 {"mln", 1},         {"bn", 1e3},     {"billion", 1e3}, {"b", 1e3}, {"tn", 1e6},
				 {"trillion", 1e6},  {"percent", -1}, {"pct", -1},      {"per", -1}};
	const sentiment_token *t = j + 1 < sc->n ? &sc->it[j + 1].tok : NULL;
	size_t u;

	*pct = t != NULL && t->type == SENTIMENT_TOK_PERCENT;
	for (u = 0; t != NULL && !*pct && u < sizeof(units) / sizeof(units[0]); u++)
		if (t->type == SENTIMENT_TOK_WORD && strcmp(t->norm, units[u].w) == 0)
			return units[u].scale < 0 ? (*pct = true, 1) : units[u].scale;
	return *pct ? 1 : 0;
}

/*
 * sent_compare
 *	  R2: sets the polarity of the unbound object it[i] from a comparison after
 *	  it (see sentiment.h) and binds the compared object.
 */
static void
sent_compare(sent_scorer *sc, size_t i)
{
	sent_item *it = sc->it;
	size_t j, dist = 0;
	double a = 0, v, scale;
	bool pct, apct = false, have_a = false, after = false;
	int dir = 0, other = -1;

	for (j = i + it[i].span; j < sc->n && dist++ < SENT_NUM_WINDOW && dir == 0;
		 j += it[j].span > 0 ? it[j].span : 1)
	{
		if (sent_is_direction(&it[j]) || (sent_is_object(&it[j]) && !after))
			return;
		if (sent_is_object(&it[j]))
		{
			other = (int) j;
			dir = it[j].role != it[i].role; /* swing: +1, else go on */
			continue;
		}
		after |= it[j].span > 0 && it[j].role == SENTIMENT_ROLE_COMPARE;
		if (it[j].tok.type != SENTIMENT_TOK_NUMBER)
			continue;
		scale = sent_unit_scale(sc, j, &pct);
		v = it[j].tok.number * (scale > 0 ? scale : 1);
		if (scale == 0 && v >= 1950 && v <= 2100 && v == floor(v) &&
			strpbrk(it[j].tok.norm, ".,") == NULL)
			continue; /* a year */
		if (!after && !have_a)
			a = v, apct = pct, have_a = true;
		else if (after && (!have_a || pct != apct))
			return;
		else if (after)
			dir = a > v ? 1 : a < v ? -1 : 0;
	}
	if (dir != 0)
	{
		it[i].polarity = (int8_t) (dir * sent_object_sign(&it[i]));
		if (other >= 0)
			it[other].bound = true;
	}
}

/*
 * sent_contribution
 *	  Contribution of it[i] before modifiers: R1, R2 or its own valence.
 */
static double
sent_contribution(const sent_scorer *sc, size_t i)
{
	const sent_item *t = &sc->it[i];

	if (t->span == 0)
		return 0;
	switch (t->role)
	{
		case SENTIMENT_ROLE_NONE:
			return t->value;
		case SENTIMENT_ROLE_UP:
		case SENTIMENT_ROLE_DOWN:
			return t->polarity == 0 ? t->value * SENT_DIR_ALONE : fabs(t->value) * t->polarity;
		case SENTIMENT_ROLE_GOOD:
		case SENTIMENT_ROLE_BAD:
			return t->bound ? 0 : t->polarity != 0 ? t->polarity * SENT_NUM_WEIGHT : t->value;
		default:
			return 0;
	}
}

/*
 * sent_add
 *	  Applies intensifiers, negation and contrast weight to contribution c of
 *	  it[i] and adds it to the totals.
 */
static void
sent_add(sent_scorer *sc, size_t i, double c)
{
	static const double decay[SENT_BOOST_WINDOW] = {1.0, 0.95, 0.9};
	const sent_item *it = sc->it;
	size_t j, dist = 0;
	double mult = 1;
	int negations = 0;

	for (j = i; j-- > 0 && it[j].tok.type != SENTIMENT_TOK_PUNCT;)
	{
		if (++dist > SENT_NEG_WINDOW && dist > SENT_BOOST_WINDOW)
			break;
		if (it[j].span > 0 && it[j].role == SENTIMENT_ROLE_NEGATOR && dist <= SENT_NEG_WINDOW)
			negations++;
		else if (it[j].span > 0 && it[j].role == SENTIMENT_ROLE_BOOSTER &&
				 dist <= SENT_BOOST_WINDOW)
			mult *= 1 + it[j].value * decay[dist - 1];
	}
	j = i + it[i].span;
	if (j < sc->n && it[j].span > 0 && it[j].role == SENTIMENT_ROLE_BOOSTER)
		mult *= 1 + it[j].value; /* "rose sharply" */
	c *= mult * (negations & 1 ? SENTIMENT_NEGATION : 1);
	if (sc->contrast >= 0 && (long) i != sc->contrast)
		c *= (long) i < sc->contrast ? SENT_BEFORE_CONTRAST : SENT_AFTER_CONTRAST;
	sc->d.raw += c;
	*(c > 0 ? &sc->d.positive : &sc->d.negative) += c;
	sc->d.hits++;
}

/*
 * sent_score_sentence
 *	  Scores the sentence (piece) sc->it[0..n) into sc->d.
 */
static void
sent_score_sentence(sent_scorer *sc)
{
	size_t i, j, k;
	long last_word = -1;
	double c;

	sc->contrast = -1;
	for (i = 0; i < sc->n; i += k)
	{
		k = sent_annotate(sc, i);
		for (j = i; j < i + k; j++)
		{
			sc->it[j].bound = false, sc->it[j].polarity = 0, sc->it[j].object = -1;
			if (j > i)
				sc->it[j].span = 0, sc->it[j].role = SENTIMENT_ROLE_NONE, sc->it[j].value = 0;
		}
		if (sc->it[i].role == SENTIMENT_ROLE_CONTRAST)
			sc->contrast = (long) i;
		if (sc->it[i].tok.type == SENTIMENT_TOK_WORD)
			last_word = (long) i;
	}
	if (sc->contrast >= last_word)
		sc->contrast = -1; /* "..., however." */
	for (i = 0; sc->domain && i < sc->n; i++)
		if (sent_is_direction(&sc->it[i]))
			sent_bind(sc, i);
	for (i = 0; sc->domain && i < sc->n; i++)
		if (sent_is_object(&sc->it[i]) && !sc->it[i].bound)
			sent_compare(sc, i);
	for (i = 0; i < sc->n; i++)
		if ((c = sent_contribution(sc, i)) != 0)
			sent_add(sc, i, c);
}

/*
 * tsk_sentiment_score_detail
 *	  See sentiment.h.
 */
double
tsk_sentiment_score_detail(const SentimentLexicon *lex, const char *text, size_t len,
					   sentiment_detail *detail)
{
	sent_scorer sc;
	size_t pos = 0;
	double raw, score = 0;

	memset(&sc.d, 0, sizeof(sc.d));
	sc.grammar = tsk_sentiment_builtin_lexicon();
	sc.lex = lex != NULL ? lex : sc.grammar;
	sc.domain = sc.lex == sc.grammar;
	while (text != NULL && sc.grammar != NULL && sc.lex->magic == SENT_MAGIC)
	{
		for (sc.n = 0;
			 sc.n < SENT_CHUNK && tsk_sentiment_next_token(text, len, &pos, &sc.it[sc.n].tok);)
			if (tsk_sentiment_token_ends_sentence(&sc.it[sc.n++].tok))
				break;
		if (sc.n == 0)
			break;
		sc.d.tokens += sc.n;
		sent_score_sentence(&sc);
	}
	raw = sc.d.raw;
	if (raw != 0)
		score = fabs(raw) > 1e6 ? (raw > 0 ? 1 : -1) : raw / sqrt(raw * raw + SENTIMENT_ALPHA);
	if (detail != NULL)
		*detail = sc.d;
	return score;
}

/*
 * tsk_sentiment_score
 *	  See sentiment.h.
 */
double
tsk_sentiment_score(const SentimentLexicon *lex, const char *text, size_t len)
{
	return tsk_sentiment_score_detail(lex, text, len, NULL);
}

/*
 * tsk_sentiment_label
 *	  See sentiment.h.
 */
int
tsk_sentiment_label(double score)
{
	return score >= SENTIMENT_LABEL_THRESHOLD ? 1 : score <= -SENTIMENT_LABEL_THRESHOLD ? -1 : 0;
}
