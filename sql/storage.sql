--
-- Trade storage: daily partitions, the default partition, dedupe,
-- retention(), maintain(), pg_dump registration, drop and re-create.
--
SET TimeZone = 'UTC';

-- data and configuration tables are registered so pg_dump keeps their rows
SELECT unnest(extconfig)::regclass AS dumped_with_data
FROM pg_extension WHERE extname = 'triggerstock' ORDER BY 1;

-- a day without a partition: rows land in the default partition, none lost
INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty)
VALUES ('test', 'T-USD', 'T', 1, '2024-01-15 10:00+00', 1, 1),
       ('test', 'T-USD', 'T', 2, '2024-01-16 10:00+00', 2, 1);
SELECT tableoid::regclass AS partition, count(*)
FROM triggerstock.trades WHERE exchange = 'test' GROUP BY 1 ORDER BY tableoid::regclass::text;

-- maintain(): today plus partitions_ahead (7) days, and a partition for each
-- day found in the default partition (its rows move along); book_snapshots
-- gets the same 8 days ahead (2 trade days + 8 + 8 = 18)
SELECT maintain() AS created;
SELECT tableoid::regclass AS partition, count(*)
FROM triggerstock.trades WHERE exchange = 'test' GROUP BY 1 ORDER BY tableoid::regclass::text;
SELECT count(*) AS left_in_default FROM triggerstock.trades_default;
SELECT count(*) AS partitions_from_today
FROM trade_partitions() WHERE range_to > now();
SELECT maintain() AS created_again;

-- partitions carry the parent's constraints and indexes
SELECT count(*) AS indexes_on_new_partition FROM pg_index
WHERE indrelid = 'triggerstock.trades_p20240115'::regclass;

-- the unique key dedupes replays
INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty)
VALUES ('test', 'T-USD', 'T', 1, '2024-01-15 10:00+00', 1, 1);
INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty)
VALUES ('test', 'T-USD', 'T', 1, '2024-01-15 10:00+00', 1, 1)
ON CONFLICT DO NOTHING;

-- create_partitions(): idempotent, argument checks
SELECT count(*) AS created FROM create_partitions(now(), now() + interval '7 days');
SELECT * FROM create_partitions('2024-01-02', '2024-01-01');
SELECT * FROM create_partitions(NULL, '2024-01-01');
SELECT * FROM create_partitions('-infinity', '2024-01-01');
SELECT * FROM create_partitions('2000-01-01', '2030-01-01');
-- the widest finite range: its interval overflows, the check must not
SELECT * FROM create_partitions('4713-01-01 00:00+00 BC', '294276-12-31 00:00+00');

-- retention(): drops whole old partitions, keeps candles and recent partitions
INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty)
VALUES ('test', 'T-USD', 'T', 3, now() - interval '3 days', 1, 1);
SELECT count(*) AS candles_before FROM triggerstock.candles;
SELECT * FROM retention('-1 day');
SELECT * FROM retention(NULL);
SELECT * FROM retention('30 days') ORDER BY range_from;
SELECT count(*) AS trades_left, min(ts) > now() - interval '30 days' AS all_recent
FROM triggerstock.trades;
SELECT count(*) AS candles_after FROM triggerstock.candles;
SELECT count(*) AS partitions_left FROM trade_partitions();
SELECT * FROM retention('30 days');

-- stray old rows in the default partition are deleted and reported
INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty)
VALUES ('test', 'T-USD', 'T', 4, '2020-02-02 02:02+00', 1, 1);
SELECT partition_name, range_from, range_to = now() - interval '30 days' AS at_cutoff
FROM retention('30 days');
-- the recent stray row (3 days old, no partition for its day) stays
SELECT count(*) AS left_in_default, min(ts) > now() - interval '30 days' AS recent
FROM triggerstock.trades_default;

-- the extension drops cleanly, partitions included, and comes back
DROP EXTENSION triggerstock;
SELECT count(*) AS leftover_relations FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'triggerstock';
SELECT count(*) AS leftover_schema FROM pg_namespace WHERE nspname = 'triggerstock';
CREATE EXTENSION triggerstock;
SELECT count(*) AS partitions FROM trade_partitions();

-- every function, aggregate and relation of the extension is documented
SELECT count(*) AS undocumented
FROM pg_depend d
WHERE d.refclassid = 'pg_extension'::regclass
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'triggerstock')
  AND d.deptype = 'e'
  AND d.classid IN ('pg_proc'::regclass, 'pg_class'::regclass, 'pg_type'::regclass)
  AND obj_description(d.objid, d.classid::regclass::name) IS NULL
  AND NOT (d.classid = 'pg_type'::regclass
           AND EXISTS (SELECT 1 FROM pg_type t WHERE t.oid = d.objid
                       AND (t.typrelid <> 0 AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) <> 'c'
                            OR t.typelem <> 0)))
  AND NOT (d.classid = 'pg_class'::regclass
           AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = d.objid AND c.relkind IN ('i', 'I', 'c')));
