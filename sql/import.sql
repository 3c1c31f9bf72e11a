--
-- import_trades / import_candles: every format, loaded from the real files of
-- ../shared/data (server-side path, and the client \copy recipe), or from
-- lines this test derives from the real REST dumps (exchange CSV layouts);
-- each load is compared field by field with an independent reading of the
-- same data (COPY into typed columns, or the JSON itself).
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS triggerstock CASCADE;
CREATE EXTENSION triggerstock;
SET client_min_messages = notice;
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\set data :abs_srcdir '/../shared/data'

------------------------------------------------------------------------------
-- candles: csv with a header (BTC perpetual, naive UTC times)
------------------------------------------------------------------------------
\set perp :data '/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv'
SELECT import_candles(:'perp', 'csv', 'BTC') AS written;
CREATE TEMP TABLE perp (ts timestamp, open float8, high float8, low float8, close float8, volume float8);
COPY perp FROM :'perp' WITH (FORMAT csv, HEADER true);
SELECT count(*) AS rows, count(*) FILTER (WHERE k.bucket IS NULL
       OR (k.open, k.high, k.low, k.close, k.volume, k.trades, k.open_time, k.close_time, k.origin)
          IS DISTINCT FROM (p.open, p.high, p.low, p.close, p.volume, 0::bigint, p.ts AT TIME ZONE 'UTC',
                            p.ts AT TIME ZONE 'UTC' + interval '59.999 seconds', 'file:csv')
       OR k.vwap IS NOT NULL) AS mismatches
FROM perp p LEFT JOIN triggerstock.candles k ON k.symbol = 'BTC' AND k.bucket = p.ts AT TIME ZONE 'UTC';
-- a second import changes nothing
SELECT import_candles(:'perp', 'csv', 'BTC') AS written_again;

------------------------------------------------------------------------------
-- candles: lean_minute, crypto (UTC) by path, equities (New York,
-- deci-cents) through the client \copy recipe
------------------------------------------------------------------------------
\set eth :data '/candles/crypto/coinbase_ethusd_1m_lean/20170903_ethusd_minute_trade.csv'
SELECT import_candles(:'eth', 'lean_minute', 'ETH', day => '2017-09-03') AS written;
CREATE TEMP TABLE lean (ms bigint, open float8, high float8, low float8, close float8, volume float8);
COPY lean FROM :'eth' WITH (FORMAT csv);
SELECT count(*) AS rows, count(*) FILTER (WHERE k.bucket IS NULL
       OR (k.open, k.high, k.low, k.close, k.volume) IS DISTINCT FROM (l.open, l.high, l.low, l.close, l.volume))
       AS mismatches
FROM lean l LEFT JOIN triggerstock.candles k
  ON k.symbol = 'ETH' AND k.bucket = TIMESTAMPTZ '2017-09-03 00:00 UTC' + l.ms * interval '1 ms';

\set aapl :data '/candles/equities/aapl_1m_lean/20140606_aapl_minute_trade.csv'
SELECT import_staging();
-- psql does not expand variables in \copy: build the command
\set copy_aapl '\\copy pg_temp.triggerstock_import (line) FROM ' :'aapl' ' WITH (FORMAT csv, DELIMITER E''\\x01'', QUOTE E''\\x02'')'
:copy_aapl
SELECT import_candles(NULL, 'lean_minute', 'AAPL', day => '2014-06-06', time_zone => 'America/New_York',
                      price_scale => 10000) AS written;
TRUNCATE lean;
COPY lean FROM :'aapl' WITH (FORMAT csv);
SELECT count(*) AS rows, count(*) FILTER (WHERE k.bucket IS NULL
       OR (k.open, k.high, k.low, k.close, k.volume)
          IS DISTINCT FROM (l.open / 10000, l.high / 10000, l.low / 10000, l.close / 10000, l.volume))
       AS mismatches,
       min(k.bucket) AS first_bucket, max(k.bucket) AS last_bucket
FROM lean l LEFT JOIN triggerstock.candles k
  ON k.symbol = 'AAPL' AND k.bucket = ('2014-06-06'::timestamp + l.ms * interval '1 ms') AT TIME ZONE 'America/New_York';

