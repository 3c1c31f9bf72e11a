/*
 * test_sentiment.c
 *	  unit tests for src/sentiment/sentiment.c and the built-in lexicon.
 *
 * Usage: test_sentiment [SHARED_DIR]
 *   With SHARED_DIR (the project's shared directory), the real VADER,
 *   Loughran-McDonald and AFINN files under data/sentiment/lexicons/ are
 *   loaded as a sanity check; without it those checks are skipped.
 *
 * Covers: tokeniser (case, punctuation, apostrophes, numbers, percent,
 * UTF-8 and invalid bytes), negation window, intensifiers, "but" clauses,
 * the financial rules, score bounds, degenerate input (empty, whitespace,
 * invalid UTF-8, very long), the three lexicon formats (valid, malformed,
 * truncated and randomly mutated buffers), block relocation, and the
 * built-in table's invariants.  The last line is exactly "N passed, N
 * failed"; the exit status is non-zero if any check failed.
 */
#include "sentiment/sentiment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tests_passed, tests_failed;

/* Records one check; prints the failing expression and line. */
#define CHECK(cond)                                                                                \
	do                                                                                             \
	{                                                                                              \
		if (cond)                                                                                  \
			tests_passed++;                                                                        \
		else                                                                                       \
		{                                                                                          \
			tests_failed++;                                                                        \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                 \
		}                                                                                          \
	} while (0)

/*
 * score
 *	  Score of a NUL-terminated text with the built-in lexicon.
 */
static double
score(const char *text)
{
	return tsk_sentiment_score(NULL, text, strlen(text));
}

/*
 * label
 *	  Label (-1, 0, +1) of a NUL-terminated text with the built-in lexicon.
 */
static int
label(const char *text)
{
	return tsk_sentiment_label(score(text));
}

/*
 * score_with
 *	  Score of a NUL-terminated text with lexicon lex.
 */
static double
score_with(const SentimentLexicon *lex, const char *text)
{
	return tsk_sentiment_score(lex, text, strlen(text));
}

/*
 * load
 *	  Loads a NUL-terminated inline lexicon buffer.
 */
static SentimentLexicon *
load(const char *buf, sentiment_format fmt, sentiment_error *err)
{
	return tsk_sentiment_lexicon_load(buf, strlen(buf), fmt, err);
}

/*
 * tokenize
 *	  Tokenises text into toks (at most max); returns the token count.
 */
static size_t
tokenize(const char *text, size_t len, sentiment_token *toks, size_t max)
{
	size_t pos = 0, n = 0;

	while (n < max && tsk_sentiment_next_token(text, len, &pos, &toks[n]))
		n++;
	return n;
}

/*
 * tok_is
 *	  True if token t has the given type and normalised text.
 */
static bool
tok_is(const sentiment_token *t, sentiment_token_type type, const char *norm)
{
	return t->type == type && strcmp(t->norm, norm) == 0;
}

/*
 * test_tokenizer_basic
 *	  Tokeniser: words, case, numbers, percent, punctuation, apostrophes.
 */
