-- test/stack/sources-sim.sql - the simulated stack's sources (make start):
-- one Binance-format source streaming BTCUSDT and ETHUSDT from the local
-- exchange_sim on :exchange_port (symbols BTC and ETH), and the local news
-- feed on :news_port.  Idempotent: a restart only moves the URLs to the
-- new ports and re-enables them.
SELECT CASE WHEN EXISTS (SELECT 1 FROM triggerstock.sources WHERE name = 'sim-binance')
            THEN 'exists' ELSE add_source('sim-binance', 'binance', 'ws://127.0.0.1:' || :'exchange_port',
                                          ARRAY['BTCUSDT', 'ETHUSDT'], ARRAY['BTC', 'ETH'])::text END
       AS sim_binance \gset
UPDATE triggerstock.sources SET url = 'ws://127.0.0.1:' || :'exchange_port', enabled = true
WHERE name = 'sim-binance' AND (url <> 'ws://127.0.0.1:' || :'exchange_port' OR NOT enabled);

-- the feed keeps its id (news.feed_id) across restarts: move its URL
UPDATE triggerstock.feeds SET url = 'http://127.0.0.1:' || :'news_port' || '/feed.rss', enabled = true
WHERE url ~ '^http://127\.0\.0\.1:[0-9]+/feed\.rss$'
  AND url <> 'http://127.0.0.1:' || :'news_port' || '/feed.rss';
SELECT add_feed('http://127.0.0.1:' || :'news_port' || '/feed.rss', '1 minute') AS feed_id \gset
