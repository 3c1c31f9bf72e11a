------------------------------------------------------------------------------
-- src/news/news.sql
-- News: items, RSS/Atom feeds, symbol aliases, JSON quote sources (polled by
-- bgworker/poll.c), match_symbols() and parse_feed().
------------------------------------------------------------------------------

-- News items (filled by the poll worker, read by features())

CREATE TABLE triggerstock.news (
    guid          text PRIMARY KEY,
    feed_id       integer,
    title         text,
    summary       text,
    link          text,
    published_at  timestamptz,
    symbols       text[],
    sentiment     float8,
    scorer        text,
    inserted_at   timestamptz DEFAULT now()
);
CREATE INDEX news_published_at_idx ON triggerstock.news (published_at);
CREATE INDEX news_symbols_idx ON triggerstock.news USING gin (symbols);
COMMENT ON TABLE triggerstock.news IS
'news items, one per guid (else link); stored once, with the symbols they mention and their sentiment';
COMMENT ON COLUMN triggerstock.news.guid IS 'the item''s guid (RSS) or id (Atom), else its link';
COMMENT ON COLUMN triggerstock.news.feed_id IS 'triggerstock.feeds.id of the feed it came from';
COMMENT ON COLUMN triggerstock.news.title IS 'title, HTML stripped and entities decoded';
COMMENT ON COLUMN triggerstock.news.summary IS 'description / summary / content, HTML stripped and entities decoded';
COMMENT ON COLUMN triggerstock.news.published_at IS 'pubDate (RFC 822) or published/updated (RFC 3339); NULL if absent or unparseable';
COMMENT ON COLUMN triggerstock.news.symbols IS 'symbols whose aliases occur in title or summary (match_symbols)';
COMMENT ON COLUMN triggerstock.news.sentiment IS 'sentiment of the title (and summary) in [-1, 1], from the scorer named in scorer';
COMMENT ON COLUMN triggerstock.news.scorer IS
'which scorer gave the sentiment: openai or huggingface (the model endpoint of triggerstock.sentiment_url), builtin (the built-in lexicon: endpoint off, failed, timed out, or past triggerstock.sentiment_max_items)';
COMMENT ON COLUMN triggerstock.news.link IS 'the item''s link';
COMMENT ON COLUMN triggerstock.news.inserted_at IS 'when the item was stored';
COMMENT ON INDEX triggerstock.news_published_at_idx IS
'serves features(): the news of the hour up to each bucket''s close';
SELECT pg_catalog.pg_extension_config_dump('triggerstock.news', '');

------------------------------------------------------------------------------
-- Feeds, symbol aliases, JSON quote sources and loaded lexicons (the poll
-- worker, bgworker/poll.c, fetches feeds and quote sources)
------------------------------------------------------------------------------

CREATE TABLE triggerstock.feeds (
    id             serial PRIMARY KEY,
    url            text NOT NULL UNIQUE,
    poll_interval  interval NOT NULL DEFAULT '5 minutes' CHECK (poll_interval >= interval '1 second'),
    enabled        boolean NOT NULL DEFAULT true,
    etag           text,
    last_modified  text,
    last_polled    timestamptz,
    last_status    integer,
    last_error     text
);
COMMENT ON TABLE triggerstock.feeds IS
'RSS 2.0 / RSS 1.0 / Atom feeds the poll worker fetches every poll_interval (conditional GET with etag / last_modified)';
COMMENT ON COLUMN triggerstock.feeds.url IS 'http:// or https:// URL of the feed';
COMMENT ON COLUMN triggerstock.feeds.etag IS 'ETag of the last 200 response, sent back as If-None-Match';
COMMENT ON COLUMN triggerstock.feeds.last_modified IS 'Last-Modified of the last 200 response, sent back as If-Modified-Since';
COMMENT ON COLUMN triggerstock.feeds.last_status IS 'HTTP status of the last poll (304: unchanged), NULL if no response was received';
COMMENT ON COLUMN triggerstock.feeds.last_error IS 'why the last poll failed (NULL after a successful poll); nothing of a failed poll is stored';

CREATE TABLE triggerstock.symbol_aliases (
    symbol   text NOT NULL,
    alias    text NOT NULL CHECK (alias ~ '\S'),
    builtin  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (symbol, alias)
);
CREATE UNIQUE INDEX symbol_aliases_lower_idx ON triggerstock.symbol_aliases (lower(alias));
COMMENT ON TABLE triggerstock.symbol_aliases IS
'words that name a symbol in news (bitcoin, BTC -> BTC); matched case-insensitively on word boundaries; editable';
COMMENT ON COLUMN triggerstock.symbol_aliases.builtin IS 'seeded by the extension (pg_dump keeps only rows added by users)';
INSERT INTO triggerstock.symbol_aliases (symbol, alias, builtin)
SELECT s, a, true FROM (VALUES
    ('BTC', 'bitcoin'), ('BTC', 'btc'), ('BTC', 'xbt'),
    ('ETH', 'ethereum'), ('ETH', 'eth'), ('ETH', 'ether'),
    ('SOL', 'solana'), ('SOL', 'sol'),
    ('XRP', 'xrp'), ('XRP', 'ripple'),
    ('BNB', 'bnb'), ('BNB', 'binance coin'),
    ('DOGE', 'dogecoin'), ('DOGE', 'doge'),
    ('ADA', 'cardano'), ('ADA', 'ada'),
    ('AVAX', 'avalanche'), ('AVAX', 'avax'),
    ('DOT', 'polkadot'),
    ('LINK', 'chainlink'),
    ('LTC', 'litecoin'), ('LTC', 'ltc'),
    ('TRX', 'tron'), ('TRX', 'trx'),
    ('SHIB', 'shiba inu'), ('SHIB', 'shib'),
    ('TON', 'toncoin'),
    ('USDT', 'tether'), ('USDT', 'usdt'),
    ('USDC', 'usdc')) AS seed(s, a);

