#!/usr/bin/python3
"""grafana/dashboards.py - writes grafana/dashboards/*.json (Grafana's JSON model).

The dashboards are generated so that every panel has the same data source
reference, unique ids and a consistent layout; the JSON files are committed
(Grafana provisioning reads them) and test/stack/check_dashboards.py checks
that they equal this program's output.  Edit the panels here, then run
  /usr/bin/python3 grafana/dashboards.py

Conventions of the SQL (Grafana's PostgreSQL data source):
  - '$symbol' and '$width' are dashboard variables; Grafana inserts a
    single value as it is, so the SQL quotes them;
  - $__timeFilter(col), $__timeFrom(), $__timeTo(), $__timeGroupAlias(col,
    $__interval) and $__interval_ms are Grafana macros, expanded for the
    visible range, so zooming works;
  - indicators are window functions that run from the first row they are
    given: panels read candles from 200 buckets (and the start of the UTC
    day, for session VWAP) before the visible range, then filter to it, so
    the first visible values are warmed up.
"""
import json
import os

DS = {"type": "grafana-postgresql-datasource", "uid": "triggerstock"}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboards")

# 1-minute candles rolled up to $width, from 200 buckets (and the UTC day's
# start) before the visible range to its end.  The '$width' comparisons are
# constants: the planner keeps one branch (1-minute candles as they are
# stored, or rolled up).
CANDLES_CTE = """WITH k AS (
  SELECT c.bucket, ROW(c.open, c.high, c.low, c.close, c.volume, c.vwap, c.trades,
                       c.open_time, c.close_time, c.open_seq, c.close_seq, c.sums)::ohlcv AS c
  FROM triggerstock.candles c
  WHERE '$width'::interval = interval '1 minute'
    AND c.symbol = '$symbol' AND c.width = interval '1 minute'
    AND c.bucket >= least(date_trunc('day', $__timeFrom()::timestamptz, 'UTC'),
                          $__timeFrom()::timestamptz - 200 * '$width'::interval)
    AND c.bucket <= $__timeTo()::timestamptz
  UNION ALL
  SELECT date_bin('$width'::interval, c.bucket, TIMESTAMPTZ 'epoch'),
         rollup(ROW(c.open, c.high, c.low, c.close, c.volume, c.vwap, c.trades,
                    c.open_time, c.close_time, c.open_seq, c.close_seq, c.sums)::ohlcv)
  FROM triggerstock.candles c
  WHERE '$width'::interval <> interval '1 minute'
    AND c.symbol = '$symbol' AND c.width = interval '1 minute'
    AND c.bucket >= least(date_trunc('day', $__timeFrom()::timestamptz, 'UTC'),
                          $__timeFrom()::timestamptz - 200 * '$width'::interval)
    AND c.bucket <= $__timeTo()::timestamptz
  GROUP BY 1)"""


def target(sql, fmt="time_series", ref="A"):
    return {"datasource": DS, "refId": ref, "editorMode": "code", "rawQuery": True,
            "format": fmt, "rawSql": sql.strip()}


class Layout:
    """Places panels left to right in rows of 24 grid units."""

    def __init__(self):
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.next_id = 1

    def place(self, w, h):
        if self.x + w > 24:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def panel(self, title, ptype, sql, w=12, h=8, fmt=None, unit=None, options=None,
              defaults=None, overrides=None, description=None):
        if fmt is None:
            fmt = "time_series" if ptype in ("timeseries", "candlestick") else "table"
        fd = {"custom": {}}
        if unit:
            fd["unit"] = unit
        if defaults:
            fd.update(defaults)
        p = {"id": self.next_id, "type": ptype, "title": title, "datasource": DS,
             "gridPos": self.place(w, h), "targets": [target(sql, fmt)],
             "fieldConfig": {"defaults": fd, "overrides": overrides or []},
             "options": options or {}}
        if description:
            p["description"] = description
        self.next_id += 1
        return p


