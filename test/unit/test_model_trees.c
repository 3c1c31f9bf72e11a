/*
 * test_model_trees.c
 *	  Unit tests of the direct tree evaluator (src/models/model_trees.c) on small
 *	  hand-written models in libxgboost's JSON format: the walk (split to
 *	  the left when value < condition, missing values to the default side),
 *	  the float margin and sigmoid, and the refusal of unsupported or
 *	  inconsistent models (which must never crash or loop).
 *
 * Usage: test_model_trees [shared-dir] (accepted, unused).
 * Last line: "N passed, N failed"; exit status 1 if anything failed.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/model_trees.h"
#include "unit_check.h"

/*
 * tt_model
 *	  A model: objective, booster name, base score and the trees' JSON.
 */
static char *
tt_model(char *buf, size_t len, const char *objective, const char *booster,
		 const char *base_score, const char *trees)
{
	snprintf(buf, len,
			 "{\"learner\": {\"objective\": {\"name\": \"%s\"},"
			 " \"learner_model_param\": {\"base_score\": \"%s\"},"
			 " \"gradient_booster\": {\"name\": \"%s\", \"model\": {\"trees\": [%s]}}}}",
			 objective, base_score, booster, trees);
	return buf;
}

/*
 * tt_load
 *	  Build a model and parse it (two statements: argument order is
 *	  unspecified).
 */
static tsm_forest *
tt_load(const char *objective, const char *booster, const char *base_score,
		const char *trees, int nfeatures, char *err, size_t errlen)
{
	char		json[4096];

	tt_model(json, sizeof(json), objective, booster, base_score, trees);
	return tsk_tsm_forest_from_json(json, strlen(json), nfeatures, err, errlen);
}

/* Tree 1: x0 < 2 ? (x1 < 0.5 ? 0.3 : -0.1) : 0.7; missing x0 -> right, x1 -> left. */
#define TREE1 "{\"tree_param\": {\"num_nodes\": \"5\"}," \
	" \"left_children\": [1, 3, -1, -1, -1], \"right_children\": [2, 4, -1, -1, -1]," \
	" \"split_indices\": [0, 1, 0, 0, 0], \"split_conditions\": [2.0, 0.5, 0.7, 0.3, -0.1]," \
	" \"default_left\": [0, 1, 0, 0, 0], \"split_type\": [0, 0, 0, 0, 0]}"
/* Tree 2: a single leaf of 0.25. */
#define TREE2 "{\"tree_param\": {\"num_nodes\": \"1\"}, \"left_children\": [-1], \"right_children\": [-1]," \
	" \"split_indices\": [0], \"split_conditions\": [0.25], \"default_left\": [false]}"

/*
 * tt_sigmoid
 *	  The expected probability for a margin, in libxgboost's float arithmetic.
 */
static double
tt_sigmoid(float base, float a, float b)
{
	float		m = base;

	m += a;
	m += b;
	return 1.0f / (1.0f + expf(-m));
}

/*
 * main
 *	  Runs every test; exit status 1 on any failure.
 */
