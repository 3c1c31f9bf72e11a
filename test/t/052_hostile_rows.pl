# The workers read hostile rows (issue 11): the launcher, ingest workers,
# the poll worker and the predictor meet strange rows of sources, feeds,
# quote_sources, models, deployments, predictions and candles that pass
# every constraint.  Each logs an error and carries on (or its source backs
# off); no process crashes, so the postmaster never restarts, and the good
# deployment next to the broken ones is still scored.  The SQL functions
# reading the same tables are covered by sql/hostile_rows.sql.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";

my $node = PostgreSQL::Test::Cluster->new('hostile');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'triggerstock'
triggerstock.database = 'postgres'
triggerstock.max_workers = 16
max_worker_processes = 24
triggerstock.poll_timeout = 1000
});
$node->start;
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock');
$node->command_ok(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', "shared=$shared",
	'-d', $node->connstr('postgres'), '-f', "$repo/test/sql/load_candles.sql"], 'real candles loaded');
$node->safe_psql('postgres', q{
	DELETE FROM triggerstock.candles WHERE symbol = 'BTC';
	-- the ETH candles under other symbols, for the broken deployments
	INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades,
	                                  open_time, close_time)
	SELECT s, width, bucket, open, high, low, close, volume, vwap, trades, open_time, close_time
	FROM triggerstock.candles, unnest(ARRAY['M_JUNK', 'M_FEW', 'M_NAMES', 'C_ODD']) s
	WHERE symbol = 'ETH';});
my $good = $node->safe_psql('postgres', q{SELECT train('ETH', params => '{"num_boost_round": 5}')});
$node->safe_psql('postgres', q{SELECT train('C_ODD', params => '{"num_boost_round": 5}')});
# then its candles turn strange: NaN and infinite prices, a negative volume
$node->safe_psql('postgres', q{
	UPDATE triggerstock.candles SET close = 'NaN' WHERE symbol = 'C_ODD' AND extract(minute FROM bucket) = 7;
	UPDATE triggerstock.candles SET high = 'Infinity', volume = -1 WHERE symbol = 'C_ODD' AND extract(minute FROM bucket) = 9;});

# models that pass every constraint but cannot be served, deployed for their symbols
$node->safe_psql('postgres', qq{
	CREATE FUNCTION hostile_model(sym text, bytes bytea, names text[]) RETURNS bigint LANGUAGE sql AS \$\$
	    INSERT INTO triggerstock.models (symbol, width, horizon, model, sha256, params, features, best_iteration,
	        train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source)
	    SELECT sym, width, horizon, bytes, encode(sha256(bytes), 'hex'), params, names, best_iteration,
	           train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source
	    FROM triggerstock.models WHERE id = $good
	    RETURNING id
	\$\$;
	SELECT deploy(hostile_model('M_JUNK', '\\xdeadbeef', features)),
	       deploy(hostile_model('M_FEW', model, features[1:2])),
	       deploy(hostile_model('M_NAMES', model, ARRAY['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k',
	                                                    'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u']))
	FROM triggerstock.models WHERE id = $good;});
# prediction rows that pass every constraint: odd hashes, unknown models, infinite buckets
$node->safe_psql('postgres', q{
	INSERT INTO triggerstock.predictions (symbol, width, horizon, bucket, probability, model_id, model_sha256,
	                                      fallback_level, features, latency_us, predicted_at)
	VALUES ('ETH', '1 minute', 1, 'infinity', 0.5, 999999, repeat('f', 1000), 'model', '"x"', -1, now()),
	       ('ETH', '1 minute', 1, '-infinity', 0.5, NULL, NULL, 'last_score', NULL, NULL, 'infinity'),
	       ('ETH', '1 minute', 10000, '2017-09-04 00:00', 1, 1, '', 'model', '[]', 0, now()),
	       ('ETH', '1 day', 1, '2017-09-01 00:00', 0, 1, 'x', 'model', '{}', 0, now()),
	       ('NOPE', '1 minute', 1, '2017-09-04 00:00', 0.5, 1, 'x', 'model', '{}', 0, now());});