------------------------------------------------------------------------------
-- candles: kraken_ohlcvt and binance_klines lines built from the Kraken
-- OHLC REST dump (same values, the exchanges' CSV layouts)
------------------------------------------------------------------------------
\set ohlc :data '/candles/crypto/kraken_xbtusdt_rest_ohlc_1m_2025-11-10.json'
CREATE TEMP TABLE ohlc AS
SELECT (r->>0)::bigint AS t, r->>1 AS o, r->>2 AS h, r->>3 AS l, r->>4 AS c, r->>5 AS vwap, r->>6 AS v,
       (r->>7)::bigint AS n
FROM jsonb_array_elements(pg_read_file(:'ohlc')::jsonb->'result'->'XBTUSDT') r;
SELECT import_staging();
INSERT INTO pg_temp.triggerstock_import (line)
SELECT concat_ws(',', t, o, h, l, c, v, n) FROM ohlc ORDER BY t;
SELECT import_candles(NULL, 'kraken_ohlcvt', 'XBT') AS written;
SELECT count(*) AS rows, count(*) FILTER (WHERE k.bucket IS NULL
       OR (k.open, k.high, k.low, k.close, k.volume, k.trades, k.origin)
          IS DISTINCT FROM (o.o::float8, o.h::float8, o.l::float8, o.c::float8, o.v::float8, o.n, 'file:kraken_ohlcvt'))
       AS mismatches
FROM ohlc o LEFT JOIN triggerstock.candles k ON k.symbol = 'XBT' AND k.bucket = to_timestamp(o.t);
-- klines: open time ms, close time = open + 59,999 ms, quote volume, count, with a header
INSERT INTO pg_temp.triggerstock_import (line) VALUES
    ('open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore');
INSERT INTO pg_temp.triggerstock_import (line)
SELECT concat_ws(',', t * 1000, o, h, l, c, v, t * 1000 + 59999, (v::numeric * vwap::numeric)::text, n, 0, 0, 0)
FROM ohlc ORDER BY t;
SELECT import_candles(NULL, 'binance_klines', 'XBT-B') AS written;
SELECT count(*) AS rows, count(*) FILTER (WHERE k.bucket IS NULL
       OR (k.open, k.high, k.low, k.close, k.volume, k.trades, k.origin)
          IS DISTINCT FROM (o.o::float8, o.h::float8, o.l::float8, o.c::float8, o.v::float8, o.n, 'file:binance_klines')
       OR k.vwap IS DISTINCT FROM ((o.v::numeric * o.vwap::numeric)::text::float8 / nullif(o.v::float8, 0)))
       AS mismatches
FROM ohlc o LEFT JOIN triggerstock.candles k ON k.symbol = 'XBT-B' AND k.bucket = to_timestamp(o.t);

------------------------------------------------------------------------------
-- candles: the errors, each naming the line; nothing is stored
------------------------------------------------------------------------------
SELECT import_candles(:'eth', 'lean', 'ETH', day => '2017-09-03');
SELECT import_candles(:'eth', 'lean_minute', 'ETH');
SELECT import_staging();
INSERT INTO pg_temp.triggerstock_import (line) VALUES
    ('timestamp,open,high,low,close,volume'), ('2022-01-01 00:00:00,1,2,0.5,1.5,10'), ('2022-01-01 00:01:00,1,2,x,1.5,10');
SELECT import_candles(NULL, 'csv', 'BAD');
SELECT import_staging();
INSERT INTO pg_temp.triggerstock_import (line) VALUES
    ('timestamp,open,high,low,close,volume'), ('2022-01-01 00:00:30,1,2,0.5,1.5,10');
SELECT import_candles(NULL, 'csv', 'BAD');
SELECT import_staging();
INSERT INTO pg_temp.triggerstock_import (line) VALUES
    ('timestamp,open,high,low,close,volume'), ('2022-01-01 00:00:00,1,2,0.5,1.5,10'), ('2022-01-01 00:00:00,1,2,0.5,1.5,11');
SELECT import_candles(NULL, 'csv', 'BAD');
SELECT import_staging();
INSERT INTO pg_temp.triggerstock_import (line) VALUES ('time,price,qty'), ('2022-01-01 00:00:00,1,2');
SELECT import_candles(NULL, 'csv', 'BAD');
SELECT count(*) AS bad_candles FROM triggerstock.candles WHERE symbol = 'BAD';
SELECT import_staging();
SELECT import_candles(NULL, 'csv', 'BAD');

------------------------------------------------------------------------------
-- trades: binance_aggtrades lines built from the ccxt dump's raw aggTrades
-- (data.binance.vision layout, with its header); ccxt's own parsed fields
-- are the reference
------------------------------------------------------------------------------
\set agg :data '/trades/binance_xrpeth_aggtrades_ccxt_2019-10-11.json'
CREATE TEMP TABLE ccxt AS SELECT t FROM jsonb_array_elements(pg_read_file(:'agg')::jsonb) t;
SELECT import_staging();
INSERT INTO pg_temp.triggerstock_import (line) VALUES
    ('agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker,is_best_match');
INSERT INTO pg_temp.triggerstock_import (line)
SELECT concat_ws(',', t->'info'->>'a', t->'info'->>'p', t->'info'->>'q', t->'info'->>'f', t->'info'->>'l',
                 t->'info'->>'T', initcap(t->'info'->>'m'), initcap(t->'info'->>'M'))
FROM ccxt ORDER BY (t->'info'->>'a')::bigint;
SELECT import_trades(NULL, 'binance_aggtrades', 'binance', 'XRPETH') AS stored;
SELECT count(*) AS rows, count(*) FILTER (WHERE x.trade_id IS NULL
       OR (x.ts, x.price, x.qty, x.side, x.symbol)
          IS DISTINCT FROM (to_timestamp((c.t->>'timestamp')::numeric / 1000), (c.t->>'price')::float8,
                            (c.t->>'amount')::float8, c.t->>'side', 'XRP')) AS mismatches
FROM ccxt c LEFT JOIN triggerstock.trades x
  ON x.exchange = 'binance' AND x.instrument = 'XRPETH' AND x.trade_id = (c.t->>'id')::bigint;
-- the candles of the imported trades equal a plain aggregation of them
-- (open/close: first/last by (ts, trade_id))
WITH agg AS (
    SELECT date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket,
           (array_agg(price ORDER BY ts, trade_id))[1] AS open, max(price) AS high, min(price) AS low,
           (array_agg(price ORDER BY ts DESC, trade_id DESC))[1] AS close, sum(qty) AS volume,
           count(*) AS trades, min(ts) AS open_time, max(ts) AS close_time
    FROM triggerstock.trades WHERE symbol = 'XRP' GROUP BY 1)
SELECT count(*) AS candles, count(*) FILTER (WHERE k.bucket IS NULL
       OR (k.open, k.high, k.low, k.close, k.trades, k.open_time, k.close_time, k.origin)
          IS DISTINCT FROM (a.open, a.high, a.low, a.close, a.trades, a.open_time, a.close_time, 'trades')
       OR abs(k.volume - a.volume) > 1e-9 * a.volume) AS mismatches
FROM agg a LEFT JOIN triggerstock.candles k ON k.symbol = 'XRP' AND k.bucket = a.bucket;

------------------------------------------------------------------------------
-- trades: lean_tick (IBM, New York time, deci-cents; suspicious ticks skipped)
------------------------------------------------------------------------------
\set ibm :data '/trades/equities_ibm_tick_trades/20131007_ibm_Trade_Tick.csv'
SELECT import_trades(:'ibm', 'lean_tick', 'nyse', 'IBM', day => '2013-10-07', time_zone => 'America/New_York',
                     price_scale => 10000) AS stored;
CREATE TEMP TABLE tick (ms bigint, price bigint, size float8, venue text, cond text, suspicious int,
                        n bigint GENERATED ALWAYS AS IDENTITY);
COPY tick (ms, price, size, venue, cond, suspicious) FROM :'ibm' WITH (FORMAT csv);
SELECT count(*) FILTER (WHERE suspicious = 0) AS rows, count(*) FILTER (WHERE suspicious = 1) AS suspicious,
       count(*) FILTER (WHERE suspicious = 0 AND (x.trade_id IS NULL
           OR (x.ts, x.price, x.qty, x.side)
              IS DISTINCT FROM (('2013-10-07'::timestamp + t.ms * interval '1 ms') AT TIME ZONE 'America/New_York',
                                t.price / 10000.0::float8, t.size, NULL::text))) AS mismatches
FROM tick t LEFT JOIN triggerstock.trades x ON x.exchange = 'nyse' AND x.instrument = 'IBM' AND x.trade_id = t.n
                                            AND x.ts >= '2013-10-07' AND x.ts < '2013-10-09';
-- twice: nothing new
SELECT import_trades(:'ibm', 'lean_tick', 'nyse', 'IBM', day => '2013-10-07', time_zone => 'America/New_York',
                     price_scale => 10000) AS stored_again;

------------------------------------------------------------------------------
-- trades: csv with a header (Coinbase REST trades rewritten: RFC 3339 time,
-- id, price, size, taker side) and kraken_trades (time s, price, volume)
------------------------------------------------------------------------------
\set cb :data '/trades/coinbase_btcusd_rest_trades_2016-05-12.jsonl'
CREATE TEMP TABLE cbl (j text);
COPY cbl FROM :'cb' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02');
CREATE TEMP TABLE cb AS SELECT j::jsonb AS t FROM cbl;
SELECT import_staging();
INSERT INTO pg_temp.triggerstock_import (line) VALUES ('Time,Trade_ID,Price,Size,Side');
INSERT INTO pg_temp.triggerstock_import (line)
SELECT concat_ws(',', t->>'time', t->>'trade_id', t->>'price', t->>'size',
                 CASE t->>'side' WHEN 'buy' THEN 'sell' ELSE 'buy' END)
FROM cb ORDER BY (t->>'trade_id')::bigint;
SELECT import_trades(NULL, 'csv', 'coinbase', 'BTC-USD') AS stored;
SELECT count(*) AS rows, count(*) FILTER (WHERE x.trade_id IS NULL
       OR (x.ts, x.price, x.qty, x.side) IS DISTINCT FROM ((c.t->>'time')::timestamptz, (c.t->>'price')::float8,
           (c.t->>'size')::float8, CASE c.t->>'side' WHEN 'buy' THEN 'sell' ELSE 'buy' END)) AS mismatches
FROM cb c LEFT JOIN triggerstock.trades x
  ON x.exchange = 'coinbase' AND x.instrument = 'BTC-USD' AND x.trade_id = (c.t->>'trade_id')::bigint;

\set kt :data '/trades/kraken_xbtusdt_rest_trades_2025-11-10.json'
CREATE TEMP TABLE kt AS
SELECT e.r, e.n FROM jsonb_array_elements(pg_read_file(:'kt')::jsonb->'result'->'XBTUSDT') WITH ORDINALITY e(r, n);
SELECT import_staging();
INSERT INTO pg_temp.triggerstock_import (line) SELECT concat_ws(',', r->>2, r->>0, r->>1) FROM kt ORDER BY n;
SELECT import_trades(NULL, 'kraken_trades', 'kraken', 'XBT/USDT') AS stored;
SELECT count(*) AS rows, count(*) FILTER (WHERE x.trade_id IS NULL
       OR (x.ts, x.price, x.qty, x.side) IS DISTINCT FROM
          (TIMESTAMPTZ 'epoch' + round((k.r->>2)::numeric * 1e6)::bigint * interval '1 microsecond',
           (k.r->>0)::float8, (k.r->>1)::float8, NULL::text)) AS mismatches
FROM kt k LEFT JOIN triggerstock.trades x ON x.exchange = 'kraken' AND x.trade_id = k.n;

------------------------------------------------------------------------------
-- a candle computed from trades is never replaced by a file's candle; a
-- file candle is replaced by trades
------------------------------------------------------------------------------
SELECT import_staging();
INSERT INTO pg_temp.triggerstock_import (line) VALUES
    ('timestamp,open,high,low,close,volume'), ('2019-10-11 00:00:00,9,9,9,9,9'), ('2030-01-01 00:00:00,9,9,9,9,9');
SELECT import_candles(NULL, 'csv', 'XRP') AS written;
SELECT bucket, open, origin FROM triggerstock.candles WHERE symbol = 'XRP' AND bucket IN ('2019-10-11 00:00', '2030-01-01');
SELECT import_staging();
INSERT INTO pg_temp.triggerstock_import (line) VALUES ('ts,price,qty,id'), ('2030-01-01 00:00:10,1.5,2,1');
SELECT import_trades(NULL, 'csv', 'binance', 'XRPETH') AS stored;
SELECT bucket, open, volume, trades, origin FROM triggerstock.candles WHERE symbol = 'XRP' AND bucket = '2030-01-01';

------------------------------------------------------------------------------
-- trades: the errors
------------------------------------------------------------------------------
SELECT import_trades(:'ibm', 'lean_tick', 'nyse', 'IBM');
SELECT import_trades(:'ibm', 'ticks', 'nyse', 'IBM');
SELECT import_trades(:'ibm', 'lean_tick', NULL, 'IBM', day => '2013-10-07');
SELECT import_staging();
INSERT INTO pg_temp.triggerstock_import (line) VALUES ('1,0.5,2,1,1,1570752011620,True,True'), ('2,0.5,oops,2,2,1570752011621,True,True');
SELECT import_trades(NULL, 'binance_aggtrades', 'binance', 'XRPETH');
SELECT import_staging();
INSERT INTO pg_temp.triggerstock_import (line) VALUES ('when,price'), ('1,2');
SELECT import_trades(NULL, 'csv', 'binance', 'XRPETH');
SELECT import_trades('/nonexistent/file.csv', 'csv', 'binance', 'XRPETH');
-- a path longer than any the server can open: refused, not an internal error
SELECT import_trades('/' || repeat('x', 100000), 'csv', 'binance', 'XRPETH');