static void
test_tokenizer_basic(void)
{
	sentiment_token t[32];
	const char *s = "Profit ROSE 5.2% to EUR 100,000.";
	size_t n = tokenize(s, strlen(s), t, 32);

	CHECK(n == 8);
	CHECK(tok_is(&t[0], SENTIMENT_TOK_WORD, "profit") && t[0].offset == 0 && t[0].length == 6);
	CHECK(tok_is(&t[1], SENTIMENT_TOK_WORD, "rose"));
	CHECK(t[2].type == SENTIMENT_TOK_NUMBER && fabs(t[2].number - 5.2) < 1e-9);
	CHECK(t[3].type == SENTIMENT_TOK_PERCENT);
	CHECK(t[6].type == SENTIMENT_TOK_NUMBER && t[6].number == 100000);
	CHECK(t[7].type == SENTIMENT_TOK_PUNCT && t[7].punct == '.' &&
		  tsk_sentiment_token_ends_sentence(&t[7]));

	s = "don't company's does n't 'quoted' investors' rock\xe2\x80\x99n\xe2\x80\x99roll";
	n = tokenize(s, strlen(s), t, 32);
	CHECK(n == 7);
	CHECK(tok_is(&t[0], SENTIMENT_TOK_WORD, "don't"));
	CHECK(tok_is(&t[1], SENTIMENT_TOK_WORD, "company"));
	CHECK(tok_is(&t[3], SENTIMENT_TOK_WORD, "n't"));
	CHECK(tok_is(&t[4], SENTIMENT_TOK_WORD, "quoted"));
	CHECK(tok_is(&t[5], SENTIMENT_TOK_WORD, "investors"));
	CHECK(tok_is(&t[6], SENTIMENT_TOK_WORD, "rock'n'roll"));

	s = "loss-making, (Q1) .5 1,5 2009 EUR50m\nnext";
	n = tokenize(s, strlen(s), t, 32);
	CHECK(n == 12);
	CHECK(tok_is(&t[0], SENTIMENT_TOK_WORD, "loss") && tok_is(&t[1], SENTIMENT_TOK_WORD, "making"));
	CHECK(t[2].type == SENTIMENT_TOK_PUNCT && t[2].punct == ',' &&
		  !tsk_sentiment_token_ends_sentence(&t[2]));
	CHECK(t[3].punct == '(' && tok_is(&t[4], SENTIMENT_TOK_WORD, "q1") && t[5].punct == ')');
	CHECK(t[6].type == SENTIMENT_TOK_NUMBER && fabs(t[6].number - 0.5) < 1e-9);
	CHECK(t[7].type == SENTIMENT_TOK_NUMBER && fabs(t[7].number - 1.5) < 1e-9);
	CHECK(t[8].type == SENTIMENT_TOK_NUMBER && t[8].number == 2009);
	CHECK(tok_is(&t[9], SENTIMENT_TOK_WORD, "eur50m"));
	CHECK(t[10].punct == '\n' && tsk_sentiment_token_ends_sentence(&t[10]));
	CHECK(tokenize("", 0, t, 32) == 0 && tokenize(" \t\r\n", 3, t, 32) == 0);
	CHECK(tokenize(NULL, 10, t, 32) == 0);
}

/*
 * test_tokenizer_utf8
 *	  Tokeniser: UTF-8 letters, case folding, invalid bytes, long words.
 */
static void
test_tokenizer_utf8(void)
{
	sentiment_token t[16];
	char big[300];
	const char *s = "L\xc3\xa4nnen \xc3\x84\xc3\x96 \xe2\x82\xac"
					"5 \xe2\x80\x9cquote\xe2\x80\x9d";
	size_t n = tokenize(s, strlen(s), t, 16);

	CHECK(n == 4);
	CHECK(tok_is(&t[0], SENTIMENT_TOK_WORD, "l\xc3\xa4nnen"));
	CHECK(tok_is(&t[1], SENTIMENT_TOK_WORD, "\xc3\xa4\xc3\xb6"));
	CHECK(t[2].type == SENTIMENT_TOK_NUMBER && t[2].number == 5); /* euro sign skipped */
	CHECK(tok_is(&t[3], SENTIMENT_TOK_WORD, "quote"));

	/* invalid lead bytes, overlong, surrogate, truncated sequence */
	s = "\xff\xfeprofit \xc0\xafx \xed\xa0\x80y abc\xc3";
	n = tokenize(s, strlen(s), t, 16);
	CHECK(n == 4);
	CHECK(tok_is(&t[0], SENTIMENT_TOK_WORD, "profit") && t[0].offset == 2);
	CHECK(tok_is(&t[1], SENTIMENT_TOK_WORD, "x") && tok_is(&t[2], SENTIMENT_TOK_WORD, "y"));
	CHECK(tok_is(&t[3], SENTIMENT_TOK_WORD, "abc"));

	memset(big, 'a', sizeof(big));
	n = tokenize(big, sizeof(big), t, 16);
	CHECK(n == 1 && t[0].truncated && t[0].length == sizeof(big) &&
		  t[0].norm_len <= SENTIMENT_MAX_WORD);
	/* embedded NUL bytes are separators, not terminators */
	n = tokenize("ab\0cd", 5, t, 16);
	CHECK(n == 2 && tok_is(&t[1], SENTIMENT_TOK_WORD, "cd"));
}

