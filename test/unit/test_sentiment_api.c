/*
 * test_sentiment_api.c
 *	  unit tests of the sentiment endpoint client without a server: the request
 *	  bodies (OpenAI chat completions, Hugging Face inputs), the strict parsing
 *	  of both answer shapes, and the failures that need no network (no URL, a
 *	  refused protocol, nothing listening).
 *
 * Usage: test_sentiment_api [SHARED_DIR] (the argument is ignored).
 */
#include "sentiment/sentiment_api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_check.h"

#include <curl/curl.h>

/*
 * check_parse
 *	  Parses body as api; checks the outcome (want_ok) and the score.
 */
static void
check_parse(sentiment_api_kind api, const char *body, int want_ok, double want, const char *what)
{
	double		score = 99;
	char		err[256] = "unset";
	int			rc = tsk_sentiment_api_parse(api, body, strlen(body), &score, err, sizeof(err));

	if (want_ok)
		check(rc == 0 && fabs(score - want) < 1e-12, what);
	else
		check(rc == -1 && err[0] != '\0' && strcmp(err, "unset") != 0, what);
}

/*
 * test_requests
 *	  The request bodies.
 */
static void
test_requests(void)
{
	sentiment_api_config oa = {"http://x/", SENTIMENT_API_OPENAI, "m1", NULL, 1000, 0, NULL, false, NULL};
	sentiment_api_config nomodel = {"http://x/", SENTIMENT_API_OPENAI, "", NULL, 1000, 0, NULL, false, NULL};
	sentiment_api_config hf = {"http://x/", SENTIMENT_API_HUGGINGFACE, "m1", NULL, 1000, 0, NULL, false, NULL};
	char	   *r;

	r = tsk_sentiment_api_request(&oa, "Bitcoin \"rallies\"\n");
	check(r != NULL && strncmp(r, "{\"model\":\"m1\",\"temperature\":0,\"messages\":[{\"role\":\"system\",\"content\":\"", 70) == 0,
		  "openai request starts with model, temperature, system message");
	check(r != NULL && strstr(r, "{\"role\":\"user\",\"content\":\"Bitcoin \\\"rallies\\\"\\n\"}]}") != NULL,
		  "openai request ends with the escaped user text");
	check(r != NULL && strstr(r, "from -1 (very negative) to 1 (very positive)") != NULL,
		  "openai system prompt asks for a number in [-1, 1]");
	free(r);
	r = tsk_sentiment_api_request(&nomodel, "x");
	check(r != NULL && strstr(r, "\"model\"") == NULL, "no model name when none is configured");
	free(r);
	r = tsk_sentiment_api_request(&hf, "Stocks fall");
	check(r != NULL && strcmp(r, "{\"inputs\":\"Stocks fall\"}") == 0, "huggingface request is {\"inputs\": text}");
	free(r);
}

/*
 * test_parse
 *	  The answers: good shapes and everything that must be refused.
 */
