/*
 * guc.c
 *	  Every triggerstock.* configuration variable, defined in one place.
 *
 * Invariants: every GUC is named triggerstock.<name> and its C variable
 * tsk_<name> (declared in guc.h); PGC_POSTMASTER variables are defined only
 * while preloading (defining one later is FATAL); nothing here may touch
 * XGBoost or start a thread (this runs in the postmaster).  _PG_init reserves
 * the prefix after calling tsk_guc_define().
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "guc.h"
#include "common/hostcheck.h"
#include "sentiment/sentiment_api.h"

char	   *tsk_database = NULL;
int			tsk_maintenance_naptime = 600;
int			tsk_partitions_ahead = 7;
int			tsk_max_workers = 8;

int			tsk_ingest_batch_size = 5000;
int			tsk_ingest_flush_ms = 5;
int			tsk_ingest_max_frame_bytes = 1024 * 1024;
int			tsk_dead_letter_max_bytes = 8192;
int			tsk_dead_letters_per_minute = 600;
int			tsk_ingest_max_past = 7 * 86400;
int			tsk_ingest_max_future = 86400;
int			tsk_ingest_idle_timeout = 60;
int			tsk_ingest_max_backoff = 30000;
char	   *tsk_ingest_ca_file = NULL;

int			tsk_poll_timeout = 10000;
int			tsk_poll_max_body = 8 * 1024 * 1024;
int			tsk_poll_max_redirects = 5;
char	   *tsk_sentiment_url = NULL;
int			tsk_sentiment_api = SENTIMENT_API_OPENAI;
char	   *tsk_sentiment_model = NULL;
char	   *tsk_allowed_hosts = NULL;
const tsk_host_policy *tsk_allowed_hosts_policy = NULL;
/* the key itself (set by the assign hook); the GUC shows only TSK_SECRET_MASK */
char	   *tsk_sentiment_api_key = "";
static char *sentiment_api_key_shown = NULL;
int			tsk_sentiment_timeout = 2000;
int			tsk_sentiment_max_items = 50;

int			tsk_train_threads = 2;
int			tsk_predict_threads = 1;
int			tsk_model_cache_size = 8;
int			tsk_last_score_max_age = 300;
double		tsk_calibration_drift_threshold = 0.05;
int			tsk_train_progress_every = 0;
int			tsk_feature_cache_ttl = 1000;
int			tsk_predict_cache_size = 4096;
bool		tsk_predict_cache = true;
int			tsk_feature_rows_keep = 10080;
int			tsk_indicator_warmup = 1000;

static const struct config_enum_entry sentiment_api_options[] = {
	{"openai", SENTIMENT_API_OPENAI, false},
	{"huggingface", SENTIMENT_API_HUGGINGFACE, false},
	{NULL, 0, false}
};

/*
 * guc_check_secret
 *	  Check hook of a secret: the value itself goes to *extra (the assign
 *	  hook publishes it), the GUC keeps TSK_SECRET_MASK whatever the value.
 *	  So SHOW, pg_settings and the postmaster's "parameter ... changed to"
 *	  line on reload (printed only when the shown value changes) never see
 *	  the secret.  PostgreSQL 15: GUC strings and extras are malloc'd.
 */
static bool
guc_check_secret(char **newval, void **extra, GucSource source)
{
	char	   *secret = strdup(*newval ? *newval : "");
	char	   *mask = strdup(TSK_SECRET_MASK);

	if (secret == NULL || mask == NULL)
	{
		free(secret);
		free(mask);
		GUC_check_errmsg("out of memory");
		return false;
	}
	free(*newval);
	*newval = mask;
	*extra = secret;
	return true;
}

/*
 * guc_assign_sentiment_api_key
 *	  Publish the key kept by guc_check_secret.
 */
static void
guc_assign_sentiment_api_key(const char *newval, void *extra)
{
	tsk_sentiment_api_key = extra ? (char *) extra : "";
}

