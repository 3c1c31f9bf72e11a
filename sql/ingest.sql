-- Ingestion configuration: canonical symbols, add_source, secrets, the
-- worker plan and the status view (no worker runs in this database).
CREATE EXTENSION IF NOT EXISTS triggerstock;
SET TimeZone = 'UTC';

SELECT i, canonical_symbol(i)
FROM unnest(ARRAY['BTCUSDT', 'XBT/USD', 'BTC-USD', 'BINANCE:ETHUSDT', 'PI_XBTUSD', 'TSLA', 'SKL-GBP']) i;
SELECT canonical_symbol('');

SELECT add_source('binance-spot', 'binance', 'wss://stream.binance.com:9443',
                  ARRAY['BTCUSDT', 'ETHUSDT']) AS binance_id;
-- one symbol, one market: XBT/USD would feed BTC, which Binance spot BTCUSDT
-- already feeds; refused with a hint, accepted under its own symbol
SELECT add_source('kraken', 'Kraken', 'wss://ws.kraken.com', ARRAY['XBT/USD', 'XMR/USD'],
                  symbols => ARRAY[NULL, 'MONERO']) AS kraken_id;
SELECT add_source('kraken', 'Kraken', 'wss://ws.kraken.com', ARRAY['XBT/USD', 'XMR/USD'],
                  symbols => ARRAY['BTC@kraken', 'MONERO']) AS kraken_id;
SELECT add_source('finnhub', 'finnhub', 'wss://ws.finnhub.io', ARRAY['AAPL', 'TSLA'],
                  active_days => ARRAY[1, 2, 3, 4, 5], active_from => '13:30', active_until => '20:00',
                  token => 'secret-token', enabled => false) AS finnhub_id;
SELECT name, exchange, market, url, instruments, symbols, enabled, active_days, active_from, active_until, options
FROM triggerstock.sources ORDER BY id;
SELECT s.name, k.secrets FROM triggerstock.source_secrets k JOIN triggerstock.sources s ON s.id = k.source;

-- the plan lists enabled sources only; a plain UPDATE changes it
SELECT kind, id FROM triggerstock.worker_plan ORDER BY id;
UPDATE triggerstock.sources SET enabled = true WHERE name = 'finnhub';
SELECT kind, id FROM triggerstock.worker_plan ORDER BY id;

-- no worker here: every source shows as starting, with zero counters
SELECT source, name, state, frames, trades, dead_letters, reconnects, latency_p99_ms
FROM triggerstock.ingest_status ORDER BY source;

-- markets: USD-M futures BTCUSDT is another market than spot BTCUSDT (its
-- own key, and its default symbol BTC is taken); two sources of one market
-- share its symbol (and dedupe each other); a composite is asked for
SELECT source_market('binance', 'wss://fstream.binance.com/stream'), source_market('binance', 'wss://dstream.binance.com'),
       source_market('binance', 'wss://stream.binance.com:9443'), source_market('kraken', 'wss://futures.kraken.com/ws/v1'),
       source_market('kraken', 'wss://x', '{"feed": "kraken_futures"}'), source_market('coinbase', 'wss://ws-feed.exchange.coinbase.com');
SELECT add_source('binance-usdm', 'binance', 'wss://fstream.binance.com', ARRAY['BTCUSDT']);
SELECT add_source('binance-usdm', 'binance', 'wss://fstream.binance.com', ARRAY['BTCUSDT'],
                  symbols => ARRAY['BTC@binance-usdm']) AS usdm_id;
SELECT add_source('binance-spot-backup', 'binance', 'wss://stream.binance.com:443', ARRAY['btcusdt'],
                  enabled => false) AS backup_id;
SELECT add_source('coinbase', 'coinbase', 'wss://ws-feed.exchange.coinbase.com', ARRAY['BTC-USD', 'BTC-USDT']);
SELECT add_source('coinbase', 'coinbase', 'wss://ws-feed.exchange.coinbase.com', ARRAY['BTC-USD', 'BTC-USDT'],
                  composite => true, enabled => false) AS coinbase_id;
