# IngestTest: helpers shared by the ingestion TAP tests.
#  - start_exchange: runs test/exchange/exchange_sim (built on demand) on a
#    free port, waits until it listens, returns (port, handle, stats file);
#  - expected_trades: an independent parse of a capture (JSON::PP, no code
#    shared with the decoders): distinct trades per instrument with their
#    count and sum of quantity;
#  - ingest_node: a cluster with the launcher preloaded;
#  - compare_trades: per-instrument count and sum(qty) of triggerstock.trades
#    against expected_trades, no duplicates.
package IngestTest;
use strict;
use warnings;
use Exporter 'import';
use JSON::PP;
use IPC::Run;
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(start_exchange stop_exchange expected_trades ingest_node compare_trades
  wait_for_trades exchange_stats misplaced_trades);

my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";
my $sim = "$repo/test/exchange/exchange_sim";

# Build the simulator if needed (the test runner is not root: build in the repo
# only if writable, else expect it built).
sub build_exchange
{
	return if -x $sim;
	system("make", "-C", $repo, "-s", "-f", "test/exchange/exchange.mk", "exchange") == 0
	  or die "could not build $sim";
}

# start_exchange(%args): args are exchange_sim options without the dashes
# (exchange => 'binance', replay => FILE, 'drop-every' => N, ...); flags with
# value undef are passed bare.  Returns a hash with port, handle, stats.
sub start_exchange
{
	my (%args) = @_;
	build_exchange();
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $dir = PostgreSQL::Test::Utils::tempdir();
	my @cmd = ($sim, '--port', $port, '--ready-file', "$dir/ready", '--stats-file', "$dir/stats");
	for my $k (sort keys %args)
	{
		push @cmd, "--$k";
		push @cmd, ref $args{$k} ? @{ $args{$k} } : $args{$k} if defined $args{$k};
	}
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(\@cmd, '>', \$out, '2>', \$err);
	for (1 .. 200)
	{
		last if -e "$dir/ready";
		usleep(50_000);
	}
	die "exchange_sim did not start: $err" unless -e "$dir/ready";
	return { port => $port, handle => $h, stats => "$dir/stats", err => \$err };
}

# Stop the simulator (SIGTERM) and return its stats as a hash.
sub stop_exchange
{
	my ($x) = @_;
	$x->{handle}->signal('TERM');
	eval { $x->{handle}->finish; };
	return exchange_stats($x);
}

# The simulator's stats file as a hash ({} if absent).
sub exchange_stats
{
	my ($x) = @_;
	open(my $f, '<', $x->{stats}) or return {};
	local $/;
	my $s = <$f>;
	close $f;
	return eval { decode_json($s) } // {};
}

# Lines of a capture (plain or .gz).
sub capture_lines
{
	my ($file) = @_;
	my $cmd = $file =~ /\.gz$/ ? "gzip -dc '$file'" : "cat '$file'";
	my @lines = grep { length } split /\n/, `$cmd`;
	return @lines;
}

