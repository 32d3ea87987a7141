/* sluicectl spam train|score: the statistical classifier's model, trained and tried
 * off the fast path (docs/spam.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "spam.h"
#include "sluice/strbuf.h"

struct scoring {
	struct sl_bayes_tokens *tok;
	const struct sl_bayes_model *model;
	bool failed;
};

static bool score_one(void *ctx, const char *name, const uint8_t *msg, size_t len)
{
	struct scoring *s = ctx;
	if (!spam_tokens_of(s->tok, name, msg, len)) {
		s->failed = true;
		return true; /* the other messages are still scored */
	}
	size_t n;
	const uint32_t *tokens = sl_bayes_tokens_list(s->tok, &n);
	struct sl_bayes_score sc;
	sl_bayes_classify(s->model, tokens, n, &sc);
	printf("%s: spam-probability %.6f (%u of %u tokens decided)\n", name, sc.probability, sc.used,
	       sc.tokens);
	return true;
}

/* sluicectl spam score MODEL PATH...: each message's probability. */
int spam_score(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: sluicectl spam score MODEL PATH...\n");
		return 2;
	}
	size_t len;
	uint8_t *data = sl_read_file(argv[1], &len);
	if (!data) {
		fprintf(stderr, "%s: cannot read: %m\n", argv[1]);
		return 1;
	}
	struct sl_bayes_model model;
	const char *err;
	if (!sl_bayes_model_parse(data, len, &model, &err)) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		free(data);
		return 1;
	}
	struct scoring s = {.tok = sl_bayes_tokens_new(), .model = &model};
	bool ok = s.tok != NULL;
	for (int i = 2; ok && i < argc; i++)
		ok = spam_each_message(argv[i], score_one, &s);
	sl_bayes_tokens_free(s.tok);
	free(data);
	return ok && !s.failed ? 0 : 1;
}

int cmd_spam(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "train") == 0)
		return spam_train(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "score") == 0)
		return spam_score(argc - 1, argv + 1);
	fprintf(stderr, "usage: sluicectl spam train --spam PATH... --ham PATH... --out MODEL [--min-count N]\n"
	                "         [--robx X] [--robs S] [--min-dev D]\n"
	                "       sluicectl spam score MODEL PATH...\n");
	return 2;
}
