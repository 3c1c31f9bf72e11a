/*
 * signals.c
 *	  Decisions and signals (issue 15): the predictor worker's hook that
 *	  runs the signal rules of a symbol and target on each prediction row
 *	  it inserts.  The rules themselves (thresholds, abstain band,
 *	  cooldown) live in SQL: signals_record() in src/models/signals.sql.
 *
 * Invariants:
 *	- called only after an INSERT that stored a new prediction row, in the
 *	  same subtransaction: the prediction, its signals and their NOTIFY
 *	  commit together or not at all (NOTIFY is delivered at commit, so a
 *	  listener sees each committed signal once and a rolled-back one never);
 *	- a bucket is decided at most once per rule (UNIQUE (rule_id, width,
 *	  horizon, bucket), ON CONFLICT DO NOTHING: no row, no NOTIFY);
 *	- a 0.1 database served by this library before ALTER EXTENSION UPDATE
 *	  has no signals_record(): nothing is recorded there (syscache probe);
 *	- the statement qualifies every name; the worker's search_path is
 *	  pinned to pg_catalog, pg_temp and so is the function's.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "models/model.h"
#include "models/signals.h"

/*
 * signals_installed
 *	  Whether the extension's schema has signals_record() (an updated 0.2).
 */
static bool
signals_installed(void)
{
	Oid			nsp = tsk_model_extension_namespace();

	if (!OidIsValid(nsp))
		return false;
	return OidIsValid(get_relname_relid("signal_rules", get_namespace_oid("triggerstock", true)));
}

/*
 * tsk_signals_record
 *	  See signals.h.
 */
void
tsk_signals_record(const char *ext, const char *symbol, const Interval *width,
				   int32 horizon, int target, TimestampTz bucket)
{
	Oid			types[5] = {TEXTOID, INTERVALOID, INT4OID, TEXTOID, TIMESTAMPTZOID};
	Datum		values[5];
	int			ret;

	if (!signals_installed())
		return;
	values[0] = CStringGetTextDatum(symbol);
	values[1] = IntervalPGetDatum(width);
	values[2] = Int32GetDatum(horizon);
	values[3] = CStringGetTextDatum(tsk_tsm_target_name((tsm_target) target));
	values[4] = TimestampTzGetDatum(bucket);
	ret = SPI_execute_with_args(psprintf("SELECT %s.signals_record($1, $2, $3, $4, $5)", ext),
								5, types, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
}
