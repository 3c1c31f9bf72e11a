# triggerstock: PGXS build of the extension, plus the project's own targets.
#
#   make / make install      build and install the extension (PGXS)
#   make installcheck        pg_regress suites in sql/ against a running server
#   make unit                pure-C unit tests (no server)
#   make lint                SQL in the C code qualifies every name (test/lint)
#   make test                everything, in throw-away clusters (test/run-tests.sh)
#   make demo                the real-data tour (test/demo.sh)
#   make start               the local stack, kept running (test/stack/stack.sh)
#   make bench               every benchmark (test/bench/run-*.sh)
#   make fuzz                libFuzzer targets in test/fuzz (clang)

EXTENSION = triggerstock
MODULE_big = triggerstock
EXTVERSION = 0.2
# 0.1 is frozen as released; the current version's install script is
# assembled from one SQL piece per subsystem (below).
DATA = triggerstock--0.1.sql triggerstock--0.1--0.2.sql
DATA_built = triggerstock--$(EXTVERSION).sql
PGFILEDESC = "triggerstock - real-time market analytics inside PostgreSQL"

# The install script's pieces, in dependency order.  Each piece starts with a
# banner naming its file, so an error line can be traced back to it.
SQL_PIECES = src/triggerstock.sql src/candles/candles.sql bgworker/workers.sql \
	src/news/news.sql src/sentiment/sentiment.sql src/ingest/book.sql src/indicators/indicators.sql \
	src/backfill/import.sql src/backfill/backfill.sql src/ingest/ingest.sql src/models/models.sql src/models/signals.sql \
	src/features/features.sql src/shard/shard.sql \
	bgworker/worker_plan.sql src/privileges.sql src/models/rollout.sql src/models/progress.sql src/models/predict_cache.sql

# Pure-C cores: no Postgres headers, shared with the unit tests and fuzzers.
COMMON_SRCS = src/common/bytebuf.c src/common/hostcheck.c
CANDLE_SRCS = src/candles/exactsum.c src/candles/candle.c
INDICATOR_SRCS = src/indicators/indicators.c src/indicators/indicators_close.c src/indicators/indicators_bar.c
SENTIMENT_SRCS = src/sentiment/sentiment.c src/sentiment/sentiment_token.c src/sentiment/sentiment_load.c \
	src/sentiment/sentiment_lexicon.c
NEWS_SRCS = src/news/feed_parse.c src/news/feed_text.c src/news/symbols.c
SENTIMENT_API_SRCS = src/sentiment/sentiment_api.c
DECODE_SRCS = src/ingest/decode.c src/ingest/decode_util.c src/ingest/decode_out.c \
	src/ingest/decode_binance.c src/ingest/decode_coinbase.c src/ingest/decode_finnhub.c \
	src/ingest/decode_kraken.c src/ingest/decode_generic.c src/ingest/decode_subscribe.c
MODEL_SRCS = src/models/model_metrics.c src/models/model_trees.c src/models/model_regress.c
BOOK_SRCS = src/ingest/book.c src/ingest/book_dec.c src/ingest/book_sync.c src/ingest/book_decode.c src/ingest/book_decode_util.c \
	src/ingest/book_decode_binance.c src/ingest/book_decode_coinbase.c src/ingest/book_decode_kraken.c
REST_SRCS = src/backfill/rest_parse.c src/backfill/rest_plan.c src/backfill/rest_step.c \
	src/backfill/rest_options.c src/backfill/idgap.c
URL_SRCS = src/ingest/ws_url.c
FAST_SRCS = src/ingest/decode_fast.c
FEATURE_SRCS = src/features/feature_stream.c
# What the workers read from the network besides frames and feeds: WebSocket
# reassembly, JSON quotes, HTTP validators (each fuzzed on its own).
WIRE_SRCS = src/ingest/ws_assemble.c src/news/quote.c src/news/http_header.c
CORE_SRCS = $(COMMON_SRCS) $(CANDLE_SRCS) $(INDICATOR_SRCS) $(SENTIMENT_SRCS) $(NEWS_SRCS) \
	$(DECODE_SRCS) $(SENTIMENT_API_SRCS) $(MODEL_SRCS) $(BOOK_SRCS) $(URL_SRCS) $(FAST_SRCS) $(WIRE_SRCS) \
	$(FEATURE_SRCS) $(REST_SRCS)
