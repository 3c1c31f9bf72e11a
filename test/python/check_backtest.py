#!/usr/bin/python3
"""check_backtest.py MODEL_HEX ROWS_CSV META_JSON

Re-does backtest() (README, "Signals and backtests") of one model from
outside the database, and compares every figure.

  MODEL_HEX  the model's bytes (triggerstock.models.model) in hex;
  ROWS_CSV   the features() rows of the backtest: epoch, close, rsi_14,
             macd_hist, then the model's features in its column order
             (empty = missing);
  META_JSON  {"backtest": <backtest()'s jsonb>, "horizon", "target",
             "features": [names], "from", "to" (epoch seconds),
             "width_seconds"}.

The model's scores come from python3-xgboost on the float32 rows (not from
the database); the rules baseline from rsi_14 and macd_hist as float32; the
periods, positions, fees and statistics from the rule written in the
README.  Prints "ok ..." or "FAIL ..." lines, and a "row:" line with the
figures for the README table.  Exit status 0 when every figure agrees
(to 1e-9 relative; counts exactly).
"""
import csv
import json
import math
import sys

import numpy as np
import xgboost


def figures(pos, ret, fee, periods_per_year):
    """The figures of one strategy: positions pos, period returns ret."""
    n = len(ret)
    last = 0
    out = dict(periods=n, trades=0, hits=0, false_signals=0, gross_pnl=0.0, fees=0.0, pnl=0.0,
               turnover=0.0, max_drawdown=0.0)
    pnl = []
    cum = peak = 0.0
    for k in range(n):
        s = pos[k]
        change = abs(s - last) + (abs(s) if k == n - 1 else 0)
        g = s * ret[k]
        p = g - fee * change
        out["trades"] += s != 0
        out["hits"] += g > 0
        out["false_signals"] += g < 0
        out["gross_pnl"] += g
        out["fees"] += fee * change
        out["turnover"] += change
        pnl.append(p)
        cum += p
        peak = max(peak, cum)
        out["max_drawdown"] = max(out["max_drawdown"], peak - cum)
        last = s
    out["pnl"] = math.fsum(pnl)
    out["hit_rate"] = out["hits"] / out["trades"] if out["trades"] else None
    out["false_signal_rate"] = out["false_signals"] / out["trades"] if out["trades"] else None
    sd = float(np.std(pnl, ddof=1)) if n > 1 else 0.0
    out["sharpe"] = float(np.mean(pnl)) / sd * math.sqrt(periods_per_year) if n > 1 and sd > 0 else None
    return out


def position(score, probability, thr):
    if math.isnan(score):
        return 0
    if probability:
        return 1 if score > thr else -1 if score < 1 - thr else 0
    return 1 if score > thr else -1 if score < -thr else 0


def main():
    model_hex, rows_csv, meta_json = sys.argv[1:4]
    with open(meta_json) as f:
        meta = json.load(f)
    bt = meta["backtest"]
    h = int(meta["horizon"])
    names = meta["features"]
    with open(rows_csv, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        rows = [r for r in reader]
    epoch = np.array([float(r[0]) for r in rows])
    close = np.array([float(r[1]) for r in rows])
    f32 = lambda v: float(np.float32(v)) if v != "" else math.nan
    rsi = [f32(r[2]) for r in rows]
    macd = [f32(r[3]) for r in rows]
    x = np.array([[float(v) if v != "" else np.nan for v in r[4:]] for r in rows], dtype=np.float32)
    if len(rows) == 0:
        x = np.zeros((0, len(names)), dtype=np.float32)
    booster = xgboost.Booster(model_file=bytearray(bytes.fromhex(open(model_hex).read().strip())))
    booster.set_param({"nthread": 1})
    scores = booster.predict(xgboost.DMatrix(x, missing=np.nan, feature_names=names)).astype(np.float64) \
        if len(rows) else np.zeros(0)

    probability = meta["target"] == "direction"
    thr = float(bt["threshold"])
    rules_thr = thr if probability else 0.5
    fee = float(bt["fee_bps"]) / 10000.0
    periods_per_year = 365 * 86400 / (h * float(meta["width_seconds"]))
    starts = []
    i = 0
    while i + h < len(rows) and epoch[i] <= float(meta["to"]):
        starts.append(i)
        i += h
    ret = [math.log(close[i + h] / close[i]) for i in starts]
    rules = [0.5 + 0.05 * math.tanh((50.0 - rsi[i]) / 10.0) + 0.05 * math.tanh(macd[i] / 0.0005)
             if not (math.isnan(rsi[i]) or math.isnan(macd[i])) else math.nan for i in starts]
    # a python score within 1e-6 of a threshold may fall on the other side of ours
    near = sum(1 for i in starts if abs(scores[i] - thr) < 1e-6 or (probability and abs(scores[i] - (1 - thr)) < 1e-6)
               or (not probability and abs(scores[i] + thr) < 1e-6))
    mine = {
        "model": figures([position(scores[i], probability, thr) for i in starts], ret, fee, periods_per_year),
        "buy_and_hold": figures([1] * len(starts), ret, fee, periods_per_year),
        "rules": figures([position(r, True, rules_thr) for r in rules], ret, fee, periods_per_year),
    }
    good = True
    compared = 0
    for strategy, fig in mine.items():
        if strategy == "model" and near:
            print("ok model: %d score(s) within 1e-6 of a threshold, its figures not compared" % near)
            continue
        for key, want in fig.items():
            got = bt[strategy].get(key)
            compared += 1
            if want is None or got is None:
                same = want is None and got is None
            elif isinstance(want, (int, bool)) and key not in ("turnover",):
                same = int(got) == int(want)
            else:
                same = abs(float(got) - float(want)) <= 1e-9 * max(1.0, abs(float(want)))
            if not same:
                good = False
                print("FAIL %s %s: backtest() %r, recomputed %r" % (strategy, key, got, want))
    if mine["model"]["trades"] and mine["rules"]["trades"]:
        vs = mine["model"]["false_signal_rate"] - mine["rules"]["false_signal_rate"]
        if abs(float(bt["false_signal_rate_vs_rules"]) - vs) > 1e-9:
            good = False
            print("FAIL false_signal_rate_vs_rules: %r, recomputed %r" % (bt["false_signal_rate_vs_rules"], vs))
    first = bt["first_bucket"]
    print("%s %d figures of %d periods (first row %s) equal python3-xgboost's recomputation"
          % ("ok" if good else "FAIL", compared, len(starts), first))

    def cell(fig):
        r = lambda v, d: "–" if v is None else ("%.*f" % (d, v))
        return "%d / %s / %s / %s / %s / %s" % (fig["trades"], r(fig["hit_rate"], 3), r(fig["pnl"] * 100, 2),
                                                r(fig["sharpe"], 1), r(fig["max_drawdown"] * 100, 2),
                                                r(fig["turnover"], 0))
    print("row: %s | %s | %s | %s" % (len(starts), cell(bt["model"]), cell(bt["rules"]), cell(bt["buy_and_hold"])))
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
