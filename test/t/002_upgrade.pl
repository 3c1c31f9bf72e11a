# The upgrade path 0.1 -> 0.2 in a real cluster (pg_cron and triggerstock
# preloaded):
#  - database "upgraded": CREATE EXTENSION triggerstock VERSION '0.1', then
#    real data through the 0.1 functions: Binance trades (the captures of
#    001_storage.pl), their candles (refresh_candles), the real 1-minute
#    candles of test/sql/load_candles.sql, news items parsed from real RSS
#    files, a feed (add_feed), a source with a token (add_source), a quote
#    source, a user symbol alias, a loaded lexicon, a dead letter, a model
#    trained on the real ETH candles with its deployment and a prediction;
#    then ALTER EXTENSION triggerstock UPDATE;
#  - database "fresh": CREATE EXTENSION triggerstock (the 0.2 install script).
# Checks:
#  (a) the extension's objects are the same in both databases, compared two
#      independent ways: pg_dump --schema-only --binary-upgrade (which dumps
#      extension members as plain objects) normalised, and catalog queries
#      over every member of the extension and every sub-object of its
#      relations (generic: no list of objects here);
#  (b) every row of every table in schema triggerstock (partitions included)
#      is intact: count and md5 per table over the columns 0.1 had, and the
#      sequences' positions; predict() serves the old model (from the online
#      feature rows the update serves for each deployed symbol, issue 13);
#      candles refresh from new trades; features() rows unchanged but for
#      the last-bit residues of TA-Lib's running sums that 0.2's exact window
#      sums drop (the bands, stochastic, CCI, MFI, volume_z and rv_30: within
#      1e-9, issue 13).
#  (c) the comparison can fail: a copy of "fresh" with one small change per
#      kind of object (comment, volatility, default, grant, constraint,
#      trigger, view, membership) differs in each catalog query and in the
#      dump.
# A 0.2 change whose upgrade section migrates data on purpose changes what
# (b) sees: then say here which table and column, and check the migration.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";
my $tmp = $PostgreSQL::Test::Utils::tmp_check;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
# the launcher works in database postgres, which has no extension: nothing
# runs in the databases under test, so their rows only change by this test
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_cron,triggerstock'
cron.database_name = 'postgres'
triggerstock.database = 'postgres'
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE upgraded');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');

# ---------------------------------------------------------------------------
# 0.1 with data
# ---------------------------------------------------------------------------
$node->safe_psql('upgraded', q{CREATE EXTENSION triggerstock VERSION '0.1'});
is($node->safe_psql('upgraded', q{SELECT extversion FROM pg_extension WHERE extname = 'triggerstock'}),
	'0.1', 'version 0.1 installed');

# real Binance trades, parsed in SQL (helper tables in schema load, dropped
# before the comparison); two days get partitions, a stray row stays in the
# default partition
my $capture_dir = "$shared/data/websocket/binance";
$node->safe_psql('upgraded', q{
	CREATE SCHEMA load;
	CREATE TABLE load.frames (line text);
	CREATE TABLE load.raw (symbol text, d jsonb);
	SELECT count(*) FROM create_partitions('2024-08-08', '2024-08-09');
});
for my $capture (['BTC', 'spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl'],
				 ['ETH', 'spot_ethusdt_trade_2024-08-08T2354Z_0005Z.jsonl'])
{
	my ($symbol, $file) = @$capture;
	$node->safe_psql('upgraded', qq{
		TRUNCATE load.frames;
		COPY load.frames FROM '$capture_dir/$file' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02');
		INSERT INTO load.raw SELECT '$symbol', line::jsonb -> 'data' FROM load.frames;
	});
}
$node->safe_psql('upgraded', q{
	INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, side)
	SELECT 'binance', d->>'s', symbol, (d->>'t')::bigint,
	       TIMESTAMPTZ 'epoch' + (d->>'T')::bigint * interval '1 millisecond',
	       (d->>'p')::float8, (d->>'q')::float8,
	       CASE WHEN (d->>'m')::boolean THEN 'sell' ELSE 'buy' END
	FROM load.raw ON CONFLICT DO NOTHING;
	INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty)
	VALUES ('test', 'T-USD', 'T', 1, '2030-01-01 00:00+00', 1, 1);
});
is($node->safe_psql('upgraded', 'SELECT refresh_candles(\'-infinity\')'), '19',
	'0.1: 27,536 trades give 19 one-minute candles');

