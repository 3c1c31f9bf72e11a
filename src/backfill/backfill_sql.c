/*
 * backfill_sql.c
 *	  SQL glue of the REST backfill: building a job (src/backfill/rest.h)
 *	  from a triggerstock.backfills row, shared by the poll worker and by
 *	  backfill_check(), which backfill() calls so that a job the worker
 *	  would refuse is refused when it is queued.
 *
 * Invariants: the job's generic strings live in its options tree (malloc'd,
 * freed with tsk_bf_options_free); every other string is palloc'd in the
 * caller's context; nothing here ereports while the tree is held except
 * the final error of backfill_check, raised after it is freed.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "bgworker/backfill.h"
#include "common/unix_time.h"


extern PGDLLEXPORT Datum backfill_check(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(backfill_check);

/*
 * backfill_host
 *	  scheme://host[:port] of a URL (palloc'd): the pacing key.
 */
static char *
backfill_host(const char *url)
{
	const char *p = url ? strstr(url, "://") : NULL;
	size_t		n;

	if (p == NULL)
		return pstrdup("");
	n = (p + 3 - url) + strcspn(p + 3, "/?#");
	return pnstrdup(url, n);
}

/*
 * tsk_backfill_build_job
 *	  See backfill.h.
 */
void
tsk_backfill_build_job(backfill_job *bj, const char *market, const char *base_url,
					   bool has_range, TimestampTz from, TimestampTz to,
					   bool has_ids, int64 from_id, int64 to_id, const char *options)
{
	bf_job	   *j = &bj->job;
	char		err[BF_ERROR_MAX];

	memset(j, 0, sizeof(*j));
	bj->check_error = NULL;
	if (tsk_bf_endpoint_from_name(bj->endpoint, &j->ep) != 0)
	{
		bj->check_error = psprintf("unknown endpoint \"%s\"", bj->endpoint);
		return;
	}
	if (tsk_bf_market_from_name(market, &j->market) != 0)
	{
		bj->check_error = psprintf("unknown market \"%s\"", market ? market : "");
		return;
	}
	if (tsk_bf_options_load(options ? options : "{}", &bj->opts, err, sizeof(err)) != 0)
	{
		bj->check_error = pstrdup(err);
		return;
	}
	j->base_url = base_url ? pstrdup(base_url) : tsk_bf_default_base(j->ep, j->market);
	j->instrument = bj->instrument;
	j->has_range = has_range;
	j->from_us = has_range ? from + TSK_UNIX_EPOCH_SHIFT_US : 0;
	j->to_us = has_range ? to + TSK_UNIX_EPOCH_SHIFT_US : 0;
	j->has_ids = has_ids;
	j->from_id = from_id;
	j->to_id = to_id;
	j->limit = bj->opts.limit > 0 ? bj->opts.limit : tsk_bf_max_limit(j->ep, j->market);
	if (j->ep == BF_GENERIC_TRADES)
	{
		bj->opts.generic.map.instrument_const = bj->instrument;
		j->generic = &bj->opts.generic;
	}
	bj->host = backfill_host(j->ep == BF_GENERIC_TRADES ? bj->opts.generic.url : j->base_url);
	if (has_range && (from < -TSK_UNIX_EPOCH_SHIFT_US || TIMESTAMP_NOT_FINITE(from) ||
					  TIMESTAMP_NOT_FINITE(to)))
		bj->check_error = pstrdup("time range must be finite and after 1970");
	else if (tsk_bf_job_check(j, err, sizeof(err)) != 0)
		bj->check_error = pstrdup(err);
}

/*
 * backfill_check(endpoint, market, base_url, instrument, range_from, range_to,
 *				  from_id, to_id, options) -> void
 *	  Raise the error the worker would fail the job with, if any.
 */
Datum
backfill_check(PG_FUNCTION_ARGS)
{
	backfill_job bj;
	char	   *error;

	memset(&bj, 0, sizeof(bj));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a backfill needs an endpoint and an instrument"),
				 errhint("Call backfill(exchange, instrument, range_from, range_to).")));
	bj.endpoint = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bj.instrument = text_to_cstring(PG_GETARG_TEXT_PP(3));
	tsk_backfill_build_job(&bj, PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)),
						   PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)),
						   !PG_ARGISNULL(4) && !PG_ARGISNULL(5),
						   PG_ARGISNULL(4) ? 0 : PG_GETARG_TIMESTAMPTZ(4),
						   PG_ARGISNULL(5) ? 0 : PG_GETARG_TIMESTAMPTZ(5),
						   !PG_ARGISNULL(6) && !PG_ARGISNULL(7),
						   PG_ARGISNULL(6) ? 0 : PG_GETARG_INT64(6),
						   PG_ARGISNULL(7) ? 0 : PG_GETARG_INT64(7),
						   PG_ARGISNULL(8) ? "{}" :
						   JsonbToCString(NULL, &PG_GETARG_JSONB_P(8)->root, 0));
	error = bj.check_error;
	tsk_bf_options_free(&bj.opts);
	if (error != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot backfill %s: %s", bj.instrument, error),
				 errhint("See the backfill() reference in the README.")));
	PG_RETURN_VOID();
}