CORE_OBJS = $(CORE_SRCS:.c=.o)
# Postgres glue: fmgr functions, SPI, background workers.
GLUE_OBJS = src/triggerstock.o src/guc.o src/schema.o src/direct_read.o src/subxact.o src/candles/ohlcv.o src/candles/complete.o \
	src/indicators/window_common.o src/indicators/window_close.o src/indicators/window_bar.o \
	src/sentiment/sentiment_sql.o src/news/news_sql.o \
	src/models/model_xgb.o src/models/model_cache.o src/models/model_fetch.o \
	src/models/model_train.o src/models/model_train_regress.o src/models/model_settings.o src/models/model_store.o \
	src/models/model_predict.o src/models/model_predict_sql.o src/models/predict_cache.o src/models/predict_cache_sql.o src/models/model_explain.o src/models/model_drift.o \
	src/models/signals.o src/models/backtest.o src/models/rollout.o src/models/model_progress.o \
	src/features/online.o src/features/online_sql.o src/shard/shard.o \
	bgworker/supervisor.o bgworker/launcher.o bgworker/workers.o bgworker/poll.o bgworker/poll_store.o \
	bgworker/ingest.o bgworker/ingest_ws.o bgworker/ingest_flush.o bgworker/ingest_copy.o \
	bgworker/ingest_candles.o bgworker/ingest_stats.o bgworker/ingest_book.o bgworker/ingest_book_store.o \
	bgworker/ingest_book_http.o bgworker/predictor.o \
	bgworker/backfill.o bgworker/backfill_store.o src/backfill/backfill_sql.o bgworker/ingest_gaps.o
OBJS = $(CORE_OBJS) $(GLUE_OBJS)

PG_CPPFLAGS = -I$(srcdir)/src -I$(srcdir) -I/usr/include/libxml2 \
	'-DPGDLLEXPORT=__attribute__((visibility("default")))'
# -ffp-contract=off: the indicators reproduce TA-Lib bit for bit only without
# fused multiply-add contraction (a no-op on the x86-64 baseline).
# -fvisibility=hidden: PostgreSQL loads the library RTLD_GLOBAL; only the fmgr
# entry points, _PG_init and the worker mains (PGDLLEXPORT) are exported.
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	-ffp-contract=off -fvisibility=hidden
# -z now: the library's symbols are bound when the postmaster preloads it,
# so a fresh backend does not resolve them lazily on its first calls (a cold
# predict() paid for that), and its relocations are then read-only (full RELRO).
SHLIB_LINK = -lxgboost -lgomp -lwebsockets -lcurl -lcjson -lxml2 -lm -Wl,-z,now,-z,relro

REGRESS = candles candle_errors storage indicators indicators_golden features news ingest import backfill books models rollouts hostile_rows candle_merge security signals
EXTRA_CLEAN = test/unit/bin test/fuzz/bin results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

# The install script of the current version, from its pieces.
triggerstock--$(EXTVERSION).sql: $(SQL_PIECES)
	{ echo '/* triggerstock--$(EXTVERSION).sql: generated from the pieces listed in SQL_PIECES (Makefile); edit those */'; \
	  printf '\n%s\n\n' '\echo Use "CREATE EXTENSION triggerstock" to load this file. \quit'; \
	  for f in $^; do cat $$f; echo; done; } > $@