SELECT name, market, instruments, symbols FROM triggerstock.sources WHERE id > 3 ORDER BY id;

-- credentials stay out of URLs, errors and logs
SELECT add_source('x', 'finnhub', 'wss://ws.finnhub.io?token=abc123', ARRAY['AAPL']);
SELECT add_source('x', 'finnhub', 'wss://user:pw@ws.finnhub.io', ARRAY['AAPL']);
SELECT redact_url('wss://h/p?a=1&token=abc&apiKey=k&b=2'), redact_url('ws://bob:pw@h:80/'),
       redact_url('not a url?key=v');

-- bad input
SELECT add_source('x', 'bitmex', 'wss://example.com', ARRAY['XBTUSD']);
SELECT add_source('x', 'binance', 'https://example.com', ARRAY['BTCUSDT']);
SELECT add_source('x', 'binance', 'wss://example.com', ARRAY[]::text[]);
SELECT add_source('x', 'binance', 'wss://example.com', ARRAY['BTCUSDT'], ARRAY['A', 'B']);
SELECT add_source('x', 'binance', 'wss://example.com', ARRAY['BTCUSDT'], market => 'USD-M');
SELECT add_source('binance-spot', 'binance', 'wss://example.com', ARRAY['BTCUSDT'], symbols => ARRAY['X']);
-- (terse: the failing row would show created_at)
\set VERBOSITY terse
UPDATE triggerstock.sources SET active_days = ARRAY[0] WHERE name = 'kraken';
UPDATE triggerstock.sources SET active_from = '09:00' WHERE name = 'kraken';
\set VERBOSITY default

-- secrets are not readable by ordinary roles
CREATE ROLE ingest_reader;
GRANT USAGE ON SCHEMA triggerstock TO ingest_reader;
GRANT SELECT ON triggerstock.sources TO ingest_reader;
SET ROLE ingest_reader;
SELECT count(*) FROM triggerstock.sources;
SELECT * FROM triggerstock.source_secrets;
RESET ROLE;
REVOKE ALL ON SCHEMA triggerstock FROM ingest_reader;
REVOKE ALL ON triggerstock.sources FROM ingest_reader;
DROP ROLE ingest_reader;

-- refresh_candle_buckets recomputes only the pairs it is given
INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, side)
VALUES ('binance', 'BTCUSDT', 'BTC', 1, '2024-08-08 23:54:10+00', 100, 1, 'buy'),
       ('binance', 'BTCUSDT', 'BTC', 2, '2024-08-08 23:54:50+00', 110, 3, 'sell'),
       ('binance', 'BTCUSDT', 'BTC', 3, '2024-08-08 23:55:01+00', 105, 2, NULL);
SELECT refresh_candle_buckets(ARRAY['BTC'], ARRAY['2024-08-08 23:54:30+00'::timestamptz]) AS written;
SELECT symbol, bucket, open, high, low, close, volume, vwap, trades FROM triggerstock.candles ORDER BY bucket;
SELECT refresh_candle_buckets(NULL, NULL) AS nothing;
SELECT refresh_candles('-infinity') AS written;
SELECT symbol, bucket, open, close, volume, trades FROM triggerstock.candles ORDER BY bucket;

-- two markets never dedupe each other: one (exchange, instrument, trade_id,
-- ts) in spot and in USD-M is two trades
INSERT INTO triggerstock.trades (exchange, market, instrument, symbol, trade_id, ts, price, qty)
VALUES ('binance', 'spot', 'BTCUSDT', 'BTC', 7, '2024-08-08 23:56:00+00', 100, 1),
       ('binance', 'usdm', 'BTCUSDT', 'BTC@binance-usdm', 7, '2024-08-08 23:56:00+00', 101, 1),
       ('binance', 'usdm', 'BTCUSDT', 'BTC@binance-usdm', 7, '2024-08-08 23:56:00+00', 102, 1)
ON CONFLICT DO NOTHING;
SELECT market, symbol, price FROM triggerstock.trades WHERE trade_id = 7 ORDER BY market;

DELETE FROM triggerstock.sources;
DELETE FROM triggerstock.trades;
DELETE FROM triggerstock.candles;
