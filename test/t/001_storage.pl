# Trade storage end to end in a real cluster with the launcher preloaded:
#  - the launcher creates daily partitions ahead by itself and moves rows out
#    of the default partition; it comes back after being terminated;
#  - real Binance trades (BTC and ETH captures) load, dedupe and give candles;
#  - a pg_dump / pg_restore round trip keeps trades, partitions, candles and
#    the default partition's rows, and the restored database keeps working.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $capture_dir = "$shared/data/websocket/binance";

my $node = PostgreSQL::Test::Cluster->new('storage');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_cron,triggerstock'
triggerstock.database = 'postgres'
triggerstock.maintenance_naptime = 1
max_worker_processes = 16
});
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock');

# the launcher creates today's partition and 7 days ahead without being asked
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 8 FROM trade_partitions() WHERE range_to > now()"),
	'launcher created 8 daily partitions from today on');

# load two real captures, parsing the frames in SQL
$node->safe_psql('postgres', q{
	CREATE TABLE frames (line text);
	CREATE TABLE raw AS SELECT NULL::text AS symbol, NULL::jsonb AS d WHERE false;
});
for my $capture (['BTC', 'spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl'],
				 ['ETH', 'spot_ethusdt_trade_2024-08-08T2354Z_0005Z.jsonl'])
{
	my ($symbol, $file) = @$capture;
	$node->safe_psql('postgres', qq{
		TRUNCATE frames;
		COPY frames FROM '$capture_dir/$file' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02');
		INSERT INTO raw SELECT '$symbol', line::jsonb -> 'data' FROM frames;
	});
}
my $insert = q{
	INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, side)
	SELECT 'binance', d->>'s', symbol, (d->>'t')::bigint,
	       TIMESTAMPTZ 'epoch' + (d->>'T')::bigint * interval '1 millisecond',
	       (d->>'p')::float8, (d->>'q')::float8,
	       CASE WHEN (d->>'m')::boolean THEN 'sell' ELSE 'buy' END
	FROM raw ON CONFLICT DO NOTHING
};
# counted in the inserting transaction: the launcher's next pass (every
# second) may move the rows as soon as they are committed
my ($stored, $in_default) = split /\|/, $node->safe_psql('postgres', qq{
	BEGIN;
	$insert;
	SELECT (SELECT count(*) FROM triggerstock.trades), (SELECT count(*) FROM triggerstock.trades_default);
	COMMIT;
});
is($stored, '27535', 'all 15,923 BTC and 11,612 ETH trades stored');
is($in_default, '27535', 'their days had no partition: they wait in the default partition');

# the launcher gives those days their own partitions and moves the rows
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM triggerstock.trades_default"),
	'launcher moved the rows into daily partitions');
# each row sits in the partition of its UTC day, counted independently from
# the parsed frames
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (
	    SELECT tableoid::regclass::text AS part, count(*) FROM triggerstock.trades GROUP BY 1
	    EXCEPT
	    SELECT 'triggerstock.trades_p' || to_char((TIMESTAMPTZ 'epoch' + (d->>'T')::bigint * interval '1 millisecond')
	                                              AT TIME ZONE 'UTC', 'YYYYMMDD'), count(*)
	    FROM raw GROUP BY 1) differences}),
	'0', 'rows split by UTC day');
is($node->safe_psql('postgres', 'SELECT count(DISTINCT tableoid) FROM triggerstock.trades'),
	'2', 'the captures span two UTC days');

# replaying the same frames adds nothing
$node->safe_psql('postgres', $insert);
is($node->safe_psql('postgres', 'SELECT count(*) FROM triggerstock.trades'),
	'27535', 'replay deduplicated');

is($node->safe_psql('postgres', "SELECT refresh_candles('-infinity')"), '18',
	'9 one-minute candles per symbol');