/*
 * test_negation
 *	  Negation within three tokens flips; further away or across punctuation it
 *	  does not.
 */
static void
test_negation(void)
{
	double good = score("good");

	CHECK(good > 0);
	CHECK(score("not good") < 0);
	CHECK(fabs(score("not good") - score("good") * -0.74) < 0.05);
	CHECK(score("not aa good") < 0);
	CHECK(score("not aa bb good") < 0);    /* third token before: flipped */
	CHECK(score("not aa bb cc good") > 0); /* fourth: not flipped */
	CHECK(score("not , good") > 0);        /* punctuation ends the scope */
	CHECK(score("isn't good") < 0 && score("is n't good") < 0);
	CHECK(score("never strong") < 0 && score("without layoffs") > 0);
	CHECK(score("not only good") > 0); /* blocker phrase */
}

/*
 * test_intensifiers
 *	  Intensifiers scale magnitude before and right after a word.
 */
static void
test_intensifiers(void)
{
	double strong = score("strong");

	CHECK(score("very strong") > strong);
	CHECK(score("extremely strong") > score("very strong"));
	CHECK(score("slightly strong") < strong && score("slightly strong") > 0);
	CHECK(score("very bad") < score("bad"));
	CHECK(score("sales rose sharply") > score("sales rose"));
	CHECK(score("sales fell slightly") > score("sales fell") && score("sales fell slightly") < 0);
}

/*
 * test_but_clause
 *	  "but" clauses: the clause after weighs more.
 */
static void
test_but_clause(void)
{
	CHECK(score("good but bad") < 0);
	CHECK(score("bad but good") > 0);
	CHECK(fabs(score("good but bad")) > 0 &&
		  fabs(score("good but bad")) < fabs(score("bad but bad")));
	CHECK(score("sales rose , however profit fell") < 0);
	CHECK(fabs(score("good , however .") - score("good")) < 1e-12); /* nothing after */
	CHECK(score("not only good but also strong") > 0);
}

/*
 * test_financial_rules
 *	  Financial composition rules R1/R2 and domain vocabulary.
 */
static void
test_financial_rules(void)
{
	CHECK(label("Operating profit rose to EUR 13.1 mn from EUR 8.7 mn .") == 1);
	CHECK(label("Net sales decreased by 5 % .") == -1);
	CHECK(label("The net loss narrowed to EUR 2 mn .") == 1);
	CHECK(label("Costs increased sharply .") == -1);
	CHECK(label("The group reported lower operating costs .") == 1);
	CHECK(label("An increase of 5 % in net sales .") == 1);
	CHECK(label("Net sales totalled EUR 5.1 mn compared to EUR 4.2 mn .") == 1);
	CHECK(label("Net sales totalled EUR 4.2 mn compared to EUR 5.1 mn .") == -1);
	CHECK(label("Net sales EUR 0.9 bn compared to EUR 950 mn .") == -1);
	CHECK(label("Operating profit fell to a net loss .") == -1);
	CHECK(label("Operating loss of EUR 2 mn , down from a profit of EUR 3 mn .") == -1);
	CHECK(label("Net profit of EUR 3 mn compared to a loss of EUR 1 mn .") == 1);
	CHECK(label("A loss of EUR 0.4 mn compared to a loss of EUR 1.9 mn .") == 1);
	CHECK(label("Profit did not increase .") == -1);
	CHECK(label("The company issued a profit warning .") == -1);
	CHECK(label("Analysts upgraded the stock after record earnings .") == 1);
	CHECK(label("The bank will cut 500 jobs .") == -1);
	CHECK(label("The company will lay off 200 workers .") == -1);
	CHECK(label("Exchange hacked , $ 100 mn stolen in exploit .") == -1);
	CHECK(label("SEC grants ETF approval ; bitcoin surged to a record high .") == 1);
	CHECK(label("Massive liquidations as bitcoin crashes .") == -1);
	CHECK(label("The company filed for bankruptcy .") == -1);
	CHECK(label("The company is based in Helsinki .") == 0);
	CHECK(label("Sales were EUR 5 mn in 2009 and EUR 4 mn in 2008 .") == 0);
}

