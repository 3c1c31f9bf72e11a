/*
 * model_trees.c
 *	  Evaluate a stored XGBoost binary:logistic gbtree model without
 *	  libxgboost (see model_trees.h for the arithmetic it reproduces).
 *
 * Invariants: a forest is one malloc'd block (header, tree roots, nodes);
 * every child index is validated to lie after its parent and inside its
 * tree, and every split feature inside [0, nfeatures), so a walk always
 * ends at a leaf and never reads outside the row or the block.
 */
#include "models/model_trees.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

typedef struct tsm_node
{
	int32_t		left;			/* absolute index, -1 for a leaf */
	int32_t		right;
	int32_t		feature;
	float		value;			/* split condition, or the leaf value */
	uint8_t		default_left;	/* where a missing value goes */
} tsm_node;

struct tsm_forest
{
	int			ntrees;
	int			nnodes;
	float		base_margin;
	int			identity;		/* reg:squarederror: the margin is the answer */
	int32_t    *roots;			/* [ntrees], into nodes */
	tsm_node   *nodes;			/* [nnodes] */
};

/*
 * trees_path
 *	  The object at a dotted path of object keys, or NULL.
 */
static const cJSON *
trees_path(const cJSON *root, const char *path)
{
	char		key[64];
	const char *p = path;

	while (root != NULL && *p)
	{
		size_t		n = strcspn(p, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		root = cJSON_GetObjectItemCaseSensitive(root, key);
		p += n + (p[n] == '.');
	}
	return root;
}

/*
 * trees_number
 *	  A JSON number, numeric string or boolean as a double; false if none.
 */
static int
trees_number(const cJSON *item, double *out)
{
	char	   *end;

	if (cJSON_IsNumber(item))
		*out = item->valuedouble;
	else if (cJSON_IsBool(item))
		*out = cJSON_IsTrue(item) ? 1.0 : 0.0;
	else if (cJSON_IsString(item) && item->valuestring[0] != '\0')
	{
		*out = strtod(item->valuestring, &end);
		if (*end != '\0')
			return 0;
	}
	else
		return 0;
	return isfinite(*out);
}

/*
 * trees_fail
 *	  Store an error message and return NULL.
 */
static tsm_forest *
trees_fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return NULL;
}

/*
 * trees_array
 *	  The named array of a tree if it has exactly n entries, else NULL.
 */
static const cJSON *
trees_array(const cJSON *tree, const char *name, int n)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(tree, name);

	return (cJSON_IsArray(a) && cJSON_GetArraySize(a) == n) ? a : NULL;
}

/*
 * trees_load_tree
 *	  Append one tree's nodes at nodes[base..base+n); 0 on success.
 */
static int
trees_load_tree(const cJSON *tree, int n, int base, int nfeatures, tsm_node *nodes)
{
	const cJSON *left = trees_array(tree, "left_children", n);
	const cJSON *right = trees_array(tree, "right_children", n);
	const cJSON *feature = trees_array(tree, "split_indices", n);
	const cJSON *cond = trees_array(tree, "split_conditions", n);
	const cJSON *dleft = trees_array(tree, "default_left", n);
	const cJSON *stype = cJSON_GetObjectItemCaseSensitive(tree, "split_type");
	const cJSON *l = left ? left->child : NULL,
			   *r = right ? right->child : NULL,
			   *f = feature ? feature->child : NULL,
			   *c = cond ? cond->child : NULL,
			   *d = dleft ? dleft->child : NULL,
			   *s = cJSON_IsArray(stype) ? stype->child : NULL;

	if (!left || !right || !feature || !cond || !dleft)
		return -1;
	for (int i = 0; i < n; i++, l = l->next, r = r->next, f = f->next, c = c->next, d = d->next)
	{
		double		lv, rv, fv, cv, dv, sv = 0;

		if (!trees_number(l, &lv) || !trees_number(r, &rv) || !trees_number(f, &fv) ||
			!trees_number(c, &cv) || !trees_number(d, &dv))
			return -1;
		if (s != NULL)
		{
			if (!trees_number(s, &sv) || sv != 0)
				return -1;		/* categorical split */
			s = s->next;
		}
		nodes[base + i].value = (float) cv;
		nodes[base + i].default_left = dv != 0;
		if (lv == -1 && rv == -1)
		{
			nodes[base + i].left = nodes[base + i].right = -1;
			nodes[base + i].feature = 0;
			continue;
		}
		/* children after the parent and inside the tree: walks terminate */
		if (lv <= i || lv >= n || rv <= i || rv >= n || fv < 0 || fv >= nfeatures)
			return -1;
		nodes[base + i].left = base + (int32_t) lv;
		nodes[base + i].right = base + (int32_t) rv;
		nodes[base + i].feature = (int32_t) fv;
	}
	return 0;
}

