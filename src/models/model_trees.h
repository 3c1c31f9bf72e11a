/*
 * model_trees.h
 *	  A compact evaluator for the gradient-boosted trees of a stored
 *	  XGBoost model (pure C over cJSON, no Postgres headers).
 *
 * Serving one row through libxgboost costs a DMatrix and a predictor call
 * (tens of microseconds); walking the trees directly costs well under one.
 * tsk_tsm_forest_from_json() reads XGBoost's own JSON model format (what
 * XGBoosterSaveModelToBuffer gives with {"format": "json"}) and supports
 * exactly what the models here use: a "gbtree" booster with objective
 * "binary:logistic" or "reg:squarederror" (issue 15) and numerical splits.  Anything else is reported as
 * unsupported, and the caller keeps using libxgboost.
 *
 * The arithmetic follows libxgboost 1.7's CPU predictor so that results
 * agree with it (the tests compare with python3-xgboost to 1e-6): features
 * are float, a split goes left when value < condition, a missing value
 * (NaN) follows the node's default direction, the margin starts at the
 * base margin and adds each tree's leaf value in float, and the probability
 * is 1 / (1 + expf(-margin)) (a regression answers the margin itself; its
 * base margin is the base score).
 */
#ifndef TRIGGERSTOCK_MODEL_TREES_H
#define TRIGGERSTOCK_MODEL_TREES_H

#include <stddef.h>

typedef struct tsm_forest tsm_forest;

/*
 * Parse a JSON model; nfeatures is the number of columns the caller will
 * pass.  Returns NULL with a message in err when the model is malformed or
 * not supported.  The result is one malloc'd block: free it with
 * tsk_tsm_forest_free().
 */
extern tsm_forest *tsk_tsm_forest_from_json(const char *json, size_t len, int nfeatures,
										char *err, size_t errlen);

/*
 * Check every tree of a JSON model, whatever its objective or booster
 * (gbtree, or dart's trees): each split node's children lie after it and
 * inside its tree, and each split feature inside [0, nfeatures).  libxgboost
 * does not check this when it loads a model, and walks such a tree outside
 * its feature vector; a model that fails is never served.  Returns 0, or -1
 * with a message in err (a model without trees, gblinear, passes).
 */
extern int	tsk_tsm_trees_check(const char *json, size_t len, int nfeatures, char *err, size_t errlen);

/* Probability of the positive class (regression: the forecast) for one row
 * of nfeatures floats. */
extern double tsk_tsm_forest_predict(const tsm_forest *forest, const float *x);

/* Number of trees (for tests and explain output). */
extern int	tsk_tsm_forest_trees(const tsm_forest *forest);

extern void tsk_tsm_forest_free(tsm_forest *forest);

#endif							/* TRIGGERSTOCK_MODEL_TREES_H */
