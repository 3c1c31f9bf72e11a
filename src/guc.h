/*
 * guc.h
 *	  Every triggerstock.* configuration variable (defined in guc.c).
 *
 * Each C variable is named after its GUC: triggerstock.<name> is tsk_<name>.
 */
#ifndef TSK_GUC_H
#define TSK_GUC_H

/* where the workers may connect (common/hostcheck.h) */
struct tsk_host_policy;
extern char *tsk_allowed_hosts;
extern const struct tsk_host_policy *tsk_allowed_hosts_policy;

/* launcher and maintenance */
extern char *tsk_database;
extern int	tsk_maintenance_naptime;
extern int	tsk_partitions_ahead;
extern int	tsk_max_workers;

/* ingest workers */
extern int	tsk_ingest_batch_size;
extern int	tsk_ingest_flush_ms;
extern int	tsk_ingest_max_frame_bytes;
extern int	tsk_dead_letter_max_bytes;
extern int	tsk_dead_letters_per_minute;
extern int	tsk_ingest_max_past;
extern int	tsk_ingest_max_future;
extern int	tsk_ingest_idle_timeout;
extern int	tsk_ingest_max_backoff;
extern char *tsk_ingest_ca_file;

/* poll worker and sentiment endpoint */
extern int	tsk_poll_timeout;
extern int	tsk_poll_max_body;
extern int	tsk_poll_max_redirects;
extern char *tsk_sentiment_url;
extern int	tsk_sentiment_api;		/* a sentiment_api_kind */
extern char *tsk_sentiment_model;
extern char *tsk_sentiment_api_key;	/* the key; SHOW gives TSK_SECRET_MASK */
extern int	tsk_sentiment_timeout;
extern int	tsk_sentiment_max_items;

/* models */
extern int	tsk_train_threads;
extern int	tsk_predict_threads;
extern int	tsk_model_cache_size;
extern int	tsk_last_score_max_age;
extern int	tsk_feature_cache_ttl;
extern int	tsk_predict_cache_size;
extern bool tsk_predict_cache;
extern double tsk_calibration_drift_threshold;	/* read by model_live_metrics */
extern int	tsk_train_progress_every;

/* online features */
extern int	tsk_feature_rows_keep;
extern int	tsk_indicator_warmup;

/* What a secret GUC shows instead of its value. */
#define TSK_SECRET_MASK "********"

extern void tsk_guc_define(bool preloading);

/*
 * Run the extension's internal queries with their own settings (JIT off):
 * level = tsk_guc_internal_begin(); ...; tsk_guc_internal_end(level).
 */
extern int	tsk_guc_internal_begin(void);
extern void tsk_guc_internal_end(int level);

#endif							/* TSK_GUC_H */
