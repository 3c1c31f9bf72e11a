/*
 * model.h
 *	  Declarations shared by the model subsystem's Postgres-facing files:
 *	  XGBoost glue (model_xgb.c), the per-backend booster and deployment
 *	  cache (model_cache.c), training (model_train.c), serving
 *	  (model_predict.c) and the predictor worker (bgworker/predictor.c).
 *
 * Invariants: XGBoost is never called in the postmaster (only backends
 * and workers call these functions, never _PG_init); every XGBoost handle
 * is owned by a memory context whose reset or delete callback frees it;
 * every XGBoost return code is checked and reported after the call with
 * XGBGetLastError(); nothing in here runs inside XGBoost's threads.
 */
#ifndef TRIGGERSTOCK_MODEL_H
#define TRIGGERSTOCK_MODEL_H

#include "postgres.h"

#include <xgboost/c_api.h>

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "models/model_regress.h"
#include "models/model_trees.h"

/* GUCs (model_cache.c defines them) */


/* ---- model_xgb.c ---- */

/* ERROR with XGBoost's last error message unless rc == 0. */
extern void tsk_xgb_check(int rc, const char *what);

/* Clear / read the messages XGBoost logged since the last clear. */
extern void tsk_xgb_log_clear(void);
extern const char *tsk_xgb_log_text(void);

/* Block all signals around XGBoost calls that may start threads, so that
 * OpenMP threads inherit a full mask and no Postgres handler ever runs on
 * them; pending signals (a cancel) are served when the mask is restored. */
extern void tsk_xgb_block_signals(sigset_t *saved);
extern void tsk_xgb_restore_signals(const sigset_t *saved);

/* Tie a handle's lifetime to a memory context: freed when it is reset or
 * deleted (including at transaction abort for per-query contexts). */
extern void tsk_xgb_own_booster(MemoryContext cxt, BoosterHandle booster);
extern void tsk_xgb_own_dmatrix(MemoryContext cxt, DMatrixHandle dmatrix);

/* A booster loaded from model bytes, owned by cxt, nthread set. */
extern BoosterHandle tsk_xgb_load(MemoryContext cxt, const void *bytes, size_t len, int nthread);

/* Probabilities of nrow rows of ncol features (row-major, NaN missing). */
extern void tsk_xgb_predict(BoosterHandle booster, const float *x, size_t nrow, size_t ncol,
						   double *out);

/*
 * The booster's trees as a direct evaluator (model_trees.h), freed with
 * cxt; NULL when the model is not one it supports (then serve through
 * libxgboost).  ERROR when a tree is inconsistent (tsk_tsm_trees_check).
 */
extern tsm_forest *tsk_xgb_forest(MemoryContext cxt, BoosterHandle booster, int nfeatures);

/* ---- model_cache.c ---- */

/* A loaded model, cached per backend by id. */
typedef struct model_t
{
	int64		id;
	char		symbol[NAMEDATALEN];
	char		sha256[65];
	Interval	width;
	int32		horizon;
	int			target;			/* tsm_target (model_regress.h) */
	int			nfeatures;
	char	  **features;		/* names, in matrix column order */
	BoosterHandle booster;
	tsm_forest *forest;			/* direct tree evaluator, NULL: use booster */
	MemoryContext cxt;			/* owns everything above, booster included */
	uint64		last_used;
} model_t;

/* The model with this id, loaded on first use (ERROR if it does not exist). */
extern model_t *tsk_model_get(int64 model_id);
/*
 * The model's answer for one row of its features (NaN: missing): the
 * direct tree evaluator when it has one, else the booster.
 */
extern void tsk_model_score(const model_t *m, const float *x, double *out);

/* Id of the model deployed for (symbol, target), 0 when none (cached,
 * invalidated by relcache invalidation of triggerstock.deployments at
 * commit). */
extern int64 tsk_model_deployed(const char *symbol, int target);

/* Whether triggerstock.<relname> has its issue-15 column target (a 0.1
 * database not yet updated has none: every model in it is a direction one). */