def variables(width=True):
    out = [{
        "name": "symbol", "label": "Symbol", "type": "query", "datasource": DS,
        "query": "SELECT DISTINCT s FROM triggerstock.sources, unnest(symbols) s ORDER BY 1",
        "definition": "SELECT DISTINCT s FROM triggerstock.sources, unnest(symbols) s ORDER BY 1",
        "refresh": 1, "sort": 1, "multi": False, "includeAll": False,
        "current": {"text": "BTC", "value": "BTC"}, "options": []}]
    if width:
        widths = ["1 minute", "5 minutes", "15 minutes", "1 hour"]
        out.append({
            "name": "width", "label": "Candle width", "type": "custom",
            "query": ",".join(widths), "multi": False, "includeAll": False,
            "current": {"text": widths[0], "value": widths[0]},
            "options": [{"text": v, "value": v, "selected": i == 0} for i, v in enumerate(widths)]})
    return out


def dashboard(uid, title, panels, width=True, time_from="now-6h"):
    return {
        "uid": uid, "title": title, "tags": ["triggerstock"], "timezone": "utc",
        "editable": True, "graphTooltip": 1, "schemaVersion": 39, "version": 1,
        "refresh": "30s", "time": {"from": time_from, "to": "now"},
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "links": [{"type": "dashboards", "tags": ["triggerstock"], "asDropdown": False,
                   "title": "triggerstock", "includeVars": True, "keepTime": True}],
        "templating": {"list": variables(width)},
        "panels": panels,
    }


def market():
    L = Layout()
    panels = [
        L.panel("$symbol $width candles, Bollinger bands (20, 2) and session VWAP", "candlestick", CANDLES_CTE + """
SELECT bucket AS "time", (c).open AS open, (c).high AS high, (c).low AS low, (c).close AS close,
       (c).volume AS volume, bb_upper, bb_lower, session_vwap
FROM (SELECT bucket, c,
             (bbands((c).close, 20, 2) OVER w).upper AS bb_upper,
             (bbands((c).close, 20, 2) OVER w).lower AS bb_lower,
             vwap(coalesce((c).vwap, ((c).high + (c).low + (c).close) / 3), (c).volume)
               OVER (PARTITION BY date_trunc('day', bucket, 'UTC') ORDER BY bucket) AS session_vwap
      FROM k WINDOW w AS (ORDER BY bucket)) x
WHERE $__timeFilter(bucket)
ORDER BY 1""", w=18, h=12, options={"mode": "candles+volume", "candleStyle": "candles",
                                     "colorStrategy": "open-close", "includeAllFields": True,
                                     "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}}),
        L.panel("Latest prediction for $symbol", "stat", """
SELECT p.probability AS "P(next close higher)", p.fallback_level AS "fallback level",
       p.bucket + interval '1 minute' AS "after the candle closing at"
FROM triggerstock.predictions p
WHERE p.symbol = '$symbol'
ORDER BY p.bucket DESC
LIMIT 1""", w=6, h=12, unit="percentunit",
                options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "/.*/", "values": False},
                         "textMode": "value_and_name", "colorMode": "value", "graphMode": "none"},
                defaults={"decimals": 3, "thresholds": {"mode": "absolute", "steps": [
                    {"color": "red", "value": None}, {"color": "yellow", "value": 0.45},
                    {"color": "green", "value": 0.55}]}}),
        L.panel("RSI (14)", "timeseries", CANDLES_CTE + """
SELECT bucket AS "time", rsi_14 AS "RSI 14"
FROM (SELECT bucket, rsi((c).close, 14) OVER (ORDER BY bucket) AS rsi_14 FROM k) x
WHERE $__timeFilter(bucket)
ORDER BY 1""", w=8, h=7, defaults={"min": 0, "max": 100, "thresholds": {"mode": "absolute", "steps": [
            {"color": "green", "value": None}, {"color": "red", "value": 70}]},
            "custom": {"thresholdsStyle": {"mode": "line"}}}),
        L.panel("MACD (12, 26, 9)", "timeseries", CANDLES_CTE + """
SELECT bucket AS "time", (m).macd AS macd, (m).signal AS signal, (m).hist AS histogram
FROM (SELECT bucket, macd((c).close, 12, 26, 9) OVER (ORDER BY bucket) AS m FROM k) x
WHERE $__timeFilter(bucket)
ORDER BY 1""", w=8, h=7, overrides=[{"matcher": {"id": "byName", "options": "histogram"},
                                      "properties": [{"id": "custom.drawStyle", "value": "bars"}]}]),
        L.panel("Stochastic (14, 3, 3)", "timeseries", CANDLES_CTE + """
SELECT bucket AS "time", (s).k AS "%K", (s).d AS "%D"
FROM (SELECT bucket, stoch((c).high, (c).low, (c).close, 14, 3, 3) OVER (ORDER BY bucket) AS s FROM k) x
WHERE $__timeFilter(bucket)
ORDER BY 1""", w=8, h=7, defaults={"min": 0, "max": 100}),
    ]
    return dashboard("triggerstock-market", "triggerstock / Market", panels)


