#!/usr/bin/python3
"""chart.py - PNG charts of a triggerstock database (make chart).

For each symbol (default: those with candles among BTC and ETH) draws
  market_SYM.png   price candles with Bollinger bands (20, 2) and session
                   VWAP, volume, RSI (14) and MACD (12, 26, 9);
  model_SYM.png    the predictor's probability of a higher close against
                   what happened, and the rolling live accuracy (last 60
                   realised predictions) against the majority baseline;
  overview.png     both for the first symbol (the README's picture).
The indicators come from the database (the same window functions and
warm-up as the Grafana Market dashboard), not from matplotlib.

Usage: chart.py --dsn URI --out DIR [--hours 6] [--width '5 minutes'] [SYM ...]
Needs python3-matplotlib and python3-psycopg2 (Debian).
"""
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import psycopg2  # noqa: E402

MARKET_SQL = """
WITH k AS (
  SELECT date_bin(%(width)s::interval, c.bucket, TIMESTAMPTZ 'epoch') AS bucket,
         rollup(ROW(c.open, c.high, c.low, c.close, c.volume, c.vwap, c.trades,
                    c.open_time, c.close_time, c.open_seq, c.close_seq, c.sums)::ohlcv) AS c
  FROM triggerstock.candles c
  WHERE c.symbol = %(symbol)s AND c.width = interval '1 minute'
    AND c.bucket >= least(date_trunc('day', %(since)s::timestamptz, 'UTC'),
                          %(since)s::timestamptz - 200 * %(width)s::interval)
  GROUP BY 1)
SELECT bucket, (c).open, (c).high, (c).low, (c).close, (c).volume,
       (bb).upper, (bb).lower, session_vwap, rsi_14, (m).macd, (m).signal, (m).hist
FROM (SELECT bucket, c, bbands((c).close, 20, 2) OVER w AS bb,
             vwap(coalesce((c).vwap, ((c).high + (c).low + (c).close) / 3), (c).volume)
               OVER (PARTITION BY date_trunc('day', bucket, 'UTC') ORDER BY bucket) AS session_vwap,
             rsi((c).close, 14) OVER w AS rsi_14, macd((c).close, 12, 26, 9) OVER w AS m
      FROM k WINDOW w AS (ORDER BY bucket)) x
WHERE bucket >= %(since)s::timestamptz
ORDER BY bucket
"""

MODEL_SQL = """
SELECT bucket, probability, outcome,
       avg(((probability >= 0.5) = outcome)::int) OVER w AS acc,
       greatest(avg(outcome::int) OVER w, 1 - avg(outcome::int) OVER w) AS majority,
       count(*) OVER w AS n
FROM triggerstock.predictions
WHERE symbol = %(symbol)s AND probability IS NOT NULL AND fallback_level = 'model'
  AND bucket >= %(since)s::timestamptz - interval '60 minutes'
WINDOW w AS (PARTITION BY outcome IS NOT NULL ORDER BY bucket ROWS BETWEEN 59 PRECEDING AND CURRENT ROW)
ORDER BY bucket
"""


def fetch(cur, sql, **params):
    cur.execute(sql, params)
    return cur.fetchall()


def draw_market(axes, rows, symbol, width):
    ax, axv, axr, axm = axes
    t = [r[0] for r in rows]
    span = (t[1] - t[0]).total_seconds() / 86400 if len(t) > 1 else 1 / 1440
    for r in rows:
        o, h, lo, c = r[1], r[2], r[3], r[4]
        color = "#26a69a" if c >= o else "#ef5350"
        ax.vlines(r[0], lo, h, color=color, linewidth=0.7)
        ax.bar(r[0], max(abs(c - o), 1e-9), bottom=min(o, c), width=span * 0.7, color=color)
        axv.bar(r[0], r[5], width=span * 0.7, color=color, alpha=0.6)
    ax.plot(t, [r[6] for r in rows], color="#7e57c2", linewidth=0.8, label="Bollinger upper (20, 2)")
    ax.plot(t, [r[7] for r in rows], color="#7e57c2", linewidth=0.8, label="Bollinger lower")
    ax.plot(t, [r[8] for r in rows], color="#ff9800", linewidth=1.0, label="session VWAP")
    lows = [v for r in rows for v in (r[3], r[7], r[8]) if v is not None]
    highs = [v for r in rows for v in (r[2], r[6], r[8]) if v is not None]
    pad = (max(highs) - min(lows)) * 0.05 or 1.0
    ax.set_ylim(min(lows) - pad, max(highs) + pad)
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax.set_title("%s, %s candles" % (symbol, width))
    ax.legend(loc="upper left", fontsize=7)
    axv.set_ylabel("volume")
    axr.plot(t, [r[9] for r in rows], color="#1e88e5", linewidth=0.9)
    axr.axhline(70, color="grey", linewidth=0.5, linestyle="--")
    axr.axhline(30, color="grey", linewidth=0.5, linestyle="--")
    axr.set_ylim(0, 100)
    axr.set_ylabel("RSI 14")
    axm.plot(t, [r[10] for r in rows], color="#1e88e5", linewidth=0.9, label="MACD")
    axm.plot(t, [r[11] for r in rows], color="#fb8c00", linewidth=0.9, label="signal")
    axm.bar(t, [r[12] if r[12] is not None else 0 for r in rows], width=span * 0.7, color="grey", alpha=0.5)
    axm.set_ylabel("MACD")
    axm.legend(loc="upper left", fontsize=7)


