# Models end to end in a real cluster (pg_cron and triggerstock preloaded),
# on the real 1-minute candles of ../shared/data/candles/crypto:
#  - train('BTC'); python3-xgboost loads the same model bytes and, on the
#    same feature rows exported here, predicts what predict(symbol, float8[])
#    does to 1e-6; every stored metric equals one recomputed independently
#    (test/python/check_model.py);
#  - a second session sees a new deployment at commit, never before;
#  - a concurrent train() of the same symbol returns at once with a NOTICE;
#  - a cancel stops a long training within a boosting round;
#  - the predictor worker scores each closed candle and fills the outcome;
#  - pg_cron runs train('ETH') on schedule (real pg_cron, per minute).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time sleep);

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";
my $tmp = $PostgreSQL::Test::Utils::tmp_check;

my $node = PostgreSQL::Test::Cluster->new('models');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_cron,triggerstock'
cron.database_name = 'postgres'
cron.use_background_workers = on
triggerstock.database = 'postgres'
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock');
$node->command_ok(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', "shared=$shared",
	'-d', $node->connstr('postgres'),
	'-f', "$repo/test/sql/load_candles.sql"],
	'real candles loaded');
is($node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.candles WHERE symbol = 'BTC'"),
	'36025', 'BTC: 36,025 one-minute candles');

# --- train and compare with python3-xgboost -------------------------------
my $id = $node->safe_psql('postgres', "SELECT train('BTC')");
like($id, qr/^\d+$/, "train('BTC') returned model $id");
is($node->safe_psql('postgres', "SELECT model_id FROM triggerstock.deployed WHERE symbol = 'BTC'"),
	$id, 'first model deployed automatically');

my $cols = $node->safe_psql('postgres', qq{
	SELECT string_agg(quote_ident(f), ', ' ORDER BY o)
	FROM triggerstock.models, unnest(features) WITH ORDINALITY u(f, o) WHERE id = $id});
$node->safe_psql('postgres', qq{
	COPY (SELECT bucket, close, $cols, predict('BTC', ARRAY[$cols]::float8[]) AS ours
	      FROM features('BTC') ORDER BY bucket)
	TO '$tmp/features.csv' WITH (FORMAT csv, HEADER true)});
PostgreSQL::Test::Utils::append_to_file("$tmp/model.hex",
	$node->safe_psql('postgres', "SELECT encode(model, 'hex') FROM triggerstock.models WHERE id = $id"));
PostgreSQL::Test::Utils::append_to_file("$tmp/meta.json",
	$node->safe_psql('postgres', qq{
	SELECT json_build_object('metrics', metrics, 'horizon', horizon,
	                         'test_fraction', (params ->> 'test_fraction')::float8)
	FROM triggerstock.models WHERE id = $id}));
my ($out, $err) = ('', '');
my $ok = IPC::Run::run(['/usr/bin/python3', "$repo/test/python/check_model.py",
	"$tmp/model.hex", "$tmp/features.csv", "$tmp/meta.json"], '>', \$out, '2>', \$err);
note($out);
ok($ok, 'python3-xgboost: same predictions to 1e-6, every metric recomputed independently') or diag($err);
unlike($out, qr/^FAIL/m, 'no failed check');

# the honest report: test-window metrics beside the base rate and majority baseline
diag('BTC model ' . $node->safe_psql('postgres', qq{
	SELECT format('n_train %s n_test %s | accuracy %s precision %s recall %s f1 %s roc_auc %s log_loss %s brier %s | base_rate %s majority_accuracy %s | best_iteration %s training_ms %s',
	              metrics->>'n_train', metrics->>'n_test',
	              round((metrics->>'accuracy')::numeric, 4), round((metrics->>'precision')::numeric, 4),
	              round((metrics->>'recall')::numeric, 4), round((metrics->>'f1')::numeric, 4),
	              round((metrics->>'roc_auc')::numeric, 4), round((metrics->>'log_loss')::numeric, 4),
	              round((metrics->>'brier')::numeric, 4), round((metrics->>'base_rate')::numeric, 4),
	              round((metrics->>'majority_accuracy')::numeric, 4), best_iteration, metrics->>'training_ms')
	FROM triggerstock.models WHERE id = $id}));

# --- cache invalidation seen from a second session ------------------------
my $id2 = $node->safe_psql('postgres',
	q{SELECT train('BTC', params => '{"max_depth": 2, "eta": 0.3, "num_boost_round": 20, "early_stopping_rounds": 0}')});
my $deployed = $node->safe_psql('postgres', "SELECT model_id FROM triggerstock.deployed WHERE symbol = 'BTC'");
my $other = $deployed == $id ? $id2 : $id;
my $reader = $node->background_psql('postgres');
my $writer = $node->background_psql('postgres');
my $explain = q{SELECT (predict_explain('BTC') ->> 'model_id') || ' ' || model_cache_count()};
is($reader->query_safe($explain), "$deployed 1", "reader serves model $deployed and caches one booster");
$writer->query_safe("BEGIN; SELECT deploy($other)");
is($reader->query_safe($explain), "$deployed 1", 'an uncommitted deployment is not seen');
$writer->query_safe('COMMIT');
is($reader->query_safe($explain), "$other 2", "after commit the reader serves model $other at once");
$writer->query_safe("SELECT deploy('BTC', 'rollback')");
is($reader->query_safe($explain), "$deployed 2", 'rollback seen too, both boosters stay cached');
$reader->quit;
$writer->quit;