/*
 * tsk_tsm_forest_from_json
 *	  See model_trees.h.
 */
tsm_forest *
tsk_tsm_forest_from_json(const char *json, size_t len, int nfeatures, char *err, size_t errlen)
{
	cJSON	   *root = cJSON_ParseWithLength(json, len);
	const cJSON *trees;
	const cJSON *tree;
	const cJSON *name;
	double		base_score;
	int			identity;
	int			ntrees = 0,
				nnodes = 0,
				at = 0,
				t = 0;
	tsm_forest *forest = NULL;

	if (root == NULL)
		return trees_fail(err, errlen, "model JSON does not parse");

	name = trees_path(root, "learner.objective.name");
	if (!cJSON_IsString(name) || (strcmp(name->valuestring, "binary:logistic") != 0 &&
								  strcmp(name->valuestring, "reg:squarederror") != 0))
	{
		cJSON_Delete(root);
		return trees_fail(err, errlen, "objective is not binary:logistic or reg:squarederror");
	}
	identity = strcmp(name->valuestring, "reg:squarederror") == 0;
	name = trees_path(root, "learner.gradient_booster.name");
	trees = trees_path(root, "learner.gradient_booster.model.trees");
	if (!cJSON_IsString(name) || strcmp(name->valuestring, "gbtree") != 0 || !cJSON_IsArray(trees) ||
		!trees_number(trees_path(root, "learner.learner_model_param.base_score"), &base_score) ||
		!isfinite(base_score) || (!identity && (base_score <= 0 || base_score >= 1)))
	{
		cJSON_Delete(root);
		return trees_fail(err, errlen, "not a gbtree model with a base score in (0, 1) (logistic) or finite (regression)");
	}

	cJSON_ArrayForEach(tree, trees)
	{
		double		n;

		if (!trees_number(trees_path(tree, "tree_param.num_nodes"), &n) || n < 1 || n > 1e7)
		{
			cJSON_Delete(root);
			return trees_fail(err, errlen, "tree without a valid num_nodes");
		}
		ntrees++;
		nnodes += (int) n;
	}

	forest = malloc(sizeof(tsm_forest) + sizeof(int32_t) * ntrees + sizeof(tsm_node) * nnodes);
	if (forest == NULL)
	{
		cJSON_Delete(root);
		return trees_fail(err, errlen, "out of memory");
	}
	forest->ntrees = ntrees;
	forest->nnodes = nnodes;
	forest->roots = (int32_t *) (forest + 1);
	forest->nodes = (tsm_node *) (forest->roots + ntrees);
	/* libxgboost's ProbToMargin: logistic, in float; identity for squared error */
	forest->identity = identity;
	forest->base_margin = identity ? (float) base_score : -logf(1.0f / (float) base_score - 1.0f);

	cJSON_ArrayForEach(tree, trees)
	{
		double		n;

		(void) trees_number(trees_path(tree, "tree_param.num_nodes"), &n);
		forest->roots[t++] = at;
		if (trees_load_tree(tree, (int) n, at, nfeatures, forest->nodes) != 0)
		{
			free(forest);
			cJSON_Delete(root);
			return trees_fail(err, errlen, "tree with unsupported or inconsistent nodes");
		}
		at += (int) n;
	}
	cJSON_Delete(root);
	return forest;
}

