--
-- News: sentiment(), load_lexicon(), the Financial PhraseBank evaluation in
-- SQL, match_symbols(), parse_feed() on the real feeds and hostile input,
-- add_feed() / add_quote_source() and the worker plan.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS triggerstock;
RESET client_min_messages;
SET TimeZone = 'UTC';
\getenv abs_srcdir PG_ABS_SRCDIR
\set shared :abs_srcdir '/../shared/data'

-- sentiment(): the built-in lexicon and rules, in [-1, 1]
SELECT t, round(sentiment(t)::numeric, 3) AS score
FROM (VALUES ('Operating profit rose to EUR 13.1 mn from EUR 8.7 mn'),
             ('The company swung to a net loss of EUR 2.1 mn'),
             ('Bitcoin ETF approval sends shares sharply higher'),
             ('Sales did not increase'),
             ('The annual general meeting will be held on 5 May'),
             (''),
             ('Operating loss narrowed to EUR 0.4 mn from EUR 1.9 mn')) v(t);
SELECT sentiment(NULL) IS NULL AS strict;
SELECT sentiment('profits fell', 'builtin') = sentiment('profits fell') AS builtin_by_name;

-- load_lexicon(): VADER and Loughran-McDonald files, detected or named
\set vader :shared '/sentiment/lexicons/vader_lexicon.txt'
\set lm :shared '/sentiment/lexicons/Loughran_and_McDonald_2014.cat'
\set afinn :shared '/sentiment/lexicons/AFINN-111.txt'
SELECT load_lexicon(:'vader') AS vader_entries;
SELECT load_lexicon(:'lm', 'lm', 'loughran-mcdonald') AS lm_entries;
SELECT load_lexicon(:'afinn', 'afinn') AS afinn_entries;
SELECT name, format, entries, length(source) AS bytes FROM triggerstock.lexicons ORDER BY name;
SELECT round(sentiment('a great and wonderful result', 'vader')::numeric, 3) AS vader,
       round(sentiment('losses and litigation', 'lm')::numeric, 3) AS lm;
