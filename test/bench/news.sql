-- News benchmark (issue: news and quotes over HTTP):
--  1. sentiment() over all Financial PhraseBank 50Agree sentences (3,877),
--     against the same scan computing length() (what the scan alone costs);
--  2. parse and store a 1,000-item RSS feed the way the poll worker does
--     (parse_feed(), match_symbols(), sentiment(), INSERT ... ON CONFLICT)
--     against the same feed parsed by Postgres's own xpath() into the same
--     table with the same symbol and sentiment columns.  The xpath baseline
--     does less: no HTML stripping beyond a regexp, no entity decoding, dates
--     by the timestamptz input function.
-- The 1,000 items are the real items of the four feeds in ../shared, repeated
-- under distinct guids.
\set ON_ERROR_STOP on
\getenv shared TRIGGERSTOCK_SHARED
\set pb50 :shared '/data/sentiment/financial_phrasebank/Sentences_50Agree.txt'
\set f1 :shared '/data/news/rss/coindesk_2025-12-12.rss'
\set f2 :shared '/data/news/rss/cointelegraph_2025-12-12.rss'
\set f3 :shared '/data/news/rss/decrypt_2025-12-12.rss'
\set f4 :shared '/data/news/rss/prnewswire_news_releases_2025-12-13.rss'
\i test/bench/bench_common.sql
CREATE EXTENSION IF NOT EXISTS triggerstock;
SET max_parallel_workers_per_gather = 0;

-- 1. sentiment()
CREATE TEMP TABLE pb_raw (line text);
COPY pb_raw FROM :'pb50' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02', ENCODING 'LATIN1');
CREATE TEMP TABLE pb AS SELECT substring(line FROM '^(.*)@') AS sentence FROM pb_raw;
SELECT pg_temp.bench_case('news', 'sentiment() over PhraseBank 50Agree vs length()', (SELECT count(*) FROM pb),
    'SELECT sum(sentiment(sentence)) FROM pb', 'SELECT sum(length(sentence)) FROM pb', NULL);

-- 2. a 1,000-item feed
CREATE TEMP TABLE feed_files (body text);
INSERT INTO feed_files VALUES (convert_from(pg_read_binary_file(:'f1'), 'UTF8')),
    (convert_from(pg_read_binary_file(:'f2'), 'UTF8')), (convert_from(pg_read_binary_file(:'f3'), 'UTF8')),
    (convert_from(pg_read_binary_file(:'f4'), 'UTF8'));
CREATE TEMP TABLE feed_items AS
SELECT row_number() OVER () AS n, m[1] AS item
FROM feed_files, regexp_matches(body, '(<item>.*?</item>)', 'g') m;
CREATE TEMP TABLE big_feed AS
SELECT convert_to('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
                  || (SELECT string_agg(DISTINCT 'xmlns:' || m[1] || '="' || m[2] || '"', ' ')
                      FROM feed_files, regexp_matches(body, 'xmlns:([A-Za-z]+)="([^"]*)"', 'g') m)
                  || '><channel><title>bench</title>'
                  || string_agg(regexp_replace(item, '<guid([^>]*)>', '<guid\1>r' || r || '-'), E'\n' ORDER BY r, n)
                  || '</channel></rss>', 'UTF8') AS body
FROM (SELECT r, n, item FROM generate_series(1, 8) r, feed_items ORDER BY r, n LIMIT 1000) s;
CREATE TEMP TABLE bench_news (LIKE triggerstock.news INCLUDING ALL);

CREATE FUNCTION pg_temp.store_ours() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    stored bigint;
BEGIN
    TRUNCATE bench_news;
    INSERT INTO bench_news (guid, feed_id, title, summary, link, published_at, symbols, sentiment, scorer)
    SELECT i.guid, 1, i.title, i.summary, i.link, i.published_at,
           match_symbols(concat_ws(E'\n', i.title, i.summary)),
           sentiment(concat_ws(E'\n', i.title, i.summary)), 'builtin'
    FROM big_feed, parse_feed(body) i
    ON CONFLICT (guid) DO NOTHING;
    GET DIAGNOSTICS stored = ROW_COUNT;
    RETURN stored;
END $$;

CREATE FUNCTION pg_temp.store_xpath() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    stored bigint;
BEGIN
    TRUNCATE bench_news;
    INSERT INTO bench_news (guid, feed_id, title, summary, link, published_at, symbols, sentiment, scorer)
    SELECT guid, 1, title, summary, link, published_at,
           match_symbols(concat_ws(E'\n', title, summary)),
           sentiment(concat_ws(E'\n', title, summary)), 'builtin'
    FROM (SELECT coalesce((xpath('/item/guid/text()', x))[1]::text, (xpath('/item/link/text()', x))[1]::text) AS guid,
                 btrim((xpath('/item/title/text()', x))[1]::text) AS title,
                 btrim(regexp_replace((xpath('/item/description/text()', x))[1]::text, '<[^>]*>', ' ', 'g')) AS summary,
                 (xpath('/item/link/text()', x))[1]::text AS link,
                 ((xpath('/item/pubDate/text()', x))[1]::text)::timestamptz AS published_at
          FROM big_feed, unnest(xpath('/rss/channel/item', convert_from(body, 'UTF8')::xml)) x) i
    ON CONFLICT (guid) DO NOTHING;
    GET DIAGNOSTICS stored = ROW_COUNT;
    RETURN stored;
END $$;

SELECT pg_temp.store_ours() AS stored_ours, pg_temp.store_xpath() AS stored_xpath,
       pg_size_pretty(length(body)::bigint) AS feed_size FROM big_feed;
SELECT pg_temp.bench_case('news', 'parse+store 1000-item feed: parse_feed vs xpath()', 1000,
    'SELECT pg_temp.store_ours()', 'SELECT pg_temp.store_xpath()', NULL);
-- the parse alone, without symbols, sentiment and the insert
SELECT pg_temp.bench_case('news', 'parse only: parse_feed vs xpath()', 1000,
    'SELECT count(guid) FROM big_feed, parse_feed(body)',
    $q$SELECT count((xpath('/item/guid/text()', x))[1]) + count((xpath('/item/title/text()', x))[1])
              + count((xpath('/item/description/text()', x))[1]) + count((xpath('/item/link/text()', x))[1])
              + count((xpath('/item/pubDate/text()', x))[1])
       FROM big_feed, unnest(xpath('/rss/channel/item', convert_from(body, 'UTF8')::xml)) x$q$, NULL);

\pset footer off
SELECT "case", rows, ours_ms, baseline_ms, ratio, speedup FROM pg_temp.bench_report;
SELECT round(rows / (ours_ms / 1000)) AS "sentiment() sentences/s"
FROM bench_result WHERE name LIKE 'sentiment()%';