/*
 * test_bounds_and_degenerate
 *	  Scores stay in [-1, 1]; degenerate inputs score 0 without crashing.
 */
static void
test_bounds_and_degenerate(void)
{
	sentiment_detail d;
	size_t big = 2u * 1024u * 1024u, i;
	char *buf = malloc(big);
	double s;

	CHECK(score("") == 0 && score("   \t \n ") == 0 && tsk_sentiment_score(NULL, NULL, 5) == 0);
	CHECK(score("\xff\xfe\xfd\xc3") == 0);
	CHECK(score("\xff profit warning \xfe") < 0);
	CHECK(tsk_sentiment_score(NULL, "good\0bad", 8) != score("good"));
	s = tsk_sentiment_score_detail(NULL, "Sales rose but costs rose .", 27, &d);
	CHECK(d.tokens == 6 && d.hits == 2 && fabs(d.raw - (d.positive + d.negative)) < 1e-12);
	CHECK(fabs(s - d.raw / sqrt(d.raw * d.raw + SENTIMENT_ALPHA)) < 1e-12);
	if (buf == NULL)
		return;
	memset(buf, ' ', big);
	for (i = 0; i + 10 <= big; i += 10)
		memcpy(buf + i, "excellent ", 10); /* one huge sentence */
	s = tsk_sentiment_score(NULL, buf, big);
	CHECK(s > 0.99 && s <= 1.0);
	for (i = 0; i + 12 <= big; i += 12)
		memcpy(buf + i, "bankruptcy. ", 12); /* many sentences */
	s = tsk_sentiment_score(NULL, buf, big);
	CHECK(s < -0.99 && s >= -1.0);
	memset(buf, 'x', big); /* one giant word */
	CHECK(tsk_sentiment_score(NULL, buf, big) == 0);
	for (i = 0; i < big; i++) /* pseudo-random bytes */
		buf[i] = (char) ((i * 2654435761u) >> 13);
	s = tsk_sentiment_score(NULL, buf, big);
	CHECK(s >= -1 && s <= 1 && !isnan(s));
	free(buf);
	CHECK(tsk_sentiment_label(0.3) == 1 && tsk_sentiment_label(-0.3) == -1 && tsk_sentiment_label(0.29) == 0);
}

/*
 * test_vader_format
 *	  VADER inline buffers: valid, auto-detected, malformed.
 */
static void
test_vader_format(void)
{
	sentiment_error err;
	SentimentLexicon *lex;
	double v;
	static const char *const bad[] = {
		"good\t1.9\t0.9\n",       "good\t1.9\t0.9\t[2]\textra\n", "\t1.9\t0.9\t[2]\n",
		"good\tabc\t0.9\t[2]\n",  "good\t9\t0.9\t[2]\n",          "good\t1.9\t-1\t[2]\n",
		"good\t1.9\t0.9\t2, 3\n", "good\t1e5\t0.9\t[2]\n",        "good\tnan\t0.9\t[2]\n",
		"good\t1.9\t0.9\t[\n",    "good\t-\t0.9\t[2]\n",          "good\t1..9\t0.9\t[2]\n"};
	size_t i;

	lex = load("good\t1.9\t0.9\t[2, 2]\r\nbad\t-2.5\t0.5\t[-3]\n:)\t2.0\t1\t[2]\n\n"
			   "kind of\t0\t0.1\t[0]\nGood\t-4\t0\t[-4]",
			   SENTIMENT_FORMAT_AUTO, &err);
	CHECK(lex != NULL && err.status == SENTIMENT_OK);
	if (lex != NULL)
	{
		CHECK(tsk_sentiment_lexicon_format(lex) == SENTIMENT_FORMAT_VADER);
		CHECK(tsk_sentiment_lexicon_entries(lex) == 3); /* ":)" skipped, "Good" duplicate */
		CHECK(tsk_sentiment_lexicon_lookup(lex, "GOOD", 4, &v) && fabs(v - 0.475) < 1e-6);
		CHECK(tsk_sentiment_lexicon_lookup(lex, "bad", 3, &v) && fabs(v + 0.625) < 1e-6);
		CHECK(tsk_sentiment_lexicon_lookup(lex, "kind  of", 8, &v) && v == 0);
		CHECK(!tsk_sentiment_lexicon_lookup(lex, "kind", 4, &v));
		CHECK(score_with(lex, "good") > 0 && score_with(lex, "not good") < 0);
		CHECK(score_with(lex, "good but bad") < 0);
		CHECK(score_with(lex, "very good") > score_with(lex, "good"));
		tsk_sentiment_lexicon_free(lex);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		lex = load(bad[i], SENTIMENT_FORMAT_VADER, &err);
		CHECK(lex == NULL && err.status == SENTIMENT_ERR_SYNTAX && err.line == 1);
	}
	lex = load("good\t1.9\t0.9\t[2]\nbad\t-2\n", SENTIMENT_FORMAT_VADER, &err);
	CHECK(lex == NULL && err.line == 2 && strstr(err.message, "line 2") != NULL);
}

