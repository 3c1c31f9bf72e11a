--
-- backfill(): queuing jobs, the errors it refuses with (the worker's own
-- job check, backfill_check()), identical jobs, backfill_cancel(), and the
-- plan that starts the poll worker while a job is queued.  No worker runs
-- here (jobs are not fetched): see test/t/060_backfill.pl for that.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS triggerstock CASCADE;
CREATE EXTENSION triggerstock;
SET client_min_messages = notice;
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never

SELECT backfill('binance', 'BTCUSDT', '2024-01-01', '2024-01-02') AS spot_trades \gset
SELECT backfill('binance', 'BTCUSDT', '2024-01-01', '2024-01-02') = :spot_trades AS same_job_same_id;
SELECT backfill('binance', 'BTCUSDT', '2024-01-01', '2024-01-02', kind => 'candles', market => 'usdm');
SELECT backfill('coinbase', 'BTC-USD', '2024-01-01', '2024-01-02', kind => 'candles', symbol => 'BTC-CB');
SELECT backfill('kraken', 'XBT/USD', '2024-01-01', '2024-01-02');
SELECT backfill('binance', 'ETHUSDT', NULL, NULL, from_id => 100, to_id => 200, options => '{"ids": "trade"}');
SELECT backfill('generic', 'AAPL', '2024-01-01', '2024-01-02',
                options => '{"url": "https://example.com/t?s={instrument}&from={from_ms}", "cursor": "time_ms",
                             "map": {"items": "data", "price": "p", "qty": "v", "ts": "t"}}');
SELECT id, exchange, market, instrument, symbol, kind, endpoint, range_from, range_to, from_id, to_id,
       base_url, state, cursor, rows, pages, errors, progress
FROM triggerstock.backfills ORDER BY id;
SELECT kind, id FROM triggerstock.worker_plan;

-- errors
SELECT backfill('bitstamp', 'BTCUSD', '2024-01-01', '2024-01-02');
SELECT backfill('binance', 'BTCUSDT', '2024-01-02', '2024-01-01');
SELECT backfill('binance', 'BTCUSDT', '2024-01-01', '2024-01-02', kind => 'quotes');
SELECT backfill('generic', 'AAPL', '2024-01-01', '2024-01-02', kind => 'candles');
SELECT backfill('coinbase', 'BTC-USD', '2024-01-01', '2024-01-02', market => 'usdm');
SELECT backfill('binance', 'BTCUSDT', NULL, NULL, from_id => 5);
SELECT backfill('binance', 'BTC USDT', '2024-01-01', '2024-01-02');
SELECT backfill('binance', 'BTCUSDT', '2024-01-01', '2024-01-02', base_url => 'ftp://example.com');
SELECT backfill('binance', 'BTCUSDT', '2024-01-01', '2024-01-02', base_url => 'https://example.com/');
SELECT backfill('binance', 'BTCUSDT', '2024-01-01', '2024-01-02', options => '{"limit": 0}');
SELECT backfill('binance', 'BTCUSDT', '2024-01-01', '2024-01-02', options => '[1]');
SELECT backfill('binance', 'BTCUSDT', '2024-01-01', '2024-01-02', kind => 'candles', from_id => 1, to_id => 2);
SELECT backfill('kraken', 'XBTUSD', NULL, NULL, from_id => 1, to_id => 2);
SELECT backfill('generic', 'AAPL', '2024-01-01', '2024-01-02', options => '{"url": "https://example.com/t"}');
SELECT backfill('generic', 'AAPL', '2024-01-01', '2024-01-02',
                options => '{"url": "https://example.com/t", "cursor": "path", "map": {"price": "p", "qty": "v", "ts": "t", "trade_id": "i"}}');
SELECT backfill('binance', 'BTCUSDT', '-infinity', '2024-01-02');
SELECT count(*) AS jobs FROM triggerstock.backfills;

-- cancel
SELECT backfill_cancel(:spot_trades) AS cancelled, backfill_cancel(:spot_trades) AS again, backfill_cancel(-1) AS unknown;
SELECT state, finished_at IS NOT NULL AS finished FROM triggerstock.backfills WHERE id = :spot_trades;
UPDATE triggerstock.backfills SET state = 'cancelled' WHERE state = 'queued';
SELECT kind, id FROM triggerstock.worker_plan;

-- a source's rest_url (gap repair: the base URL of the jobs it queues) is
-- checked where it enters, as book_rest_url is, and never echoed
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled, options)
VALUES ('gap-long', 'binance', 'wss://stream.binance.com:9443', ARRAY['BTCUSDT'], ARRAY['GB'], false,
        jsonb_build_object('rest_url', 'https://api.binance.com/' || repeat('p', 489)));
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled, options)
VALUES ('gap-ftp', 'binance', 'wss://stream.binance.com:9443', ARRAY['BTCUSDT'], ARRAY['GB'], false,
        '{"rest_url": "ftp://api.binance.com"}');
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled, options)
VALUES ('gap-host', 'binance', 'wss://stream.binance.com:9443', ARRAY['BTCUSDT'], ARRAY['GB'], false,
        jsonb_build_object('rest_url', 'https://' || repeat('h', 256)));
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled, options)
VALUES ('gap-user', 'binance', 'wss://stream.binance.com:9443', ARRAY['BTCUSDT'], ARRAY['GB'], false,
        '{"rest_url": "https://me:hunter2@api.binance.com"}');
-- at the limit (512 bytes), and an UPDATE is checked too
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled, options)
VALUES ('gap-ok', 'binance', 'wss://stream.binance.com:9443', ARRAY['BTCUSDT'], ARRAY['GB'], false,
        jsonb_build_object('rest_url', 'https://api.binance.com/' || repeat('p', 488)));
UPDATE triggerstock.sources SET options = '{"rest_url": "http://127.0.0.1:8080/x?apiKey=hunter2"}'
WHERE name = 'gap-ok';
SELECT name, octet_length(options ->> 'rest_url') AS rest_url_bytes FROM triggerstock.sources WHERE name LIKE 'gap-%';
DELETE FROM triggerstock.sources WHERE name LIKE 'gap-%';