/*
 * trees_check_array
 *	  Check the trees of one "trees" array (see tsk_tsm_trees_check).
 */
static int
trees_check_array(const cJSON *trees, int nfeatures, char *err, size_t errlen)
{
	const cJSON *tree;
	int			t = 0;

	cJSON_ArrayForEach(tree, trees)
	{
		double		n;
		const cJSON *left,
				   *right,
				   *feature,
				   *l,
				   *r,
				   *f;

		if (!trees_number(trees_path(tree, "tree_param.num_nodes"), &n) || n < 1 || n > 1e7)
		{
			snprintf(err, errlen, "tree %d has no valid num_nodes", t);
			return -1;
		}
		left = trees_array(tree, "left_children", (int) n);
		right = trees_array(tree, "right_children", (int) n);
		feature = trees_array(tree, "split_indices", (int) n);
		if (!left || !right || !feature)
		{
			snprintf(err, errlen, "tree %d lacks children or split indices for its %d nodes", t, (int) n);
			return -1;
		}
		l = left->child;
		r = right->child;
		f = feature->child;
		for (int i = 0; i < (int) n; i++, l = l->next, r = r->next, f = f->next)
		{
			double		lv,
						rv,
						fv;

			if (!trees_number(l, &lv) || !trees_number(r, &rv) || !trees_number(f, &fv))
			{
				snprintf(err, errlen, "tree %d node %d is not numeric", t, i);
				return -1;
			}
			if (lv == -1 && rv == -1)
				continue;
			if (lv <= i || lv >= n || rv <= i || rv >= n)
			{
				snprintf(err, errlen, "tree %d node %d has children outside the tree", t, i);
				return -1;
			}
			if (fv < 0 || fv >= nfeatures || fv != floor(fv))
			{
				snprintf(err, errlen, "tree %d splits on feature %g of %d", t, fv, nfeatures);
				return -1;
			}
		}
		t++;
	}
	return 0;
}

/*
 * tsk_tsm_trees_check
 *	  See model_trees.h.
 */
int
tsk_tsm_trees_check(const char *json, size_t len, int nfeatures, char *err, size_t errlen)
{
	static const char *const paths[] = {
		"learner.gradient_booster.model.trees",	/* gbtree */
		"learner.gradient_booster.gbtree.model.trees"	/* dart */
	};
	cJSON	   *root = cJSON_ParseWithLength(json, len);
	int			rc = 0;

	if (root == NULL)
	{
		snprintf(err, errlen, "model JSON does not parse");
		return -1;
	}
	for (int p = 0; rc == 0 && p < (int) (sizeof(paths) / sizeof(paths[0])); p++)
	{
		const cJSON *trees = trees_path(root, paths[p]);

		if (trees != NULL && !cJSON_IsArray(trees))
		{
			snprintf(err, errlen, "%s is not an array", paths[p]);
			rc = -1;
		}
		else if (trees != NULL)
			rc = trees_check_array(trees, nfeatures, err, errlen);
	}
	cJSON_Delete(root);
	return rc;
}

/*
 * tsk_tsm_forest_predict
 *	  See model_trees.h.
 */
double
tsk_tsm_forest_predict(const tsm_forest *forest, const float *x)
{
	float		margin = forest->base_margin;

	for (int t = 0; t < forest->ntrees; t++)
	{
		const tsm_node *node = &forest->nodes[forest->roots[t]];

		while (node->left >= 0)
		{
			float		v = x[node->feature];

			if (isnan(v))
				node = &forest->nodes[node->default_left ? node->left : node->right];
			else
				node = &forest->nodes[v < node->value ? node->left : node->right];
		}
		margin += node->value;
	}
	if (forest->identity)
		return margin;
	return 1.0f / (1.0f + expf(-margin));
}

/*
 * tsk_tsm_forest_trees
 *	  See model_trees.h.
 */
int
tsk_tsm_forest_trees(const tsm_forest *forest)
{
	return forest->ntrees;
}

/*
 * tsk_tsm_forest_free
 *	  See model_trees.h.
 */
void
tsk_tsm_forest_free(tsm_forest *forest)
{
	free(forest);
}