extern bool tsk_model_has_target(const char *relname);

/* Whether triggerstock.<relname> has column attname (0.2's are absent from a
 * 0.1 database not yet updated). */
extern bool tsk_model_has_column(const char *relname, const char *attname);

/* The canary candidate of (symbol, target) and its fraction, 0 when the
 * active rollout candidate is not a canary (cached with the deployment). */
extern int64 tsk_model_canary(const char *symbol, int target, double *fraction);

/* Schema of the extension (where features() lives), cached. */
extern Oid	tsk_model_extension_namespace(void);

/* Number of boosters cached in this backend. */
extern int	tsk_model_cache_count(void);

/* ---- model_predict.c ---- */

/* Fallback levels, in the order they are tried. */
typedef enum fallback_t
{
	TS_LEVEL_MODEL,
	TS_LEVEL_LAST_SCORE,
	TS_LEVEL_RULES,
	TS_LEVEL_ABSTAIN
} fallback_t;

/* The outcome of one prediction for a symbol, with what explains it. */
typedef struct prediction_t
{
	fallback_t level;
	int			target;			/* tsm_target */
	bool		has_probability;	/* an answer: a probability (direction) or a
									 * forecast (return, volatility) */
	double		probability;	/* the answer: see has_probability */
	int64		model_id;		/* 0 when no model answered */
	char		sha256[65];		/* "" when unknown */
	Interval	width;			/* the deployed model's, else 1 minute */
	int32		horizon;		/* the deployed model's, else 1 */
	TimestampTz bucket;			/* bucket of the feature row, 0 if none */
	bool		has_bucket;
	TimestampTz watermark;		/* watermark(symbol) when the row was read */
	bool		has_watermark;
	bool		online_row;		/* the row was the stored online row */
	int			nfeatures;
	char	  **names;			/* feature row used (all columns) */
	double	   *values;			/* NaN for NULL */
	const char *reason;			/* why the levels above were skipped */
	/* a canary rollout of (symbol, target) is active (rollout.c) */
	bool		has_canary;
	bool		canary_served;	/* the canary candidate answered */
	int64		canary_model_id;
	double		canary_fraction;
	double		canary_share;	/* of the bucket, NaN without one */
} prediction_t;

extern const char *tsk_fallback_name(fallback_t level);

/* Run the fallback chain for the deployment of (symbol, target) (inside a
 * transaction, SPI not connected by the caller). */
extern void tsk_predict_symbol(const char *symbol, int target, prediction_t *out);

/* The same for predict(): through the shared prediction cache (predict_cache.h). */
extern void tsk_predict_symbol_shared(const char *symbol, int target, prediction_t *out);

/* A writer of symbol's candles fills the shared cache for its commit. */
extern void tsk_predict_prefill(const char *symbol);

/* The model level only, with model model_id (a rollout candidate scored by
 * the predictor): no fallback; level abstain when the model cannot answer. */
extern void tsk_predict_model(const char *symbol, int target, int64 model_id, prediction_t *out);

/* The symbol argument of predict() and its kin, or ERROR when NULL or empty. */
extern char *tsk_predict_symbol_arg(FunctionCallInfo fcinfo);

/* The prediction as jsonb text (predict_explain and the audit rows). */
extern void tsk_prediction_json(const char *symbol, const prediction_t *p, StringInfo buf);

/* Append a double as JSON (null for NaN or infinities). */
extern void tsk_json_double(StringInfo buf, double v);

/* ---- rollout.c ---- */

/* The canary share of a scored bucket in [0, 1): the first 32 bits of
 * md5(symbol || ' ' || target || ' ' || Unix epoch seconds of bucket) / 2^32
 * (SQL: rollout_canary_share()); NaN when md5 fails. */
extern double tsk_rollout_canary_share(const char *symbol, const char *target, TimestampTz bucket);
/* A canary of fraction serves the bucket iff its share < fraction
 * (model_predict.c; false for NaN). */

#endif							/* TRIGGERSTOCK_MODEL_H */
