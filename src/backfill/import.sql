------------------------------------------------------------------------------
-- src/backfill/import.sql
-- Loading history from files: import_trades() and import_candles() read a
-- server-side file (COPY, so the caller needs pg_read_server_files) or the
-- lines a client staged with \copy into pg_temp.triggerstock_import
-- (import_staging()), parse one of the common formats in SQL and store the
-- rows with every bookkeeping column filled in:
--   trades   exchange, instrument, symbol, trade_id (the line number where
--            the format has no id, so a re-import dedupes), received_at;
--            their 1-minute candles are recomputed (origin 'trades');
--   candles  open_time = bucket, close_time = bucket + 59.999 s (the
--            convention of Binance klines: the last millisecond of the
--            minute), trades 0 and vwap NULL where the file does not say,
--            origin 'file:<format>'; a candle computed from stored trades
--            is never replaced.
-- Invariants: re-importing a file changes nothing; a line that does not
-- parse raises an error naming its line number and nothing is stored.
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.import_staging()
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_catalog.to_regclass('pg_temp.triggerstock_import') IS NULL THEN
        CREATE TEMP TABLE triggerstock_import (
            n    bigint GENERATED ALWAYS AS IDENTITY,
            line text);
    ELSE
        TRUNCATE pg_temp.triggerstock_import RESTART IDENTITY;
    END IF;
    RETURN 'pg_temp.triggerstock_import'::regclass;
END
$$;
COMMENT ON FUNCTION @extschema@.import_staging() IS
'creates, or empties, the session''s staging table pg_temp.triggerstock_import (n = line number, line) and returns it: fill it from the client with \copy pg_temp.triggerstock_import (line) FROM ''file'' WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02''), then call import_trades or import_candles with path NULL';

