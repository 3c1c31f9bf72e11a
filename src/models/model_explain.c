/*
 * model_explain.c
 *	  What explains a prediction, as JSON: the text of predict_explain()
 *	  and of the feature snapshot in triggerstock.predictions; the names of
 *	  the fallback levels.
 *
 * Invariants: numbers are written in their shortest exact form and as null
 * when not finite (JSON has no NaN); the question names the width and the
 * horizon the probability is about (h buckets of width ahead, not the next
 * bucket); nothing here reads a table.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "models/model.h"

/*
 * tsk_fallback_name
 *	  The name of a fallback level.
 */
const char *
tsk_fallback_name(fallback_t level)
{
	switch (level)
	{
		case TS_LEVEL_MODEL:
			return "model";
		case TS_LEVEL_LAST_SCORE:
			return "last_score";
		case TS_LEVEL_RULES:
			return "rules";
		case TS_LEVEL_ABSTAIN:
			return "abstain";
	}
	return "?";
}

/*
 * tsk_json_double
 *	  A double as JSON: shortest exact form, null when not finite.
 */
void
tsk_json_double(StringInfo buf, double v)
{
	if (!isfinite(v))
		appendStringInfoString(buf, "null");
	else
		appendStringInfo(buf, "%.17g", v);
}

/*
 * tsk_prediction_json
 *	  The prediction and what explains it, as JSON text.
 */
void
tsk_prediction_json(const char *symbol, const prediction_t *p, StringInfo buf)
{
	char		ts[MAXDATELEN + 1];

	bool		regression = p->target != TSM_TARGET_DIRECTION;
	const char *wtext = DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(&p->width)));

	appendStringInfoString(buf, "{\"symbol\": ");
	escape_json(buf, symbol);
	/* a regression answers a forecast; the direction keys stay as in 0.2 */
	if (regression)
		appendStringInfo(buf, ", \"target\": \"%s\", \"forecast\": ",
						 tsk_tsm_target_name((tsm_target) p->target));
	else
		appendStringInfoString(buf, ", \"probability\": ");
	if (p->has_probability)
		tsk_json_double(buf, p->probability);
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ", \"fallback_level\": ");
	escape_json(buf, tsk_fallback_name(p->level));
	appendStringInfoString(buf, ", \"width\": ");
	escape_json(buf, DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(&p->width))));
	appendStringInfo(buf, ", \"horizon\": %d, \"question\": ", p->horizon);
	if (p->has_bucket && p->target == TSM_TARGET_RETURN)
		escape_json(buf, psprintf("ln of the close %d bucket%s of %s after the bucket starting %s "
								  "over that bucket's close", p->horizon, p->horizon == 1 ? "" : "s",
								  wtext, timestamptz_to_str(p->bucket)));
	else if (p->has_bucket && p->target == TSM_TARGET_VOLATILITY)
		escape_json(buf, psprintf("realised volatility (sqrt of the sum of squared log returns) of the %d "
								  "bucket%s of %s after the bucket starting %s (exp of the model's log forecast)",
								  p->horizon, p->horizon == 1 ? "" : "s", wtext, timestamptz_to_str(p->bucket)));
	else if (p->has_bucket)
		escape_json(buf, psprintf("probability that the close %d bucket%s of %s after the bucket starting %s "
								  "is higher than that bucket's close",
								  p->horizon, p->horizon == 1 ? "" : "s",
								  DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(&p->width))),
								  timestamptz_to_str(p->bucket)));
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ", \"watermark\": ");
	if (p->has_watermark)
		appendStringInfo(buf, "\"%s\"", JsonEncodeDateTime(ts, TimestampTzGetDatum(p->watermark),
														   TIMESTAMPTZOID, NULL));
	else
		appendStringInfoString(buf, "null");
	if (p->model_id)
	{
		appendStringInfo(buf, ", \"model_id\": %lld, \"sha256\": ", (long long) p->model_id);
		if (p->sha256[0] != '\0')
			escape_json(buf, p->sha256);
		else
			appendStringInfoString(buf, "null");
	}
	else
		appendStringInfoString(buf, ", \"model_id\": null, \"sha256\": null");
	/* a canary rollout (issue 15): which deployment served, by which share */
	if (p->has_canary)
	{
		appendStringInfo(buf, ", \"deployment_mode\": \"%s\", \"canary\": {\"model_id\": %lld, \"fraction\": ",
						 p->canary_served ? "canary" : "live", (long long) p->canary_model_id);
		tsk_json_double(buf, p->canary_fraction);
		appendStringInfoString(buf, ", \"share\": ");
		tsk_json_double(buf, p->canary_share);
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoString(buf, ", \"reason\": ");
	if (p->reason)
		escape_json(buf, p->reason);
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ", \"bucket\": ");
	if (p->has_bucket)
		appendStringInfo(buf, "\"%s\"", JsonEncodeDateTime(ts, TimestampTzGetDatum(p->bucket),
														   TIMESTAMPTZOID, NULL));
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ", \"features\": {");
	for (int i = 0; i < p->nfeatures; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		escape_json(buf, p->names[i]);
		appendStringInfoString(buf, ": ");
		tsk_json_double(buf, p->values[i]);
	}
	appendStringInfoString(buf, "}}");
}
