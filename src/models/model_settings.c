/*
 * model_settings.c
 *	  Reads train()'s params jsonb into a train_settings (model_settings.h):
 *	  defaults first, then our keys, then XGBoost's parameters passed through.
 *
 * Invariants: every error is an ereport(ERROR) naming the parameter, raised
 * before anything is trained.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "guc.h"
#include "models/model_regress.h"
#include "models/model_settings.h"

/*
 * The parameters of XGBoost 1.7 that a params object may set, from its
 * documentation (general, tree booster, DART, learning task), aliases
 * included.  Any other name is refused before XGBoost sees it: XGBoost's
 * own unknown-parameter warning is only a log line, which can be lost.
 */
static const char *const settings_xgb_params[] = {
	"booster", "verbosity", "validate_parameters", "disable_default_eval_metric", "seed",
	"seed_per_iteration", "base_score", "max_delta_step",
	"eta", "learning_rate", "gamma", "min_split_loss", "max_depth", "min_child_weight",
	"subsample", "sampling_method", "colsample_bytree", "colsample_bylevel", "colsample_bynode",
	"lambda", "reg_lambda", "alpha", "reg_alpha", "tree_method", "sketch_eps", "scale_pos_weight",
	"updater", "refresh_leaf", "process_type", "grow_policy", "max_leaves", "max_bin",
	"num_parallel_tree", "monotone_constraints", "interaction_constraints",
	"max_cat_to_onehot", "max_cat_threshold",
	"sample_type", "normalize_type", "rate_drop", "one_drop", "skip_drop",
	"feature_selector", "top_k",
	NULL
};

/*
 * settings_known_param
 *	  True if key is one of settings_xgb_params.
 */
static bool
settings_known_param(const char *key)
{
	for (int i = 0; settings_xgb_params[i] != NULL; i++)
		if (strcmp(settings_xgb_params[i], key) == 0)
			return true;
	return false;
}

/*
 * tsk_train_settings_parse
 *	  Defaults, then params: our keys are read, XGBoost's documented ones go
 *	  to XGBoost, any other is an ERROR.
 */
void
tsk_train_settings_parse(Jsonb *params, int target, train_settings *s)
{
	bool		regression = target != TSM_TARGET_DIRECTION;
	static const char *const defaults[][2] = {
		{"objective", "binary:logistic"}, {"eval_metric", "logloss"},
		{"tree_method", "hist"}, {"max_depth", "4"}, {"eta", "0.1"},
		{"seed", "0"}, {"validate_parameters", "1"}, {"nthread", NULL}};
	bool		user[TRAIN_MAX_PARAMS] = {false};
	const char *booster;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	memset(s, 0, sizeof(*s));
	s->test_fraction = 0.2;
	s->validation_fraction = 0.2;
	s->num_boost_round = 100;
	s->early_stopping_rounds = 10;
	for (int i = 0; i < (int) lengthof(defaults); i++)
	{
		s->keys[s->nparams] = pstrdup(defaults[i][0]);
		s->values[s->nparams++] = defaults[i][1] ? pstrdup(defaults[i][1])
			: psprintf("%d", tsk_train_threads);
	}
	if (regression)
	{
		s->values[0] = pstrdup("reg:squarederror");
		s->values[1] = pstrdup("rmse");
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
					 regression ?
					 errhint("train() uses objective reg:squarederror with eval_metric rmse for early stopping "
							 "for the return and volatility targets; the thread count is the GUC "
							 "triggerstock.train_threads.") :
					 errhint("train() always uses objective binary:logistic with eval_metric logloss for early stopping; "
							 "the thread count is the GUC triggerstock.train_threads.")));
		if (strcmp(key, "test_fraction") == 0 || strcmp(key, "validation_fraction") == 0)
		{
			bool		test = key[0] == 't';
			double		f = strtod(value, NULL);

			if (!(f >= 0.01 && f <= 0.9))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s must be between 0.01 and 0.9, got %s", key, value),
						 errhint(test ? "It is the share of the newest rows held out for testing; the default is 0.2."
								 : "It is the share of the newest training rows that chooses the number of rounds; the default is 0.2.")));
			if (test)
				s->test_fraction = f;
			else
				s->validation_fraction = f;
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
		if (!settings_known_param(key))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown parameter \"%.*s%s\"", pg_mbcliplen(key, strlen(key), 64), key,
							key[pg_mbcliplen(key, strlen(key), 64)] ? "..." : ""),
					 errhint("params takes test_fraction, validation_fraction, num_boost_round, early_stopping_rounds and "
							 "XGBoost's tree booster and learning task parameters, such as max_depth, eta, "
							 "subsample, colsample_bytree, min_child_weight, lambda, alpha, gamma, max_bin.")));
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
		user[i] = true;
	}

	/* a linear booster: the tree defaults are not its parameters */
	booster = tsk_train_settings_get(s, "booster");
	s->gblinear = booster != NULL && strcmp(booster, "gblinear") == 0;
	if (s->gblinear)
	{
		int			kept = 0;

		for (int i = 0; i < s->nparams; i++)
		{
			if (!user[i] && (strcmp(s->keys[i], "tree_method") == 0 || strcmp(s->keys[i], "max_depth") == 0 ||
							 strcmp(s->keys[i], "eta") == 0))
				continue;
			s->keys[kept] = s->keys[i];
			s->values[kept++] = s->values[i];
		}
		s->nparams = kept;
		/* shotgun, XGBoost's default, is not reproducible with more than one thread */
		if (tsk_train_settings_get(s, "updater") == NULL)
			tsk_train_settings_set(s, "updater", "coord_descent");
	}
}

/*
 * tsk_train_settings_get
 *	  The value of key, or NULL.
 */
const char *
tsk_train_settings_get(const train_settings *s, const char *key)
{
	for (int i = 0; i < s->nparams; i++)
		if (strcmp(s->keys[i], key) == 0)
			return s->values[i];
	return NULL;
}

/*
 * tsk_train_settings_set
 *	  Add or replace key = value.
 */
void
tsk_train_settings_set(train_settings *s, const char *key, const char *value)
{
	for (int i = 0; i < s->nparams; i++)
		if (strcmp(s->keys[i], key) == 0)
		{
			s->values[i] = pstrdup(value);
			return;
		}
	if (s->nparams == TRAIN_MAX_PARAMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many parameters"),
				 errhint("Give at most 50 parameters.")));
	s->keys[s->nparams] = pstrdup(key);
	s->values[s->nparams++] = pstrdup(value);
}
