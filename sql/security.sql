-- Least privilege and the search_path of the extension's functions
-- (issue 12).  Roles are cluster-wide: the test's own roles are dropped at
-- the end.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS triggerstock;

-- the roles the extension created
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'triggerstock%' ORDER BY 1;
SELECT pg_has_role('triggerstock_admin', 'triggerstock_reader', 'member') AS admin_is_reader;

CREATE ROLE sec_nobody LOGIN;
CREATE ROLE sec_reader LOGIN IN ROLE triggerstock_reader;
CREATE ROLE sec_admin LOGIN IN ROLE triggerstock_admin;

-- nothing for PUBLIC
SET ROLE sec_nobody;
SELECT count(*) FROM triggerstock.trades;
SELECT * FROM worker_status();
SELECT * FROM ingest_stats();
SELECT add_feed('http://127.0.0.1:1/x');
SELECT train('X');
SELECT retention('1 year');
SELECT sentiment('a good day');
RESET ROLE;

-- a reader reads, and changes nothing
SET ROLE sec_reader;
SELECT count(*) >= 0 AS reads_trades FROM triggerstock.trades;
SELECT count(*) >= 0 AS reads_status FROM triggerstock.ingest_status;
SELECT count(*) >= 0 AS reads_candles FROM triggerstock.candles_1h;
SELECT count(*) FROM triggerstock.source_secrets;
SELECT add_source('r', 'binance', 'ws://127.0.0.1:1', ARRAY['BTCUSDT']);
INSERT INTO triggerstock.feeds (url) VALUES ('http://127.0.0.1:1/r');
SELECT deploy('X', 'most_recent');
SET triggerstock.train_threads = 8;
RESET ROLE;

-- an admin configures without being a superuser
SET ROLE sec_admin;
SELECT add_source('a', 'binance', 'ws://127.0.0.1:1', ARRAY['BTCUSDT'], enabled => false, token => 'secret') > 0 AS added;
SELECT count(*) AS secrets FROM triggerstock.source_secrets;
SELECT add_feed('http://127.0.0.1:1/a', '1 hour') > 0 AS feed_added;
UPDATE triggerstock.feeds SET enabled = false;
SELECT dead_letters_retention('7 days') AS dead_letters_deleted;
SELECT count(*) AS partitions_dropped FROM retention('100 years');
DELETE FROM triggerstock.sources;
DELETE FROM triggerstock.feeds;
RESET ROLE;

-- every SQL and PL/pgSQL function of the extension pins its search_path
-- or has a body bound at creation (BEGIN ATOMIC)
SELECT p.oid::regprocedure AS unpinned
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'triggerstock'
JOIN pg_language l ON l.oid = p.prolang
WHERE l.lanname IN ('sql', 'plpgsql') AND p.prosqlbody IS NULL
  AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false);

-- functions that are SECURITY DEFINER, and who may call them
SELECT p.oid::regprocedure AS definer, p.proconfig,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_call
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'triggerstock'
WHERE p.prosecdef ORDER BY p.oid::regprocedure::text COLLATE "C";

-- length limits where the configuration enters
SELECT add_source('long', 'generic', 'ws://127.0.0.1:1', ARRAY['BTCUSDT'],
                  options => jsonb_build_object('subscribe', repeat('x', 65537)));
SELECT add_source('long', 'binance', 'ws://127.0.0.1:1/' || repeat('p', 2100), ARRAY['BTCUSDT']);
SELECT add_source('long', 'binance', 'ws://127.0.0.1:1', ARRAY[E'BTC\nUSDT'], ARRAY['BTC']);

DROP ROLE sec_nobody, sec_reader, sec_admin;
