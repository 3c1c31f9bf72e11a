/*
 * fuzz_decode.c
 *	  libFuzzer target for src/ingest/decode*.c.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *            test/fuzz/fuzz_decode.c src/ingest/decode*.c -lcjson
 * Per-decoder targets: -DTD_FUZZ_ONLY=TD_BINANCE (etc.) pins the exchange,
 * so `make fuzz` builds one binary per decoder (test/fuzz/run-fuzz.sh).
 * Input: byte 0 selects the exchange (low 3 bits, mod TD_EXCHANGE_COUNT;
 * ignored under TD_FUZZ_ONLY),
 * the generic map variant (bit 3) and the output capacity (bits 4-7, so
 * TD_OVERFLOW paths are exercised); the rest is the frame, passed with its
 * exact length and no NUL terminator.  The frame is copied so that it ends
 * exactly at a PROT_NONE guard page: a read past len faults even inside the
 * (uninstrumented) system libcjson, where ASan cannot see it.
 * Every call's result must satisfy the invariants promised in decode.h, or
 * the target aborts.  The frame bytes (NUL-terminated, first 200) are also
 * fed to tsk_td_canonical_symbol and tsk_td_subscribe_message.
 */
#include "ingest/decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define TD_FUZZ_REGION (4u << 20)	/* inputs up to 4 MB go before the guard page */

/* Two maps: Binance-like envelope, and Kraken-v1-like arrays with root paths. */
static const td_generic_map td_fuzz_maps[2] = {
	{.match_path = "data.e", .match_value = "trade", .instrument = "data.s", .price = "data.p",
		.qty = "data.q", .ts = "data.T", .ts_unit = TD_TS_MS, .trade_id = "data.t", .side = "data.m",
	.side_mode = TD_SIDE_MAKER},
	{.items = "1", .instrument = "$.3", .price = "0", .qty = "1", .ts = "2", .ts_unit = TD_TS_RFC3339,
	.side = "3"},
};

/*
 * td_fuzz_check
 *	  Abort unless the result honours the documented invariants.
 */
static void
td_fuzz_check(td_kind k, const td_result *r, const td_trade *t, int cap)
{
	if ((unsigned) k > TD_OVERFLOW || k != r->kind || r->ntrades < 0 || r->ntrades > cap ||
		!memchr(r->error, 0, sizeof r->error) || !memchr(r->detail, 0, sizeof r->detail) ||
		(k == TD_ERROR && r->error[0] == '\0') || (k == TD_OVERFLOW && r->needed <= cap))
		abort();
	for (const char *p = r->error; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
	for (const char *p = r->detail; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
	for (int i = 0; k == TD_TRADES && i < r->ntrades; i++)
		if (!memchr(t[i].instrument, 0, sizeof t[i].instrument) || t[i].instrument[0] == '\0' ||
			!isfinite(t[i].price) || !(t[i].price > 0) || !isfinite(t[i].qty) || t[i].qty < 0 ||
			t[i].ts_us < 0 || t[i].ts_us > TD_MAX_TS_US || t[i].trade_id < 0 ||
			(t[i].side != 0 && t[i].side != 'b' && t[i].side != 's'))
			abort();
}

/*
 * td_fuzz_guarded
 *	  Copy n bytes so that they end right before an unreadable page.
 */
static char *
td_fuzz_guarded(const uint8_t *src, size_t n)
{
	static char *region;
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);

	if (region == NULL)
	{
		region = mmap(NULL, TD_FUZZ_REGION + page, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (region == MAP_FAILED || mprotect(region + TD_FUZZ_REGION, page, PROT_NONE) != 0)
			abort();
	}
	if (n > TD_FUZZ_REGION)
		return NULL;
	memcpy(region + TD_FUZZ_REGION - n, src, n);
	return region + TD_FUZZ_REGION - n;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerTestOneInput
 *	  libFuzzer entry point.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	td_trade	out[16];
	td_result	res;
	td_exchange ex;
	int			cap;
	char	   *frame;
	char		text[201];
	const char *ins[1] = {text};
	char		sub[1024];

	if (size < 1)
		return 0;
#ifdef TD_FUZZ_ONLY
	ex = TD_FUZZ_ONLY;
#else
	ex = (td_exchange) ((data[0] & 7) % TD_EXCHANGE_COUNT);
#endif
	cap = data[0] >> 4;
	if ((frame = td_fuzz_guarded(data + 1, size - 1)) != NULL)
		td_fuzz_check(tsk_td_decode(ex, &td_fuzz_maps[(data[0] >> 3) & 1], frame, size - 1,
								out, cap, &res), &res, out, cap);

	memcpy(text, data + 1, size - 1 < 200 ? size - 1 : 200);
	text[size - 1 < 200 ? size - 1 : 200] = '\0';
	if (tsk_td_canonical_symbol(text, sub, 64) == 0 && (sub[0] == '\0' || strlen(sub) >= 64))
		abort();
	if (tsk_td_subscribe_message((td_feed) (data[0] % TD_FEED_COUNT), ins, 1, sub, sizeof sub) >= (int) sizeof sub
		&& sub[0] != '\0')
		abort();
	tsk_td_binance_stream_path(TD_FEED_BINANCE_TRADE, ins, 1, sub, sizeof sub);
	return 0;
}