-- Reads a file into the staging table (path given), or uses what the client
-- staged (path NULL); returns the number of lines.
CREATE FUNCTION @extschema@.import_lines(path text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    -- a longer name fails in the server's open() with an internal error
    IF pg_catalog.octet_length(path) > 1023 THEN
        RAISE EXCEPTION 'file path of % bytes is too long', pg_catalog.octet_length(path)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A server file path is at most 1023 bytes.';
    END IF;
    IF path IS NOT NULL OR pg_catalog.to_regclass('pg_temp.triggerstock_import') IS NULL THEN
        PERFORM @extschema@.import_staging();
    END IF;
    IF path IS NOT NULL THEN
        EXECUTE pg_catalog.format('COPY pg_temp.triggerstock_import (line) FROM %L '
                       'WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02'')', path);
    END IF;
    SELECT pg_catalog.count(*) INTO n FROM pg_temp.triggerstock_import WHERE line IS NOT NULL;
    IF n = 0 THEN
        RAISE EXCEPTION 'nothing to import: %', coalesce('file ' || path || ' is empty',
                                                          'pg_temp.triggerstock_import is empty')
            USING ERRCODE = 'no_data_found',
                  HINT = 'Give a path the server can read, or stage the lines with \copy pg_temp.triggerstock_import (line) FROM ''file'' WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02'') and pass path NULL.';
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.import_lines(text) IS
'import_trades/import_candles helper: copies the server-side file path (one line per row) into pg_temp.triggerstock_import, or, with path NULL, uses the lines a client staged there; returns the number of lines';

-- The staged lines split on commas, blank lines and a byte order mark dropped.
CREATE FUNCTION @extschema@.import_fields()
RETURNS TABLE (n bigint, f text[])
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    SELECT s.n OPERATOR(pg_catalog.-) m.first OPERATOR(pg_catalog.+) 1,
           pg_catalog.string_to_array(pg_catalog.btrim(s.line, E' \t\r\n\uFEFF'), ',')
    FROM pg_temp.triggerstock_import s,
         (SELECT pg_catalog.min(x.n) AS first FROM pg_temp.triggerstock_import x) m
    WHERE s.line IS NOT NULL AND pg_catalog.btrim(s.line, E' \t\r\n\uFEFF') OPERATOR(pg_catalog.<>) '';
END
$$;
COMMENT ON FUNCTION @extschema@.import_fields() IS
'import helper: the staged lines (pg_temp.triggerstock_import) as arrays of comma-separated fields, with their line numbers in the file (from 1); blank lines skipped';

-- A time in a file: epoch seconds / ms / µs / ns told apart by magnitude,
-- or a timestamp text (without a zone it is read in time_zone).
CREATE FUNCTION @extschema@.import_time(v text, time_zone text)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE
        WHEN v OPERATOR(pg_catalog.~) '^\s*[0-9]+(\.[0-9]*)?\s*$' THEN
            'epoch'::pg_catalog.timestamptz OPERATOR(pg_catalog.+) ((CASE
                WHEN v::numeric OPERATOR(pg_catalog.<) 1e11 THEN pg_catalog.round(v::numeric OPERATOR(pg_catalog.*) 1e6)
                WHEN v::numeric OPERATOR(pg_catalog.<) 1e14 THEN pg_catalog.round(v::numeric OPERATOR(pg_catalog.*) 1e3)
                WHEN v::numeric OPERATOR(pg_catalog.<) 1e17 THEN pg_catalog.round(v::numeric)
                ELSE pg_catalog.trunc(v::numeric OPERATOR(pg_catalog./) 1e3) END)::bigint
                OPERATOR(pg_catalog.*) INTERVAL '1 microsecond')
        WHEN v OPERATOR(pg_catalog.~) '(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)\s*$' THEN v::pg_catalog.timestamptz
        ELSE v::timestamp AT TIME ZONE time_zone END;
END;
COMMENT ON FUNCTION @extschema@.import_time(text, text) IS
'import helper: a file''s time as timestamptz: an epoch number in s (< 1e11), ms (< 1e14), µs (< 1e17) or ns, exact to the µs; else a timestamp text, read in time_zone when it names no zone';

-- The position of the first header name found among names, or NULL.
CREATE FUNCTION @extschema@.import_column(header text[], names text[])
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.min(pg_catalog.array_position(header, x)) FROM pg_catalog.unnest(names) x
$$;
COMMENT ON FUNCTION @extschema@.import_column(text[], text[]) IS
'import helper: 1-based position in header (lower-case, trimmed names) of the first of names present, or NULL';

-- Raises the import error of line n.
CREATE FUNCTION @extschema@.import_line_error(format text, n bigint, detail text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'line % of the % file does not parse: %', n, format, detail
        USING ERRCODE = 'invalid_text_representation',
              HINT = 'Check the format name and the file; nothing was imported.';
END
$$;
COMMENT ON FUNCTION @extschema@.import_line_error(text, bigint, text) IS
'import helper: raises the error for a line that does not parse (nothing is stored)';

-- Runs INSERT INTO target SELECT select_list FROM the staged fields x WHERE
-- skip (parameters $1 day, $2 time_zone, $3 price_scale); when a line does
-- not parse, evaluates the lines one by one to name the first bad one.
CREATE FUNCTION @extschema@.import_parse(target text, select_list text, skip text, format text, day date,
                                         time_zone text, price_scale float8)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    line   bigint;
    keep   boolean;
    rec    record;
BEGIN
    EXECUTE pg_catalog.format('INSERT INTO %s SELECT %s FROM @extschema@.import_fields() x WHERE %s',
                              target, select_list, skip)
        USING day, time_zone, price_scale;
EXCEPTION WHEN data_exception THEN
    BEGIN
        FOR rec IN SELECT x.n, x.f FROM @extschema@.import_fields() x ORDER BY x.n LOOP
            line := rec.n;
            EXECUTE pg_catalog.format('SELECT %s FROM (SELECT $1::bigint AS n, $2::text[] AS f) x', skip)
                INTO keep USING rec.n, rec.f;
            CONTINUE WHEN NOT keep;
            EXECUTE pg_catalog.format('SELECT %s FROM (SELECT $4::bigint AS n, $5::text[] AS f) x',
                                      select_list)
                USING day, time_zone, price_scale, rec.n, rec.f;
        END LOOP;
    EXCEPTION WHEN data_exception THEN
        PERFORM @extschema@.import_line_error(format, line, SQLERRM);
    END;
    RAISE;
END
$$;
COMMENT ON FUNCTION @extschema@.import_parse(text, text, text, text, date, text, float8) IS
'import helper: inserts the parsed staged lines into a temporary table; a line that does not parse raises an error naming its line number';

-- The SQL expression of a side field: is_buyer_maker true/false, or buy/sell/b/s.
CREATE FUNCTION @extschema@.import_side_sql(field text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN field IS NULL THEN 'NULL::text' ELSE
        'CASE pg_catalog.lower(pg_catalog.btrim(' || field || ', '' "'')) WHEN ''true'' THEN ''sell'' '
        'WHEN ''false'' THEN ''buy'' WHEN ''buy'' THEN ''buy'' WHEN ''b'' THEN ''buy'' '
        'WHEN ''sell'' THEN ''sell'' WHEN ''s'' THEN ''sell'' END' END
$$;
COMMENT ON FUNCTION @extschema@.import_side_sql(text) IS
'import helper: SQL text reading a side from field: is_buyer_maker (true: the taker sold) or buy/sell/b/s as the taker''s side';

------------------------------------------------------------------------------
-- Trades
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.import_trades(
    path        text,
    format      text,
    exchange    text,
    instrument  text,
    symbol      text DEFAULT NULL,
    day         date DEFAULT NULL,
    time_zone   text DEFAULT 'UTC',
    price_scale float8 DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    fmt  text := pg_catalog.lower(import_trades.format);
    sym  text := coalesce(import_trades.symbol, @extschema@.canonical_symbol(import_trades.instrument));
    hdr  text[];
    hdr_n bigint := 0;
    pos  integer[];
    cols text[];                -- trade_id, ts, price, qty, side expressions
    skip text := 'true';
    lo   timestamptz;
    hi   timestamptz;
    syms text[];
    bks  timestamptz[];
    stored bigint;
    bad  bigint;
BEGIN
    IF fmt IS NULL OR fmt NOT IN ('binance_aggtrades', 'binance_trades', 'kraken_trades', 'lean_tick', 'csv') THEN
        RAISE EXCEPTION 'unknown trade file format "%"', import_trades.format
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use binance_aggtrades, binance_trades, kraken_trades, lean_tick or csv (with a header).';
    END IF;
    IF import_trades.exchange IS NULL OR import_trades.instrument IS NULL OR sym IS NULL THEN
        RAISE EXCEPTION 'import_trades needs the exchange and the instrument of the trades'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example import_trades(''/path/XRPETH-aggTrades-2019-10-11.csv'', ''binance_aggtrades'', ''binance'', ''XRPETH'').';
    END IF;
    IF fmt = 'lean_tick' AND import_trades.day IS NULL THEN
        RAISE EXCEPTION 'the lean_tick format needs the day of the file'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Lean times are milliseconds since midnight: pass day => ''2013-10-07'' (and time_zone => ''America/New_York'', price_scale => 10000 for US equities).';
    END IF;
    PERFORM @extschema@.import_lines(import_trades.path);
    IF fmt = 'csv' THEN
        SELECT x.n, ARRAY(SELECT pg_catalog.lower(pg_catalog.btrim(h, E' "\t')) FROM pg_catalog.unnest(x.f) WITH ORDINALITY u(h, i) ORDER BY i)
        INTO hdr_n, hdr FROM @extschema@.import_fields() x ORDER BY x.n LIMIT 1;
        pos := ARRAY[@extschema@.import_column(hdr, '{ts,time,timestamp,datetime,date,transact_time}'),
                     @extschema@.import_column(hdr, '{price,p}'),
                     @extschema@.import_column(hdr, '{qty,size,amount,quantity,volume,q}'),
                     @extschema@.import_column(hdr, '{trade_id,id,tid,agg_trade_id}'),
                     @extschema@.import_column(hdr, '{side}')];
        IF pos[1] IS NULL OR pos[2] IS NULL OR pos[3] IS NULL THEN
            RAISE EXCEPTION 'the csv header "%" names no time, price or quantity column', pg_catalog.array_to_string(hdr, ',')
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'The first line names the columns: time (ts, time, timestamp), price, qty (size, amount, quantity); optional trade_id (id) and side.';
        END IF;
        cols := ARRAY[CASE WHEN pos[4] IS NULL THEN 'x.n'
                           ELSE pg_catalog.format('coalesce(nullif(pg_catalog.btrim(x.f[%s]), '''')::bigint, x.n)', pos[4]) END,
                      pg_catalog.format('@extschema@.import_time(pg_catalog.btrim(x.f[%s], '' "''), $2)', pos[1]),
                      pg_catalog.format('x.f[%s]', pos[2]), pg_catalog.format('x.f[%s]', pos[3]),
                      @extschema@.import_side_sql(CASE WHEN pos[5] IS NOT NULL THEN pg_catalog.format('x.f[%s]', pos[5]) END)];
        skip := pg_catalog.format('x.n <> %s', hdr_n);
    ELSIF fmt = 'binance_aggtrades' THEN
        cols := ARRAY['x.f[1]::bigint', '@extschema@.import_time(x.f[6], ''UTC'')', 'x.f[2]', 'x.f[3]',
                      @extschema@.import_side_sql('x.f[7]')];
        skip := 'x.f[1] ~ ''^[0-9]''';     -- the optional header
    ELSIF fmt = 'binance_trades' THEN
        cols := ARRAY['x.f[1]::bigint', '@extschema@.import_time(x.f[5], ''UTC'')', 'x.f[2]', 'x.f[3]',
                      @extschema@.import_side_sql('x.f[6]')];
        skip := 'x.f[1] ~ ''^[0-9]''';
    ELSIF fmt = 'kraken_trades' THEN
        cols := ARRAY['x.n', '@extschema@.import_time(x.f[1], ''UTC'')', 'x.f[2]', 'x.f[3]', 'NULL::text'];
    ELSE    -- lean_tick: suspicious ticks are skipped
        cols := ARRAY['x.n', '($1 + x.f[1]::bigint * INTERVAL ''1 millisecond'') AT TIME ZONE $2', 'x.f[2]',
                      'x.f[3]', 'NULL::text'];
        skip := 'pg_catalog.btrim(x.f[6]) IS DISTINCT FROM ''1''';
    END IF;

    IF pg_catalog.to_regclass('pg_temp.triggerstock_import_rows') IS NULL THEN
        CREATE TEMP TABLE triggerstock_import_rows (
            n bigint, trade_id bigint, ts timestamptz, price float8, qty float8, side text);
    END IF;
    TRUNCATE pg_temp.triggerstock_import_rows;
    PERFORM @extschema@.import_parse('pg_temp.triggerstock_import_rows',
        pg_catalog.format('x.n, %s, %s, (%s)::float8 / coalesce($3, 1), (%s)::float8, %s',
               cols[1], cols[2], cols[3], cols[4], cols[5]),
        skip, fmt, import_trades.day, import_trades.time_zone, import_trades.price_scale);
    SELECT pg_catalog.min(r.n) INTO bad FROM pg_temp.triggerstock_import_rows r
    WHERE r.ts IS NULL OR r.price IS NULL OR r.qty IS NULL OR r.trade_id IS NULL;
    IF bad IS NOT NULL THEN
        PERFORM @extschema@.import_line_error(fmt, bad, 'a field is missing');
    END IF;

    SELECT pg_catalog.min(r.ts), pg_catalog.max(r.ts) INTO lo, hi FROM pg_temp.triggerstock_import_rows r;
    -- a caller who may not create partitions (triggerstock_admin): the rows
    -- wait in trades_default until the launcher's maintain() moves them
    IF pg_catalog.date_part('epoch', hi) - pg_catalog.date_part('epoch', lo) <= 3660 * 86400
       AND pg_catalog.has_function_privilege('@extschema@.create_partitions(timestamptz, timestamptz)', 'EXECUTE')
       AND pg_catalog.has_schema_privilege('triggerstock', 'CREATE') THEN
        PERFORM pg_catalog.count(*) FROM @extschema@.create_partitions(lo, hi);
    END IF;
    WITH ins AS (
        INSERT INTO triggerstock.trades AS t (exchange, instrument, symbol, trade_id, ts, price, qty, side)
        SELECT import_trades.exchange, import_trades.instrument, sym, r.trade_id, r.ts, r.price, r.qty, r.side
        FROM pg_temp.triggerstock_import_rows r
        ON CONFLICT DO NOTHING
        RETURNING t.symbol, t.ts
    ), touched AS (
        SELECT i.symbol, pg_catalog.date_bin(interval '1 minute', i.ts, timestamp with time zone 'epoch') AS bucket, pg_catalog.count(*) AS c
        FROM ins i GROUP BY 1, 2
    )
    SELECT coalesce(pg_catalog.sum(c), 0), pg_catalog.array_agg(t.symbol), pg_catalog.array_agg(t.bucket) INTO stored, syms, bks FROM touched t;
    PERFORM @extschema@.refresh_candle_buckets(syms, bks);
    TRUNCATE pg_temp.triggerstock_import, pg_temp.triggerstock_import_rows RESTART IDENTITY;
    RETURN stored;
END
$$;
COMMENT ON FUNCTION @extschema@.import_trades(text, text, text, text, text, date, text, float8) IS
$c$loads trades from a file and returns how many were new: path is a server-side file (needs pg_read_server_files), or NULL for the lines staged with \copy into pg_temp.triggerstock_import (import_staging()). Formats: binance_aggtrades and binance_trades (data.binance.vision CSVs, with or without header; ms or µs times), kraken_trades (Kraken time and sales CSV: time, price, volume), lean_tick (QuantConnect Lean ticks: ms since midnight of day in time_zone, price / price_scale, size; suspicious ticks skipped), csv (a header naming time, price, qty and optionally trade_id and side; times as epoch s/ms/µs/ns or timestamps in time_zone). Formats without ids use the line number as trade_id, so re-importing dedupes. The trades' 1-minute candles are recomputed.$c$;

------------------------------------------------------------------------------
-- Candles
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.import_candles(
    path        text,
    format      text,
    symbol      text,
    day         date DEFAULT NULL,
    time_zone   text DEFAULT 'UTC',
    price_scale float8 DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    fmt  text := pg_catalog.lower(import_candles.format);
    hdr  text[];
    hdr_n bigint := 0;
    pos  integer[];
    cols text[];                -- bucket, vwap, trades, span expressions
    skip text := 'x.f[1] ~ ''^[0-9]''';    -- an optional header
    bad  record;
    written bigint;
BEGIN
    IF fmt IS NULL OR fmt NOT IN ('lean_minute', 'binance_klines', 'kraken_ohlcvt', 'csv') THEN
        RAISE EXCEPTION 'unknown candle file format "%"', import_candles.format
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use lean_minute, binance_klines, kraken_ohlcvt or csv (with a header).';
    END IF;
    IF import_candles.symbol IS NULL THEN
        RAISE EXCEPTION 'import_candles needs the symbol the candles belong to'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example import_candles(''/path/btc.csv'', ''csv'', ''BTC'').';
    END IF;
    IF fmt = 'lean_minute' AND import_candles.day IS NULL THEN
        RAISE EXCEPTION 'the lean_minute format needs the day of the file'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Lean times are milliseconds since midnight: pass day => ''2017-09-03'' (and time_zone => ''America/New_York'', price_scale => 10000 for US equities).';
    END IF;
    PERFORM @extschema@.import_lines(import_candles.path);
    pos := '{1,2,3,4,5,6}';
    IF fmt = 'csv' THEN
        SELECT x.n, ARRAY(SELECT pg_catalog.lower(pg_catalog.btrim(h, E' "\t')) FROM pg_catalog.unnest(x.f) WITH ORDINALITY u(h, i) ORDER BY i)
        INTO hdr_n, hdr FROM @extschema@.import_fields() x ORDER BY x.n LIMIT 1;
        pos := ARRAY[@extschema@.import_column(hdr, '{timestamp,time,ts,open_time,bucket,datetime,date}'),
                     @extschema@.import_column(hdr, '{open,o}'), @extschema@.import_column(hdr, '{high,h}'),
                     @extschema@.import_column(hdr, '{low,l}'), @extschema@.import_column(hdr, '{close,c}'),
                     @extschema@.import_column(hdr, '{volume,vol,v}'), @extschema@.import_column(hdr, '{vwap}'),
                     @extschema@.import_column(hdr, '{trades,count,n,number_of_trades}')];
        IF pg_catalog.array_position(pos[1:6], NULL) IS NOT NULL THEN
            RAISE EXCEPTION 'the csv header "%" lacks one of time, open, high, low, close, volume', pg_catalog.array_to_string(hdr, ',')
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'The first line names the columns: timestamp (time, open_time), open, high, low, close, volume; optional vwap and trades.';
        END IF;
        cols := ARRAY[pg_catalog.format('@extschema@.import_time(pg_catalog.btrim(x.f[%s], '' "''), $2)', pos[1]),
                      CASE WHEN pos[7] IS NULL THEN 'NULL::float8' ELSE
                           pg_catalog.format('nullif(pg_catalog.btrim(x.f[%s]), '''')::float8 / coalesce($3, 1)', pos[7]) END,
                      CASE WHEN pos[8] IS NULL THEN '0' ELSE
                           pg_catalog.format('coalesce(nullif(pg_catalog.btrim(x.f[%s]), '''')::bigint, 0)', pos[8]) END,
                      'NULL::interval'];
        skip := pg_catalog.format('x.n <> %s', hdr_n);
    ELSIF fmt = 'lean_minute' THEN
        cols := ARRAY['($1 + x.f[1]::bigint * INTERVAL ''1 millisecond'') AT TIME ZONE $2', 'NULL::float8', '0',
                      'NULL::interval'];
    ELSIF fmt = 'binance_klines' THEN
        cols := ARRAY['@extschema@.import_time(x.f[1], ''UTC'')',
                      'x.f[8]::float8 / nullif(x.f[6]::float8, 0)', 'x.f[9]::bigint',
                      '@extschema@.import_time(x.f[7], ''UTC'') - @extschema@.import_time(x.f[1], ''UTC'')'];
    ELSE    -- kraken_ohlcvt
        cols := ARRAY['@extschema@.import_time(x.f[1], ''UTC'')', 'NULL::float8', 'x.f[7]::bigint', 'NULL::interval'];
    END IF;

    IF pg_catalog.to_regclass('pg_temp.triggerstock_import_candles') IS NULL THEN
        CREATE TEMP TABLE triggerstock_import_candles (
            n bigint, bucket timestamptz, open float8, high float8, low float8, close float8,
            volume float8, vwap float8, trades bigint, span interval);
    END IF;
    TRUNCATE pg_temp.triggerstock_import_candles;
    PERFORM @extschema@.import_parse('pg_temp.triggerstock_import_candles',
        pg_catalog.format('x.n, %s, (x.f[%s])::float8 / coalesce($3, 1), (x.f[%s])::float8 / coalesce($3, 1), '
               '(x.f[%s])::float8 / coalesce($3, 1), (x.f[%s])::float8 / coalesce($3, 1), '
               '(x.f[%s])::float8, %s, %s, %s',
               cols[1], pos[2], pos[3], pos[4], pos[5], pos[6], cols[2], cols[3], cols[4]),
        skip, fmt, import_candles.day, import_candles.time_zone, import_candles.price_scale);
    SELECT c.n, CASE
               WHEN c.bucket IS NULL OR c.open IS NULL OR c.high IS NULL OR c.low IS NULL
                    OR c.close IS NULL OR c.volume IS NULL THEN 'a field is missing'
               WHEN pg_catalog.date_bin(interval '1 minute', c.bucket, timestamp with time zone 'epoch') <> c.bucket THEN
                   pg_catalog.format('%s is not the start of a minute (only 1-minute candles are stored)', c.bucket)
               WHEN c.span IS NOT NULL AND NOT (c.span > interval '59 seconds' AND c.span < interval '1 minute') THEN
                   pg_catalog.format('a kline spanning %s, not 1 minute', c.span)
               ELSE pg_catalog.format('a second candle for %s', c.bucket) END AS why
    INTO bad
    FROM (SELECT x.*, pg_catalog.row_number() OVER (PARTITION BY x.bucket ORDER BY x.n) AS k
          FROM pg_temp.triggerstock_import_candles x) c
    WHERE c.bucket IS NULL OR c.open IS NULL OR c.high IS NULL OR c.low IS NULL OR c.close IS NULL
       OR c.volume IS NULL OR pg_catalog.date_bin(interval '1 minute', c.bucket, timestamp with time zone 'epoch') <> c.bucket
       OR (c.span IS NOT NULL AND NOT (c.span > interval '59 seconds' AND c.span < interval '1 minute'))
       OR c.k > 1
    ORDER BY c.n LIMIT 1;
    IF bad.n IS NOT NULL THEN
        PERFORM @extschema@.import_line_error(fmt, bad.n, bad.why);
    END IF;

    WITH written AS (
        INSERT INTO triggerstock.candles AS k
            (symbol, width, bucket, open, high, low, close, volume, vwap, trades, open_time, close_time, origin)
        SELECT import_candles.symbol, interval '1 minute', c.bucket, c.open, c.high, c.low, c.close, c.volume,
               c.vwap, c.trades, c.bucket, c.bucket + interval '59.999 seconds', 'file:' || fmt
        FROM pg_temp.triggerstock_import_candles c
        ON CONFLICT ON CONSTRAINT candles_pkey DO UPDATE
           SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
               volume = EXCLUDED.volume, vwap = EXCLUDED.vwap, trades = EXCLUDED.trades,
               open_time = EXCLUDED.open_time, close_time = EXCLUDED.close_time, origin = EXCLUDED.origin
           WHERE k.origin <> 'trades'
             AND (k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades, k.origin) IS DISTINCT FROM
                 (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume,
                  EXCLUDED.vwap, EXCLUDED.trades, EXCLUDED.origin)
        RETURNING 1
    )
    SELECT pg_catalog.count(*) INTO written FROM written;
    TRUNCATE pg_temp.triggerstock_import, pg_temp.triggerstock_import_candles RESTART IDENTITY;
    RETURN written;
END
$$;
COMMENT ON FUNCTION @extschema@.import_candles(text, text, text, date, text, float8) IS
$c$loads 1-minute candles of symbol from a file into triggerstock.candles and returns how many it wrote: path is a server-side file (needs pg_read_server_files), or NULL for the lines staged with \copy into pg_temp.triggerstock_import (import_staging()). Formats: lean_minute (QuantConnect Lean: ms since midnight of day in time_zone, open, high, low, close / price_scale, volume), binance_klines (data.binance.vision 1m klines; vwap = quote volume / volume, trades = count), kraken_ohlcvt (Kraken OHLCVT CSV: time s, open, high, low, close, volume, trades), csv (a header naming timestamp, open, high, low, close, volume and optionally vwap and trades; times as epoch numbers or timestamps in time_zone). Candles get open_time = bucket and close_time = bucket + 59.999 s, trades 0 and vwap NULL when the file does not say, origin file:<format>; a candle computed from stored trades is never replaced; re-importing changes nothing.$c$;
