# backtest() (issue 15) re-done outside the database on the real candles of
# ../shared/data/candles/crypto (BTC perpetual, 36,025 minutes; ETH, two
# days), loaded as the other model tests load them:
#  - per symbol, a direction model of horizon 1 and 5 and a return model of
#    horizon 5, trained with the defaults;
#  - each backtested on its own test window with the default threshold and
#    fee, without fees, and with an abstain band;
#  - test/python/check_backtest.py scores the same features() rows with
#    python3-xgboost (not through the database), rebuilds the periods,
#    positions, fees and every figure of the model, the rules baseline and
#    buy-and-hold from the README's rule, and compares them all;
#  - the look-ahead refusal: a range that starts one minute before the test
#    window is an ERROR (SQLSTATE 22023) with a hint.
# The "row:" lines are the README's backtest table.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";
# a directory of its own: tmp_check is shared by the TAP tests of one run
# (054_targets.pl leaves its model_<id>.hex there)
my $tmp = PostgreSQL::Test::Utils::tempdir;

my $node = PostgreSQL::Test::Cluster->new('backtest');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock');
$node->command_ok(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', "shared=$shared",
	'-d', $node->connstr('postgres'), '-f', "$repo/test/sql/load_candles.sql"], 'real candles loaded');

# write (not append) a file
sub write_file
{
	my ($path, $text) = @_;
	open(my $fh, '>', $path) or die "$path: $!";
	print $fh $text;
	close $fh or die "$path: $!";
}

my @table;
for my $sym ('BTC', 'ETH')
{
	for my $cfg (['direction', 1, 0.55], ['direction', 5, 0.55], ['return', 5, 0.0005])
	{
		my ($target, $h, $band) = @$cfg;
		my $id = $node->safe_psql('postgres',
			"SET client_min_messages = warning; SELECT train('$sym', horizon => $h, target => '$target')");
		like($id, qr/^\d+$/, "$sym: $target model $id of horizon $h");
		my ($from, $to, $from_epoch, $to_epoch, $width_s) = split /\|/, $node->safe_psql('postgres', qq{
			SELECT test_from, test_to, extract(epoch FROM test_from), extract(epoch FROM test_to),
			       extract(epoch FROM width) FROM triggerstock.models WHERE id = $id});
		my $cols = $node->safe_psql('postgres', qq{
			SELECT string_agg(quote_ident(f), ', ' ORDER BY o)
			FROM triggerstock.models, unnest(features) WITH ORDINALITY u(f, o) WHERE id = $id});
		my $names = $node->safe_psql('postgres', qq{SELECT to_json(features) FROM triggerstock.models WHERE id = $id});
		my $rows = "$tmp/rows_$id.csv";
		$node->safe_psql('postgres', qq{
			COPY (SELECT extract(epoch FROM bucket), close, rsi_14, macd_hist, $cols
			      FROM features('$sym', '1 minute', '$from') WHERE bucket >= '$from'
			        AND bucket <= last_complete_bucket('$sym', '1 minute') ORDER BY bucket)
			TO '$rows' WITH (FORMAT csv, HEADER true)});
		write_file("$tmp/model_$id.hex",
			$node->safe_psql('postgres', "SELECT encode(model, 'hex') FROM triggerstock.models WHERE id = $id"));

		# the look-ahead refusal
		my ($rc, $out, $err) = $node->psql('postgres',
			"\\set VERBOSITY verbose\nSELECT backtest($id, '$from'::timestamptz - interval '1 minute', '$to')");
		ok($rc != 0 && $err =~ /ERROR:  22023: the backtest range .* overlaps the training rows of model $id/
			  && $err =~ /HINT:  Backtest from the test window/,
			"$sym $target h=$h: a range starting one minute before the test window is refused (look-ahead)")
		  or diag($err);

		for my $run (["fee 10, default threshold", 'NULL', 10], ['no fee', 'NULL', 0], ["fee 10, threshold $band", $band, 10])
		{
			my ($what, $thr, $fee) = @$run;
			my $bt = $node->safe_psql('postgres', "SELECT backtest($id, '$from', '$to', $fee, $thr)");
			my $meta = "$tmp/meta_${id}_$fee" . ($thr eq 'NULL' ? '' : '_band') . '.json';
			write_file($meta,
				qq({"backtest": $bt, "horizon": $h, "target": "$target", "features": $names, )
				  . qq("from": $from_epoch, "to": $to_epoch, "width_seconds": $width_s}));
			my ($pout, $perr) = ('', '');
			my $ok = IPC::Run::run(['/usr/bin/python3', "$repo/test/python/check_backtest.py", "$tmp/model_$id.hex",
				$rows, $meta], '>', \$pout, '2>', \$perr);
			note($pout);
			diag("$sym $target h=$h, $what: $1") if $pout =~ /^ok model: (.*)$/m;
			ok($ok && $pout !~ /^FAIL/m && $pout =~ /^ok \d+ figures/m,
				"$sym $target h=$h, $what: every figure of backtest() equals python3-xgboost's recomputation")
			  or diag($pout . $perr);
			my ($row) = $pout =~ /^row: (.*)$/m;
			push @table, "| $sym | $target | $h | $what | " . ($row // '') . ' |' if $fee == 10;
		}
	}
}
diag("backtest table (test windows; trades / hit rate / net PnL % / Sharpe / max drawdown % / turnover):\n"
	  . "| symbol | target | h | run | periods | model | rules | buy-and-hold |\n|---|---|---|---|---|---|---|---|\n"
	  . join("\n", @table));

$node->stop;
done_testing();
