-- Order books (issue 17): book_features() on hand-made samples whose
-- features are worked out by hand in the comments, partition helpers and
-- their errors.
CREATE EXTENSION IF NOT EXISTS triggerstock;
SET timezone = 'UTC';

-- Samples of one instrument:
--  s1 00:00:00  bids 100 x 2, 99 x 1   asks 101 x 1, 102 x 3   ofi  1.5, 3 updates
--  s2 00:00:30  bids 100.5 x 4         asks 101 x 2            ofi -0.5, 2 updates, 1 resync
--  s3 00:01:15  no bids                asks 101 x 1            ofi  0,   1 update
-- Bucket 00:00 (1 minute): s1 holds 30 s (until s2), s2 30 s (until the bucket's end).
--  spread     (30*1 + 30*0.5)/60                             = 0.75
--  mid        (30*100.5 + 30*100.75)/60                      = 100.625
--  microprice (30*(101*2+100*1)/3 + 30*(101*4+100.5*2)/6)/60 = 100.75
--  imbalance_1  ((2-1)/3 + (4-2)/6)/2                        = 0.333333333
--  imbalance_5  ((3-4)/7 + (4-2)/6)/2                        = 0.095238095 (= imbalance_10)
--  ofi 1, updates 5, resyncs 1, snapshots 2
-- Bucket 00:01: s3 alone; no bid side, so every price feature is NULL.
INSERT INTO triggerstock.book_snapshots
    (exchange, instrument, symbol, ts, event_ts, bid_price, bid_qty, ask_price, ask_qty, updates, ofi, resyncs)
VALUES
    ('test', 'HB-USD', 'HB', '2024-01-01 00:00:00', NULL, '{100,99}', '{2,1}', '{101,102}', '{1,3}', 3, 1.5, 0),
    ('test', 'HB-USD', 'HB', '2024-01-01 00:00:30', NULL, '{100.5}', '{4}', '{101}', '{2}', 2, -0.5, 1),
    ('test', 'HB-USD', 'HB', '2024-01-01 00:01:15', NULL, '{}', '{}', '{101}', '{1}', 1, 0, 0);

SELECT bucket, round(spread::numeric, 9) AS spread, round(mid::numeric, 9) AS mid,
       round(microprice::numeric, 9) AS microprice, round(imbalance_1::numeric, 9) AS imb1,
       round(imbalance_5::numeric, 9) AS imb5, round(imbalance_10::numeric, 9) AS imb10,
       ofi, updates, resyncs, snapshots
FROM book_features('HB');

-- since: from the bucket holding it; 30-second buckets
SELECT bucket, round(spread::numeric, 9) AS spread, snapshots FROM book_features('HB', '30 seconds');
SELECT bucket, snapshots FROM book_features('HB', '1 minute', '2024-01-01 00:00:45');
SELECT count(*) FROM book_features('nobody');

-- features() carries the bucket's book columns (spread / mid, microprice /
-- mid - 1, imbalances, ofi, updates), from the same samples:
--  00:00  0.75 / 100.625 = 0.007453416, 100.75 / 100.625 - 1 = 0.001242236,
--         0.333333333, 0.095238095, 0.095238095, ofi 1, 5 updates
--  00:01  no bid side: every price column NULL; ofi 0, 1 update
--  00:02  no sample: all NULL (as for every symbol without books)
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades,
                                  open_time, close_time)
SELECT 'HB', '1 minute', t, 100, 101, 99, 100.5, 1, 100.5, 1, t, t + interval '59.999 s'
FROM generate_series(timestamptz '2024-01-01 00:00', '2024-01-01 00:02', '1 minute') t;
SELECT bucket, round(book_spread::numeric, 9) AS spread, round(book_microprice_dist::numeric, 9) AS micro,
       round(book_imbalance_1::numeric, 9) AS imb1, round(book_imbalance_5::numeric, 9) AS imb5,
       round(book_imbalance_10::numeric, 9) AS imb10, book_ofi, book_updates
FROM features('HB');
-- the online rows of a served pair: the complete buckets (00:00, 00:01)
-- equal features() in every column, the book ones included
SELECT serve_features('HB', '1 minute');
CREATE TEMP VIEW hb_online_diff AS
SELECT r.bucket FROM triggerstock.feature_rows r JOIN features('HB') f USING (bucket)
WHERE r.symbol = 'HB' AND r.width = '1 minute'
  AND (r.close, r.ret_1, r.vwap_dist, r.tod_sin, r.sentiment_1h, r.news_1h, r.book_spread,
       r.book_microprice_dist, r.book_imbalance_1, r.book_imbalance_5, r.book_imbalance_10,
       r.book_ofi, r.book_updates)
      IS DISTINCT FROM
      (f.close, f.ret_1, f.vwap_dist, f.tod_sin, f.sentiment_1h, f.news_1h, f.book_spread,
       f.book_microprice_dist, f.book_imbalance_1, f.book_imbalance_5, f.book_imbalance_10,
       f.book_ofi, f.book_updates);
SELECT count(*) AS rows, (SELECT count(*) FROM hb_online_diff) AS differ
FROM triggerstock.feature_rows WHERE symbol = 'HB';
-- a sample stored after its bucket was folded (samples are flushed apart
-- from the trades) updates the row; deleting it restores it.  00:01 then:
-- the new sample alone has both sides (30 s): spread 1 / 100.5 = 0.009950249,
-- imbalance_1 (3 - 1) / 4 = 0.5, ofi 0 + 0.25, updates 1 + 2
INSERT INTO triggerstock.book_snapshots
    (exchange, instrument, symbol, ts, event_ts, bid_price, bid_qty, ask_price, ask_qty, updates, ofi, resyncs)
