/*
 * test_decode_fast.c
 *	  Differential test of the Binance fast path (src/ingest/decode_fast.c)
 *	  against the full decoder (tsk_td_decode): whenever the fast path
 *	  accepts a frame, the full decoder must return exactly one trade equal
 *	  to it in every field (doubles bit for bit).  Inputs: every frame of
 *	  the Binance captures in shared-dir/data/websocket/binance, hand-made
 *	  edge cases, and 300,000 random mutations of real trade frames.  The
 *	  fast path must also accept (nearly) every real trade frame, or it
 *	  would be no fast path.
 *
 * Usage: test_decode_fast shared-dir.
 * Last line: "N passed, N failed"; exit status 1 if anything failed.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/decode.h"
#include "ingest/decode_fast.h"

static int	tf_passed;
static int	tf_failed;

/*
 * tf_check
 *	  Record one check; print it only when it fails.
 */
static void
tf_check(int ok, const char *what)
{
	if (ok)
		tf_passed++;
	else
	{
		tf_failed++;
		printf("FAILED: %s\n", what);
	}
}

/* Deterministic xorshift generator so failures reproduce. */
static uint64_t tf_rng = 0x9E3779B97F4A7C15ULL;

/*
 * tf_next
 *	  The next value of the xorshift generator tf_rng.
 */
static uint64_t
tf_next(void)
{
	tf_rng ^= tf_rng << 13;
	tf_rng ^= tf_rng >> 7;
	tf_rng ^= tf_rng << 17;
	return tf_rng;
}

/* Frames compared, accepted by the fast path, disagreements. */
static long tf_frames;
static long tf_accepted;
static long tf_disagree;

/*
 * tf_compare
 *	  Run both decoders on one frame; a fast-path trade must be the full
 *	  decoder's one trade, field for field.  Returns whether it accepted.
 */
static int
tf_compare(const char *frame, size_t len)
{
	td_trade	fast;
	td_trade	full[4];
	td_result	res;
	td_generic_map map;
	td_kind		kind;

	memset(&map, 0, sizeof(map));
	tf_frames++;
	if (!tsk_td_binance_fast(frame, len, &fast))
		return 0;
	tf_accepted++;
	kind = tsk_td_decode(TD_BINANCE, &map, frame, len, full, 4, &res);
	if (kind != TD_TRADES || res.ntrades != 1 ||
		strcmp(full[0].instrument, fast.instrument) != 0 ||
		full[0].trade_id != fast.trade_id || full[0].ts_us != fast.ts_us ||
		memcmp(&full[0].price, &fast.price, sizeof(double)) != 0 ||
		memcmp(&full[0].qty, &fast.qty, sizeof(double)) != 0 ||
		full[0].side != fast.side || full[0].id_derived != fast.id_derived)
	{
		if (tf_disagree++ < 5)
			printf("DISAGREE on %.*s\n  full kind %d n %d: %s %lld %lld %.17g %.17g %c | fast: %s %lld %lld %.17g %.17g %c\n",
				   (int) (len > 300 ? 300 : len), frame, (int) kind, res.ntrades, full[0].instrument,
				   (long long) full[0].trade_id, (long long) full[0].ts_us, full[0].price, full[0].qty,
				   full[0].side ? full[0].side : '0', fast.instrument, (long long) fast.trade_id,
				   (long long) fast.ts_us, fast.price, fast.qty, fast.side ? fast.side : '0');
		return 1;
	}
	return 1;
}

/* Real trade frames kept for mutation. */
#define TF_KEEP 4000
static char *tf_kept[TF_KEEP];
static int	tf_nkept;

/*
 * tf_captures
 *	  Every line of every .jsonl capture in dir; counts the trade frames
 *	  and how many the fast path took.
 */
static void
tf_captures(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *ent;
	long		trade_frames = 0;
	long		trade_fast = 0;
	char		what[256];

	tf_check(d != NULL, "open the Binance capture directory");
	if (d == NULL)
		return;
	while ((ent = readdir(d)) != NULL)
	{
		char		path[2048];
		FILE	   *f;
		static char line[1 << 20];
		size_t		n = strlen(ent->d_name);

		if (n < 6 || strcmp(ent->d_name + n - 6, ".jsonl") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f))
		{
			size_t		len = strlen(line);
			int			is_trade;

			while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
				line[--len] = '\0';
			is_trade = strstr(line, "\"e\":\"trade\"") != NULL || strstr(line, "\"e\":\"aggTrade\"") != NULL;
			trade_frames += is_trade;
			if (tf_compare(line, len) && is_trade)
				trade_fast++;
			if (is_trade && (tf_nkept < TF_KEEP || tf_next() % 8 == 0))
			{
				int			slot = tf_nkept < TF_KEEP ? tf_nkept++ : (int) (tf_next() % TF_KEEP);

				free(tf_kept[slot]);
				tf_kept[slot] = strdup(line);
			}
		}
		fclose(f);
	}
	closedir(d);
	snprintf(what, sizeof(what), "the fast path takes nearly every real trade frame (%ld of %ld)",
			 trade_fast, trade_frames);
	tf_check(trade_frames > 30000 && trade_fast >= trade_frames * 99 / 100, what);
	printf("captures: %ld frames, %ld trade frames, %ld taken by the fast path\n",
		   tf_frames, trade_frames, trade_fast);
}