-- errors
SELECT sentiment('x', 'nosuch');
SELECT load_lexicon('/nonexistent/lexicon.txt');
SELECT load_lexicon(:'vader', 'x', 'xml');
SELECT load_lexicon(:'vader', 'builtin');
\set notlex :shared '/news/rss/coindesk_2025-12-12.rss'
CREATE FUNCTION pg_temp.try_load(path text, name text, format text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM load_lexicon(path, name, format);
    RETURN 'loaded';
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN replace(SQLERRM, path, '<path>');   -- the path depends on the checkout
END $$;
SELECT pg_temp.try_load(:'notlex', 'bad', 'vader') AS rss_as_vader;
CREATE ROLE news_user;
SET ROLE news_user;
SELECT load_lexicon(:'vader', 'mine');
RESET ROLE;
DROP ROLE news_user;

-- Financial PhraseBank (Sentences_50Agree, Latin-1) evaluated in SQL: the
-- figures must equal test/bench/phrasebank_eval.c's (label threshold 0.3)
\set pb50 :shared '/sentiment/financial_phrasebank/Sentences_50Agree.txt'
CREATE TEMP TABLE pb_raw (line text);
COPY pb_raw FROM :'pb50' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02', ENCODING 'LATIN1');
CREATE TEMP TABLE pb AS
SELECT substring(line FROM '^(.*)@') AS sentence,
       CASE rtrim(substring(line FROM '@([^@]*)$'), E' \t\r')
           WHEN 'negative' THEN -1 WHEN 'neutral' THEN 0 WHEN 'positive' THEN 1 END AS gold
FROM pb_raw;
SELECT count(*) AS sentences, count(*) FILTER (WHERE gold = -1) AS negative,
       count(*) FILTER (WHERE gold = 0) AS neutral, count(*) FILTER (WHERE gold = 1) AS positive
FROM pb;
CREATE TEMP TABLE pred AS
SELECT l.lexicon, pb.gold,
       CASE WHEN l.lexicon = 'majority (neutral)' THEN 0
            ELSE (SELECT CASE WHEN s >= 0.3 THEN 1 WHEN s <= -0.3 THEN -1 ELSE 0 END
                  FROM (SELECT CASE l.lexicon WHEN 'built-in' THEN sentiment(pb.sentence)
                                              ELSE sentiment(pb.sentence, l.lexicon) END AS s) x)
       END AS label
FROM pb, (VALUES ('majority (neutral)'), ('built-in'), ('vader'), ('lm'), ('afinn')) l(lexicon)
WHERE pb.gold IS NOT NULL;
WITH per_class AS (
    SELECT lexicon, c,
           count(*) FILTER (WHERE gold = c AND label = c) AS tp,
           count(*) FILTER (WHERE gold <> c AND label = c) AS fp,
           count(*) FILTER (WHERE gold = c AND label <> c) AS fn
    FROM pred, (VALUES (-1), (0), (1)) v(c) GROUP BY lexicon, c)
SELECT lexicon, sum(tp + fn) AS n,
       round(sum(tp) / sum(tp + fn), 3) AS accuracy,
       round(avg(CASE WHEN 2 * tp + fp + fn = 0 THEN 0 ELSE 2.0 * tp / (2 * tp + fp + fn) END), 3) AS macro_f1
FROM per_class GROUP BY lexicon ORDER BY macro_f1 DESC;

-- match_symbols(): case-insensitive aliases on word boundaries
SELECT t, match_symbols(t)
FROM (VALUES ('Bitcoin''s rally lifts $BTC and ETH'),
             ('BTC-USD hits a record'),
             ('BTCUSD and ethereum-based tokens'),
             ('the subtle art of dogecoin'),
             ('Shiba   Inu and SOLANA'),
             ('nothing to see here'),
             ('Ether falls; Ethereum too')) v(t);
INSERT INTO triggerstock.symbol_aliases (symbol, alias) VALUES ('MSTR', 'MicroStrategy');
SELECT match_symbols('MicroStrategy buys more bitcoin') AS after_insert;
DELETE FROM triggerstock.symbol_aliases WHERE symbol = 'MSTR';
SELECT match_symbols('MicroStrategy buys more bitcoin') AS after_delete;

-- parse_feed(): the real feeds, every item with a guid, title and date
CREATE TEMP TABLE feed_files (name text, body bytea);
\set f1 :shared '/news/rss/coindesk_2025-12-12.rss'
\set f2 :shared '/news/rss/cointelegraph_2025-12-12.rss'
\set f3 :shared '/news/rss/decrypt_2025-12-12.rss'
\set f4 :shared '/news/rss/prnewswire_news_releases_2025-12-13.rss'
INSERT INTO feed_files VALUES ('coindesk', pg_read_binary_file(:'f1')),
    ('cointelegraph', pg_read_binary_file(:'f2')), ('decrypt', pg_read_binary_file(:'f3')),
    ('prnewswire', pg_read_binary_file(:'f4'));
SELECT name, count(*) AS items, count(DISTINCT i.guid) AS guids, count(i.title) AS titles,
       count(i.published_at) AS dated, min(i.published_at), max(i.published_at),
       count(*) FILTER (WHERE i.summary ~ '<[a-z/]' OR i.title ~ '&[a-z]+;') AS with_html
FROM feed_files, parse_feed(body) i GROUP BY name ORDER BY name;
SELECT i.title, i.published_at, match_symbols(i.title || E'\n' || coalesce(i.summary, '')) AS symbols,
       round(sentiment(i.title)::numeric, 2) AS sentiment
FROM feed_files, parse_feed(body) i WHERE name = 'coindesk' ORDER BY i.published_at DESC LIMIT 8;

-- Atom and RSS 1.0, HTML and entities, dates in both formats
SELECT * FROM parse_feed(convert_to($$<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
 <entry><id>urn:1</id><title type="html">&lt;b&gt;Bitcoin&lt;/b&gt; &amp;amp; Ether rally</title>
  <link rel="self" href="https://x/self"/><link href="https://x/1"/>
  <summary type="html">&lt;p&gt;Prices &lt;script&gt;evil()&lt;/script&gt;rose &amp;#8217;sharply&amp;rsquo;&lt;/p&gt;</summary>
  <published>2025-12-12T10:00:00.250+01:00</published></entry>
 <entry><id>urn:2</id><title>No date</title><updated>bogus</updated></entry>
</feed>$$, 'UTF8'));
SELECT * FROM parse_feed(convert_to($$<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
 <channel rdf:about="https://x/"><title>c</title></channel>
 <item rdf:about="https://x/a"><title>A</title><link>https://x/a</link><dc:date>2025-12-12</dc:date></item>
</rdf:RDF>$$, 'UTF8'));
SELECT guid, title, published_at FROM parse_feed(convert_to($$<rss version="2.0"><channel>
 <item><title>no guid, link only</title><link>https://x/only-link</link><pubDate>Fri, 12 Dec 2025 22:20:18 GMT</pubDate></item>
 <item><title>neither guid nor link</title></item>
 <item><guid>g1</guid><title>EST zone</title><pubDate>12 Dec 25 17:20 EST</pubDate></item>
</channel></rss>$$, 'UTF8'));

-- hostile or broken input: clear errors, nothing returned
SELECT * FROM parse_feed(convert_to('<rss><channel><item><title>unclosed</channel></rss>', 'UTF8'));
SELECT * FROM parse_feed(convert_to($$<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><guid>x</guid><title>&xxe;</title></item></channel></rss>$$, 'UTF8'));
SELECT * FROM parse_feed(convert_to($$<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<rss><channel><item><guid>x</guid><title>&lol2;</title></item></channel></rss>$$, 'UTF8'));
SELECT * FROM parse_feed(convert_to('<html><body>not a feed</body></html>', 'UTF8'));
SELECT * FROM parse_feed(''::bytea);
SELECT count(*) FROM parse_feed(convert_to('<rss version="2.0"><channel></channel></rss>', 'UTF8'));

-- feeds and quote sources; the poll worker is planned while one is enabled
SELECT * FROM triggerstock.worker_plan;
SELECT add_feed('https://example.com/rss') AS id, add_feed('http://example.com/atom', '1 minute') AS id2;
SELECT add_feed('https://example.com/rss', '10 minutes') AS same_id;
SELECT id, url, poll_interval, enabled, etag, last_status, last_error FROM triggerstock.feeds ORDER BY id;
SELECT * FROM triggerstock.worker_plan;
SELECT add_feed('ftp://example.com/rss');
SELECT add_feed('file:///etc/passwd');
SELECT add_quote_source('http://127.0.0.1:1/quote?symbol=BTC', 'BTC', '{"price": "c", "ts": "t"}') AS quote_id;
SELECT add_quote_source('http://127.0.0.1:1/quote', 'BTC', '[1]');
UPDATE triggerstock.feeds SET enabled = false;
SELECT * FROM triggerstock.worker_plan;
DELETE FROM triggerstock.quote_sources;
SELECT * FROM triggerstock.worker_plan;
DELETE FROM triggerstock.feeds;
DELETE FROM triggerstock.lexicons;
