/*
 * phrasebank_eval.c
 *	  evaluates the sentiment scorer on Financial PhraseBank.
 *
 * Usage: phrasebank_eval SHARED_DIR [--threshold T] [--dump FILE]
 *   SHARED_DIR  the project's shared directory (/work/shared); the data are
 *               looked up under data/sentiment/ (or sentiment/, or directly)
 *   --threshold label threshold t (default SENTIMENT_LABEL_THRESHOLD):
 *               score <= -t negative, score >= t positive, else neutral
 *   --dump      writes the built-in lexicon's misclassified 50Agree
 *               sentences (gold, predicted, score, sentence) to FILE
 *
 * Prints one row per lexicon (built-in, VADER, Loughran-McDonald, AFINN) and
 * dataset (Sentences_50Agree, Sentences_AllAgree) with accuracy and macro-F1
 * (mean of the per-class F1 over negative/neutral/positive; a class never
 * predicted has F1 0), the majority-class baseline, and the scoring
 * throughput in sentences per second (each lexicon scores the dataset
 * repeatedly for at least MIN_BENCH_SECONDS, single thread, sentences already
 * in memory).  A last line gives the built-in lexicon's macro-F1 on 50Agree
 * for a range of thresholds.  Lexicons whose files are missing are reported
 * and skipped; exits non-zero only if a dataset is missing.
 *
 * Honesty note: the built-in lexicon, its composition rules and the default
 * threshold were refined by looking at misclassified 50Agree sentences
 * (AllAgree is a subset of 50Agree), so the built-in rows are in-sample
 * figures, not a held-out estimate.  The loaded lexicons use the same
 * threshold and the generic grammar only, with no tuning.
 *
 * Input: lines "sentence@label"; the label follows the LAST '@'.  Files that
 * are not valid UTF-8 are decoded as ISO-8859-1 (50Agree is Latin-1).
 */
#define _POSIX_C_SOURCE 200809L
#include "sentiment/sentiment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SENTENCES     8192
#define MIN_BENCH_SECONDS 0.5

typedef struct Dataset
{
	const char *name;
	char *text; /* UTF-8, sentences NUL-terminated in place */
	const char *sentence[MAX_SENTENCES];
	size_t length[MAX_SENTENCES];
	int gold[MAX_SENTENCES]; /* -1, 0, +1 */
	size_t n;
} Dataset;

typedef struct Metrics
{
	double accuracy;
	double macro_f1;
} Metrics;

static const char *const data_prefixes[] = {"data/sentiment/", "sentiment/", ""};
static const char *const label_names[] = {"negative", "neutral", "positive"};

/*
 * read_file
 *	  Reads a whole file; returns a malloc'd NUL-terminated buffer or NULL.
 */
static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
		(buf = malloc((size_t) size + 1)) != NULL)
	{
		*len = fread(buf, 1, (size_t) size, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

/*
 * read_shared
 *	  Opens SHARED_DIR/<prefix>/rel for the first prefix that exists.
 */
static char *
read_shared(const char *dir, const char *rel, size_t *len)
{
	char path[4096];
	size_t i;
	char *buf;

	for (i = 0; i < sizeof(data_prefixes) / sizeof(data_prefixes[0]); i++)
	{
		snprintf(path, sizeof(path), "%s/%s%s", dir, data_prefixes[i], rel);
		if ((buf = read_file(path, len)) != NULL)
			return buf;
	}
	return NULL;
}

/*
 * is_utf8
 *	  True if buf[0..len) is valid UTF-8 (structural check is enough here).
 */
static bool
is_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0, k, need;

	while (i < len)
	{
		if (s[i] < 0x80)
		{
			i++;
			continue;
		}
		need = s[i] >= 0xf0 && s[i] <= 0xf4   ? 3
			   : s[i] >= 0xe0 && s[i] <= 0xef ? 2
			   : s[i] >= 0xc2 && s[i] <= 0xdf ? 1
											  : 0;
		if (need == 0 || i + need >= len)
			return false;
		for (k = 1; k <= need; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += need + 1;
	}
	return true;
}

/*
 * latin1_to_utf8
 *	  Converts a Latin-1 buffer to a new malloc'd UTF-8 buffer (frees the old).
 */
static char *
latin1_to_utf8(char *in, size_t len, size_t *out_len)
{
	char *out = malloc(len * 2 + 1);
	size_t i, n = 0;

	if (out == NULL)
		return in;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) in[i];

		if (c < 0x80)
			out[n++] = (char) c;
		else
		{
			out[n++] = (char) (0xc0 | (c >> 6));
			out[n++] = (char) (0x80 | (c & 0x3f));
		}
	}
	out[n] = '\0';
	free(in);
	*out_len = n;
	return out;
}

