# Models end to end in a real cluster (pg_cron and triggerstock preloaded),
# on the real 1-minute candles of ../shared/data/candles/crypto:
#  - train('BTC'); test/python/check_model.py re-does the evaluation rule
#    with python3-xgboost on the feature rows train() read (the complete
#    ones): rounds chosen by early stopping on the validation slice, refit
#    on all training rows; the stored trees equal its refit, its predictions
#    equal predict(symbol, float8[]), and every stored metric and baseline
#    equals its recomputation;
#  - internal queries run without JIT: a cold predict() with jit_above_cost
#    = 0 compiles nothing (pg_stat_statements' JIT counters);
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
shared_preload_libraries = 'pg_cron,triggerstock,pg_stat_statements'
pg_stat_statements.track = all
cron.database_name = 'postgres'
cron.use_background_workers = on
triggerstock.database = 'postgres'
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock; CREATE EXTENSION pg_stat_statements');
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
# the rows train() read: the complete ones
$node->safe_psql('postgres', qq{
	COPY (SELECT bucket, close, $cols, predict('BTC', ARRAY[$cols]::float8[]) AS ours
	      FROM features('BTC') WHERE bucket <= last_complete_bucket('BTC', '1 minute') ORDER BY bucket)
	TO '$tmp/features.csv' WITH (FORMAT csv, HEADER true)});
PostgreSQL::Test::Utils::append_to_file("$tmp/model.hex",
	$node->safe_psql('postgres', "SELECT encode(model, 'hex') FROM triggerstock.models WHERE id = $id"));
PostgreSQL::Test::Utils::append_to_file("$tmp/meta.json",
	$node->safe_psql('postgres', qq{
	SELECT json_build_object('metrics', metrics, 'params', params, 'horizon', horizon,
	                         'nthread', current_setting('triggerstock.train_threads'))
	FROM triggerstock.models WHERE id = $id}));
my ($out, $err) = ('', '');
my $ok = IPC::Run::run(['/usr/bin/python3', "$repo/test/python/check_model.py",
	"$tmp/model.hex", "$tmp/features.csv", "$tmp/meta.json"], '>', \$out, '2>', \$err);
note($out);
ok($ok, 'python3-xgboost: the same rule gives the same trees, predictions and metrics') or diag($err);
unlike($out, qr/^FAIL/m, 'no failed check');

# the honest report: test-window metrics beside their baselines on the same window
diag('BTC model ' . $node->safe_psql('postgres', qq{
	SELECT format('n_train %s (fit %s, validation %s) n_test %s rounds %s | log_loss %s baseline %s edge %s | accuracy %s majority %s | roc_auc %s | training_ms %s',
	              metrics->>'n_train', metrics->>'n_fit', metrics->>'n_validation', metrics->>'n_test',
	              metrics->>'rounds', round((metrics->>'log_loss')::numeric, 5),
	              round((metrics->>'baseline_log_loss')::numeric, 5), round((metrics->>'edge_log_loss')::numeric, 5),
	              round((metrics->>'accuracy')::numeric, 4), round((metrics->>'majority_accuracy')::numeric, 4),
	              round((metrics->>'roc_auc')::numeric, 4), metrics->>'training_ms')
	FROM triggerstock.models WHERE id = $id}));

# --- internal queries run without JIT --------------------------------------
# a fresh connection, JIT on for everything: predict() compiles nothing
$node->safe_psql('postgres', q{SELECT pg_stat_statements_reset()});
$node->safe_psql('postgres', q{SET jit = on; SET jit_above_cost = 0; SET jit_inline_above_cost = 0;
	SET jit_optimize_above_cost = 0; SELECT predict('BTC'), predict_explain('BTC'), count(*) FROM feature_drift('BTC')});
# (a served pair's row is read from triggerstock.feature_rows: predict()
# probes it without SQL, feature_drift() reads it with a query)
is($node->safe_psql('postgres', q{SELECT count(*) > 0 AND sum(jit_functions) = 0 FROM pg_stat_statements
	WHERE query LIKE '%features(%' OR query LIKE '%triggerstock.feature_rows%' OR query LIKE '%triggerstock.candles%'}),
	't', 'the feature queries of predict(), predict_explain() and feature_drift() ran without JIT');
$node->safe_psql('postgres', q{SET jit = on; SET jit_above_cost = 0; SELECT count(*) FROM features('BTC')});
ok($node->safe_psql('postgres', q{SELECT sum(jit_functions) FROM pg_stat_statements WHERE query LIKE 'SELECT count(*) FROM features(%'}) > 0,
	'(the same query from the user compiles: JIT is available here)');
is($node->safe_psql('postgres', q{SET jit = on; SELECT predict('BTC') IS NOT NULL; SHOW jit}), "t\non",
	'the session keeps its own jit setting');

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
# (test/t/053_predictor_widths.pl covers other widths and horizons)
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM triggerstock.predictions WHERE symbol = 'BTC' AND bucket = '2022-01-25 23:24+00' AND fallback_level = 'model'}),
	'predictor scored the newest complete BTC candle (23:24: the newest, 23:25, has no data after it)');
my $b1 = $node->safe_psql('postgres', q{SELECT date_trunc('minute', now()) - interval '3 minutes'});
# the candle b1, then the first one after it, which closes it
$node->safe_psql('postgres', qq{
	INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, trades, open_time, close_time)
	VALUES ('BTC', '1 minute', '$b1', 36961, 37000, 36950, 36990, 1000, 0, '$b1', '$b1'),
	       ('BTC', '1 minute', timestamptz '$b1' + interval '1 minute', 36990, 37100, 36980, 37050, 1000, 0,
	        timestamptz '$b1' + interval '1 minute', timestamptz '$b1' + interval '1 minute')});
ok($node->poll_query_until('postgres',
	qq{SELECT count(*) = 1 FROM triggerstock.predictions WHERE symbol = 'BTC' AND bucket = '$b1'}),
	'a candle followed by data is complete and scored');
$node->safe_psql('postgres', qq{
	INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, trades, open_time, close_time)
	VALUES ('BTC', '1 minute', timestamptz '$b1' + interval '2 minutes', 37050, 37100, 37000, 37010, 1000, 0,
	        timestamptz '$b1' + interval '2 minutes', timestamptz '$b1' + interval '2 minutes')});
ok($node->poll_query_until('postgres',
	qq{SELECT outcome FROM triggerstock.predictions WHERE symbol = 'BTC' AND bucket = '$b1'}),
	'its outcome (the next close is higher) is filled once the next candle is complete');
is($node->safe_psql('postgres', qq{
	SELECT probability BETWEEN 0 AND 1 AND latency_us > 0 AND model_sha256 = (SELECT sha256 FROM triggerstock.models WHERE id = model_id)
	       AND features ? 'rsi_14'
	FROM triggerstock.predictions WHERE symbol = 'BTC' AND bucket = '$b1'}), 't',
	'audit row: probability, latency, model sha256, feature snapshot');
is($node->safe_psql('postgres', q{SELECT bool_and(n >= 1 AND accuracy IS NOT NULL AND log_loss IS NOT NULL
	AND edge_log_loss = baseline_log_loss - log_loss AND width = '1 minute' AND horizon = 1)
	FROM triggerstock.model_live_metrics WHERE symbol = 'BTC'}),
	't', 'model_live_metrics has the realised outcomes, per width, horizon and model, beside the baseline');
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