# the real 1-minute candles (BTC 2022, ETH 2017) the models are trained on
$node->command_ok(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', "shared=$shared",
	'-d', $node->connstr('upgraded'), '-f', "$repo/test/sql/load_candles.sql"],
	'0.1: real candles loaded');

# configuration through the 0.1 functions, news from real feeds
my $rss = "$shared/data/news/rss";
$node->safe_psql('upgraded', qq{
	SELECT add_feed('http://127.0.0.1:9/coindesk.rss', '10 minutes');
	SELECT add_source('binance-upgrade', 'binance', 'ws://127.0.0.1:9', ARRAY['BTCUSDT', 'ETHUSDT'],
	                  enabled => false, token => 'not-a-real-token');
	SELECT add_quote_source('http://127.0.0.1:9/quote?symbol=AAPL', 'AAPL');
	INSERT INTO triggerstock.symbol_aliases (symbol, alias) VALUES ('PEPE', 'pepe');
	SELECT load_lexicon('$shared/data/sentiment/lexicons/AFINN-111.txt', 'afinn');
	INSERT INTO triggerstock.news (guid, feed_id, title, summary, link, published_at, symbols, sentiment, scorer)
	SELECT i.guid, f.id, i.title, i.summary, i.link, i.published_at,
	       match_symbols(i.title || ' ' || coalesce(i.summary, '')), sentiment(i.title), 'builtin'
	FROM triggerstock.feeds f,
	     unnest(ARRAY['$rss/coindesk_2025-12-12.rss', '$rss/decrypt_2025-12-12.rss']) p,
	     parse_feed(pg_read_binary_file(p)) i
	ON CONFLICT DO NOTHING;
	INSERT INTO triggerstock.dead_letters (source, received_at, payload, payload_bytes, error)
	SELECT id, '2024-08-08 23:55+00', '\\x7b7d', 2, 'test dead letter' FROM triggerstock.sources;
});

# a model trained on the real ETH candles (kept small: the test is not about
# its quality), deployed automatically, and one audit row
my $model = $node->safe_psql('upgraded', q{
	SELECT train('ETH', params => '{"num_boost_round": 20, "max_depth": 3, "early_stopping_rounds": 0}')});
like($model, qr/^\d+$/, "0.1: train('ETH') stored model $model");
$node->safe_psql('upgraded', q{
	INSERT INTO triggerstock.predictions (symbol, bucket, probability, model_id, model_sha256, fallback_level)
	SELECT 'ETH', '2017-09-04 23:58+00', predict('ETH'), id, sha256, 'model' FROM triggerstock.models});
$node->safe_psql('upgraded', 'DROP SCHEMA load CASCADE');

my $serving = q{
	SELECT predict('ETH')::text || ' ' || (predict_explain('ETH') ->> 'model_id') || ' ' ||
	       (predict_explain('ETH') ->> 'fallback_level') || ' ' ||
	       (SELECT count(*) || ' ' || md5(string_agg(f::text, '|' ORDER BY bucket)) FROM features('ETH') f)
};
my $serving_before = $node->safe_psql('upgraded', $serving);
# the feature rows as text, for the comparison after the update
my $features_sql = q{SELECT f::text FROM features('ETH') f ORDER BY bucket};
my @features_before = split /\n/, $node->safe_psql('upgraded', $features_sql);
like($serving_before, qr/^0\.\d+ $model model 2\d{3} [0-9a-f]{32}$/,
	"0.1: predict('ETH') from model $model, feature rows");
diag("0.1 serving: $serving_before");

# every table of schema triggerstock (partitions included): row count and
# md5 over the columns it has now, ordered by the row's text; sequences by
# position.  The column and sequence lists are kept so that the same columns
# and sequences are summed after the update.
my %columns = map { split /\|/, $_, 2 } split /\n/, $node->safe_psql('upgraded', q{
	SELECT c.oid::regclass, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
	FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	WHERE c.relnamespace = 'triggerstock'::regnamespace AND c.relkind = 'r'
	GROUP BY 1});
# the sequences 0.1 had (0.2 adds its own, which are not 0.1 data)
my @sequences = split /\n/, $node->safe_psql('upgraded', q{
	SELECT c.oid::regclass FROM pg_class c
	WHERE c.relnamespace = 'triggerstock'::regnamespace AND c.relkind = 'S' ORDER BY c.relname});