static void
test_parse(void)
{
	check_parse(SENTIMENT_API_OPENAI,
				"{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"0.9\"}}]}",
				1, 0.9, "openai 0.9");
	check_parse(SENTIMENT_API_OPENAI, "{\"choices\":[{\"message\":{\"content\":\" -0.4\\n\"}}]}",
				1, -0.4, "openai -0.4 with whitespace");
	check_parse(SENTIMENT_API_OPENAI, "{\"choices\":[{\"message\":{\"content\":\"1\"}}]}", 1, 1, "openai 1");
	check_parse(SENTIMENT_API_OPENAI, "{\"choices\":[{\"message\":{\"content\":\"-1e0\"}}]}", 1, -1, "openai -1e0");
	check_parse(SENTIMENT_API_OPENAI, "{\"choices\":[{\"message\":{\"content\":\"1.5\"}}]}", 0, 0, "openai 1.5 refused");
	check_parse(SENTIMENT_API_OPENAI, "{\"choices\":[{\"message\":{\"content\":\"Positive\"}}]}", 0, 0, "openai words refused");
	check_parse(SENTIMENT_API_OPENAI, "{\"choices\":[{\"message\":{\"content\":\"0.5 (positive)\"}}]}", 0, 0, "openai trailing text refused");
	check_parse(SENTIMENT_API_OPENAI, "{\"choices\":[{\"message\":{\"content\":\"nan\"}}]}", 0, 0, "openai nan refused");
	check_parse(SENTIMENT_API_OPENAI, "{\"choices\":[{\"message\":{\"content\":\"0x0\"}}]}", 0, 0, "openai hex refused");
	check_parse(SENTIMENT_API_OPENAI, "{\"choices\":[{\"message\":{\"content\":\"\"}}]}", 0, 0, "openai empty refused");
	check_parse(SENTIMENT_API_OPENAI, "{\"choices\":[{\"message\":{\"content\":0.5}}]}", 0, 0, "openai non-string content refused");
	check_parse(SENTIMENT_API_OPENAI, "{\"choices\":[]}", 0, 0, "openai no choices refused");
	check_parse(SENTIMENT_API_OPENAI, "{\"error\":\"x\"}", 0, 0, "openai error object refused");
	check_parse(SENTIMENT_API_OPENAI, "{\"choices\":[{\"message\":{\"content\":\"0.1\"", 0, 0, "truncated JSON refused");
	check_parse(SENTIMENT_API_HUGGINGFACE,
				"[[{\"label\":\"positive\",\"score\":0.75},{\"label\":\"negative\",\"score\":0.25},"
				"{\"label\":\"neutral\",\"score\":0}]]", 1, 0.5, "huggingface nested list");
	check_parse(SENTIMENT_API_HUGGINGFACE,
				"[{\"label\":\"NEGATIVE\",\"score\":0.625},{\"label\":\"Positive\",\"score\":0.125}]",
				1, -0.5, "huggingface flat list, labels in any case");
	check_parse(SENTIMENT_API_HUGGINGFACE, "[[{\"label\":\"neutral\",\"score\":0.9}]]", 0, 0,
				"huggingface without positive/negative refused");
	check_parse(SENTIMENT_API_HUGGINGFACE, "[[{\"label\":\"positive\",\"score\":1.5}]]", 0, 0,
				"huggingface score > 1 refused");
	check_parse(SENTIMENT_API_HUGGINGFACE, "[[{\"label\":\"positive\"}]]", 0, 0, "huggingface missing score refused");
	check_parse(SENTIMENT_API_HUGGINGFACE, "{\"error\":\"Model is loading\"}", 0, 0, "huggingface error object refused");
	check_parse(SENTIMENT_API_HUGGINGFACE, "[]", 0, 0, "huggingface empty list refused");
	check_parse(SENTIMENT_API_HUGGINGFACE, "", 0, 0, "empty body refused");
}

/*
 * test_offline_failures
 *	  Failures that need no server.
 */
static void
test_offline_failures(void)
{
	sentiment_api_config cfg = {"", SENTIMENT_API_OPENAI, NULL, "secret", 500, 0, NULL, false, NULL};
	double		score;
	char		err[256];

	check(tsk_sentiment_api_score(&cfg, "x", &score, err, sizeof(err)) == -1 &&
		  strcmp(err, "no URL configured") == 0, "no URL");
	cfg.url = "file:///etc/passwd";
	check(tsk_sentiment_api_score(&cfg, "x", &score, err, sizeof(err)) == -1 &&
		  strncmp(err, "unsupported protocol", 20) == 0, "file:// refused");
	cfg.url = "http://127.0.0.1:1/v1/chat/completions";
	check(tsk_sentiment_api_score(&cfg, "x", &score, err, sizeof(err)) == -1 &&
		  strncmp(err, "request failed (curl error 7)", 29) == 0, "nothing listening");
	check(tsk_sentiment_api_score(&cfg, "x", &score, err, 1) == -1 && err[0] == '\0',
		  "a one-byte error buffer stays terminated");
}

/*
 * test_redact
 *	  The api key is cut out of whatever a server echoes back.
 */
static void
test_redact(void)
{
	static const char *const cases[][3] = {
		{"key: Bearer sk-1 is wrong", "sk-1", "key: Bearer [redacted] is wrong"},
		{"sk-1sk-1 and sk-1", "sk-1", "[redacted][redacted] and [redacted]"},
		{"nothing here", "sk-1", "nothing here"},
		{"no key configured", "", "no key configured"},
		{"sk-", "sk-1", "sk-"},
	};

	for (int i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++)
	{
		char	   *out = tsk_sentiment_api_redact(cases[i][0], cases[i][1]);

		check(out != NULL && strcmp(out, cases[i][2]) == 0, cases[i][0]);
		free(out);
	}
}

/*
 * main
 *	  Runs every test; exit status 1 on any failure.
 */
int
main(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
	{
		printf("FAIL: curl_global_init\n");
		return 1;
	}
	test_requests();
	test_parse();
	test_offline_failures();
	test_redact();
	curl_global_cleanup();
	return unit_summary("test_sentiment_api");
}