/*
 * tf_edges
 *	  Hand-made edge cases: each must be declined or agree.
 */
static void
tf_edges(void)
{
	static const char *const frames[] = {
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"0\",\"T\":1,\"m\":true}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\",\"t\":1,\"p\":\"0.0\",\"q\":\"1\",\"T\":1,\"m\":true}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\",\"t\":1,\"p\":\"1e2\",\"q\":\"1\",\"T\":1,\"m\":true}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\",\"t\":1,\"p\":\"1\",\"p\":\"2\",\"q\":\"1\",\"T\":1,\"m\":true}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\\u0041\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\",\"t\":\"007\",\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":false}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\",\"t\":9007199254740993,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\",\"t\":1,\"p\":\"123456789012345\",\"q\":\"0.1234567890123456789012\",\"T\":1,\"m\":true}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\",\"t\":1,\"p\":\"1234567890123456\",\"q\":\"1\",\"T\":1,\"m\":true}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\",\"t\":1,\"p\":\".5\",\"q\":\"5.\",\"T\":1,\"m\":true}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":-1,\"m\":true}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":null}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}} ",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\",\"t\":01,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}}",
		"{\"stream\":\"a@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"s\":\"X\",\"a\":5,\"t\":\"x\",\"p\":\"2\",\"q\":\"3\",\"T\":99,\"m\":false}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"depthUpdate\",\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}}",
		"{\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true,\"X\":\"MARKET\"}}",
	};
	long		before = tf_disagree;

	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++)
		tf_compare(frames[i], strlen(frames[i]));
	tf_check(tf_disagree == before, "edge cases: declined or equal");
}

/*
 * tf_mutations
 *	  Random mutations of real trade frames: replace, insert or delete a
 *	  byte (from a set of JSON-significant ones), or duplicate a span.
 */
static void
tf_mutations(int rounds)
{
	static const char alphabet[] = "0123456789.-+eE\"\\,:{}[] tfnxaTpqsm\t\x01\x7f\xc3";
	char		buf[4096];
	long		before = tf_disagree;
	long		accepted_before = tf_accepted;
	char		what[128];

	if (tf_nkept == 0)
		return;
	for (int r = 0; r < rounds; r++)
	{
		const char *src = tf_kept[tf_next() % tf_nkept];
		size_t		len = strlen(src);
		int			edits = 1 + (int) (tf_next() % 3);

		if (len + 64 >= sizeof(buf))
			continue;
		memcpy(buf, src, len);
		for (int k = 0; k < edits; k++)
		{
			size_t		at = len ? (size_t) (tf_next() % len) : 0;
			char		ch = alphabet[tf_next() % (sizeof(alphabet) - 1)];

			switch (tf_next() % 4)
			{
				case 0:
					buf[at] = ch;
					break;
				case 1:
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = ch;
					len++;
					break;
				case 2:
					if (len > 1)
					{
						memmove(buf + at, buf + at + 1, len - at - 1);
						len--;
					}
					break;
				default:
					{
						size_t		span = 1 + (size_t) (tf_next() % 12);

						if (at + span <= len && len + span < sizeof(buf) - 1)
						{
							memmove(buf + at + span, buf + at, len - at);
							len += span;
						}
					}
					break;
			}
		}
		buf[len] = '\0';
		tf_compare(buf, len);
	}
	snprintf(what, sizeof(what), "%d mutations: declined or equal (%ld taken)", rounds,
			 tf_accepted - accepted_before);
	tf_check(tf_disagree == before, what);
}

/*
 * main
 *	  Runs every test; exit status 1 on any failure.
 */
int
main(int argc, char **argv)
{
	char		dir[1024];

	snprintf(dir, sizeof(dir), "%s/data/websocket/binance", argc > 1 ? argv[1] : "../shared");
	tf_captures(dir);
	tf_edges();
	tf_mutations(300000);
	tf_check(tf_disagree == 0, "the fast path never disagrees with the full decoder");
	printf("%ld frames compared, %ld taken by the fast path, %ld disagreements\n",
		   tf_frames, tf_accepted, tf_disagree);
	printf("%d passed, %d failed\n", tf_passed, tf_failed);
	return tf_failed > 0;
}