# expected_trades(format, file): { instrument => { n => count, qty => sum } }
# of the distinct trades in the capture, parsed here independently.
sub expected_trades
{
	my ($format, $file) = @_;
	my (%seen, %exp);
	my $add = sub {
		my ($inst, $key, $qty) = @_;
		return if $seen{"$inst\0$key"}++;
		$exp{$inst}{n}++;
		$exp{$inst}{qty} += $qty;
	};
	for my $line (capture_lines($file))
	{
		my $j = eval { decode_json($line) } or next;
		if ($format eq 'binance')
		{
			my $d = ref $j eq 'HASH' ? $j->{data} : undef;
			next unless $d && ($d->{e} // '') eq 'trade';
			$add->($d->{s}, $d->{t}, $d->{q});
		}
		elsif ($format eq 'coinbase')
		{
			next unless ref $j eq 'HASH' && ($j->{type} // '') =~ /^(last_)?match$/;
			$add->($j->{product_id}, $j->{trade_id}, $j->{size});
		}
		elsif ($format eq 'coinbase-advanced')
		{
			next unless ref $j eq 'HASH' && ($j->{channel} // '') eq 'market_trades';
			for my $ev (@{ $j->{events} })
			{
				$add->($_->{product_id}, $_->{trade_id}, $_->{size}) for @{ $ev->{trades} };
			}
		}
		elsif ($format eq 'kraken')
		{
			next unless ref $j eq 'ARRAY' && ($j->[-2] // '') eq 'trade';
			my $i = 0;
			for my $t (@{ $j->[1] })
			{
				$add->($j->[-1], join("\0", @$t, $i++), $t->[1]);
			}
		}
		elsif ($format eq 'finnhub')
		{
			next unless ref $j eq 'HASH' && ($j->{type} // '') eq 'trade';
			my $i = 0;
			for my $t (@{ $j->{data} })
			{
				$add->($t->{s}, join("\0", $t->{t}, $t->{p}, $t->{v}, $i++), $t->{v});
			}
		}
		else { die "unknown format $format" }
	}
	return \%exp;
}

# A started cluster with pg_cron-free preloading of triggerstock.
sub ingest_node
{
	my ($name, $extra) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'triggerstock'
triggerstock.database = 'postgres'
max_worker_processes = 16
log_min_messages = info
# the captures are from 2024: let live sources store trades of any time
triggerstock.ingest_max_past = -1
# the local exchange is on the loopback address, refused unless listed
triggerstock.allowed_hosts = '127.0.0.1'
} . ($extra // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock');
	return $node;
}

# "D M" for the trades matching $where: D in trades_default, M in any
# partition but that of their UTC day ("0 0": every trade in its day's).
sub misplaced_trades
{
	my ($node, $where) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT count(*) FILTER (WHERE tableoid = 'triggerstock.trades_default'::regclass) || ' '
		    || count(*) FILTER (WHERE tableoid::regclass::text
		                              <> 'triggerstock.trades_p' || to_char(ts AT TIME ZONE 'UTC', 'YYYYMMDD'))
		FROM triggerstock.trades WHERE $where});
}

# Wait until source $id has stored at least $n trades and the count has been
# stable for a second; returns the count.
sub wait_for_trades
{
	my ($node, $where, $n, $timeout) = @_;
	$timeout //= 120;
	my ($last, $stable) = (-1, 0);
	for (1 .. $timeout * 4)
	{
		my $c = $node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.trades WHERE $where");
		$stable = $c == $last ? $stable + 1 : 0;
		$last = $c;
		return $c if $c >= $n && $stable >= 4;
		usleep(250_000);
	}
	return $last;
}

# compare_trades(node, exchange, expected, what): per instrument count and
# sum(qty) equal the independent parse (qty to 1e-9 relative); no duplicate
# (instrument, trade_id, ts).
sub compare_trades
{
	my ($node, $exchange, $exp, $what) = @_;
	my %got;
	for my $row (split /\n/, $node->safe_psql('postgres', qq{
		SELECT instrument, count(*), sum(qty) FROM triggerstock.trades
		WHERE exchange = '$exchange' GROUP BY 1}))
	{
		my ($i, $n, $q) = split /\|/, $row;
		$got{$i} = { n => $n, qty => $q };
	}
	my @bad;
	for my $i (sort keys %$exp)
	{
		my $g = $got{$i} // { n => 0, qty => 0 };
		push @bad, "$i: $g->{n} trades, expected $exp->{$i}{n}" if $g->{n} != $exp->{$i}{n};
		push @bad, "$i: qty $g->{qty}, expected $exp->{$i}{qty}"
		  if abs($g->{qty} - $exp->{$i}{qty}) > 1e-9 * abs($exp->{$i}{qty}) + 1e-12;
	}
	push @bad, "unexpected instrument $_" for grep { !$exp->{$_} } sort keys %got;
	is(join('; ', @bad), '', "$what: count and sum(qty) per instrument match the capture");
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM (SELECT 1 FROM triggerstock.trades WHERE exchange = '$exchange'
		GROUP BY instrument, trade_id, ts HAVING count(*) > 1) d}), '0', "$what: no duplicates");
}

1;
