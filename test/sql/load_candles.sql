-- Loads the real 1-minute candles of ../shared/data/candles/crypto into
-- triggerstock.candles for the model tests and benchmarks:
--   BTC: btc_perp_1m_2021-12-31_2022-02-01.csv (36,025 candles, naive UTC);
--   ETH: coinbase_ethusd_1m_lean (3 days, ms since UTC midnight).
-- psql variable :shared is the shared directory.  Candle files carry no
-- trade count or VWAP: trades is 0, vwap NULL.
CREATE TEMP TABLE perp (ts timestamp, open float8, high float8, low float8, close float8, volume float8);
\set perp_file :shared '/data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv'
COPY perp FROM :'perp_file' WITH (FORMAT csv, HEADER true);
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades,
                                  open_time, close_time)
SELECT 'BTC', interval '1 minute', ts AT TIME ZONE 'UTC', open, high, low, close, volume, NULL, 0,
       ts AT TIME ZONE 'UTC', ts AT TIME ZONE 'UTC' + interval '59.999 seconds'
FROM perp;

CREATE TEMP TABLE lean (ms bigint, open float8, high float8, low float8, close float8, volume float8);
CREATE TEMP TABLE lean_day (day date, ms bigint, open float8, high float8, low float8, close float8, volume float8);
\set d1 :shared '/data/candles/crypto/coinbase_ethusd_1m_lean/20170903_ethusd_minute_trade.csv'
\set d2 :shared '/data/candles/crypto/coinbase_ethusd_1m_lean/20170904_ethusd_minute_trade.csv'
COPY lean FROM :'d1' WITH (FORMAT csv);
INSERT INTO lean_day SELECT '2017-09-03', * FROM lean;
TRUNCATE lean;
COPY lean FROM :'d2' WITH (FORMAT csv);
INSERT INTO lean_day SELECT '2017-09-04', * FROM lean;
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades,
                                  open_time, close_time)
SELECT 'ETH', interval '1 minute', (day + ms * interval '1 millisecond') AT TIME ZONE 'UTC',
       open, high, low, close, volume, NULL, 0,
       (day + ms * interval '1 millisecond') AT TIME ZONE 'UTC',
       (day + ms * interval '1 millisecond') AT TIME ZONE 'UTC' + interval '59.999 seconds'
FROM lean_day;
ANALYZE triggerstock.candles;