def draw_model(axes, rows, symbol):
    axp, axa = axes
    if not rows:
        axp.text(0.5, 0.5, "no predictions yet", ha="center", transform=axp.transAxes)
        axa.text(0.5, 0.5, "no realised predictions yet", ha="center", transform=axa.transAxes)
        return
    t = [r[0] for r in rows]
    axp.plot(t, [r[1] for r in rows], color="#1e88e5", linewidth=0.9, label="P(next close higher)")
    up = [(r[0], 1.02) for r in rows if r[2] is True]
    dn = [(r[0], -0.02) for r in rows if r[2] is False]
    if up:
        axp.scatter(*zip(*up), marker="^", s=10, color="#26a69a", label="closed higher")
    if dn:
        axp.scatter(*zip(*dn), marker="v", s=10, color="#ef5350", label="did not")
    axp.axhline(0.5, color="grey", linewidth=0.5, linestyle="--")
    axp.set_ylim(-0.08, 1.08)
    axp.set_title("%s: the deployed model's probability against what happened" % symbol)
    axp.legend(loc="upper left", fontsize=7, ncol=3)
    real = [r for r in rows if r[2] is not None]
    if real:
        axa.plot([r[0] for r in real], [r[3] for r in real], color="#1e88e5", label="live accuracy (last 60)")
        axa.plot([r[0] for r in real], [r[4] for r in real], color="grey", linestyle="--",
                 label="majority baseline (same outcomes)")
        axa.set_ylim(0, 1)
        axa.legend(loc="lower left", fontsize=7)
    axa.set_ylabel("accuracy")


def finish(fig, path):
    for ax in fig.axes:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=None))
        ax.grid(True, linewidth=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print("    wrote", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--hours", type=float, default=6)
    ap.add_argument("--width", default="5 minutes")
    ap.add_argument("symbols", nargs="*")
    a = ap.parse_args()
    con = psycopg2.connect(a.dsn)
    con.set_session(readonly=True, autocommit=True)
    cur = con.cursor()
    cur.execute("SET TimeZone = 'UTC'")
    symbols = a.symbols or [r[0] for r in fetch(cur, """
        SELECT s FROM unnest(ARRAY['BTC', 'ETH']) s
        WHERE EXISTS (SELECT 1 FROM triggerstock.candles c WHERE c.symbol = s)""")]
    cur.execute("SELECT now() - %s * interval '1 hour'", (a.hours,))
    since = cur.fetchone()[0]
    os.makedirs(a.out, exist_ok=True)
    for i, sym in enumerate(symbols):
        market = fetch(cur, MARKET_SQL, symbol=sym, width=a.width, since=since)
        model = fetch(cur, MODEL_SQL, symbol=sym, since=since)
        if not market:
            print("    %s: no candles in the last %g h" % (sym, a.hours))
            continue
        fig, axes = plt.subplots(4, 1, figsize=(11, 9), sharex=True,
                                 gridspec_kw={"height_ratios": [4, 1.2, 1.5, 1.5]})
        draw_market(axes, market, sym, a.width)
        finish(fig, os.path.join(a.out, "market_%s.png" % sym))
        fig, axes = plt.subplots(2, 1, figsize=(11, 5), sharex=True)
        draw_model(axes, model, sym)
        finish(fig, os.path.join(a.out, "model_%s.png" % sym))
        if i == 0:
            fig, axes = plt.subplots(6, 1, figsize=(11, 13), sharex=True,
                                     gridspec_kw={"height_ratios": [4, 1.2, 1.5, 1.5, 2, 1.5]})
            draw_market(axes[:4], market, sym, a.width)
            draw_model(axes[4:], model, sym)
            finish(fig, os.path.join(a.out, "overview.png"))


if __name__ == "__main__":
    main()