# pg_dump / pg_restore round trip, in a database the launcher leaves alone
# (it only works in triggerstock.database), so the default partition keeps
# a stray row for the dump to carry
$node->safe_psql('postgres', 'CREATE DATABASE dumpsrc');
$node->safe_psql('dumpsrc', q{
	CREATE EXTENSION triggerstock;
	SELECT count(*) FROM create_partitions('2024-08-08', '2024-08-09');
});
my $copy_out = "$PostgreSQL::Test::Utils::tmp_check/trades.copy";
$node->safe_psql('postgres', "COPY (SELECT * FROM triggerstock.trades) TO '$copy_out'");
$node->safe_psql('dumpsrc', qq{
	COPY triggerstock.trades FROM '$copy_out';
	INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty)
	VALUES ('test', 'T-USD', 'T', 1, '2030-01-01 00:00+00', 1, 1);
	SELECT refresh_candles('-infinity');
});

my $checksum = q{
	SELECT (SELECT md5(string_agg(t::text, '|' ORDER BY exchange, instrument, trade_id, ts))
	        FROM triggerstock.trades t) || ' ' ||
	       (SELECT md5(string_agg(c::text, '|' ORDER BY symbol, width, bucket))
	        FROM triggerstock.candles c) || ' ' ||
	       (SELECT count(*) FROM triggerstock.trades_default) || ' ' ||
	       (SELECT string_agg(partition::text, ',' ORDER BY range_from) FROM trade_partitions()) || ' ' ||
	       (SELECT count(*) FROM pg_indexes
	        WHERE schemaname = 'triggerstock' AND tablename LIKE 'trades%')
};
my $before = $node->safe_psql('dumpsrc', $checksum);
is($before =~ s/^\S+ \S+ //r,
	'1 triggerstock.trades_p20240808,triggerstock.trades_p20240809 9',
	'dump source: a stray row, two partitions, 3 indexes on each of the 3 trade tables');

my $dump = "$PostgreSQL::Test::Utils::tmp_check/triggerstock.dump";
$node->command_ok(['pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('dumpsrc')],
	'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok(['pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump],
	'pg_restore');
is($node->safe_psql('restored', $checksum), $before,
	'trades, candles, default partition rows, partitions and indexes survive the round trip');

# the restored database keeps working: dedupe, new candles, retention
is($node->safe_psql('restored', q{
	INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty)
	SELECT exchange, instrument, symbol, trade_id, ts, price, qty FROM triggerstock.trades
	ON CONFLICT DO NOTHING;
	SELECT count(*) FROM triggerstock.trades}), '27536', 'restored: unique keys still dedupe');
is($node->safe_psql('restored', q{
	INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, received_at)
	VALUES ('binance', 'BTCUSDT', 'BTC', 1, '2024-08-09 00:03:10+00', 61700, 0.5, now() + interval '1 day');
	SELECT refresh_candles(now() + interval '1 hour')}), '1', 'restored: a new trade gives a new candle');
my $candles = $node->safe_psql('restored', 'SELECT count(*) FROM triggerstock.candles');
is($node->safe_psql('restored', q{
	SELECT string_agg(partition_name, ',' ORDER BY range_from) FROM retention('30 days')}),
	'triggerstock.trades_p20240808,triggerstock.trades_p20240809',
	'restored: retention drops the restored old partitions');
is($node->safe_psql('restored', 'SELECT count(*) FROM triggerstock.trades'), '1',
	'restored: only the 2030 stray row is left');
is($node->safe_psql('restored', 'SELECT count(*) FROM triggerstock.candles'), $candles,
	"restored: all $candles candles kept by retention");

# the launcher comes back after being terminated (bgw_restart_time = 10 s)
my $launcher = q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'triggerstock launcher'};
my $pid = $node->safe_psql('postgres', $launcher);
ok($pid =~ /^\d+$/, 'launcher is running');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'triggerstock launcher' AND pid <> $pid"),
	'launcher restarted after termination');

# databases other than the launcher's drop normally
$node->safe_psql('postgres', 'DROP DATABASE restored');
$node->safe_psql('postgres', 'DROP DATABASE dumpsrc');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname IN ('restored', 'dumpsrc')"),
	'0', 'databases with the extension dropped');

$node->stop;
done_testing();