def predictions():
    L = Layout()
    panels = [
        L.panel("$symbol: predicted probability of a higher close against what happened", "timeseries", """
SELECT p.bucket AS "time", p.probability AS "P(up)",
       CASE WHEN p.outcome THEN 1 WHEN NOT p.outcome THEN 0 END AS "closed higher (1/0)",
       1e4 * (n.close / c.close - 1) AS "next move (bp)"
FROM triggerstock.predictions p
LEFT JOIN triggerstock.candles c
  ON c.symbol = p.symbol AND c.width = interval '1 minute' AND c.bucket = p.bucket
LEFT JOIN triggerstock.candles n
  ON n.symbol = p.symbol AND n.width = interval '1 minute' AND n.bucket = p.bucket + interval '1 minute'
WHERE p.symbol = '$symbol' AND $__timeFilter(p.bucket)
ORDER BY 1""", w=24, h=9, overrides=[
            {"matcher": {"id": "byName", "options": "next move (bp)"},
             "properties": [{"id": "custom.axisPlacement", "value": "right"},
                            {"id": "custom.drawStyle", "value": "bars"}]},
            {"matcher": {"id": "byName", "options": "closed higher (1/0)"},
             "properties": [{"id": "custom.drawStyle", "value": "points"}]}]),
        L.panel("Live accuracy and log loss of $symbol's models against their baselines", "table", """
SELECT m.model_id, m.n AS predictions, m.accuracy, m.majority_accuracy AS "majority accuracy",
       m.log_loss AS "log loss",
       -(m.base_rate * ln(greatest(m.base_rate, 1e-15))
         + (1 - m.base_rate) * ln(greatest(1 - m.base_rate, 1e-15))) AS "base-rate log loss",
       -(m.base_rate * ln(greatest(m.base_rate, 1e-15))
         + (1 - m.base_rate) * ln(greatest(1 - m.base_rate, 1e-15))) - m.log_loss AS "edge (log loss)",
       m.since, m.until
FROM triggerstock.model_live_metrics m
WHERE m.symbol = '$symbol'
ORDER BY m.until DESC""", w=24, h=5, description="Baselines are computed on the same realised outcomes: always predicting the majority class, and always predicting the realised base rate (both in hindsight)."),
        L.panel("Rolling live accuracy and log loss (last 60 predictions) against baselines", "timeseries", """
SELECT "time", acc AS accuracy, majority AS "majority accuracy", ll AS "log loss",
       -(b * ln(greatest(b, 1e-15)) + (1 - b) * ln(greatest(1 - b, 1e-15))) AS "base-rate log loss"
FROM (SELECT p.bucket AS "time",
             avg(((p.probability >= 0.5) = p.outcome)::int) OVER w AS acc,
             greatest(avg(p.outcome::int) OVER w, 1 - avg(p.outcome::int) OVER w) AS majority,
             avg(CASE WHEN p.outcome THEN -ln(greatest(p.probability, 1e-15))
                      ELSE -ln(greatest(1 - p.probability, 1e-15)) END) OVER w AS ll,
             avg(p.outcome::int) OVER w AS b
      FROM triggerstock.predictions p
      WHERE p.symbol = '$symbol' AND p.outcome IS NOT NULL AND p.probability IS NOT NULL
        AND p.fallback_level = 'model'
        AND p.bucket >= $__timeFrom()::timestamptz - interval '60 minutes'
        AND p.bucket <= $__timeTo()::timestamptz
      WINDOW w AS (ORDER BY p.bucket ROWS BETWEEN 59 PRECEDING AND CURRENT ROW)) r
WHERE $__timeFilter("time")
ORDER BY 1""", w=12, h=8),
        L.panel("Fallback levels of $symbol's predictions", "timeseries", """
SELECT $__timeGroupAlias(p.bucket, $__interval), p.fallback_level AS metric, count(*) AS predictions
FROM triggerstock.predictions p
WHERE p.symbol = '$symbol' AND $__timeFilter(p.bucket)
GROUP BY 1, 2
ORDER BY 1""", w=12, h=8, defaults={"custom": {"drawStyle": "bars", "stacking": {"mode": "normal", "group": "A"},
                                              "fillOpacity": 80}}),
        L.panel("Feature drift of $symbol's deployed model (PSI, last 240 rows vs training)", "bargauge", """
SELECT f.feature, f.psi, f.training_missing AS "missing in training", f.recent_missing AS "missing recently"
FROM triggerstock.deployed d, LATERAL feature_drift(d.symbol, 240) f
WHERE d.symbol = '$symbol'
ORDER BY f.psi DESC NULLS LAST""", w=12, h=10,
                options={"displayMode": "basic", "orientation": "horizontal",
                         "reduceOptions": {"calcs": [], "fields": "/^psi$/", "values": True}},
                defaults={"min": 0, "max": 0.5, "thresholds": {"mode": "absolute", "steps": [
                    {"color": "green", "value": None}, {"color": "yellow", "value": 0.1},
                    {"color": "red", "value": 0.25}]}},
                description="Population stability index: below 0.1 stable, 0.1-0.25 moderate, above 0.25 drifted."),
        L.panel("Scoring latency", "timeseries", """
SELECT p.bucket AS "time", p.latency_us / 1000.0 AS "latency (ms)"
FROM triggerstock.predictions p
WHERE p.symbol = '$symbol' AND $__timeFilter(p.bucket)
ORDER BY 1""", w=12, h=10, unit="ms"),
    ]
    return dashboard("triggerstock-predictions", "triggerstock / Predictions", panels, width=False)


