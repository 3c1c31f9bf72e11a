------------------------------------------------------------------------------
-- src/sentiment/sentiment.sql
-- Sentiment: the lexicon scorer and the lexicon loader.
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.sentiment(input text)
RETURNS float8 AS 'MODULE_PATHNAME', 'sentiment_builtin'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.sentiment(text) IS
'sentiment of a financial text in [-1, 1] from the built-in lexicon and rules (label: <= -0.3 negative, >= 0.3 positive)';

CREATE FUNCTION @extschema@.sentiment(input text, lexicon text)
RETURNS float8 AS 'MODULE_PATHNAME', 'sentiment_lexicon'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.sentiment(text, text) IS
'sentiment in [-1, 1] with a lexicon loaded by load_lexicon() (or ''builtin''), generic grammar only';

CREATE FUNCTION @extschema@.load_lexicon(path text, name text DEFAULT NULL, format text DEFAULT 'auto')
RETURNS integer AS 'MODULE_PATHNAME', 'load_lexicon'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.load_lexicon(text, text, text) IS
'loads a VADER, Loughran-McDonald (.cat) or AFINN lexicon file from the server into triggerstock.lexicons under name (default: the format name); returns its entry count';
REVOKE ALL ON FUNCTION @extschema@.load_lexicon(text, text, text) FROM PUBLIC;
