/*
 * test_decode.h
 *	  What the three parts of the decoder unit tests share (test_decode.c:
 *	  captures, throughput, main; test_decode_frames.c: known frames,
 *	  canonical symbols; test_decode_input.c: capacity, hostile input,
 *	  generic map, subscribe).
 */
#ifndef TEST_DECODE_H
#define TEST_DECODE_H

#include "ingest/decode.h"

#include <stddef.h>
#include <stdio.h>

extern int	n_pass, n_fail;

#define CHECK(cond, ...) \
	do { \
		if (cond) \
			n_pass++; \
		else \
		{ \
			n_fail++; \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} while (0)

/* A file's lines, NUL-terminated (load_lines). */
typedef struct
{
	char	   *buf;
	char	  **line;
	size_t	   *len;
	int			n;
} lines;

/* helpers defined in test_decode.c */
int			load_lines(const char *path, lines *L);
void		free_lines(lines *L);

/* helpers and test groups defined in test_decode_frames.c */
const char *J(const char *s);
td_kind		D(td_exchange ex, const char *frame, td_trade *out, int cap, td_result *r);
void		expect_control(td_exchange ex, const char *frame);
void		expect_error(td_exchange ex, const char *frame, const char *needle);
void		expect_trade(const char *what, const td_trade *t, const char *sym, int64_t id, int derived,
						 int64_t ts, double price, double qty, char side);
void		test_binance(void);
void		test_coinbase(void);
void		test_kraken(void);
void		test_finnhub(void);
void		test_canonical(void);

/* test groups defined in test_decode_input.c */
void		test_overflow(void);
void		test_malformed(void);
void		test_generic(const char *shared);
void		test_subscribe(void);

#endif							/* TEST_DECODE_H */
