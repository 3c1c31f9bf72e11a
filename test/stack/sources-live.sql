-- test/stack/sources-live.sql - the live stack's sources (make start LIVE=1):
-- the real exchanges' public trade streams and real RSS feeds (see the
-- README, "Quick start").  Binance spot feeds the symbols BTC and ETH that
-- the models train on; Coinbase and Kraken are other markets (USD, other
-- venues), so they get their own venue-qualified symbols and never merge
-- into Binance's candles.  Idempotent (existing sources are kept).
\set ON_ERROR_STOP on
SELECT add_source(name, exchange, url, instruments, symbols)
FROM (VALUES
    ('binance', 'binance', 'wss://stream.binance.com:9443', ARRAY['BTCUSDT', 'ETHUSDT'], ARRAY['BTC', 'ETH']),
    ('coinbase', 'coinbase', 'wss://ws-feed.exchange.coinbase.com', ARRAY['BTC-USD', 'ETH-USD'],
     ARRAY['coinbase:BTC', 'coinbase:ETH']),
    ('kraken', 'kraken', 'wss://ws.kraken.com', ARRAY['XBT/USD', 'ETH/USD'],
     ARRAY['kraken:BTC', 'kraken:ETH'])) AS v(name, exchange, url, instruments, symbols)
WHERE NOT EXISTS (SELECT 1 FROM triggerstock.sources s WHERE s.name = v.name);
SELECT add_feed(url, '5 minutes')
FROM (VALUES ('https://www.coindesk.com/arc/outboundfeeds/rss'),
             ('https://cointelegraph.com/rss'),
             ('https://decrypt.co/feed')) AS v(url);
