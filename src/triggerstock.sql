------------------------------------------------------------------------------
-- src/triggerstock.sql
-- The extension's data schema. Functions live in the extension's schema
-- (@extschema@, default public); data lives in schema triggerstock.
------------------------------------------------------------------------------

-- Every name below resolves in pg_catalog or is qualified: the script (like
-- every function of the extension) never looks into a schema that others
-- may write.  An unqualified CREATE fails here instead of landing in a
-- writable schema; BEGIN ATOMIC bodies and views bind to pg_catalog now.
-- SET LOCAL: CREATE EXTENSION restores the caller's search_path afterwards
-- (a plain SET would outlive the script in the session).
SET LOCAL search_path = pg_catalog, pg_temp;

CREATE SCHEMA triggerstock;
COMMENT ON SCHEMA triggerstock IS
'triggerstock data: trades, order books, candles, news, sources, models and their configuration, status and views';
