/*
 * test_book.h
 *	  what the order-book unit tests share (test_book.c: the book structure,
 *	  decimals, checksums, OFI, decoder input; test_book_feeds.c: the real
 *	  captures through decoders and sync rules).  The reference book here is a
 *	  plain sorted array, independent of book.c's AVL trees.
 */
#ifndef TEST_BOOK_H
#define TEST_BOOK_H

#include "ingest/book.h"
#include "ingest/book_decode.h"
#include "ingest/book_sync.h"

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

/* A file's lines (NUL-terminated). */
typedef struct
{
	char	   *buf;
	char	  **line;
	size_t	   *len;
	int			n;
} book_lines;

int			book_load_lines(const char *path, book_lines *L);
void		book_free_lines(book_lines *L);

/* Reference book: sorted arrays (asks ascending, bids descending). */
typedef struct
{
	tb_level   *lv[2];
	int			n[2];
	int			cap[2];
} ref_book;

void		ref_set(ref_book *r, int side, tb_dec price, tb_dec qty);
void		ref_clear(ref_book *r);
void		ref_free(ref_book *r);
void		ref_truncate(ref_book *r, int depth);
/* 1 if the first k levels of each side of b equal r's (all if k < 0). */
int			ref_equal(const ref_book *r, const tb_book *b, int k, char *why, size_t whysz);

/* test groups of test_book_feeds.c */
void		test_kraken_capture(const char *shared);
void		test_coinbase_capture(const char *shared);
void		test_binance_capture(const char *shared);
void		test_coinbase_advanced_capture(const char *shared);

#endif							/* TEST_BOOK_H */
