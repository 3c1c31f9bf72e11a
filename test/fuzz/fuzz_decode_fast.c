/*
 * fuzz_decode_fast.c
 *	  Differential libFuzzer target for src/ingest/decode_fast.c: whenever
 *	  the Binance fast path accepts an input, the full decoder must return
 *	  exactly one trade equal to it in every field, or the target aborts.
 *	  The input is copied into a buffer of exactly its length, so a read
 *	  past it is an AddressSanitizer error.  Seed it with Binance frames
 *	  (make fuzz does, from the captures).
 */
#include "ingest/decode.h"
#include "ingest/decode_fast.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerTestOneInput
 *	  One input: the fast path, and the full decoder whenever it accepts.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *frame = malloc(size ? size : 1);
	td_trade	fast;
	td_trade	full[4];
	td_result	res;
	td_generic_map map;

	if (frame == NULL)
		return 0;
	memcpy(frame, data, size);
	memset(&map, 0, sizeof(map));
	if (tsk_td_binance_fast(frame, size, &fast))
	{
		td_kind		kind = tsk_td_decode(TD_BINANCE, &map, frame, size, full, 4, &res);

		if (kind != TD_TRADES || res.ntrades != 1 ||
			strcmp(full[0].instrument, fast.instrument) != 0 ||
			full[0].trade_id != fast.trade_id || full[0].ts_us != fast.ts_us ||
			memcmp(&full[0].price, &fast.price, sizeof(double)) != 0 ||
			memcmp(&full[0].qty, &fast.qty, sizeof(double)) != 0 ||
			full[0].side != fast.side || full[0].id_derived != fast.id_derived)
			abort();
	}
	free(frame);
	return 0;
}
