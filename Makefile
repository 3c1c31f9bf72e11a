# triggerstock: PGXS build of the extension, plus the project's own targets.
#
#   make / make install      build and install the extension (PGXS)
#   make installcheck        pg_regress suites in sql/ against a running server
#   make unit                pure-C unit tests (no server)
#   make test                everything, in throw-away clusters (test/run-tests.sh)
#   make demo                the demo (test/demo.sh)
#   make bench               every benchmark (test/bench/run-*.sh)

EXTENSION = triggerstock
MODULE_big = triggerstock
DATA = triggerstock--0.1.sql
PGFILEDESC = "triggerstock - real-time market analytics inside PostgreSQL"

# Pure-C cores: no Postgres headers, shared with the unit tests.
CORE_SRCS = src/exactsum.c src/candle.c src/model_metrics.c
CORE_OBJS = $(CORE_SRCS:.c=.o)
OBJS = $(CORE_OBJS) src/ohlcv.o src/triggerstock.o bgworker/launcher.o bgworker/workers.o \
	src/model_xgb.o src/model_cache.o src/model_train.o src/model_predict.o bgworker/predictor.o

PG_CPPFLAGS = -I$(srcdir)/src -I$(srcdir)/bgworker
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
SHLIB_LINK = -lxgboost -lwebsockets -lcurl -lcjson -lxml2 -lm

REGRESS = candles candle_errors storage models
EXTRA_CLEAN = test/unit/bin results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

# The shared data and golden files live beside the repository.
SHARED_DIR ?= $(abspath $(CURDIR)/../shared)

UNIT_CFLAGS = -O2 -g -std=gnu11 -Wall -Wextra -Werror -I$(CURDIR)/src
UNIT_BIN = test/unit/bin
UNIT_TESTS = $(UNIT_BIN)/test_candle $(UNIT_BIN)/test_model_metrics

$(UNIT_BIN)/test_candle: test/unit/test_candle.c $(CORE_SRCS)
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $^ -lm

$(UNIT_BIN)/test_model_metrics: test/unit/test_model_metrics.c src/model_metrics.c
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $^ -lm

.PHONY: unit test demo bench
unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "== $$t"; $$t $(SHARED_DIR) || exit 1; done

test:
	bash test/run-tests.sh

demo:
	bash test/demo.sh

bench:
	@for script in test/bench/run-*.sh; do echo "== $$script"; bash $$script || exit 1; done
