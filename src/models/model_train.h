/*
 * model_train.h
 *	  The state of one train() run, passed through its phases: read, split,
 *	  fit, evaluate (model_train.c), then reference, store and deploy
 *	  (model_store.c).
 *
 * The evaluation rule (issue 11), in row order of the labelled rows:
 *
 *	 [0, n_fit)          fit rows: boosted under early stopping
 *	 [n_fit, val_begin)  horizon rows left out
 *	 [val_begin, n_train) validation slice: chooses the number of rounds
 *	 [n_train, test_begin) horizon rows left out
 *	 [test_begin, nl)    test window: scored once, after every choice
 *
 * The final model is refit on all training rows [0, n_train) with the
 * chosen number of rounds.  With early_stopping_rounds = 0 nothing is
 * chosen: there is no validation slice (n_fit = val_begin = n_train) and
 * the model keeps every round.
 *
 * Invariants: everything lives in the run's memory context `cxt` (XGBoost
 * handles included, freed by its callbacks); SPI is connected from the lock
 * to the end of the run; the test window is read by nothing before
 * train_evaluate.
 */
#ifndef TRIGGERSTOCK_MODEL_TRAIN_H
#define TRIGGERSTOCK_MODEL_TRAIN_H

#include "postgres.h"

#include <xgboost/c_api.h>

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

#include "models/model_metrics.h"
#include "models/model_regress.h"
#include "models/model_rows.h"
#include "models/model_settings.h"

/* The training window of train() (issue 15): only rows in [since, until]. */
typedef struct train_window
{
	bool		has_since;		/* since given, or derived from "window" */
	TimestampTz since;
	bool		has_until;		/* until given by the caller */
	TimestampTz until;
	char	   *window;			/* "window" as text, or NULL */
} train_window;

/* One train() run. */
typedef struct train_state
{
	/* inputs */
	const char *symbol;
	Interval   *width;
	int			horizon;
	tsm_target	target;			/* direction, return, volatility (issue 15) */
	const char *source;			/* NULL: features() */
	train_window window;		/* stored in params (since, until, window) */
	train_settings s;
	TimestampTz started;
	MemoryContext cxt;

	/* read */
	train_rows	r;

	/* split */
	float	   *label;
	size_t		nl;				/* labelled rows */
	size_t		n_fit;
	size_t		val_begin;
	size_t		n_train;
	size_t		test_begin;
	size_t		n_test;
	size_t		positives;		/* in the training rows */
	int			majority;		/* majority class of the training rows */
	double		train_base_rate;
	double		train_mean;		/* regressions: mean label of the training rows */
	bool		auto_base_score;	/* regressions: base_score is the mean label */

	/* fit */
	BoosterHandle booster;		/* the final model */
	int			best_iteration; /* zero-based; the model has best_iteration + 1 rounds */
	int			rounds_boosted; /* rounds run under early stopping (0 without) */
	double		validation_log_loss;	/* XGBoost's, at best_iteration; NaN without
										 * (regressions: the validation rmse) */

	/* evaluate */
	tsm_metrics tm;				/* test window */
	tsm_metrics trm;			/* latest training rows (no AUC) */
	double		baseline_log_loss;	/* always the training base rate, test window */
	double		baseline_brier;
	double	   *prob;			/* scratch, Max(n_train, n_test) */
	size_t	   *scratch;
	tsm_regression rm;			/* regressions: the test window */
	double		train_mse;		/* regressions: latest training rows */
	StringInfoData regress_json;	/* regressions: metrics keys and baselines */

	/* reference */
	bytea	   *model_bytes;
	StringInfoData importance;
	StringInfoData drift;

	/* store */
	int64		model_id;

	/* deploy */
	int64		deployed_id;	/* 0: none */
	bool		deploy;
	char	   *deploy_reason;
	bool		compared;		/* the deployed model was scored on our window */
} train_state;

/* model_train_regress.c */
extern void tsk_train_evaluate_regression(train_state *t);
extern double tsk_train_regression_mse(train_state *t, BoosterHandle booster);

/* model_store.c */
extern void tsk_train_reference(train_state *t);
extern void tsk_train_decide(train_state *t);
extern void tsk_train_store(train_state *t);
extern void tsk_train_deploy(train_state *t);

#endif							/* TRIGGERSTOCK_MODEL_TRAIN_H */