sub data_sums
{
	my ($db) = @_;
	my @parts;
	for my $rel (sort keys %columns)
	{
		push @parts, qq{SELECT '$rel', count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), ''))
		                FROM (SELECT $columns{$rel} FROM $rel) r};
	}
	push @parts, map { "SELECT '$_', last_value, md5(is_called::text) FROM $_" } @sequences;
	return $node->safe_psql($db, join(" UNION ALL ", @parts) . ' ORDER BY 1');
}
my $data_before = data_sums('upgraded');
ok(scalar(keys %columns) >= 15, scalar(keys %columns) . ' tables summed before the update');
diag("0.1 data:\n$data_before");

# ---------------------------------------------------------------------------
# the update, and a fresh 0.2 install beside it
# ---------------------------------------------------------------------------
$node->safe_psql('upgraded', 'ALTER EXTENSION triggerstock UPDATE');
is($node->safe_psql('upgraded', q{SELECT extversion FROM pg_extension WHERE extname = 'triggerstock'}),
	'0.2', 'ALTER EXTENSION triggerstock UPDATE: now 0.2');
$node->safe_psql('fresh', 'CREATE EXTENSION triggerstock');
is($node->safe_psql('fresh', q{SELECT extversion FROM pg_extension WHERE extname = 'triggerstock'}),
	'0.2', 'fresh install: 0.2');

# ---------------------------------------------------------------------------
# (a) the same objects
# ---------------------------------------------------------------------------

# The extension's objects: its members, the relations among them (with the
# row types of its composite types), and the sub-objects of those relations.
my $owned = q{
	WITH RECURSIVE ext AS (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'triggerstock'),
	members AS (
	    SELECT d.classid, d.objid FROM pg_catalog.pg_depend d, ext
	    WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
	      AND d.refobjid = ext.oid AND d.deptype = 'e'),
	rels AS (
	    SELECT objid AS oid FROM members WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass
	    UNION
	    SELECT t.typrelid FROM members m JOIN pg_catalog.pg_type t ON t.oid = m.objid
	    WHERE m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.typrelid <> 0),
	owned (classid, objid) AS (
	    SELECT classid, objid FROM members
	    UNION SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, oid FROM rels
	    UNION SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, oid FROM pg_catalog.pg_constraint
	          WHERE conrelid IN (SELECT oid FROM rels)
	             OR contypid IN (SELECT objid FROM members WHERE classid = 'pg_catalog.pg_type'::pg_catalog.regclass)
	    UNION SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, indexrelid FROM pg_catalog.pg_index
	          WHERE indrelid IN (SELECT oid FROM rels)
	    UNION SELECT 'pg_catalog.pg_trigger'::pg_catalog.regclass, oid FROM pg_catalog.pg_trigger
	          WHERE tgrelid IN (SELECT oid FROM rels)
	          AND NOT tgisinternal    -- foreign keys' triggers: named by OID, seen as constraints
	    UNION SELECT 'pg_catalog.pg_rewrite'::pg_catalog.regclass, oid FROM pg_catalog.pg_rewrite
	          WHERE ev_class IN (SELECT oid FROM rels)
	    UNION SELECT 'pg_catalog.pg_policy'::pg_catalog.regclass, oid FROM pg_catalog.pg_policy
	          WHERE polrelid IN (SELECT oid FROM rels)
	    UNION SELECT 'pg_catalog.pg_extension'::pg_catalog.regclass, oid FROM ext)
};
my $rel_of = q{(SELECT objid FROM owned WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass)};
my $in = sub { my ($cat) = @_; qq{(SELECT objid FROM owned WHERE classid = 'pg_catalog.$cat'::pg_catalog.regclass)} };

