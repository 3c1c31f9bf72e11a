/*
 * fuzz_rest.c
 *	  libFuzzer target for the REST backfill core (src/backfill/rest_*.c): the
 *	  answer parsers and the pagination step.
 *
 * Input: byte 0 selects the endpoint (low 3 bits), the cursor the page
 * answers (bits 3-4: start, id/time, token, an id range job) and the limit
 * (bits 5-7: 1, 2, 5, 10, 100, 300, 1000, 1500); the rest is the body, passed
 * with its exact length and no NUL terminator, copied so that it ends at a
 * PROT_NONE guard page (a read past the end faults even inside libcjson).
 * Every result must honour rest.h's invariants or the target aborts: rows
 * within cap and limit, trade and candle invariants, printable errors, kept
 * rows <= parsed rows, and a next cursor that never moves backwards.
 * Seeds: test/fuzz/run-fuzz.sh rest (the REST dumps of ../shared/data).
 */
#include "backfill/rest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_REGION (4u << 20)
#define FUZZ_CAP 1600

static td_trade fz_trades[FUZZ_CAP];
static bf_candle fz_candles[FUZZ_CAP];

/*
 * fz_printable
 *	  Abort unless s is NUL-terminated printable ASCII within n bytes.
 */
static void
fz_printable(const char *s, size_t n)
{
	size_t		i;

	for (i = 0; i < n && s[i]; i++)
		if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] > 0x7e)
			abort();
	if (i == n)
		abort();
}

/*
 * fz_guarded
 *	  The body at the end of a guarded region.
 */
static const char *
fz_guarded(const uint8_t *data, size_t len)
{
	static char *region = NULL;
	static size_t page;

	if (region == NULL)
	{
		page = (size_t) sysconf(_SC_PAGESIZE);
		region = mmap(NULL, FUZZ_REGION + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (region == MAP_FAILED || mprotect(region + FUZZ_REGION, page, PROT_NONE) != 0)
			abort();
	}
	memcpy(region + FUZZ_REGION - len, data, len);
	return region + FUZZ_REGION - len;
}

/*
 * LLVMFuzzerTestOneInput
 *	  One input: parse it as the chosen endpoint's answer, step, check.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int limits[8] = {1, 2, 5, 10, 100, 300, 1000, 1500};
	bf_generic	g = {.url = "http://h/t?{instrument}", .next_url = "http://h/t?c={cursor}",
	.cursor = BF_GCUR_PATH, .next_path = "next",
	.map = {.items = "data", .instrument_const = "X", .price = "p", .qty = "q", .ts = "t",
	.ts_unit = TD_TS_MS, .trade_id = "i", .side = "s"}};
	bf_job		job = {.base_url = "http://h", .instrument = "BTCUSDT", .generic = &g,
	.has_range = true, .from_us = INT64_C(1500000000000000), .to_us = INT64_C(1800000000000000)};
	bf_cursor	cur;
	bf_page		page;
	bf_step_result res;
	const char *body;
	int			variant;
	char		url[BF_URL_MAX];

	if (size < 1 || size - 1 > FUZZ_REGION)
		return 0;
	job.ep = (bf_endpoint) (data[0] & 7);
	variant = (data[0] >> 3) & 3;
	job.limit = limits[data[0] >> 5];
	tsk_bf_cursor_parse("", &cur);
	if (variant == 1)
		tsk_bf_cursor_parse(tsk_bf_endpoint_candles(job.ep) ? "time:1600000000000000:1599999940000000:-1"
							: "id:1000:1600000000000000:999", &cur);
	else if (variant == 2)
		tsk_bf_cursor_parse("token:0:1600000000000000:999:1700000000", &cur);
	else if (variant == 3 && !tsk_bf_endpoint_candles(job.ep))
	{
		job.has_ids = true;
		job.from_id = 1000;
		job.to_id = 5000;
	}
	body = fz_guarded(data + 1, size - 1);
	if (tsk_bf_parse(&job, &cur, body, size - 1, fz_trades, fz_candles, FUZZ_CAP, &page) != 0)
	{
		fz_printable(page.error, sizeof(page.error));
		if (page.n != 0)
			abort();
		return 0;
	}
	if (page.n < 0 || page.n > FUZZ_CAP || page.n > job.limit)
		abort();
	for (int i = 0; i < page.n; i++)
	{
		if (tsk_bf_endpoint_candles(job.ep))
		{
			const bf_candle *c = &fz_candles[i];

			if (!(c->low > 0 && c->low <= c->open && c->low <= c->close && c->high >= c->open &&
				  c->high >= c->close && isfinite(c->high) && c->volume >= 0 && isfinite(c->volume) &&
				  c->open_us >= 0 && c->open_us <= TD_MAX_TS_US && c->open_us % BF_CANDLE_US == 0))
				abort();
		}
		else
		{
			const td_trade *t = &fz_trades[i];

			if (!(t->price > 0 && isfinite(t->price) && t->qty >= 0 && isfinite(t->qty) &&
				  t->ts_us >= 0 && t->ts_us <= TD_MAX_TS_US && t->trade_id >= 0))
				abort();
			fz_printable(t->instrument, sizeof(t->instrument));
		}
	}
	if (page.has_next)
		fz_printable(page.next, sizeof(page.next));
	tsk_bf_step(&job, &cur, &page, fz_trades, fz_candles, INT64_C(1700000000000000), &res);
	fz_printable(res.error, sizeof(res.error));
	if (res.nkeep < 0 || res.nkeep > page.n || res.progress < 0 || res.progress > 1)
		abort();
	if (!res.error[0] && !res.done && res.next.mode == cur.mode && cur.mode == BF_CUR_ID &&
		job.ep != BF_COINBASE_TRADES && res.next.value < cur.value)
		abort();				/* ascending id cursors never move back */
	if (!res.error[0] && job.ep == BF_COINBASE_TRADES && cur.mode == BF_CUR_ID &&
		res.next.mode == BF_CUR_ID && res.next.value > cur.value)
		abort();				/* Coinbase's "after" never moves up */
	if (!res.done && !res.error[0] && res.next.mode != BF_CUR_DONE)
	{
		int			n = tsk_bf_page_url(&job, &res.next, url, sizeof(url));

		if (n >= (int) sizeof(url))
			abort();
		if (n >= 0)
			fz_printable(url, sizeof(url));
	}
	return 0;
}