/*
 * test_lm_format
 *	  Loughran-McDonald .cat inline buffers: valid and malformed.
 */
static void
test_lm_format(void)
{
	sentiment_error err;
	SentimentLexicon *lex;
	double v;
	static const char *const bad[] = {
		"\tLOSS (1)\n",          "NEGATIVE\n\tLOSS (x)\n", "NEGATIVE\n\tLOSS (1\n",
		"NEGATIVE\n\t (1)\n",    "NEG@TIVE\n\tLOSS (1)\n", "NEGATIVE\n\tLO$S (1)\n",
		"NEGATIVE\n\tLOSS ()\n", "NEGATIVE\n\tLOSS(1)\n",  "NEGATIVE\n\tLOSS (1) x\n"};
	size_t i;

	lex = load("NEGATIVE\r\n\tLOSS (1)\r\n\tWEAK (1)\r\nPOSITIVE\r\n\tGAIN (12)\r\n"
			   "UNCERTAINTY\r\n\tMAYBE (1)\r\nMODAL WORDS WEAK\r\n",
			   SENTIMENT_FORMAT_AUTO, &err);
	CHECK(lex != NULL);
	if (lex != NULL)
	{
		CHECK(tsk_sentiment_lexicon_format(lex) == SENTIMENT_FORMAT_LM);
		CHECK(tsk_sentiment_lexicon_entries(lex) == 3);
		CHECK(tsk_sentiment_lexicon_lookup(lex, "loss", 4, &v) && v == -1);
		CHECK(tsk_sentiment_lexicon_lookup(lex, "Gain", 4, &v) && v == 1);
		CHECK(!tsk_sentiment_lexicon_lookup(lex, "maybe", 5, &v));
		CHECK(score_with(lex, "a big loss") < 0 && score_with(lex, "no loss") > 0);
		tsk_sentiment_lexicon_free(lex);
	}
	lex = load("NEGATIVE\n\tLOSS\n\tWRITE-DOWN (3)   \n", SENTIMENT_FORMAT_LM, &err);
	CHECK(lex != NULL && tsk_sentiment_lexicon_entries(lex) == 2);
	CHECK(tsk_sentiment_lexicon_lookup(lex, "write down", 10, &v) && v == -1);
	tsk_sentiment_lexicon_free(lex);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		lex = load(bad[i], SENTIMENT_FORMAT_LM, &err);
		CHECK(lex == NULL && err.status == SENTIMENT_ERR_SYNTAX);
	}
	lex = load("UNCERTAINTY\n\tMAYBE (1)\n", SENTIMENT_FORMAT_LM, &err);
	CHECK(lex == NULL && err.status == SENTIMENT_ERR_EMPTY);
}

/*
 * test_afinn_format
 *	  AFINN inline buffers: valid (with phrases) and malformed.
 */
