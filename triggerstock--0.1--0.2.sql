/* triggerstock--0.1--0.2.sql: upgrade a 0.1 database to 0.2 */

\echo Use "ALTER EXTENSION triggerstock UPDATE TO '0.2'" to load this file. \quit

-- Every SQL change of 0.2 is made here and in the pieces of the 0.2 install
-- script (SQL_PIECES in the Makefile); test/t/002_upgrade.pl checks that a
-- 0.1 database updated with this file equals a fresh 0.2 install.

-- Issue 9 (layout): the schema's comment names all it holds.
COMMENT ON SCHEMA triggerstock IS
'triggerstock data: trades, candles, news, sources, models and their configuration, status and views';