/*
 * load_dataset
 *	  Loads a PhraseBank file into ds; returns false if missing or empty.
 */
static bool
load_dataset(const char *dir, const char *name, Dataset *ds)
{
	char rel[256], *line, *next, *at;
	size_t len = 0;

	snprintf(rel, sizeof(rel), "financial_phrasebank/%s.txt", name);
	ds->name = name;
	ds->n = 0;
	if ((ds->text = read_shared(dir, rel, &len)) == NULL)
		return false;
	if (!is_utf8((const unsigned char *) ds->text, len))
		ds->text = latin1_to_utf8(ds->text, len, &len);
	for (line = ds->text; line != NULL && *line != '\0' && ds->n < MAX_SENTENCES; line = next)
	{
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((at = strrchr(line, '@')) == NULL)
			continue;
		*at++ = '\0';
		at[strcspn(at, "\r \t")] = '\0';
		ds->gold[ds->n] = strcmp(at, "negative") == 0   ? -1
						  : strcmp(at, "positive") == 0 ? 1
						  : strcmp(at, "neutral") == 0  ? 0
														: 2;
		if (ds->gold[ds->n] == 2)
			continue;
		ds->sentence[ds->n] = line;
		ds->length[ds->n++] = strlen(line);
	}
	return ds->n > 0;
}

/*
 * evaluate
 *	  Accuracy and macro-F1 of predictions pred[] against ds->gold[].
 */
static Metrics
evaluate(const Dataset *ds, const int *pred)
{
	size_t tp[3] = {0}, fp[3] = {0}, fn[3] = {0}, i, correct = 0;
	Metrics m = {0, 0};
	int c;

	for (i = 0; i < ds->n; i++)
	{
		int g = ds->gold[i] + 1, p = pred[i] + 1;

		if (g == p)
			tp[g]++, correct++;
		else
			fp[p]++, fn[g]++;
	}
	for (c = 0; c < 3; c++)
		if (tp[c] > 0)
			m.macro_f1 += 2.0 * tp[c] / (2.0 * tp[c] + fp[c] + fn[c]) / 3.0;
	m.accuracy = (double) correct / (double) ds->n;
	return m;
}

/*
 * now
 *	  Seconds on the monotonic clock.
 */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * score_all
 *	  Scores every sentence of ds with lex into scores[] (repeating the pass
 *	  for at least MIN_BENCH_SECONDS); returns sentences per second.
 */
static double
score_all(const SentimentLexicon *lex, const Dataset *ds, double *scores)
{
	size_t i, scored = 0;
	double start = now(), elapsed;

	do
	{
		for (i = 0; i < ds->n; i++, scored++)
			scores[i] = tsk_sentiment_score(lex, ds->sentence[i], ds->length[i]);
	} while ((elapsed = now() - start) < MIN_BENCH_SECONDS);
	return scored / elapsed;
}

/*
 * classify
 *	  Labels scores[] with threshold t into pred[] (see the banner).
 */
static void
classify(const Dataset *ds, const double *scores, double t, int *pred)
{
	size_t i;

	for (i = 0; i < ds->n; i++)
		pred[i] = scores[i] >= t ? 1 : scores[i] <= -t ? -1 : 0;
}

/*
 * dump_errors
 *	  Writes the misclassified sentences of ds (predictions pred) to path.
 */
static void
dump_errors(const char *path, const Dataset *ds, const double *scores, const int *pred)
{
	FILE *f = fopen(path, "w");
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < ds->n; i++)
		if (pred[i] != ds->gold[i])
			fprintf(f, "%s\t%s\t%+.3f\t%s\n", label_names[ds->gold[i] + 1],
					label_names[pred[i] + 1], scores[i], ds->sentence[i]);
	fclose(f);
}

/*
 * main
 *	  Entry point: see the banner.
 */