static void
test_afinn_format(void)
{
	sentiment_error err;
	SentimentLexicon *lex;
	double v;
	static const char *const bad[] = {"good\t3.5\n", "good\t9\n", "good\n",     "good\t3\textra\n",
									  "\t3\n",       "good\t\n",  "good\t+-3\n"};
	size_t i;

	lex = load("good\t3\nbad\t-3\ndoes not work\t-3\nok\t+1", SENTIMENT_FORMAT_AUTO, &err);
	CHECK(lex != NULL);
	if (lex != NULL)
	{
		CHECK(tsk_sentiment_lexicon_format(lex) == SENTIMENT_FORMAT_AFINN);
		CHECK(tsk_sentiment_lexicon_entries(lex) == 4);
		CHECK(tsk_sentiment_lexicon_lookup(lex, "does not work", 13, &v) && fabs(v + 0.6) < 1e-6);
		CHECK(tsk_sentiment_lexicon_lookup(lex, "ok", 2, &v) && fabs(v - 0.2) < 1e-6);
		CHECK(score_with(lex, "it does not work") < 0); /* phrase beats negator */
		tsk_sentiment_lexicon_free(lex);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		lex = load(bad[i], SENTIMENT_FORMAT_AFINN, &err);
		CHECK(lex == NULL && err.status == SENTIMENT_ERR_SYNTAX);
	}
}

/*
 * test_load_errors
 *	  Arguments, detection, size limits, NUL bytes, BOM, names.
 */
static void
test_load_errors(void)
{
	sentiment_error err;
	SentimentLexicon *lex;
	sentiment_format f;

	CHECK(load("", SENTIMENT_FORMAT_AUTO, &err) == NULL && err.status == SENTIMENT_ERR_EMPTY);
	CHECK(tsk_sentiment_lexicon_load(NULL, 3, SENTIMENT_FORMAT_AUTO, &err) == NULL &&
		  err.status == SENTIMENT_ERR_ARGUMENT);
	CHECK(load("a\t1", (sentiment_format) 99, &err) == NULL && err.status == SENTIMENT_ERR_ARGUMENT);
	CHECK(load("a\t1", SENTIMENT_FORMAT_BUILTIN, &err) == NULL);
	CHECK(tsk_sentiment_lexicon_load("x", (size_t) SENTIMENT_MAX_LEXICON_BYTES + 1,
								 SENTIMENT_FORMAT_AUTO, &err) == NULL &&
		  err.status == SENTIMENT_ERR_TOO_LARGE);
	CHECK(load("???\n", SENTIMENT_FORMAT_AUTO, &err) == NULL && err.status == SENTIMENT_ERR_DETECT);
	CHECK(load("a\tb\tc\n", SENTIMENT_FORMAT_AUTO, &err) == NULL &&
		  err.status == SENTIMENT_ERR_DETECT);
	CHECK(load(":)\t3\n", SENTIMENT_FORMAT_AUTO, &err) == NULL &&
		  err.status == SENTIMENT_ERR_EMPTY);
	CHECK(tsk_sentiment_lexicon_load("good\t3\0\n", 8, SENTIMENT_FORMAT_AUTO, &err) == NULL &&
		  err.status == SENTIMENT_ERR_SYNTAX);
	CHECK(tsk_sentiment_lexicon_load("x", 1, SENTIMENT_FORMAT_AUTO, NULL) == NULL); /* err optional */
	lex = load("\xef\xbb\xbfgood\t3\n", SENTIMENT_FORMAT_AUTO, &err);
	CHECK(lex != NULL && tsk_sentiment_lexicon_lookup(lex, "good", 4, NULL));
	tsk_sentiment_lexicon_free(lex);
	tsk_sentiment_lexicon_free(NULL);
	tsk_sentiment_lexicon_free((SentimentLexicon *) tsk_sentiment_builtin_lexicon()); /* ignored */
	CHECK(tsk_sentiment_builtin_lexicon() != NULL);
	CHECK(tsk_sentiment_format_from_name("Loughran-McDonald", &f) && f == SENTIMENT_FORMAT_LM);
	CHECK(tsk_sentiment_format_from_name("VADER", &f) && f == SENTIMENT_FORMAT_VADER);
	CHECK(!tsk_sentiment_format_from_name("csv", &f) && !tsk_sentiment_format_from_name(NULL, &f));
	CHECK(strcmp(tsk_sentiment_format_name(SENTIMENT_FORMAT_AFINN), "afinn") == 0);
	CHECK(tsk_sentiment_format_name((sentiment_format) 42) == NULL);
}