# PGXS tracks no header dependencies: rebuild every object when a project
# header changes (a struct layout change must never leave stale objects).
$(OBJS): $(wildcard $(srcdir)/src/*.h $(srcdir)/src/*/*.h $(srcdir)/bgworker/*.h)

# The shared data and golden files live beside the repository.
SHARED_DIR ?= $(abspath $(CURDIR)/../shared)

UNIT_CFLAGS = -O2 -g -std=gnu11 -Wall -Wextra -Werror -ffp-contract=off -I$(CURDIR)/src
UNIT_BIN = test/unit/bin
UNIT_TESTS = $(UNIT_BIN)/test_candle $(UNIT_BIN)/test_indicators $(UNIT_BIN)/test_sentiment \
	$(UNIT_BIN)/test_news $(UNIT_BIN)/test_decode $(UNIT_BIN)/test_model_metrics \
	$(UNIT_BIN)/test_model_trees $(UNIT_BIN)/test_sentiment_api $(UNIT_BIN)/test_hostcheck $(UNIT_BIN)/test_bytebuf \
	$(UNIT_BIN)/test_ws_url $(UNIT_BIN)/test_decode_fast $(UNIT_BIN)/test_backfill \
	$(UNIT_BIN)/test_feature_stream $(UNIT_BIN)/test_book $(UNIT_BIN)/test_model_regress

# the small unit tests share their check counter
$(UNIT_TESTS): test/unit/unit_check.h

$(UNIT_BIN)/test_bytebuf: test/unit/test_bytebuf.c $(COMMON_SRCS) src/common/bytebuf.h
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^)

$(UNIT_BIN)/test_candle: test/unit/test_candle.c $(CANDLE_SRCS)
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $^ -lm

$(UNIT_BIN)/test_ws_url: test/unit/test_ws_url.c $(URL_SRCS) src/ingest/ws_url.h
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^)

$(UNIT_BIN)/test_decode_fast: test/unit/test_decode_fast.c $(FAST_SRCS) $(DECODE_SRCS) \
		src/ingest/decode_fast.h src/ingest/decode.h
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) -lcjson -lm

$(UNIT_BIN)/test_indicators: test/unit/test_indicators.c test/unit/test_indicators_naive.c \
		test/unit/test_indicators.h $(INDICATOR_SRCS) src/candles/exactsum.c \
		src/indicators/indicators.h src/indicators/indicators_internal.h
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) -lm

$(UNIT_BIN)/test_sentiment: test/unit/test_sentiment.c $(SENTIMENT_SRCS)
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $^ -lm

$(UNIT_BIN)/test_news: test/unit/test_news.c $(NEWS_SRCS)
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -I/usr/include/libxml2 -o $@ $^ -lxml2

$(UNIT_BIN)/test_decode: test/unit/test_decode.c test/unit/test_decode_frames.c test/unit/test_decode_input.c $(DECODE_SRCS) \
		test/unit/test_decode.h src/ingest/decode.h
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) -lcjson -lm

$(UNIT_BIN)/test_model_metrics: test/unit/test_model_metrics.c $(MODEL_SRCS)
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $^ -lcjson -lm

$(UNIT_BIN)/test_model_regress: test/unit/test_model_regress.c src/models/model_regress.c
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $^ -lm

$(UNIT_BIN)/test_model_trees: test/unit/test_model_trees.c src/models/model_trees.c
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $^ -lcjson -lm

$(UNIT_BIN)/test_sentiment_api: test/unit/test_sentiment_api.c $(SENTIMENT_API_SRCS) $(COMMON_SRCS) src/sentiment/sentiment_api.h
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) -lcurl -lcjson -lm

$(UNIT_BIN)/test_book: test/unit/test_book.c test/unit/test_book_feeds.c $(BOOK_SRCS) \
		test/unit/test_book.h src/ingest/book.h src/ingest/book_decode.h src/ingest/book_sync.h
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) -lcjson -lm

$(UNIT_BIN)/test_backfill: test/unit/test_backfill.c test/unit/test_backfill_more.c $(REST_SRCS) \
		$(DECODE_SRCS) test/unit/test_backfill.h src/backfill/rest.h src/backfill/idgap.h src/ingest/decode.h
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) -lcjson -lm

$(UNIT_BIN)/test_feature_stream: test/unit/test_feature_stream.c $(FEATURE_SRCS) $(INDICATOR_SRCS) src/candles/exactsum.c \
		src/features/feature_stream.h src/indicators/indicators.h
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) -lm

$(UNIT_BIN)/test_hostcheck: test/unit/test_hostcheck.c src/common/hostcheck.c src/common/hostcheck.h
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -Itest/unit -o $@ $(filter %.c,$^)

$(UNIT_BIN)/phrasebank_eval: test/bench/phrasebank_eval.c $(SENTIMENT_SRCS)
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $^ -lm

# libFuzzer targets (clang): make fuzz [FUZZ_SECONDS=60].  One target per
# exchange decoder (seeded from the captures by test/fuzz/run-fuzz.sh), plus
# the sentiment lexicon parsers, the feed reader, the sentiment endpoint's
# answers, WebSocket reassembly, JSON quotes and HTTP validators (seeded with
# the small inputs of test/fuzz/seeds/<target>).
FUZZ_BIN = test/fuzz/bin
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$(CURDIR)/src
DECODE_FUZZ = binance coinbase kraken finnhub generic
FUZZ_TARGETS = $(FUZZ_BIN)/fuzz_sentiment $(FUZZ_BIN)/fuzz_feed $(FUZZ_BIN)/fuzz_sentiment_api \
	$(FUZZ_BIN)/fuzz_decode_fast $(FUZZ_BIN)/fuzz_ws_assemble $(FUZZ_BIN)/fuzz_quote $(FUZZ_BIN)/fuzz_http_header

# The REST backfill parsers and pagination step (seeded by run-fuzz.sh rest).
$(FUZZ_BIN)/fuzz_rest: test/fuzz/fuzz_rest.c $(REST_SRCS) $(DECODE_SRCS) src/backfill/rest.h
	@mkdir -p $(FUZZ_BIN)
	clang $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) -lcjson -lm

$(FUZZ_BIN)/fuzz_%: test/fuzz/fuzz_decode.c $(DECODE_SRCS) src/ingest/decode.h
	@mkdir -p $(FUZZ_BIN)
	clang $(FUZZ_CFLAGS) -DTD_FUZZ_ONLY=TD_$(shell echo $* | tr a-z A-Z) -o $@ $(filter %.c,$^) -lcjson -lm

# the Binance fast path against the full decoder (seeded from the captures)
$(FUZZ_BIN)/fuzz_decode_fast: test/fuzz/fuzz_decode_fast.c $(FAST_SRCS) $(DECODE_SRCS) \
		src/ingest/decode_fast.h src/ingest/decode.h
	@mkdir -p $(FUZZ_BIN) $@.corpus
	clang $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) -lcjson -lm
	@grep -h '"e":"\(agg\)\?[tT]rade"' $(SHARED_DIR)/data/websocket/binance/*.jsonl | head -200 | \
	  awk -v d=$@.corpus '{ f = d "/seed-" NR; printf "%s", $$0 > f; close(f) }'

$(FUZZ_BIN)/fuzz_sentiment: test/fuzz/fuzz_sentiment.c $(SENTIMENT_SRCS)
	@mkdir -p $(FUZZ_BIN)
	clang $(FUZZ_CFLAGS) -o $@ $^ -lm

$(FUZZ_BIN)/fuzz_feed: test/fuzz/fuzz_feed.c $(NEWS_SRCS)
	@mkdir -p $(FUZZ_BIN)
	clang $(FUZZ_CFLAGS) -I/usr/include/libxml2 -o $@ $^ -lxml2

$(FUZZ_BIN)/fuzz_sentiment_api: test/fuzz/fuzz_sentiment_api.c $(SENTIMENT_API_SRCS) $(COMMON_SRCS)
	@mkdir -p $(FUZZ_BIN)
	clang $(FUZZ_CFLAGS) -o $@ $^ -lcurl -lcjson -lm

# Depth decoders + sync rules (one binary per source) and the book structure.
BOOK_FUZZ = book_binance book_binance_rest book_coinbase book_kraken
BOOK_FUZZ_SRC_book_binance = TB_SRC_BINANCE
BOOK_FUZZ_SRC_book_binance_rest = TB_SRC_BINANCE_REST
BOOK_FUZZ_SRC_book_coinbase = TB_SRC_COINBASE
BOOK_FUZZ_SRC_book_kraken = TB_SRC_KRAKEN

$(addprefix $(FUZZ_BIN)/fuzz_,$(BOOK_FUZZ)): $(FUZZ_BIN)/fuzz_book_%: test/fuzz/fuzz_book_decode.c $(BOOK_SRCS) \
		src/ingest/book.h src/ingest/book_decode.h src/ingest/book_sync.h
	@mkdir -p $(FUZZ_BIN)
	clang $(FUZZ_CFLAGS) -DTB_FUZZ_ONLY=$(BOOK_FUZZ_SRC_book_$*) -o $@ $(filter %.c,$^) -lcjson -lm

$(FUZZ_BIN)/fuzz_book: test/fuzz/fuzz_book.c src/ingest/book.c src/ingest/book_dec.c src/ingest/book.h
	@mkdir -p $(FUZZ_BIN)
	clang $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

$(FUZZ_BIN)/fuzz_ws_assemble: test/fuzz/fuzz_ws_assemble.c src/ingest/ws_assemble.c $(COMMON_SRCS)
	@mkdir -p $(FUZZ_BIN)
	clang $(FUZZ_CFLAGS) -o $@ $^

$(FUZZ_BIN)/fuzz_quote: test/fuzz/fuzz_quote.c src/news/quote.c
	@mkdir -p $(FUZZ_BIN)
	clang $(FUZZ_CFLAGS) -o $@ $^ -lcjson -lm

$(FUZZ_BIN)/fuzz_http_header: test/fuzz/fuzz_http_header.c src/news/http_header.c
	@mkdir -p $(FUZZ_BIN)
	clang $(FUZZ_CFLAGS) -o $@ $^

fuzz: $(addprefix $(FUZZ_BIN)/fuzz_,$(DECODE_FUZZ)) $(FUZZ_BIN)/fuzz_rest $(FUZZ_TARGETS) \
		$(addprefix $(FUZZ_BIN)/fuzz_,$(BOOK_FUZZ)) $(FUZZ_BIN)/fuzz_book
	FUZZ_SECONDS=$(FUZZ_SECONDS) SHARED_DIR=$(SHARED_DIR) bash test/fuzz/run-fuzz.sh $(DECODE_FUZZ) rest $(BOOK_FUZZ) book
	@for t in $(FUZZ_TARGETS); do echo "== $$t"; n=$$(basename $$t); mkdir -p test/fuzz/corpus/$$n; \
	  if [ -d test/fuzz/seeds/$$n ]; then cp -n test/fuzz/seeds/$$n/* test/fuzz/corpus/$$n/; fi; \
	  $$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -artifact_prefix=test/fuzz/crashes/$$n- \
	    test/fuzz/corpus/$$n || exit 1; done

.PHONY: unit test demo bench fuzz lint
lint:
	python3 test/lint/sql_qualified.py src bgworker

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "== $$t"; $$t $(SHARED_DIR) || exit 1; done

test:
	bash test/run-tests.sh

demo:
	bash test/demo.sh

bench:
	@for script in test/bench/run-*.sh; do echo "== $$script"; bash $$script || exit 1; done

include test/exchange/exchange.mk

# The local stack (test/stack/stack.sh; data in .stack/, git-ignored):
#   make start [LIVE=1] [DRY_RUN=1]   install, build, start and feed it
#   make status | make stop | make chart | make stack-reset (removes .stack/)
.PHONY: start stop status chart stack-reset
start:
	@LIVE=$(LIVE) DRY_RUN=$(DRY_RUN) bash test/stack/stack.sh start
stop:
	@bash test/stack/stack.sh stop
status:
	@bash test/stack/stack.sh status
chart:
	@bash test/stack/stack.sh chart
stack-reset:
	@bash test/stack/stack.sh reset