def ingestion():
    L = Layout()
    panels = [
        L.panel("Trades per second per source", "timeseries", """
SELECT $__timeGroupAlias(c.bucket, $__interval), s.name || ' ' || c.symbol AS metric,
       sum(c.trades) / (greatest($__interval_ms, 60000) / 1000.0) AS "trades/s"
FROM triggerstock.sources s
CROSS JOIN LATERAL (SELECT k.symbol, k.bucket, k.trades FROM triggerstock.candles k
                    WHERE k.symbol = ANY (s.symbols) AND k.width = interval '1 minute'
                      AND $__timeFilter(k.bucket)) c
GROUP BY 1, 2
ORDER BY 1""", w=12, h=8),
        L.panel("Frames per second per source", "timeseries", """
SELECT "time", name AS metric, rate AS "frames/s"
FROM (SELECT h.at AS "time", h.name,
             CASE WHEN h.pid = lag(h.pid) OVER w AND h.frames >= lag(h.frames) OVER w
                  THEN (h.frames - lag(h.frames) OVER w)
                       / nullif(extract(epoch FROM h.at - lag(h.at) OVER w), 0) END AS rate
      FROM grafana.ingest_history h
      WHERE h.at >= $__timeFrom()::timestamptz - interval '5 minutes' AND h.at <= $__timeTo()::timestamptz
      WINDOW w AS (PARTITION BY h.source ORDER BY h.at)) r
WHERE $__timeFilter("time") AND rate IS NOT NULL
ORDER BY 1""", w=12, h=8, description="From the per-minute snapshots of triggerstock.ingest_status (grafana.ingest_history)."),
        L.panel("Feed-to-commit latency p50 / p99 (ms, since each worker started)", "timeseries", """
SELECT h.at AS "time", h.name AS metric, h.latency_p50_ms AS p50, h.latency_p99_ms AS p99
FROM grafana.ingest_history h
WHERE $__timeFilter(h.at)
ORDER BY 1""", w=12, h=8, unit="ms"),
        L.panel("Reconnects and dead letters (since each worker started)", "timeseries", """
SELECT h.at AS "time", h.name AS metric, h.reconnects, h.dead_letters AS "dead letters"
FROM grafana.ingest_history h
WHERE $__timeFilter(h.at)
ORDER BY 1""", w=12, h=8),
        L.panel("Sources now", "table", """
SELECT s.name, s.exchange, s.state, s.state_since, s.connected_since, s.frames, s.trades,
       s.duplicates, s.dead_letters AS "dead letters", s.reconnects,
       s.latency_p50_ms AS "p50 ms", s.latency_p99_ms AS "p99 ms", s.last_trade_at
FROM triggerstock.ingest_status s
ORDER BY s.name""", w=24, h=6),
        L.panel("Recent dead letters", "table", """
SELECT d.received_at AS "time", s.name AS source, d.error, d.payload_bytes AS bytes
FROM triggerstock.dead_letters d
LEFT JOIN triggerstock.sources s ON s.id = d.source
WHERE $__timeFilter(d.received_at)
ORDER BY d.received_at DESC
LIMIT 200""", w=24, h=6),
    ]
    return dashboard("triggerstock-ingestion", "triggerstock / Ingestion", panels, width=False, time_from="now-1h")