/*
 * test_relocation
 *	  A lexicon block copied elsewhere works after the original is freed.
 */
static void
test_relocation(void)
{
	SentimentLexicon *lex = load("good\t3\nprofit warning\t-4\n", SENTIMENT_FORMAT_AFINN, NULL);
	SentimentLexicon *copy;
	size_t size;

	CHECK(lex != NULL);
	if (lex == NULL)
		return;
	size = tsk_sentiment_lexicon_memsize(lex);
	copy = malloc(size);
	CHECK(size > 0 && copy != NULL);
	if (copy != NULL)
	{
		memcpy(copy, lex, size);
		tsk_sentiment_lexicon_free(lex);
		CHECK(score_with(copy, "a profit warning") < 0 && score_with(copy, "good") > 0);
		free(copy);
	}
	else
		tsk_sentiment_lexicon_free(lex);
}

/*
 * test_fuzz
 *	  Every prefix and many random mutations of valid buffers load or fail
 *	  cleanly (run under ASan/valgrind to make this a memory-safety test).
 */
static void
test_fuzz(void)
{
	static const char *const seeds[] = {
		"good\t1.9\t0.9\t[2, 2]\nbad\t-2.5\t0.5\t[-3]\nnot bad\t1\t0\t[1]\n",
		"NEGATIVE\r\n\tLOSS (1)\r\nPOSITIVE\r\n\tGAIN (1)\r\n", "good\t3\nbad\t-3\nno fun\t-3\n"};
	const char charset[] = "\t\n\r ()[]-.0123456789ab\xc3\xff\0";
	char buf[128];
	uint32_t rng = 12345;
	size_t s, i, k, len, ok = 0, failed_cleanly = 0, out_of_range = 0;
	sentiment_error err;
	SentimentLexicon *lex;

	for (s = 0; s < 3; s++)
	{
		len = strlen(seeds[s]);
		for (i = 0; i <= len; i++)
		{
			lex = tsk_sentiment_lexicon_load(seeds[s], i, SENTIMENT_FORMAT_AUTO, &err);
			ok += lex != NULL, failed_cleanly += lex == NULL && err.status != SENTIMENT_OK;
			tsk_sentiment_lexicon_free(lex);
		}
		for (i = 0; i < 3000; i++)
		{
			memcpy(buf, seeds[s], len);
			for (k = 0; k < 1 + i % 4; k++)
			{
				rng = rng * 1103515245u + 12345u;
				buf[(rng >> 8) % len] = charset[(rng >> 20) % (sizeof(charset) - 1)];
			}
			lex = tsk_sentiment_lexicon_load(buf, len, (sentiment_format) (i % 4), &err);
			ok += lex != NULL, failed_cleanly += lex == NULL && err.status != SENTIMENT_OK;
			if (lex != NULL)
			{
				double v = tsk_sentiment_score(lex, buf, len);

				out_of_range += !(v >= -1 && v <= 1);
				tsk_sentiment_lexicon_free(lex);
			}
		}
	}
	CHECK(ok + failed_cleanly ==
		  3 * 3000 + strlen(seeds[0]) + strlen(seeds[1]) + strlen(seeds[2]) + 3);
	CHECK(ok > 0 && failed_cleanly > 0 && out_of_range == 0);
}

/*
 * test_builtin_table
 *	  Built-in table: unique keys, valid values, every key usable.
 */