# --- concurrent train() and cancel during training -------------------------
my ($lout, $lerr) = ('', '');
my $long = IPC::Run::start(['psql', '-X', '-d', $node->connstr('postgres'), '-c',
	q{SELECT train('BTC', params => '{"num_boost_round": 1000000, "early_stopping_rounds": 0, "max_depth": 6}')}],
	'>', \$lout, '2>', \$lerr);
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE 'SELECT train(%num_boost_round%' AND state = 'active' AND now() - query_start > interval '1 second'}),
	'long training running');
my ($res, $stderr);
$node->psql('postgres', "SELECT train('BTC') IS NULL", stdout => \$res, stderr => \$stderr);
is($res, 't', 'a second train() of the same symbol returns NULL at once');
like($stderr, qr/NOTICE:  a model for symbol "BTC" is already being trained, skipping/, '... with a NOTICE');
my $t0 = time;
$node->safe_psql('postgres',
	q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT train(%num_boost_round%' AND state = 'active'});
$long->finish;
my $cancel_s = time - $t0;
like($lerr, qr/canceling statement due to user request/, 'training cancelled');
ok($cancel_s < 5, sprintf('cancel took effect within a round (%.2f s)', $cancel_s));
is($node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.models WHERE symbol = 'BTC'"), '2',
	'no model stored by the cancelled training');

# --- the predictor worker ------------------------------------------------------
# a bucket is complete once the symbol's watermark (close_time of its newest
# candle) has passed its end: the last stored candle is still open
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM triggerstock.predictions WHERE symbol = 'BTC' AND bucket = '2022-01-25 23:24+00' AND fallback_level = 'model'}),
	'predictor scored the latest complete BTC candle');
my $b1 = $node->safe_psql('postgres', q{SELECT date_trunc('minute', now()) - interval '3 minutes'});
# the candle b1, then the first one after it, which closes it
$node->safe_psql('postgres', qq{
	INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, trades, open_time, close_time)
	VALUES ('BTC', '1 minute', '$b1', 36961, 37000, 36950, 36990, 1000, 0, '$b1', timestamptz '$b1' + interval '59 seconds')});
$node->safe_psql('postgres', qq{
	INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, trades, open_time, close_time)
	VALUES ('BTC', '1 minute', timestamptz '$b1' + interval '1 minute', 36990, 37100, 36980, 37050, 1000, 0,
	        timestamptz '$b1' + interval '1 minute', timestamptz '$b1' + interval '1 minute')});
ok($node->poll_query_until('postgres',
	qq{SELECT count(*) = 1 FROM triggerstock.predictions WHERE symbol = 'BTC' AND bucket = '$b1'}),
	'a new closed candle is scored');
ok($node->poll_query_until('postgres',
	qq{SELECT outcome FROM triggerstock.predictions WHERE symbol = 'BTC' AND bucket = '$b1'}),
	'its outcome (the next close is higher) is filled once the next candle closed');
is($node->safe_psql('postgres', qq{
	SELECT probability BETWEEN 0 AND 1 AND latency_us > 0 AND model_sha256 = (SELECT sha256 FROM triggerstock.models WHERE id = model_id)
	       AND features ? 'rsi_14'
	FROM triggerstock.predictions WHERE symbol = 'BTC' AND bucket = '$b1'}), 't',
	'audit row: probability, latency, model sha256, feature snapshot');
is($node->safe_psql('postgres', q{SELECT bool_and(n >= 1 AND accuracy IS NOT NULL AND log_loss IS NOT NULL) FROM triggerstock.model_live_metrics WHERE symbol = 'BTC'}),
	't', 'model_live_metrics has the realised outcome');
is($node->safe_psql('postgres', q{SELECT count(*) FROM triggerstock.latest_predictions WHERE symbol = 'BTC'}), '1',
	'latest_predictions');
is($node->safe_psql('postgres', q{SELECT count(*) > 0 AND bool_and(psi >= 0) FROM feature_drift('BTC')}), 't',
	'feature_drift gives a PSI per feature');

# --- pg_cron retraining ---------------------------------------------------------
$node->safe_psql('postgres', q{CREATE EXTENSION pg_cron});
$node->safe_psql('postgres', q{SELECT cron.schedule('retrain-eth', '* * * * *', $$SELECT train('ETH')$$)});
ok($node->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM cron.job_run_details WHERE status = 'succeeded' AND command LIKE '%train(''ETH'')%'},
	't'), 'pg_cron ran train(\'ETH\') and it succeeded');
is($node->safe_psql('postgres', q{SELECT count(*) >= 1 FROM triggerstock.models WHERE symbol = 'ETH'}), 't',
	'the scheduled run stored a model');
$node->safe_psql('postgres', q{SELECT cron.unschedule('retrain-eth')});

$node->stop;
done_testing();