int
main(void)
{
	char		err[128];
	tsm_forest *f;
	float		x[2];

	f = tt_load("binary:logistic", "gbtree", "5E-1",
									  TREE1 ", " TREE2, 2, err, sizeof(err));
	check(f != NULL, "a valid two-tree model loads");
	if (f != NULL)
	{
		check(tsk_tsm_forest_trees(f) == 2, "two trees");
		x[0] = 1.0f; x[1] = 0.2f;
		check(tsk_tsm_forest_predict(f, x) == tt_sigmoid(0.0f, 0.3f, 0.25f), "left-left leaf");
		x[1] = 0.5f;
		check(tsk_tsm_forest_predict(f, x) == tt_sigmoid(0.0f, -0.1f, 0.25f), "equal goes right");
		x[0] = 2.0f;
		check(tsk_tsm_forest_predict(f, x) == tt_sigmoid(0.0f, 0.7f, 0.25f), "x0 == 2 goes right");
		x[0] = NAN;
		check(tsk_tsm_forest_predict(f, x) == tt_sigmoid(0.0f, 0.7f, 0.25f), "missing x0 follows default right");
		x[0] = 0.0f; x[1] = NAN;
		check(tsk_tsm_forest_predict(f, x) == tt_sigmoid(0.0f, 0.3f, 0.25f), "missing x1 follows default left");
		tsk_tsm_forest_free(f);
	}

	f = tt_load("binary:logistic", "gbtree", "0.8", TREE2, 2, err, sizeof(err));
	check(f != NULL, "base score 0.8 loads");
	if (f != NULL)
	{
		x[0] = x[1] = 0;
		check(tsk_tsm_forest_predict(f, x) == tt_sigmoid(-logf(1.0f / 0.8f - 1.0f), 0.25f, 0.0f),
				 "base margin is logit(base_score) in float");
		tsk_tsm_forest_free(f);
	}

	/* a squared-error regression (issue 15): the margin is the forecast */
	f = tt_load("reg:squarederror", "gbtree", "-6.5", TREE2, 2, err, sizeof(err));
	check(f != NULL, "reg:squarederror with a negative base score loads");
	if (f != NULL)
	{
		float		m = -6.5f;

		x[0] = x[1] = 0;
		m += 0.25f;
		m += 0.0f;
		check(tsk_tsm_forest_predict(f, x) == m, "regression: base score plus the leaves, in float, no sigmoid");
		tsk_tsm_forest_free(f);
	}

	/* refusals: unsupported or inconsistent, never a crash */
	check(tt_load("count:poisson", "gbtree", "0.5", TREE2, 2, err, sizeof(err)) == NULL, "other objective refused");
	check(tt_load("binary:logistic", "gblinear", "0.5", TREE2, 2, err, sizeof(err)) == NULL, "gblinear refused");
	check(tt_load("binary:logistic", "gbtree", "1.5", TREE2, 2, err, sizeof(err)) == NULL, "base score outside (0,1) refused");
	check(tt_load("binary:logistic", "gbtree", "0.5", TREE1, 1, err, sizeof(err)) == NULL, "feature index beyond the row refused");
	check(tt_load("binary:logistic", "gbtree", "0.5",
										   "{\"tree_param\": {\"num_nodes\": \"2\"}, \"left_children\": [1, 0],"
										   " \"right_children\": [1, 0], \"split_indices\": [0, 0],"
										   " \"split_conditions\": [1, 1], \"default_left\": [0, 0]}", 2, err, sizeof(err)) == NULL, "a cycle refused");
	check(tt_load("binary:logistic", "gbtree", "0.5",
										   "{\"tree_param\": {\"num_nodes\": \"3\"}, \"left_children\": [1, -1, -1],"
										   " \"right_children\": [2, -1, -1], \"split_indices\": [0, 0, 0],"
										   " \"split_conditions\": [1, 1, 1], \"default_left\": [0, 0, 0],"
										   " \"split_type\": [1, 0, 0]}", 2, err, sizeof(err)) == NULL, "categorical split refused");
	check(tt_load("binary:logistic", "gbtree", "0.5",
										   "{\"tree_param\": {\"num_nodes\": \"3\"}, \"left_children\": [1, -1]}", 2, err, sizeof(err)) == NULL, "short arrays refused");
	check(tsk_tsm_forest_from_json("{\"learner\": ", 12, 2, err, sizeof(err)) == NULL && err[0] != '\0',
			 "truncated JSON refused with a message");

	/* the structural check applies to every objective and to dart's trees */
	{
		char		json[4096];
		char		dart[4096];

		tt_model(json, sizeof(json), "reg:squarederror", "gbtree", "0.5", TREE1);
		check(tsk_tsm_trees_check(json, strlen(json), 2, err, sizeof(err)) == 0,
				 "check: a regression model on 2 features passes");
		check(tsk_tsm_trees_check(json, strlen(json), 1, err, sizeof(err)) == -1 &&
				 strstr(err, "splits on feature 1 of 1") != NULL,
				 "check: a split on feature 1 of a 1-feature row fails, whatever the objective");
		snprintf(dart, sizeof(dart),
				 "{\"learner\": {\"gradient_booster\": {\"name\": \"dart\", \"gbtree\": {\"model\": {\"trees\": [%s]}}}}}",
				 TREE1);
		check(tsk_tsm_trees_check(dart, strlen(dart), 1, err, sizeof(err)) == -1, "check: dart trees are checked");
		tt_model(json, sizeof(json), "binary:logistic", "gblinear", "0.5", "");
		check(tsk_tsm_trees_check(json, strlen(json), 1, err, sizeof(err)) == 0, "check: no trees pass");
		tt_model(json, sizeof(json), "binary:logistic", "gbtree", "0.5",
				 "{\"tree_param\": {\"num_nodes\": \"2\"}, \"left_children\": [1, 0],"
				 " \"right_children\": [1, 0], \"split_indices\": [0, 0]}");
		check(tsk_tsm_trees_check(json, strlen(json), 2, err, sizeof(err)) == -1, "check: a cycle fails");
		check(tsk_tsm_trees_check("{\"learner\": ", 12, 2, err, sizeof(err)) == -1, "check: truncated JSON fails");
	}

	return unit_summary(NULL);
}