static void
test_builtin_table(void)
{
	size_t i, bad_value = 0, bad_key = 0;
	double v;

	CHECK(tsk_sentiment_builtin_lexicon() != NULL);
	CHECK(tsk_sentiment_lexicon_format(NULL) == SENTIMENT_FORMAT_BUILTIN);
	for (i = 0; i < tsk_sentiment_builtin_count; i++)
	{
		const sentiment_builtin_entry *e = &tsk_sentiment_builtin_entries[i];

		bad_value += !(e->value >= -1 && e->value <= 1);
		if (!tsk_sentiment_lexicon_lookup(NULL, e->key, strlen(e->key), &v) || v != e->value)
		{
			bad_key++;
			printf("  built-in key unusable or duplicated: \"%s\"\n", e->key);
		}
	}
	CHECK(bad_value == 0 && bad_key == 0);
	CHECK(tsk_sentiment_lexicon_entries(NULL) == tsk_sentiment_builtin_count);
	CHECK(tsk_sentiment_lexicon_memsize(NULL) > 0);
}

/*
 * read_lexicon
 *	  Reads SHARED_DIR/<prefix>lexicons/name; malloc'd buffer or NULL.
 */
static char *
read_lexicon(const char *dir, const char *name, size_t *len)
{
	static const char *const prefixes[] = {"data/sentiment/", "sentiment/", ""};
	char path[4096];
	size_t i;

	for (i = 0; i < 3; i++)
	{
		FILE *f;
		char *buf;
		long size;

		snprintf(path, sizeof(path), "%s/%slexicons/%s", dir, prefixes[i], name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		buf = NULL;
		if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
			(buf = malloc((size_t) size)) != NULL)
			*len = fread(buf, 1, (size_t) size, f);
		fclose(f);
		return buf;
	}
	return NULL;
}

/*
 * test_real_lexicons
 *	  Sanity check on the real lexicon files.
 */
static void
test_real_lexicons(const char *dir)
{
	static const struct
	{
		const char *file;
		sentiment_format format;
		size_t min_entries;
		const char *word; /* known entry and its sign */
		int sign;
	} files[] = {{"vader_lexicon.txt", SENTIMENT_FORMAT_VADER, 5000, "bad", -1},
				 {"Loughran_and_McDonald_2014.cat", SENTIMENT_FORMAT_LM, 2000, "abandon", -1},
				 {"AFINN-111.txt", SENTIMENT_FORMAT_AFINN, 2000, "abandon", -1}};
	size_t i, len = 0;

	for (i = 0; i < 3; i++)
	{
		sentiment_error err;
		SentimentLexicon *lex;
		char *buf = read_lexicon(dir, files[i].file, &len);
		double v = 0;

		CHECK(buf != NULL);
		if (buf == NULL)
			continue;
		lex = tsk_sentiment_lexicon_load(buf, len, SENTIMENT_FORMAT_AUTO, &err);
		free(buf);
		CHECK(lex != NULL);
		if (lex == NULL)
		{
			printf("  %s: %s\n", files[i].file, err.message);
			continue;
		}
		CHECK(tsk_sentiment_lexicon_format(lex) == files[i].format);
		CHECK(tsk_sentiment_lexicon_entries(lex) >= files[i].min_entries);
		CHECK(tsk_sentiment_lexicon_lookup(lex, files[i].word, strlen(files[i].word), &v) &&
			  v * files[i].sign > 0 && v >= -1 && v <= 1);
		CHECK(score_with(lex, "They abandoned the bad plan .") < 0);
		tsk_sentiment_lexicon_free(lex);
	}
}

/*
 * main
 *	  Runs every test; see the banner.
 */
int
main(int argc, char **argv)
{
	test_tokenizer_basic();
	test_tokenizer_utf8();
	test_negation();
	test_intensifiers();
	test_but_clause();
	test_financial_rules();
	test_bounds_and_degenerate();
	test_vader_format();
	test_lm_format();
	test_afinn_format();
	test_load_errors();
	test_relocation();
	test_fuzz();
	test_builtin_table();
	if (argc > 1)
		test_real_lexicons(argv[1]);
	else
		printf("note: no SHARED_DIR given, real lexicon checks skipped\n");
	printf("%d passed, %d failed\n", tests_passed, tests_failed);
	return tests_failed == 0 ? 0 : 1;
}