my %catalog = (
	members => q{
	    SELECT i.type, i.identity FROM owned o, pg_catalog.pg_identify_object(o.classid, o.objid, 0) i
	    ORDER BY 1, 2},
	extension => q{
	    SELECT e.extname, e.extversion, e.extrelocatable, e.extnamespace::pg_catalog.regnamespace,
	           c.cfg::pg_catalog.regclass::text, c.cond
	    FROM pg_catalog.pg_extension e
	    LEFT JOIN LATERAL unnest(e.extconfig, e.extcondition) c(cfg, cond) ON true
	    WHERE e.extname = 'triggerstock' ORDER BY 5},
	functions => qq{
	    SELECT p.oid::pg_catalog.regprocedure::text, p.prokind, p.provolatile, p.proisstrict, p.proparallel,
	           p.prosecdef, p.proleakproof, p.procost, p.prorows, p.prosupport, l.lanname,
	           pg_catalog.pg_get_function_arguments(p.oid), pg_catalog.pg_get_function_result(p.oid),
	           p.proconfig, p.probin, p.proacl, p.prosrc
	    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
	    WHERE p.oid IN @{[ $in->('pg_proc') ]} ORDER BY 1},
	aggregates => qq{
	    SELECT a.aggfnoid::pg_catalog.regprocedure::text, a.aggkind, a.aggnumdirectargs, a.aggtransfn,
	           a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn, a.aggmtransfn,
	           a.aggminvtransfn, a.aggmfinalfn, a.aggfinalextra, a.aggmfinalextra, a.aggfinalmodify,
	           a.aggmfinalmodify, a.aggsortop::pg_catalog.regoperator, a.aggtranstype::pg_catalog.regtype,
	           a.aggtransspace, a.aggmtranstype::pg_catalog.regtype, a.aggmtransspace, a.agginitval,
	           a.aggminitval
	    FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid IN @{[ $in->('pg_proc') ]} ORDER BY 1},
	types => qq{
	    SELECT t.oid::pg_catalog.regtype::text, t.typtype, t.typlen, t.typbyval, t.typcategory, t.typdelim,
	           t.typinput, t.typoutput, t.typreceive, t.typsend, t.typalign, t.typstorage, t.typnotnull,
	           t.typbasetype::pg_catalog.regtype, t.typtypmod, t.typndims, t.typdefault, t.typacl,
	           (SELECT pg_catalog.string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
	            FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid)
	    FROM pg_catalog.pg_type t WHERE t.oid IN @{[ $in->('pg_type') ]} ORDER BY 1},
	relations => qq{
	    SELECT c.oid::pg_catalog.regclass::text, c.relkind, c.relpersistence, c.relrowsecurity,
	           c.relforcerowsecurity, c.relreplident, c.relispartition, c.reloptions, c.relacl,
	           am.amname, c.reloftype::pg_catalog.regtype,
	           pg_catalog.pg_get_partkeydef(c.oid), pg_catalog.pg_get_expr(c.relpartbound, c.oid),
	           (SELECT pg_catalog.string_agg(i.inhparent::pg_catalog.regclass::text, ',' ORDER BY i.inhseqno)
	            FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid)
	    FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
	    WHERE c.oid IN $rel_of ORDER BY 1},
	columns => qq{
	    SELECT a.attrelid::pg_catalog.regclass::text,
	           pg_catalog.row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
	           a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
	           pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
	           co.collname, a.attstattarget, a.attstorage, a.attcompression, a.attacl,
	           -- pg_attver=N: this server's per-database column version, not a property
	           ARRAY(SELECT o FROM unnest(a.attoptions) o WHERE o NOT LIKE 'pg\\_attver=%')
	    FROM pg_catalog.pg_attribute a
	    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	    LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
	    WHERE a.attrelid IN $rel_of AND a.attnum > 0 AND NOT a.attisdropped
	    ORDER BY 1, 2},
	constraints => qq{
	    SELECT coalesce(c.conrelid::pg_catalog.regclass::text, c.contypid::pg_catalog.regtype::text),
	           c.conname, c.contype, pg_catalog.pg_get_constraintdef(c.oid), c.condeferrable,
	           c.condeferred, c.convalidated, c.connoinherit
	    FROM pg_catalog.pg_constraint c WHERE c.oid IN @{[ $in->('pg_constraint') ]} ORDER BY 1, 2},
	indexes => qq{
	    SELECT i.indexrelid::pg_catalog.regclass::text, pg_catalog.pg_get_indexdef(i.indexrelid),
	           i.indisprimary, i.indisunique, i.indisclustered, i.indisreplident, i.indisvalid,
	           c.reloptions
	    FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
	    WHERE i.indrelid IN $rel_of ORDER BY 1},
	views => qq{
	    SELECT c.oid::pg_catalog.regclass::text, c.relkind, pg_catalog.pg_get_viewdef(c.oid)
	    FROM pg_catalog.pg_class c WHERE c.oid IN $rel_of AND c.relkind IN ('v', 'm') ORDER BY 1},
	triggers => qq{
	    SELECT t.tgrelid::pg_catalog.regclass::text, t.tgname, pg_catalog.pg_get_triggerdef(t.oid),
	           t.tgenabled, t.tgisinternal
	    FROM pg_catalog.pg_trigger t WHERE t.oid IN @{[ $in->('pg_trigger') ]} ORDER BY 1, 2},
	rules_policies => qq{
	    SELECT 'rule', r.ev_class::pg_catalog.regclass::text, r.rulename, pg_catalog.pg_get_ruledef(r.oid)
	    FROM pg_catalog.pg_rewrite r WHERE r.oid IN @{[ $in->('pg_rewrite') ]} AND r.rulename <> '_RETURN'
	    UNION ALL
	    SELECT 'policy', p.polrelid::pg_catalog.regclass::text, p.polname,
	           pg_catalog.format('%s %s %s %s %s', p.polcmd, p.polpermissive, p.polroles,
	                             pg_catalog.pg_get_expr(p.polqual, p.polrelid),
	                             pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
	    FROM pg_catalog.pg_policy p WHERE p.oid IN @{[ $in->('pg_policy') ]} ORDER BY 1, 2, 3},
	sequences => qq{
	    SELECT s.seqrelid::pg_catalog.regclass::text, s.seqtypid::pg_catalog.regtype, s.seqstart,
	           s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle,
	           (SELECT pg_catalog.pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)
	            FROM pg_catalog.pg_depend d
	            WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = s.seqrelid
	              AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0)
	    FROM pg_catalog.pg_sequence s WHERE s.seqrelid IN $rel_of ORDER BY 1},
	others => qq{
	    SELECT 'schema', n.nspname::text, pg_catalog.format('%s %s', n.nspowner::pg_catalog.regrole, n.nspacl)
	    FROM pg_catalog.pg_namespace n WHERE n.oid IN @{[ $in->('pg_namespace') ]}
	    UNION ALL
	    SELECT 'cast', pg_catalog.format('%s -> %s', c.castsource::pg_catalog.regtype, c.casttarget::pg_catalog.regtype),
	           pg_catalog.format('%s %s %s', c.castfunc::pg_catalog.regprocedure, c.castcontext, c.castmethod)
	    FROM pg_catalog.pg_cast c WHERE c.oid IN @{[ $in->('pg_cast') ]}
	    UNION ALL
	    SELECT 'operator', o.oid::pg_catalog.regoperator::text,
	           pg_catalog.format('%s %s %s %s %s', o.oprcode, o.oprcom::pg_catalog.regoperator,
	                             o.oprnegate::pg_catalog.regoperator, o.oprrest, o.oprjoin)
	    FROM pg_catalog.pg_operator o WHERE o.oid IN @{[ $in->('pg_operator') ]}
	    UNION ALL
	    SELECT 'event trigger', e.evtname::text,
	           pg_catalog.format('%s %s %s %s', e.evtevent, e.evtfoid::pg_catalog.regprocedure, e.evtenabled, e.evttags)
	    FROM pg_catalog.pg_event_trigger e WHERE e.oid IN @{[ $in->('pg_event_trigger') ]}
	    UNION ALL
	    SELECT 'default acl', pg_catalog.format('%s', d.defaclnamespace::pg_catalog.regnamespace),
	           pg_catalog.format('%s %s %s', d.defaclrole::pg_catalog.regrole, d.defaclobjtype, d.defaclacl)
	    FROM pg_catalog.pg_default_acl d
	    ORDER BY 1, 2, 3},
	comments => q{
	    SELECT pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description
	    FROM pg_catalog.pg_description d JOIN owned o ON o.classid = d.classoid AND o.objid = d.objoid
	    ORDER BY 1},
	init_privs => q{
	    SELECT pg_catalog.pg_describe_object(p.classoid, p.objoid, p.objsubid), p.privtype, p.initprivs
	    FROM pg_catalog.pg_init_privs p JOIN owned o ON o.classid = p.classoid AND o.objid = p.objoid
	    ORDER BY 1},
);