CREATE TABLE triggerstock.quote_sources (
    id             serial PRIMARY KEY,
    url            text NOT NULL,
    symbol         text NOT NULL,
    options        jsonb NOT NULL DEFAULT '{}',
    poll_interval  interval NOT NULL DEFAULT '5 seconds' CHECK (poll_interval >= interval '1 second'),
    enabled        boolean NOT NULL DEFAULT true,
    last_polled    timestamptz,
    last_status    integer,
    last_error     text,
    last_price     float8,
    last_ts        timestamptz
);
COMMENT ON TABLE triggerstock.quote_sources IS
'HTTP JSON quote endpoints (e.g. Finnhub /quote) polled every poll_interval; each new price becomes a trade (exchange ''quote'')';
COMMENT ON COLUMN triggerstock.quote_sources.options IS
'field mapping: {"price": "c", "ts": "t", "ts_unit": "s|ms|us", "qty": "v"}; dotted paths reach nested fields; defaults are Finnhub''s';
COMMENT ON COLUMN triggerstock.quote_sources.last_price IS 'price of the last stored quote';
COMMENT ON COLUMN triggerstock.quote_sources.last_ts IS 'time of the last stored quote';

CREATE TABLE triggerstock.lexicons (
    name       text PRIMARY KEY,
    format     text NOT NULL,
    entries    integer NOT NULL,
    source     bytea NOT NULL,
    loaded_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE triggerstock.lexicons IS
'external sentiment lexicons loaded by load_lexicon(), kept as their file bytes; sentiment(text, name) uses them';

COMMENT ON SEQUENCE triggerstock.feeds_id_seq IS 'ids of triggerstock.feeds';
COMMENT ON SEQUENCE triggerstock.quote_sources_id_seq IS 'ids of triggerstock.quote_sources';

SELECT pg_catalog.pg_extension_config_dump('triggerstock.feeds', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.feeds_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.symbol_aliases', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.quote_sources', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.quote_sources_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.lexicons', '');

-- The poll worker re-reads its queue when these change.  Only configuration
-- columns signal a change: the poll worker's own status writes (last_polled,
-- last_status, etag, last_price, ...) must not make the launcher and the
-- worker re-read their configuration after every poll.
CREATE TRIGGER feeds_config_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF url, poll_interval, enabled
    ON triggerstock.feeds FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();
CREATE TRIGGER quote_sources_config_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF url, symbol, options, poll_interval, enabled
    ON triggerstock.quote_sources FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();
CREATE TRIGGER symbol_aliases_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON triggerstock.symbol_aliases FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();


CREATE FUNCTION @extschema@.add_feed(url text, poll_interval interval DEFAULT '5 minutes')
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    feed_id integer;
BEGIN
    IF url IS NULL OR url !~* '^https?://[^/?#\s]+' THEN
        RAISE EXCEPTION 'feed URL "%" is not an http or https URL', url
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give an absolute URL starting with http:// or https://.';
    END IF;
    INSERT INTO triggerstock.feeds AS f (url, poll_interval)
    VALUES (add_feed.url, add_feed.poll_interval)
    ON CONFLICT ON CONSTRAINT feeds_url_key
        DO UPDATE SET poll_interval = EXCLUDED.poll_interval, enabled = true
    RETURNING f.id INTO feed_id;
    RETURN feed_id;
END
$$;
COMMENT ON FUNCTION @extschema@.add_feed(text, interval) IS
'adds (or re-enables) an RSS/Atom feed polled every poll_interval; returns its id in triggerstock.feeds';

CREATE FUNCTION @extschema@.add_quote_source(url text, symbol text, options jsonb DEFAULT '{}',
                                             poll_interval interval DEFAULT '5 seconds')
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    source_id integer;
BEGIN
    IF url IS NULL OR url !~* '^https?://[^/?#\s]+' THEN
        RAISE EXCEPTION 'quote URL "%" is not an http or https URL', url
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give an absolute URL starting with http:// or https://.';
    END IF;
    IF options IS NULL OR pg_catalog.jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'quote source options must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example {"price": "c", "ts": "t", "ts_unit": "s"}.';
    END IF;
    INSERT INTO triggerstock.quote_sources AS q (url, symbol, options, poll_interval)
    VALUES (add_quote_source.url, add_quote_source.symbol, add_quote_source.options,
            add_quote_source.poll_interval)
    RETURNING q.id INTO source_id;
    RETURN source_id;
END
$$;
COMMENT ON FUNCTION @extschema@.add_quote_source(text, text, jsonb, interval) IS
'adds an HTTP JSON quote endpoint for symbol; options maps fields (price, ts, ts_unit, qty); returns its id';

CREATE FUNCTION @extschema@.match_symbols(input text)
RETURNS text[] AS 'MODULE_PATHNAME', 'match_symbols'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.match_symbols(text) IS
'symbols (sorted, distinct) whose triggerstock.symbol_aliases occur in the text, case-insensitive, on word boundaries';

CREATE FUNCTION @extschema@.parse_feed(body bytea)
RETURNS TABLE (guid text, title text, summary text, link text, published_at timestamptz)
AS 'MODULE_PATHNAME', 'parse_feed'
LANGUAGE C STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.parse_feed(bytea) IS
'items of an RSS 2.0 / RSS 1.0 / Atom document (XXE-safe reader: no network, no entities), HTML stripped; what the poll worker stores';