def news():
    L = Layout()
    panels = [
        L.panel("Sentiment per symbol (mean of the items published in each interval)", "timeseries", """
SELECT $__timeGroupAlias(n.published_at, $__interval), sym AS metric, avg(n.sentiment) AS sentiment
FROM triggerstock.news n, unnest(n.symbols) sym
WHERE $__timeFilter(n.published_at)
GROUP BY 1, 2
ORDER BY 1""", w=12, h=8, defaults={"min": -1, "max": 1, "custom": {"drawStyle": "points", "pointSize": 6}}),
        L.panel("Items per symbol", "timeseries", """
SELECT $__timeGroupAlias(n.published_at, $__interval), coalesce(sym, '(none)') AS metric, count(*) AS items
FROM triggerstock.news n
LEFT JOIN LATERAL unnest(n.symbols) sym ON true
WHERE $__timeFilter(n.published_at)
GROUP BY 1, 2
ORDER BY 1""", w=12, h=8, defaults={"custom": {"drawStyle": "bars", "stacking": {"mode": "normal", "group": "A"},
                                              "fillOpacity": 80}}),
        L.panel("Headlines", "table", """
SELECT n.published_at AS "time", n.title, array_to_string(n.symbols, ', ') AS symbols,
       round(n.sentiment::numeric, 3) AS sentiment, n.scorer, n.link
FROM triggerstock.news n
WHERE $__timeFilter(n.published_at)
ORDER BY n.published_at DESC
LIMIT 200""", w=24, h=10),
        L.panel("Feeds", "table", """
SELECT f.id, f.enabled, f.poll_interval::text AS "poll interval", f.last_polled AS "last polled",
       f.last_status AS "last status", f.last_error AS "last error"
FROM triggerstock.feeds f
ORDER BY f.id""", w=24, h=5),
    ]
    return dashboard("triggerstock-news", "triggerstock / News", panels, width=False, time_from="now-24h")


