#!/usr/bin/python3
"""gen_depth.py SYMBOLS FRAMES OUT -- a synthetic Binance diff-depth capture
for the order-book benchmark (test/bench/run-books.sh): SYMBOLS instruments
(S000USDT, ...) x FRAMES depthUpdate frames each, interleaved round-robin as
the combined stream delivers them, 100 ms apart per symbol (E), update ids
consecutive per symbol (U = previous u + 1), 44 level changes per frame (the
mean of the real BTCUSDT capture) within 200 ticks of a random-walk mid, one
in five a delete.  Deterministic (seeded)."""
import random
import sys

n_sym, n_frames, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rnd = random.Random(17)
mid = [rnd.randint(100000, 9000000) for _ in range(n_sym)]     # cents
uid = [rnd.randint(10**9, 10**10) for _ in range(n_sym)]
with open(out, 'w') as f:
    for k in range(n_frames):
        for s in range(n_sym):
            mid[s] += rnd.randint(-3, 3)
            bids, asks = [], []
            for _ in range(44):
                off = rnd.randint(1, 200)
                qty = 0 if rnd.random() < 0.2 else rnd.randint(1, 10**8)
                lv = '["%d.%02d000000","%d.%08d"]' % ((mid[s] - off) // 100, (mid[s] - off) % 100, qty // 10**8, qty % 10**8) \
                    if rnd.random() < 0.5 else None
                if lv:
                    bids.append(lv)
                else:
                    asks.append('["%d.%02d000000","%d.%08d"]' % ((mid[s] + off) // 100, (mid[s] + off) % 100,
                                                                qty // 10**8, qty % 10**8))
            first = uid[s] + 1
            uid[s] += rnd.randint(44, 120)
            name = 'S%03dUSDT' % s
            f.write('{"stream":"%s@depth@100ms","data":{"e":"depthUpdate","E":%d,"s":"%s","U":%d,"u":%d,"b":[%s],"a":[%s]}}\n'
                    % (name.lower(), 1723161255000 + 100 * k, name, first, uid[s], ','.join(bids), ','.join(asks)))
