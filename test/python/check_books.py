#!/usr/bin/python3
"""check_books.py -- independent references for the order-book TAP test
(test/t/015_books.pl); shares no code with src/ingest/book*.c.

  check_books.py rows FORMAT CAPTURE ROWS.json [DEPTH]
      Rebuild every book of CAPTURE (kraken | coinbase | binance) with
      decimal.Decimal dictionaries, exactly as the exchange defines it
      (Kraken: truncated to DEPTH levels a side after each message; Binance:
      every diff from the first onto an empty book, as the local exchange's
      derived REST snapshot does).  ROWS.json holds the stored samples
      (instrument, event_us, bid_price, bid_qty, ask_price, ask_qty).  A
      sample is compared with the book after the message whose exchange time
      equals its event time (a sample whose event time several messages
      share must equal one of them); every level, price and quantity, must
      be equal as float8.  Prints "compared N ambiguous A unmatched U
      mismatched M" and the first mismatches.

  check_books.py features WIDTH_US ROWS.json FEATURES.json
      Recompute book_features() from the stored samples (ts_us, instrument,
      levels, ofi, updates, resyncs) and compare every field of every
      bucket with FEATURES.json (relative 1e-9; counts exactly).  Prints
      "buckets N mismatched M".
"""
import json
import sys
from decimal import Decimal


def load(path):
    with open(path) as f:
        return json.load(f)


def lines(path):
    import gzip
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rt') as f:
        for line in f:
            line = line.strip()
            if line:
                yield line


def epoch_text_us(s):
    """'1618678133.366461' -> microseconds (first 6 decimals)."""
    whole, _, frac = s.partition('.')
    return int(whole) * 1000000 + int((frac + '000000')[:6])


def rfc3339_us(s):
    """'2021-04-17T16:43:37.075687Z' -> microseconds."""
    import datetime
    main, _, frac = s.rstrip('Z').partition('.')
    dt = datetime.datetime.strptime(main, '%Y-%m-%dT%H:%M:%S').replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 1000000 + int((frac + '000000')[:6])


def top(book, n=10):
    """The first n levels of each side as floats: (bp, bq, ap, aq)."""
    bids = sorted(book['b'].items(), key=lambda kv: -kv[0])[:n]
    asks = sorted(book['a'].items(), key=lambda kv: kv[0])[:n]
    return ([float(p) for p, _ in bids], [float(q) for _, q in bids],
            [float(p) for p, _ in asks], [float(q) for _, q in asks])


def setlevel(side, price, qty):
    p, q = Decimal(price), Decimal(qty)
    if q == 0:
        side.pop(p, None)
    else:
        side[p] = q


def truncate(book, depth):
    for s in ('b', 'a'):
        while len(book[s]) > depth:
            del book[s][min(book[s]) if s == 'b' else max(book[s])]


def states(fmt, capture, depth, wanted):
    """Yield (instrument, event_us, top10) after every book message whose
    (instrument, event_us) is in wanted (top10 is costly)."""
    books = {}
    for line in lines(capture):
        m = json.loads(line)
        if fmt == 'kraken':
            if not isinstance(m, list) or not str(m[-2]).startswith('book-'):
                continue
            pair, objs = m[-1], m[1:-2]
            ev = -1
            if 'as' in objs[0] or 'bs' in objs[0]:
                books[pair] = {'a': {}, 'b': {}}
            b = books[pair]
            for o in objs:
                for key, side in (('as', 'a'), ('bs', 'b'), ('a', 'a'), ('b', 'b')):
                    for lv in o.get(key, []):
                        setlevel(b[side], lv[0], lv[1])
                        ev = max(ev, epoch_text_us(lv[2]))
            truncate(b, depth)
            if (pair, ev) in wanted:
                yield pair, ev, top(b)
        elif fmt == 'coinbase':
            if not isinstance(m, dict) or m.get('type') not in ('snapshot', 'l2update'):
                continue
            pid = m['product_id']
            if m['type'] == 'snapshot':
                b = books[pid] = {'a': {}, 'b': {}}
                for p, q in m['bids']:
                    setlevel(b['b'], p, q)
                for p, q in m['asks']:
                    setlevel(b['a'], p, q)
                continue        # a snapshot carries no time
            b = books[pid]
            for side, p, q in m['changes']:
                setlevel(b['b' if side == 'buy' else 'a'], p, q)
            ev = rfc3339_us(m['time'])
            if (pid, ev) in wanted:
                yield pid, ev, top(b)
        else:
            d = m.get('data', m)
            if d.get('e') != 'depthUpdate':
                continue
            b = books.setdefault(d['s'], {'a': {}, 'b': {}})
            for p, q in d['b']:
                setlevel(b['b'], p, q)
            for p, q in d['a']:
                setlevel(b['a'], p, q)
            if (d['s'], d['E'] * 1000) in wanted:
                yield d['s'], d['E'] * 1000, top(b)


