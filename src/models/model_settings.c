/*
 * model_settings.c
 *	  Reads train()'s params jsonb into a train_settings (model_settings.h):
 *	  defaults first, then our keys, then XGBoost's parameters passed through.
 *
 * Invariants: every error is an ereport(ERROR) naming the parameter, raised
 * before anything is trained.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "guc.h"
#include "models/model_settings.h"

/*
 * tsk_train_settings_parse
 *	  Defaults, then params: our keys are read, the others go to XGBoost.
 */
void
tsk_train_settings_parse(Jsonb *params, train_settings *s)
{
	static const char *const defaults[][2] = {
		{"objective", "binary:logistic"}, {"eval_metric", "logloss"},
		{"tree_method", "hist"}, {"max_depth", "4"}, {"eta", "0.1"},
		{"seed", "0"}, {"validate_parameters", "1"}, {"nthread", NULL}};
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	memset(s, 0, sizeof(*s));
	s->test_fraction = 0.2;
	s->num_boost_round = 100;
	s->early_stopping_rounds = 10;
	for (int i = 0; i < (int) lengthof(defaults); i++)
	{
		s->keys[s->nparams] = pstrdup(defaults[i][0]);
		s->values[s->nparams++] = defaults[i][1] ? pstrdup(defaults[i][1])
			: psprintf("%d", tsk_train_threads);
	}

	if (!JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_SCALAR(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params must be a jsonb object"),
				 errhint("For example: '{\"max_depth\": 6, \"eta\": 0.05}'.")));
	it = JsonbIteratorInit(&params->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *value;
		int			i;

		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (tok != WJB_VALUE)
			continue;
		if (v.type == jbvString)
			value = pnstrdup(v.val.string.val, v.val.string.len);
		else if (v.type == jbvNumeric)
			value = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
		else if (v.type == jbvBool)
			value = pstrdup(v.val.boolean ? "true" : "false");
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parameter \"%s\" must be a string, number or boolean", key),
					 errhint("XGBoost parameters are scalars, for example {\"max_depth\": 6}.")));

		if (strcmp(key, "objective") == 0 || strcmp(key, "eval_metric") == 0 ||
			strcmp(key, "nthread") == 0 || strcmp(key, "n_jobs") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parameter \"%s\" cannot be set", key),
					 errhint("train() always uses objective binary:logistic with eval_metric logloss "
							 "for early stopping; the thread count is the GUC triggerstock.train_threads.")));
		if (strcmp(key, "test_fraction") == 0)
		{
			s->test_fraction = strtod(value, NULL);
			if (!(s->test_fraction >= 0.01 && s->test_fraction <= 0.9))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("test_fraction must be between 0.01 and 0.9, got %s", value),
						 errhint("It is the share of the newest rows held out for testing; the default is 0.2.")));
			continue;
		}
		if (strcmp(key, "num_boost_round") == 0 || strcmp(key, "early_stopping_rounds") == 0)
		{
			char	   *end;
			long		n = strtol(value, &end, 10);
			bool		rounds = key[0] == 'n';

			if (*end != '\0' || n < (rounds ? 1 : 0) || n > 1000000)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s must be an integer between %d and 1000000, got %s",
								key, rounds ? 1 : 0, value),
						 errhint("num_boost_round defaults to 100, early_stopping_rounds to 10 (0 turns early stopping off).")));
			if (rounds)
				s->num_boost_round = (int) n;
			else
				s->early_stopping_rounds = (int) n;
			continue;
		}
		for (i = 0; i < s->nparams; i++)
			if (strcmp(s->keys[i], key) == 0)
				break;
		if (i == lengthof(s->keys))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many parameters"),
					 errhint("Give at most 50 parameters.")));
		if (i == s->nparams)
			s->keys[s->nparams++] = key;
		s->values[i] = value;
	}
}
