/*
 * fuzz_sentiment_api.c
 *	  libFuzzer target for the sentiment endpoint client's answer parsing
 *	  (bytes from a model server).
 *
 * Input: the whole buffer is parsed as an OpenAI chat-completions answer and
 * as a Hugging Face text-classification answer.  A success must give a
 * finite score in [-1, 1]; a failure must leave a non-empty, terminated
 * error message.  Request bodies are built from the same bytes as text.
 *
 * Build and run: make fuzz (clang -fsanitize=fuzzer,address,undefined).
 */
#include "sentiment/sentiment_api.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * LLVMFuzzerTestOneInput
 *	  libFuzzer entry point: see the banner.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const sentiment_api_kind kinds[2] = {SENTIMENT_API_OPENAI, SENTIMENT_API_HUGGINGFACE};
	char	   *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	for (int k = 0; k < 2; k++)
	{
		sentiment_api_config cfg = {"http://127.0.0.1/", kinds[k], "m", NULL, 100, 0, NULL, false, NULL};
		char		err[128];
		double		score = 0;
		char	   *req;

		if (tsk_sentiment_api_parse(kinds[k], (const char *) data, size, &score, err, sizeof(err)) == 0)
		{
			if (!isfinite(score) || score < -1 || score > 1)
				abort();
		}
		else if (err[0] == '\0' || strlen(err) >= sizeof(err))
			abort();
		memcpy(text, data, size);
		text[size] = '\0';
		if ((req = tsk_sentiment_api_request(&cfg, text)) != NULL)
			free(req);
	}
	free(text);
	return 0;
}