int
main(int argc, char **argv)
{
	static const struct
	{
		const char *label;
		const char *file;
	} lexfiles[] = {{"built-in", NULL},
					{"vader", "lexicons/vader_lexicon.txt"},
					{"loughran-mcdonald", "lexicons/Loughran_and_McDonald_2014.cat"},
					{"afinn", "lexicons/AFINN-111.txt"}};
	static Dataset ds[2];
	static int pred[MAX_SENTENCES];
	static double scores[MAX_SENTENCES];
	static const double sweep[] = {0.05, 0.1, 0.2, 0.3, 0.4, 0.5};
	const char *dump = NULL;
	char sweep_line[512] = "";
	double t = SENTIMENT_LABEL_THRESHOLD;
	size_t l, d, i, len;
	int a;

	if (argc < 2)
	{
		fprintf(stderr, "usage: %s SHARED_DIR [--threshold T] [--dump FILE]\n", argv[0]);
		return 2;
	}
	for (a = 2; a + 1 < argc; a += 2)
	{
		if (strcmp(argv[a], "--threshold") == 0)
			t = atof(argv[a + 1]);
		else if (strcmp(argv[a], "--dump") == 0)
			dump = argv[a + 1];
	}
	if (!load_dataset(argv[1], "Sentences_50Agree", &ds[0]) ||
		!load_dataset(argv[1], "Sentences_AllAgree", &ds[1]))
	{
		fprintf(stderr, "cannot read Financial PhraseBank under %s\n", argv[1]);
		return 1;
	}
	printf("Financial PhraseBank evaluation; label threshold t = %.2f "
		   "(score <= -t negative, >= t positive, else neutral)\n\n",
		   t);
	printf("%-20s %-20s %5s %9s %9s %12s\n", "lexicon", "dataset", "n", "accuracy", "macro-F1",
		   "sentences/s");
	for (d = 0; d < 2; d++)
	{
		size_t count[3] = {0, 0, 0};
		int majority = -1;
		Metrics m;
		char label[32];

		for (i = 0; i < ds[d].n; i++)
			count[ds[d].gold[i] + 1]++;
		for (a = 0; a < 3; a++)
			if (count[a] > count[majority + 1])
				majority = a - 1;
		for (i = 0; i < ds[d].n; i++)
			pred[i] = majority;
		m = evaluate(&ds[d], pred);
		snprintf(label, sizeof(label), "majority (%s)", label_names[majority + 1]);
		printf("%-20s %-20s %5zu %9.3f %9.3f %12s\n", label, ds[d].name, ds[d].n, m.accuracy,
			   m.macro_f1, "-");
	}
	for (l = 0; l < sizeof(lexfiles) / sizeof(lexfiles[0]); l++)
	{
		SentimentLexicon *lex = NULL;
		sentiment_error err;
		char *buf = NULL;

		if (lexfiles[l].file != NULL)
		{
			if ((buf = read_shared(argv[1], lexfiles[l].file, &len)) == NULL ||
				(lex = tsk_sentiment_lexicon_load(buf, len, SENTIMENT_FORMAT_AUTO, &err)) == NULL)
			{
				printf("%-20s (skipped: %s)\n", lexfiles[l].label,
					   buf == NULL ? "file not found" : err.message);
				free(buf);
				continue;
			}
			free(buf);
		}
		for (d = 0; d < 2; d++)
		{
			double per_second = score_all(lex, &ds[d], scores);
			Metrics m;

			classify(&ds[d], scores, t, pred);
			m = evaluate(&ds[d], pred);
			printf("%-20s %-20s %5zu %9.3f %9.3f %12.0f\n", lexfiles[l].label, ds[d].name, ds[d].n,
				   m.accuracy, m.macro_f1, per_second);
			if (lex == NULL && d == 0 && dump != NULL)
				dump_errors(dump, &ds[d], scores, pred);
			if (lex == NULL && d == 0)
			{
				snprintf(sweep_line, sizeof(sweep_line),
						 "built-in macro-F1 on %s by threshold:", ds[d].name);
				for (i = 0; i < sizeof(sweep) / sizeof(sweep[0]); i++)
				{
					classify(&ds[d], scores, sweep[i], pred);
					snprintf(sweep_line + strlen(sweep_line),
							 sizeof(sweep_line) - strlen(sweep_line), "  t=%.2f %.3f", sweep[i],
							 evaluate(&ds[d], pred).macro_f1);
				}
			}
		}
		tsk_sentiment_lexicon_free(lex);
	}
	printf("\n%s\n", sweep_line);
	free(ds[0].text);
	free(ds[1].text);
	return 0;
}