# catalog(db): category -> its rows as text
sub catalog
{
	my ($db) = @_;
	my %out;
	for my $k (sort keys %catalog)
	{
		$out{$k} = $node->safe_psql($db, "$owned $catalog{$k}");
	}
	return \%out;
}

# pg_dump --schema-only --binary-upgrade dumps extension members as plain
# objects.  Normalised: OIDs, xids and the binary-upgrade bookkeeping lines
# go, dropped columns (left by ALTER TABLE DROP COLUMN) go, and the trade
# partitions the data created (not members) are left out.
sub schema_dump
{
	my ($db) = @_;
	my $file = "$tmp/$db.schema.sql";
	$node->command_ok(['pg_dump', '--schema-only', '--binary-upgrade', '--exclude-table=triggerstock.trades_p2*', '-f', $file, '-d', $node->connstr($db)],
		"pg_dump --schema-only --binary-upgrade of $db");
	my @out;
	my $skip_until_drop = 0;
	for my $line (split /\n/, slurp_file($file))
	{
		next if $line =~ /binary_upgrade_set_next_|binary_upgrade_set_record_init_privs/;
		next if $line =~ /relfrozenxid|relminmxid|datfrozenxid|datminmxid/;
		next if $line =~ /^-- (Dumped|PostgreSQL database dump)/;
		# a dropped column: its placeholder in CREATE TABLE and the
		# statements that drop it again
		if ($line =~ /^-- For binary upgrade, recreate dropped column/)
		{
			$skip_until_drop = 1;
			next;
		}
		if ($skip_until_drop)
		{
			$skip_until_drop = 0 if $line =~ /DROP COLUMN/;
			next;
		}
		next if $line =~ /pg\.dropped\.\d+/;
		next if $line =~ /^\\(un)?restrict /;    # pg_dump's random key of the session
		next if $line =~ /^SELECT pg_catalog\.setval\(/;    # data: (b) compares the positions
		$line =~ s/WHERE oid = '\d+'/WHERE oid = 'N'/;
		# the extension's config tables: OIDs go, the conditions are sorted
		# (the catalog query "extension" pairs them by name)
		if ($line =~ /binary_upgrade_create_empty_extension/)
		{
			$line =~ s/'\{[0-9,]*\}'/'{oids}'/;
			$line =~ s/'\{("[^"]*"(?:,"[^"]*")*)\}'/"'{" . join(',', sort split(m{,}, $1)) . "}'"/e;
		}
		$line =~ s/,$//;    # a dropped last column moves the comma
		push @out, $line;
	}
	return join("\n", @out) . "\n";
}

# differences(a, b): name -> diff text, for every category that differs
sub differences
{
	my ($a, $b) = @_;
	my ($ca, $cb) = (catalog($a), catalog($b));
	my %diff;
	for my $k (sort keys %$ca)
	{
		next if $ca->{$k} eq $cb->{$k};
		$diff{$k} = text_diff($ca->{$k}, $cb->{$k}, "$a.$k", "$b.$k");
	}
	my ($da, $db) = (schema_dump($a), schema_dump($b));
	$diff{pg_dump} = text_diff($da, $db, "$a.dump", "$b.dump") if $da ne $db;
	return \%diff;
}

# text_diff(a, b, name_a, name_b): unified diff of two texts
sub text_diff
{
	my ($x, $y, $nx, $ny) = @_;
	PostgreSQL::Test::Utils::append_to_file("$tmp/$nx", $x);
	PostgreSQL::Test::Utils::append_to_file("$tmp/$ny", $y);
	my $d = `diff -u '$tmp/$nx' '$tmp/$ny'`;
	unlink "$tmp/$nx", "$tmp/$ny";
	return $d;
}

for my $k (sort keys %catalog)
{
	my $n = $node->safe_psql('fresh', "$owned SELECT count(*) FROM ($catalog{$k}) q");
	ok($n > 0 || $k =~ /^(rules_policies|others)$/,
		sprintf('catalog query %-15s %4d rows in the fresh install', $k, $n));
}
my $diff = differences('upgraded', 'fresh');
for my $k (sort(keys %catalog), 'pg_dump')
{
	is($diff->{$k} // '', '', "updated 0.1 equals fresh 0.2: $k");
}

# ---------------------------------------------------------------------------
# (b) the data intact and working
# ---------------------------------------------------------------------------
is(data_sums('upgraded'), $data_before, 'every row of every table and every sequence position unchanged');
# predict(): the deployed model, from the online row of the bucket before the
# symbol's last candle (0.2 judges completeness by the watermark, and the
# update served the deployed (symbol, width))
is($node->safe_psql('upgraded', q{
	SELECT (predict_explain('ETH') ->> 'model_id') || ' ' || (predict_explain('ETH') ->> 'fallback_level') || ' ' ||
	       ((predict_explain('ETH') ->> 'bucket')::timestamptz =
	        (SELECT bucket FROM triggerstock.candles WHERE symbol = 'ETH' ORDER BY bucket DESC OFFSET 1 LIMIT 1)) || ' ' ||
	       (SELECT count(*) FROM triggerstock.feature_state WHERE symbol = 'ETH' AND bucket IS NOT NULL)}),
	"$model model true 1", "predict('ETH') serves model $model from the online rows the update served");
# features(): every row and column as before, but for the exact window sums
{
	my @after = split /\n/, $node->safe_psql('upgraded', $features_sql);
	my ($differ, $beyond) = (0, 0);
	# the columns computed from window sums: bb_pct_b (7), bb_width (8),
	# stoch_k (10), stoch_d (11), cci_14 (13), mfi_14 (14), volume_z (16),
	# rv_30 (18)
	my %summed = map { $_ => 1 } (7, 8, 10, 11, 13, 14, 16, 18);
	for my $i (0 .. $#after)
	{
		my @a = split /,/, ($features_before[$i] // '') =~ s/^\(|\)$//gr, -1;
		my @b = split /,/, $after[$i] =~ s/^\(|\)$//gr, -1;
		for my $c (0 .. $#b)
		{
			next if ($a[$c] // '') eq $b[$c];
			if (!$summed{$c} || $a[$c] eq '' || $b[$c] eq ''
				|| abs($a[$c] - $b[$c]) > 1e-9 * (abs($a[$c]) > 1 ? abs($a[$c]) : 1))
			{
				$beyond++;
			}
			$differ++;
		}
	}
	is(scalar(@after) . " $beyond", scalar(@features_before) . " 0",
		"features() rows unchanged but for exact window sums ($differ values of the window-sum features within 1e-9)");
}
is($node->safe_psql('upgraded', q{
	INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, side, received_at)
	VALUES ('binance', 'BTCUSDT', 'BTC', 1, '2024-08-09 00:07:10+00', 61700, 0.5, 'buy', now() + interval '1 day'),
	       ('binance', 'BTCUSDT', 'BTC', 2, '2024-08-09 00:07:20+00', 61750, 0.25, 'sell', now() + interval '1 day');
	SELECT refresh_candles(now() + interval '1 hour')}), '1', 'a new minute of trades gives a new candle');
is($node->safe_psql('upgraded', q{
	SELECT (c.open, c.high, c.low, c.close, c.volume, c.trades)::text
	FROM triggerstock.candles c
	WHERE symbol = 'BTC' AND width = '1 minute' AND bucket = '2024-08-09 00:07+00'}),
	'(61700,61750,61700,61750,0.75,2)', '... with the right open, high, low, close, volume and count');
like($node->safe_psql('upgraded', q{
	SELECT train('ETH', params => '{"num_boost_round": 5, "max_depth": 2, "early_stopping_rounds": 0}')}),
	qr/^\d+$/, 'train() works on the updated database');

# ---------------------------------------------------------------------------
# (c) the comparison sees a difference of each kind
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE mutant TEMPLATE fresh');
$node->safe_psql('mutant', q{
	COMMENT ON COLUMN triggerstock.news.title IS 'changed';
	ALTER FUNCTION sma(float8, int4) STABLE;
	ALTER TABLE triggerstock.feeds ALTER COLUMN poll_interval SET DEFAULT '1 minute';
	GRANT SELECT ON triggerstock.trades TO PUBLIC;
	ALTER TABLE triggerstock.news ADD CONSTRAINT news_title_check CHECK (title <> '');
	CREATE INDEX candles_close_idx ON triggerstock.candles (close);
	ALTER TABLE triggerstock.models DISABLE TRIGGER models_immutable;
	CREATE OR REPLACE VIEW triggerstock.candles_1d AS SELECT * FROM candles('1 day') WHERE true;
	ALTER EXTENSION triggerstock DROP TABLE triggerstock.lexicons;
});
my $mutant = differences('mutant', 'fresh');
for my $k (qw(comments functions columns relations constraints indexes triggers views members extension pg_dump))
{
	isnt($mutant->{$k} // '', '', "a changed copy of the fresh install differs: $k");
}
note("diff of the changed copy, pg_dump:\n" . ($mutant->{pg_dump} // ''));

$node->stop;
done_testing();