def check_rows(fmt, capture, rows_path, depth):
    rows = load(rows_path) or []
    wanted = {(r['instrument'], r['event_us']) for r in rows}
    ref = {}
    for ins, ev, t in states(fmt, capture, depth, wanted):
        ref.setdefault((ins, ev), []).append(t)
    compared = ambiguous = unmatched = bad = 0
    for r in rows:
        key = (r['instrument'], r['event_us'])
        n = len(r['bid_price'])
        got = (r['bid_price'], r['bid_qty'], r['ask_price'], r['ask_qty'])
        cands = ref.get(key)
        if not cands:
            unmatched += 1
            continue
        want = [tuple(x[:n] if i < 2 else x[:len(r['ask_price'])] for i, x in enumerate(c)) for c in cands]
        if len(cands) > 1:
            ambiguous += 1
        if any(tuple(got) == w for w in want):
            compared += 1
        else:
            bad += 1
            if bad <= 3:
                print('mismatch', key, 'stored', got, 'reference', want[0])
    print(f'compared {compared} ambiguous {ambiguous} unmatched {unmatched} mismatched {bad}')


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def check_features(width_us, rows_path, feats_path):
    rows = sorted(load(rows_path) or [], key=lambda r: (r['instrument'], r['ts_us']))
    acc = {}
    for i, r in enumerate(rows):
        nxt = rows[i + 1]['ts_us'] if i + 1 < len(rows) and rows[i + 1]['instrument'] == r['instrument'] else None
        bucket = r['ts_us'] - r['ts_us'] % width_us
        end = bucket + width_us
        w = ((min(nxt, end) if nxt is not None else end) - r['ts_us']) / 1e6
        a = acc.setdefault(bucket, {'ofi': 0.0, 'updates': 0, 'resyncs': 0, 'snapshots': 0, 'num': {}, 'den': {}})
        a['ofi'] += r['ofi']
        a['updates'] += r['updates']
        a['resyncs'] += r['resyncs']
        a['snapshots'] += 1
        bp, bq, ap, aq = r['bid_price'], r['bid_qty'], r['ask_price'], r['ask_qty']
        vals = {}
        if bp and ap:
            vals['spread'] = ap[0] - bp[0]
            vals['mid'] = (ap[0] + bp[0]) / 2
            if bq[0] + aq[0] != 0:
                vals['microprice'] = (ap[0] * bq[0] + bp[0] * aq[0]) / (bq[0] + aq[0])
        for k in (1, 5, 10):
            sb, sa = sum(bq[:k]) if bq else None, sum(aq[:k]) if aq else None
            if sb is not None and sa is not None and sb + sa != 0:
                vals[f'imbalance_{k}'] = (sb - sa) / (sb + sa)
        for k, v in vals.items():
            a['num'][k] = a['num'].get(k, 0.0) + w * v
            a['den'][k] = a['den'].get(k, 0.0) + w
    feats = {f['bucket_us']: f for f in load(feats_path) or []}
    bad = 0
    if sorted(feats) != sorted(acc):
        print('buckets differ', sorted(feats)[:5], sorted(acc)[:5])
        bad += 1
    for b, a in acc.items():
        f = feats.get(b)
        if f is None:
            continue
        for k in ('spread', 'mid', 'microprice', 'imbalance_1', 'imbalance_5', 'imbalance_10'):
            want = a['num'][k] / a['den'][k] if a['den'].get(k) else None
            if not close(f[k], want):
                bad += 1
                print('mismatch', b, k, f[k], want)
        for k in ('updates', 'resyncs', 'snapshots'):
            if f[k] != a[k]:
                bad += 1
                print('mismatch', b, k, f[k], a[k])
        if not close(f['ofi'], a['ofi']):
            bad += 1
            print('mismatch', b, 'ofi', f['ofi'], a['ofi'])
    print(f'buckets {len(acc)} mismatched {bad}')


if __name__ == '__main__':
    if sys.argv[1] == 'rows':
        check_rows(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]) if len(sys.argv) > 5 else 1000)
    else:
        check_features(int(sys.argv[2]), sys.argv[3], sys.argv[4])