VALUES ('test', 'HB-USD', 'HB', '2024-01-01 00:01:30', NULL, '{100}', '{3}', '{101}', '{1}', 2, 0.25, 0);
SELECT bucket, round(book_spread::numeric, 9) AS spread, round(book_imbalance_1::numeric, 9) AS imb1,
       book_ofi, book_updates, (SELECT count(*) FROM hb_online_diff) AS differ
FROM triggerstock.feature_rows WHERE symbol = 'HB' ORDER BY bucket;
DELETE FROM triggerstock.book_snapshots WHERE symbol = 'HB' AND ts = '2024-01-01 00:01:30';
SELECT bucket, book_spread, book_ofi, book_updates, (SELECT count(*) FROM hb_online_diff) AS differ
FROM triggerstock.feature_rows WHERE symbol = 'HB' AND bucket = '2024-01-01 00:01';
SELECT unserve_features('HB', '1 minute');
DROP VIEW hb_online_diff;
DELETE FROM triggerstock.candles WHERE symbol = 'HB';

-- a sample whose sides disagree in length is refused
INSERT INTO triggerstock.book_snapshots
VALUES ('test', 'HB-USD', 'HB', '2024-01-01 00:02:00', NULL, '{1,2}', '{1}', '{3}', '{1}', 0, 0, 0);

-- partitions: created, listed, the default partition's rows moved, dropped by retention
SELECT * FROM create_book_partitions('2024-01-01', '2024-01-01');
SELECT partition, range_from, range_to FROM book_partitions() WHERE range_from < '2025-01-01';
SELECT count(*) FROM ONLY triggerstock.book_snapshots_default;
SELECT count(*) FROM triggerstock.book_snapshots_p20240101;
SELECT * FROM book_retention('1 day');
SELECT count(*) FROM triggerstock.book_snapshots;
SELECT * FROM create_book_partitions('2024-01-02', '2024-01-01');
-- the widest finite range: its interval overflows, the check must not
SELECT * FROM create_book_partitions('4713-01-01 00:00+00 BC', '294276-12-31 00:00+00');
SELECT * FROM book_retention(NULL);
SELECT * FROM book_retention('-1 day');

-- book_rest_url is checked where it enters (sources_check), as the stream
-- URL is, and never echoed (it could carry a key)
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled, options)
VALUES ('rest-long', 'binance', 'wss://stream.binance.com:9443', ARRAY['BTCUSDT'], ARRAY['RB'], false,
        jsonb_build_object('book', true, 'book_rest_url', 'https://api.binance.com/' || repeat('p', 877)));
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled, options)
VALUES ('rest-ftp', 'binance', 'wss://stream.binance.com:9443', ARRAY['BTCUSDT'], ARRAY['RB'], false,
        '{"book": true, "book_rest_url": "ftp://api.binance.com/api/v3/depth"}');
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled, options)
VALUES ('rest-nohost', 'binance', 'wss://stream.binance.com:9443', ARRAY['BTCUSDT'], ARRAY['RB'], false,
        '{"book": true, "book_rest_url": "https:///api/v3/depth"}');
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled, options)
VALUES ('rest-host', 'binance', 'wss://stream.binance.com:9443', ARRAY['BTCUSDT'], ARRAY['RB'], false,
        jsonb_build_object('book', true, 'book_rest_url', 'https://' || repeat('h', 256) || '/api/v3/depth'));
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled, options)
VALUES ('rest-user', 'binance', 'wss://stream.binance.com:9443', ARRAY['BTCUSDT'], ARRAY['RB'], false,
        '{"book": true, "book_rest_url": "https://me:hunter2@api.binance.com/api/v3/depth"}');
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled, options)
VALUES ('rest-key', 'binance', 'wss://stream.binance.com:9443', ARRAY['BTCUSDT'], ARRAY['RB'], false,
        '{"book": true, "book_rest_url": "https://api.binance.com/api/v3/depth?apiKey=hunter2"}');
-- at the limits: 900 bytes, a 255-byte host, a port; an UPDATE is checked too
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled, options)
VALUES ('rest-ok', 'binance', 'wss://stream.binance.com:9443', ARRAY['BTCUSDT'], ARRAY['RB'], false,
        jsonb_build_object('book', true, 'book_rest_url', 'https://api.binance.com/' || repeat('p', 876)));
UPDATE triggerstock.sources SET options = jsonb_build_object('book', true, 'book_rest_url',
        'http://' || repeat('h', 255) || ':8080/api/v3/depth') WHERE name = 'rest-ok';
UPDATE triggerstock.sources SET options = '{"book": true, "book_rest_url": "http://127.0.0.1:8080/api/v3/depth"}'
WHERE name = 'rest-ok';
UPDATE triggerstock.sources SET options = '{"book": true, "book_rest_url": "http://127.0.0.1:8080/depth?token=x"}'
WHERE name = 'rest-ok';
SELECT name, options ->> 'book_rest_url' AS book_rest_url FROM triggerstock.sources WHERE name LIKE 'rest-%';
DELETE FROM triggerstock.sources WHERE name LIKE 'rest-%';
