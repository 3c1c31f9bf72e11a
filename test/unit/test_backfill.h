/*
 * test_backfill.h
 *	  what the two halves of the backfill unit test share (test_backfill.c:
 *	  helpers, the fake exchange, Binance, main; test_backfill_more.c:
 *	  Coinbase, Kraken, candles, hostile pages, URLs, the trade-id gap
 *	  tracker).
 */
#ifndef TEST_BACKFILL_H
#define TEST_BACKFILL_H

#include "backfill/rest.h"

#include <stdio.h>

extern int	n_pass,
			n_fail;

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

#define CAP 6000

/* the page buffers every test uses */
extern td_trade trades[CAP];
extern bf_candle candles[CAP];

/* Dataset rows as JSON texts with their id and time (ms or ns). */
typedef struct
{
	int			n;
	char	  **json;
	long long  *id;
	long long  *t;
} dataset;

char	   *slurp(const char *path, size_t *len);
int64_t		iso_us(const char *s);
long long	qparam(const char *url, const char *name, long long def);
char	   *fake_binance(const dataset *ds, const char *url);
char	   *fake_coinbase(const dataset *ds, const char *url);
char	   *fake_kraken(const dataset *ds, const char *url);
int			run_job(const bf_job *job, const dataset *ds, char *(*fake) (const dataset *, const char *),
					td_trade *all, int allcap, int *pages, char *err);

void		test_coinbase(const char *shared);
void		test_kraken(const char *shared);
void		test_candles(const char *shared);
void		test_hostile(void);
void		test_urls(void);
void		test_idgap(void);

#endif							/* TEST_BACKFILL_H */