/*
 * guc_check_allowed_hosts
 *	  Check hook of triggerstock.allowed_hosts: parse the list into a
 *	  policy (the extra, malloc'd as PostgreSQL 15 wants).
 */
static bool
guc_check_allowed_hosts(char **newval, void **extra, GucSource source)
{
	tsk_host_policy *p = malloc(sizeof(tsk_host_policy));
	char		err[256];

	if (p == NULL)
	{
		GUC_check_errmsg("out of memory");
		return false;
	}
	if (tsk_host_policy_parse(*newval, p, err, sizeof(err)) != 0)
	{
		free(p);
		GUC_check_errdetail("%s", err);
		GUC_check_errhint("Give host names, *.domain, addresses or ranges separated by commas, "
						  "such as 'stream.binance.com, *.coinbase.com, 10.0.0.0/8'.");
		return false;
	}
	*extra = p;
	return true;
}

/*
 * guc_assign_allowed_hosts
 *	  Publish the parsed policy.
 */
static void
guc_assign_allowed_hosts(const char *newval, void *extra)
{
	tsk_allowed_hosts_policy = extra;
}

/*
 * guc_define_launcher
 *	  The launcher's settings: its database, maintenance and worker slots.
 */
static void
guc_define_launcher(bool preloading)
{
	if (preloading)
	{
		DefineCustomStringVariable("triggerstock.database",
								   "Database in which the triggerstock launcher runs.",
								   "The extension must be created in this database for "
								   "its background work to happen.",
								   &tsk_database, "postgres", PGC_POSTMASTER, 0,
								   NULL, NULL, NULL);
		DefineCustomIntVariable("triggerstock.max_workers",
								"Dynamic background workers the launcher may run.",
								"Each ingest source or poll worker takes one; each also "
								"needs a max_worker_processes slot.",
								&tsk_max_workers, 8, 1, 256, PGC_POSTMASTER, 0,
								NULL, NULL, NULL);
		DefineCustomIntVariable("triggerstock.predict_cache_size",
								"Answers kept in the shared prediction cache.",
								"One per (database, symbol, target) that predict() serves; "
								"0 turns the cache off.",
								&tsk_predict_cache_size, 4096, 0, 1000000, PGC_POSTMASTER, 0,
								NULL, NULL, NULL);
	}
	DefineCustomStringVariable("triggerstock.allowed_hosts",
							   "Hosts the workers may connect to (sources, feeds, quote sources, sentiment endpoint).",
							   "Comma-separated host names, *.domain, addresses and ranges; empty: any host. "
							   "Loopback and link-local addresses are refused unless listed; redirects are "
							   "checked again.",
							   &tsk_allowed_hosts, "", PGC_SIGHUP, 0,
							   guc_check_allowed_hosts, guc_assign_allowed_hosts, NULL);
	DefineCustomIntVariable("triggerstock.maintenance_naptime",
							"Time between two maintenance passes of the launcher.",
							"Each pass creates the daily trade partitions ahead and "
							"moves stray rows out of the default partition.",
							&tsk_maintenance_naptime, 600, 1, 86400, PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.partitions_ahead",
							"Days of daily trade partitions created ahead of now.",
							NULL,
							&tsk_partitions_ahead, 7, 1, 366, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
}

/*
 * guc_define_ingest
 *	  The ingest workers' settings (triggerstock.ingest_*, dead letters).
 */
static void
guc_define_ingest(void)
{
	DefineCustomIntVariable("triggerstock.ingest_batch_size",
							"Trades an ingest worker buffers before it flushes them.",
							"A source's options->batch_size overrides it.",
							&tsk_ingest_batch_size, 5000, 1, 100000, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.ingest_flush_ms",
							"Longest time a received trade waits before it is flushed.",
							"A source's options->flush_ms overrides it.",
							&tsk_ingest_flush_ms, 5, 1, 60000, PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.ingest_max_frame_bytes",
							"Largest WebSocket message an ingest worker decodes.",
							"Larger messages become dead letters.",
							&tsk_ingest_max_frame_bytes, 1024 * 1024, 1024, 64 * 1024 * 1024,
							PGC_SIGHUP, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.dead_letter_max_bytes",
							"Bytes of a bad frame kept in triggerstock.dead_letters.",
							NULL,
							&tsk_dead_letter_max_bytes, 8192, 0, 16 * 1024 * 1024,
							PGC_SIGHUP, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.dead_letters_per_minute",
							"Dead letters one source stores per minute.",
							"Bad frames beyond it are counted (ingest_status.dead_letters_dropped), "
							"not stored; -1 stores every one.",
							&tsk_dead_letters_per_minute, 600, -1, 1000000, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.ingest_max_past",
							"How far before now a live source's trade time may be.",
							"Older trades become dead letters (history comes through the backfill "
							"path, not live sources); -1 accepts any time.",
							&tsk_ingest_max_past, 7 * 86400, -1, INT_MAX, PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.ingest_max_future",
							"How far after now a live source's trade time may be.",
							"Later trades become dead letters; -1 accepts any time.",
							&tsk_ingest_max_future, 86400, -1, INT_MAX, PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.ingest_idle_timeout",
							"Silence after which an ingest worker reconnects.",
							"Exchanges send trades or heartbeats well within it.",
							&tsk_ingest_idle_timeout, 60, 1, 3600, PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.ingest_max_backoff",
							"Longest pause between two connection attempts.",
							"Pauses start at 250 ms and double, with random jitter.",
							&tsk_ingest_max_backoff, 30000, 250, 3600000, PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomStringVariable("triggerstock.ingest_ca_file",
							   "CA certificates (PEM file) that wss:// servers are checked against.",
							   "Empty: the system's CA store.",
							   &tsk_ingest_ca_file, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
}

/*
 * guc_define_poll
 *	  The poll worker's settings (triggerstock.poll_*, triggerstock.sentiment_*).
 */
static void
guc_define_poll(void)
{
	DefineCustomIntVariable("triggerstock.poll_timeout",
							"Longest time one HTTP poll (connect, redirects, body) may take.",
							"A poll that takes longer fails with a timeout recorded in last_error.",
							&tsk_poll_timeout, 10000, 100, 600000, PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.poll_max_body",
							"Largest HTTP response body the poll worker accepts.",
							"A larger body is abandoned and the poll fails; nothing of it is stored.",
							&tsk_poll_max_body, 8 * 1024 * 1024, 1024, INT_MAX, PGC_SIGHUP, GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.poll_max_redirects",
							"Most HTTP redirects one poll follows.",
							NULL,
							&tsk_poll_max_redirects, 5, 0, 50, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomStringVariable("triggerstock.sentiment_url",
							   "Sentiment model endpoint the poll worker asks for the score of new news items.",
							   "Empty (the default) uses the built-in lexicon only; on any failure of the "
							   "endpoint the lexicon is used and news.scorer says so.",
							   &tsk_sentiment_url, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("triggerstock.sentiment_api",
							 "Protocol of triggerstock.sentiment_url: openai (chat completions) or huggingface (text classification).",
							 NULL,
							 &tsk_sentiment_api, SENTIMENT_API_OPENAI, sentiment_api_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("triggerstock.sentiment_model",
							   "Model name sent to an OpenAI-compatible triggerstock.sentiment_url.",
							   "Empty (the default) sends no model name.",
							   &tsk_sentiment_model, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("triggerstock.sentiment_api_key",
							   "Bearer token sent to triggerstock.sentiment_url (empty: none).",
							   NULL,
							   &sentiment_api_key_shown, "", PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL,
							   guc_check_secret, guc_assign_sentiment_api_key, NULL);
	DefineCustomIntVariable("triggerstock.sentiment_timeout",
							"Longest time one request to triggerstock.sentiment_url may take.",
							"A slower answer falls back to the built-in lexicon.",
							&tsk_sentiment_timeout, 2000, 50, 60000, PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.sentiment_max_items",
							"Most new items of one feed poll scored through triggerstock.sentiment_url.",
							"The other new items of that poll are scored with the built-in lexicon.",
							&tsk_sentiment_max_items, 50, 0, 10000, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
}

/*
 * guc_define_models
 *	  The model settings: XGBoost thread counts and predict()'s caches.
 */
static void
guc_define_models(void)
{
	DefineCustomIntVariable("triggerstock.train_threads",
							"Threads XGBoost uses to train a model.",
							"Passed to XGBoost as nthread by train(); superusers only (threads are "
							"a shared resource of the machine).",
							&tsk_train_threads,
							2, 1, 256, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.predict_threads",
							"Threads XGBoost uses to score in predict().",
							"One is best for single rows; superusers only.",
							&tsk_predict_threads,
							1, 1, 256, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.model_cache_size",
							"Boosters kept loaded per backend.",
							"The least recently used one is freed when more are needed.",
							&tsk_model_cache_size,
							8, 1, 1024, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.last_score_max_age",
							"Age up to which the last model score of a symbol may stand in for the model.",
							"Second level of predict()'s fallback chain.",
							&tsk_last_score_max_age,
							300, 0, INT_MAX, PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.feature_cache_ttl",
							"How long predict() reuses a symbol's latest feature row without "
							"checking for a newer candle.",
							"0 checks the latest candle on every call.",
							&tsk_feature_cache_ttl,
							1000, 0, 60000, PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("triggerstock.predict_cache",
							 "Whether predict() uses and fills the shared prediction cache.",
							 "Off: every call computes its answer in this backend.",
							 &tsk_predict_cache,
							 true, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("triggerstock.calibration_drift_threshold",
							 "Worsening of a direction model's live expected calibration error over "
							 "its test-window one that raises calibration_alert.",
							 "Read by the view triggerstock.model_live_metrics (issue 15).",
							 &tsk_calibration_drift_threshold,
							 0.05, 0.0, 1.0, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.train_progress_every",
							"A NOTICE of train()'s progress every this many boosting rounds (0: none).",
							"Round, validation score, best so far, rows and an ETA of the phase; "
							"the view triggerstock.train_progress shows every running train().",
							&tsk_train_progress_every,
							0, 0, INT_MAX, PGC_USERSET, 0, NULL, NULL, NULL);
}

/*
 * guc_define_features
 *	  The online feature state and the warm-up of features(since).
 */
static void
guc_define_features(void)
{
	DefineCustomIntVariable("triggerstock.feature_rows_keep",
							"Feature rows kept per served (symbol, width) in triggerstock.feature_rows.",
							"Rows of older buckets are deleted as new ones are folded; "
							"feature_drift() reads at most this many.",
							&tsk_feature_rows_keep,
							10080, 1, 10000000, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("triggerstock.indicator_warmup",
							"Buckets of warm-up features(symbol, width, since) reads before since.",
							"0 reads from the symbol's first candle (full history).",
							&tsk_indicator_warmup,
							1000, 0, 1000000, PGC_USERSET, 0, NULL, NULL, NULL);
}

/*
 * tsk_guc_define
 *	  Define every triggerstock.* variable; preloading adds the
 *	  PGC_POSTMASTER ones.
 */
void
tsk_guc_define(bool preloading)
{
	guc_define_launcher(preloading);
	guc_define_ingest();
	guc_define_poll();
	guc_define_models();
	guc_define_features();
}

/*
 * tsk_guc_internal_begin
 *	  Settings for the extension's internal queries (issue 11): JIT off,
 *	  since compiling the expressions of a feature query costs more than
 *	  running it for the one row predict() needs.  Opens a GUC nest level,
 *	  as a function's SET clause does; returns it for tsk_guc_internal_end.
 *	  An ERROR unwinds it with the (sub)transaction.
 */
int
tsk_guc_internal_begin(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/*
 * tsk_guc_internal_end
 *	  Restore the caller's settings saved by tsk_guc_internal_begin.
 */
void
tsk_guc_internal_end(int level)
{
	AtEOXact_GUC(true, level);
}
