/*
 * model_settings.h
 *	  The settings of one train() run: our keys (test_fraction,
 *	  validation_fraction, num_boost_round, early_stopping_rounds) and
 *	  XGBoost's parameters, read from train()'s params jsonb
 *	  (model_settings.c).
 *
 * Invariants: objective, eval_metric and the thread count cannot be set
 * (train() fixes the first two from the target; triggerstock.train_threads
 * is the third);
 * every value is validated before training starts.
 */
#ifndef TRIGGERSTOCK_MODEL_SETTINGS_H
#define TRIGGERSTOCK_MODEL_SETTINGS_H

#include "postgres.h"

#include "utils/jsonb.h"

/* Most parameters a training run takes (ours and XGBoost's). */
#define TRAIN_MAX_PARAMS 64

/* Settings of one training run (our keys, then XGBoost's). */
typedef struct train_settings
{
	double		test_fraction;
	double		validation_fraction;
	int			num_boost_round;
	int			early_stopping_rounds;
	int			nparams;
	char	   *keys[TRAIN_MAX_PARAMS];
	char	   *values[TRAIN_MAX_PARAMS];
	bool		gblinear;		/* booster gblinear: a linear model (issue 15) */
} train_settings;

/*
 * Parse params for a model of target (tsm_target): direction trains
 * binary:logistic with logloss, return and volatility reg:squarederror
 * with rmse.  With booster gblinear, the tree defaults (tree_method,
 * max_depth, eta) are not set, and updater defaults to coord_descent
 * (deterministic; XGBoost's shotgun is not with several threads).
 */
extern void tsk_train_settings_parse(Jsonb *params, int target, train_settings *s);

/* The value of an XGBoost parameter in s, or NULL. */
extern const char *tsk_train_settings_get(const train_settings *s, const char *key);

/* Set (add or replace) an XGBoost parameter. */
extern void tsk_train_settings_set(train_settings *s, const char *key, const char *value);

#endif							/* TRIGGERSTOCK_MODEL_SETTINGS_H */
