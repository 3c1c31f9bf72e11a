/*
 * fuzz_sentiment.c
 *	  libFuzzer target for the lexicon parsers and the scorer.
 *
 * Input: byte 0 picks the format (modulo the loadable formats: auto, vader,
 * lm, afinn); the rest is handed to tsk_sentiment_lexicon_load().  If it loads,
 * the same bytes are scored with it and with the built-in lexicon, and a
 * copy of the block is scored too (the block must be relocatable).
 * Invariants checked: scores are finite and in [-1, 1]; a failed load
 * always sets an error status.
 *
 * Build and run: make fuzz (clang -fsanitize=fuzzer,address,undefined).
 */
#include "sentiment/sentiment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * fuzz_check_score
 *	  Aborts (a finding for libFuzzer) unless the score is sane.
 */
static void
fuzz_check_score(double s)
{
	if (!isfinite(s) || s < -1.0 || s > 1.0)
		abort();
}

/*
 * LLVMFuzzerTestOneInput
 *	  libFuzzer entry point: see the banner.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sentiment_error err;
	SentimentLexicon *lex;
	sentiment_format format;
	const char *text;
	size_t len;

	if (size == 0)
		return 0;
	format = (sentiment_format) (data[0] % 4);	/* AUTO, VADER, LM, AFINN */
	text = (const char *) data + 1;
	len = size - 1;

	fuzz_check_score(tsk_sentiment_score(NULL, text, len));
	memset(&err, 0, sizeof(err));
	lex = tsk_sentiment_lexicon_load(text, len, format, &err);
	if (lex == NULL)
	{
		if (err.status == SENTIMENT_OK)
			abort();
		return 0;
	}
	fuzz_check_score(tsk_sentiment_score(lex, text, len));
	{
		size_t		n = tsk_sentiment_lexicon_memsize(lex);
		uint64_t   *copy = malloc(n + 8);

		if (copy != NULL)
		{
			memcpy(copy, lex, n);
			fuzz_check_score(tsk_sentiment_score((const SentimentLexicon *) copy, text, len));
			free(copy);
		}
	}
	tsk_sentiment_lexicon_free(lex);
	return 0;
}
