/*
 * sentiment_api.h
 *	  A small pure-C client (libcurl easy + cJSON, malloc/free only, no
 *	  Postgres headers) that asks a sentiment model server for the score of
 *	  one text: an OpenAI-compatible chat-completions endpoint or a Hugging
 *	  Face text-classification endpoint.
 *
 * Invariants: every function frees what it allocates on every path (curl
 * handles, header lists, JSON trees, buffers); failures come back as a
 * return code and a message in the caller's buffer, never by longjmp or
 * exit.  The caller has called curl_global_init() once in its process.
 */
#ifndef TRIGGERSTOCK_SENTIMENT_API_H
#define TRIGGERSTOCK_SENTIMENT_API_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* Which wire protocol the server speaks. */
typedef enum sentiment_api_kind
{
	SENTIMENT_API_OPENAI = 0,		/* POST chat completions, answer = a number */
	SENTIMENT_API_HUGGINGFACE = 1	/* POST {"inputs"}, answer = label scores */
} sentiment_api_kind;

/* Largest response body accepted when max_response is 0. */
#define SENTIMENT_API_DEFAULT_MAX_RESPONSE (1024 * 1024)

typedef struct sentiment_api_config
{
	const char *url;			/* http:// or https:// endpoint */
	sentiment_api_kind api;
	const char *model;			/* OpenAI "model"; NULL or "" = not sent */
	const char *api_key;		/* bearer token; NULL or "" = none */
	long		timeout_ms;		/* whole request, connect included */
	size_t		max_response;	/* body size cap; 0 = the default */
	/* non-NULL: the request is abandoned as soon as *abort_flag is set */
	const volatile sig_atomic_t *abort_flag;
	/* check the host and the addresses it resolves to (common/hostcheck.h) */
	bool		check_hosts;
	const struct tsk_host_policy *hosts;	/* NULL: any but loopback/link-local */
} sentiment_api_config;

/* A malloc'd copy of text with every occurrence of secret replaced. */
extern char *tsk_sentiment_api_redact(const char *text, const char *secret);

/*
 * Score text in [-1, 1] through the configured server.  Returns 0 with
 * *score set, or -1 with a message in err (always NUL-terminated).
 */
extern int	tsk_sentiment_api_score(const sentiment_api_config *cfg, const char *text,
								double *score, char *err, size_t errlen);

/*
 * The JSON request body for text (malloc'd; free() it), or NULL when out
 * of memory.  Exposed for the unit tests.
 */
extern char *tsk_sentiment_api_request(const sentiment_api_config *cfg, const char *text);

/*
 * Parse a 2xx response body of the given kind into *score; 0 or -1 with a
 * message in err.  Exposed for the unit tests and the fuzz target.
 */
extern int	tsk_sentiment_api_parse(sentiment_api_kind api, const char *body, size_t len,
								double *score, char *err, size_t errlen);

#endif							/* TRIGGERSTOCK_SENTIMENT_API_H */