EDGE = """-((m.metrics ->> 'base_rate')::float8 * ln(greatest((m.metrics ->> 'base_rate')::float8, 1e-15))
         + (1 - (m.metrics ->> 'base_rate')::float8)
           * ln(greatest(1 - (m.metrics ->> 'base_rate')::float8, 1e-15)))"""


def models():
    L = Layout()
    panels = [
        L.panel("Models (test-window metrics beside their baselines)", "table", """
SELECT m.id, m.symbol, m.width::text AS width, m.horizon, m.created_at,
       (m.metrics ->> 'n_test')::int AS "test rows",
       (m.metrics ->> 'accuracy')::float8 AS accuracy,
       (m.metrics ->> 'majority_accuracy')::float8 AS "majority accuracy",
       (m.metrics ->> 'log_loss')::float8 AS "log loss",
       coalesce((m.metrics ->> 'baseline_log_loss')::float8, """ + EDGE + """) AS "base-rate log loss",
       coalesce((m.metrics ->> 'edge_log_loss')::float8,
                """ + EDGE + """ - (m.metrics ->> 'log_loss')::float8) AS "edge (log loss)",
       (m.metrics ->> 'roc_auc')::float8 AS "ROC AUC",
       d.model_id IS NOT NULL AS deployed
FROM triggerstock.models m
LEFT JOIN triggerstock.deployed d ON d.model_id = m.id
ORDER BY m.id DESC
LIMIT 200""", w=24, h=9, description="Edge = base-rate log loss - model log loss on the model's test window (positive: better than always predicting the base rate)."),
        L.panel("Edge over the base rate per trained model", "timeseries", """
SELECT m.created_at AS "time", m.symbol AS metric,
       coalesce((m.metrics ->> 'edge_log_loss')::float8,
                """ + EDGE + """ - (m.metrics ->> 'log_loss')::float8) AS "edge (log loss)"
FROM triggerstock.models m
WHERE $__timeFilter(m.created_at)
ORDER BY 1""", w=12, h=8, defaults={"custom": {"drawStyle": "points", "pointSize": 7}}),
        L.panel("Deployed model over time", "timeseries", """
SELECT d.deployed_at AS "time", d.symbol AS metric, d.model_id AS "model id"
FROM triggerstock.deployments d
WHERE d.deployed_at <= $__timeTo()::timestamptz
ORDER BY 1""", w=12, h=8, defaults={"custom": {"lineInterpolation": "stepAfter", "showPoints": "always"}}),
        L.panel("Deployments", "table", """
SELECT d.deployed_at AS "time", d.symbol, d.model_id, d.strategy, d.reason, d.deployed_by
FROM triggerstock.deployments d
ORDER BY d.id DESC
LIMIT 200""", w=12, h=8),
        L.panel("Retraining runs (pg_cron)", "table", """
SELECT r.start_time AS "time", r.symbol, r.status, round(r.seconds, 2) AS seconds, r.return_message AS message
FROM grafana.training_runs r
WHERE $__timeFilter(r.start_time)
ORDER BY r.start_time DESC
LIMIT 200""", w=12, h=8),
        L.panel("Live metrics of every model", "table", """
SELECT m.symbol, m.model_id, m.n AS predictions, m.accuracy, m.majority_accuracy AS "majority accuracy",
       m.log_loss AS "log loss", m.since, m.until
FROM triggerstock.model_live_metrics m
ORDER BY m.symbol, m.until DESC""", w=24, h=6),
    ]
    return dashboard("triggerstock-models", "triggerstock / Models", panels, width=False, time_from="now-24h")


DASHBOARDS = {"market.json": market, "predictions.json": predictions, "ingestion.json": ingestion,
              "news.json": news, "models.json": models}


def render():
    return {name: json.dumps(f(), indent=2) + "\n" for name, f in DASHBOARDS.items()}


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for name, text in render().items():
        with open(os.path.join(OUT, name), "w") as f:
            f.write(text)
        print("wrote", os.path.join(OUT, name))