# sources, feeds and quote sources that pass every constraint, enabled; the
# sources go in with sources_check (issue 12) off, as a 0.1 database may hold them
$node->safe_psql('postgres', q{
	ALTER TABLE triggerstock.sources DISABLE TRIGGER sources_check;
	INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled, active_days, active_from,
	                                  active_until, options) VALUES
	    ('odd options', 'generic', 'ws://127.0.0.1:1/x', ARRAY['', 'X'], ARRAY['', 'X'], true, NULL, NULL, NULL,
	     '{"batch_size": "many", "map": [1], "subscribe": {"a": 1}, "flush_ms": -5}'),
	    ('huge batch', 'binance', 'ws://127.0.0.1:1', ARRAY['BTCUSDT'], ARRAY['BTC'], true, NULL, NULL, NULL,
	     '{"batch_size": 1e30}'),
	    ('bool', 'coinbase', 'wss://127.0.0.1:1', ARRAY['BTC-USD'], ARRAY['BTC'], true, '{}', '23:59', '00:00',
	     '{"tls_skip_hostname_check": "perhaps"}'),
	    ('emoji', 'kraken', 'ws://127.0.0.1:1', ARRAY['🚀/USD'], ARRAY['🚀'], true, ARRAY[1,2,3,4,5,6,7], '00:00',
	     '00:00', '{"feed": 42}'),
	    ('unknown feed', 'binance', 'ws://127.0.0.1:1', ARRAY['X'], ARRAY['X'], true, NULL, NULL, NULL,
	     '{"feed": "nonsense", "map": {"ts_unit": "fortnights", "side_mode": "sideways"}}');
	ALTER TABLE triggerstock.sources ENABLE TRIGGER sources_check;
	INSERT INTO triggerstock.feeds (url, poll_interval, enabled, etag, last_modified, last_polled, last_status)
	VALUES ('', '1 second', true, repeat('e', 10000), repeat('m', 5000), '-infinity', -1),
	       ('ftp://127.0.0.1:1/' || repeat('a', 3000), '1 second', true, NULL, NULL, '4713-01-01 BC', 999999),
	       ('http://127.0.0.1:1/feed', '1 second', true, '', '', NULL, NULL);
	INSERT INTO triggerstock.quote_sources (url, symbol, options, poll_interval, enabled, last_price, last_ts)
	VALUES ('', '', '[1, 2]', '1 second', true, 'NaN', '294276-12-31'),
	       ('http://127.0.0.1:1/q', 'Q', '{"price": {"deep": 1}, "ts_unit": "weeks", "qty": ""}', '1 second', true,
	        'Infinity', '-infinity');});

# the workers read all of it
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) = 1 FROM triggerstock.predictions
	WHERE symbol = 'ETH' AND width = '1 minute' AND horizon = 1 AND model_id = $good AND bucket < 'infinity'}),
	'the predictor scored the good deployment next to three broken ones');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 3 FROM triggerstock.feeds WHERE last_polled > now() - interval '1 minute'
	  AND last_polled <= now() AND last_error IS NOT NULL}),
	'the poll worker tried every hostile feed and recorded its error');
sleep 5;    # launcher restarts, ingest backoffs, a few predictor passes
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|was terminated|server process .* exited with exit code [^01]/,
	'no process crashed');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started, 'the postmaster never restarted');
like($log, qr/WARNING:  predictor could not score "(M_JUNK|M_FEW|M_NAMES|C_ODD)"/,
	'a deployment that cannot be scored is a WARNING of the predictor');
unlike($log, qr/PANIC/, 'no PANIC');
is($node->safe_psql('postgres', q{SELECT string_agg(DISTINCT symbol || ' ' || fallback_level, ', ')
	FROM triggerstock.predictions WHERE symbol LIKE 'M\_%'}), 'M_NAMES rules',
	'no model score for the deployments that cannot be served (M_NAMES falls back to the rules: no column of its names)');
is($node->safe_psql('postgres', q{SELECT count(*) FROM triggerstock.ingest_status}), '5', 'ingest_status lists the 5 sources');
is($node->safe_psql('postgres', q{SELECT count(*) FROM worker_status() WHERE kind IN ('predictor', 'poll') AND pid IS NOT NULL}),
	'2', 'predictor and poll worker still running');
# a train() replaces a deployed model that cannot be served
my ($out, $err) = ('', '');
$node->psql('postgres', q{SELECT train('M_JUNK', params => '{"num_boost_round": 3}')}, stdout => \$out, stderr => \$err);
like($err, qr/deployed: deployed model \d+ cannot be served/, 'train() deploys over a model that cannot be served');
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM triggerstock.predictions WHERE symbol = 'M_JUNK'}),
	'... and the predictor scores it');

$node->stop;
done_testing();
