------------------------------------------------------------------------------
-- src/triggerstock.sql
-- The extension's data schema. Functions live in the extension's schema
-- (@extschema@, default public); data lives in schema triggerstock.
------------------------------------------------------------------------------

CREATE SCHEMA triggerstock;
COMMENT ON SCHEMA triggerstock IS
'triggerstock data: trades, order books, candles, news, sources, models and their configuration, status and views';
