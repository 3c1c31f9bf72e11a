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
CANDLE_SRCS = src/exactsum.c src/candle.c
INDICATOR_SRCS = src/indicators.c src/indicators_close.c src/indicators_bar.c
MODEL_SRCS = src/model_metrics.c
CORE_SRCS = $(CANDLE_SRCS) $(INDICATOR_SRCS) $(MODEL_SRCS)
CORE_OBJS = $(CORE_SRCS:.c=.o)
OBJS = $(CORE_OBJS) src/ohlcv.o src/triggerstock.o \
	src/window_common.o src/window_close.o src/window_bar.o \
	bgworker/launcher.o bgworker/workers.o \
	src/model_xgb.o src/model_cache.o src/model_train.o src/model_predict.o bgworker/predictor.o

PG_CPPFLAGS = -I$(srcdir)/src -I$(srcdir)/bgworker
# -ffp-contract=off: the indicators reproduce TA-Lib bit for bit only without
# fused multiply-add contraction (a no-op on the x86-64 baseline).
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	-ffp-contract=off
SHLIB_LINK = -lxgboost -lwebsockets -lcurl -lcjson -lxml2 -lm

REGRESS = candles candle_errors storage indicators indicators_golden features models
EXTRA_CLEAN = test/unit/bin results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

# PGXS tracks no header dependencies: rebuild every object when a project
# header changes (a struct layout change must never leave stale objects).
$(OBJS): $(wildcard $(srcdir)/src/*.h $(srcdir)/bgworker/*.h)

# The shared data and golden files live beside the repository.
SHARED_DIR ?= $(abspath $(CURDIR)/../shared)

UNIT_CFLAGS = -O2 -g -std=gnu11 -Wall -Wextra -Werror -ffp-contract=off -I$(CURDIR)/src
UNIT_BIN = test/unit/bin
UNIT_TESTS = $(UNIT_BIN)/test_candle $(UNIT_BIN)/test_indicators $(UNIT_BIN)/test_model_metrics

$(UNIT_BIN)/test_candle: test/unit/test_candle.c $(CANDLE_SRCS)
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $^ -lm

$(UNIT_BIN)/test_model_metrics: test/unit/test_model_metrics.c src/model_metrics.c
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $^ -lm

$(UNIT_BIN)/test_indicators: test/unit/test_indicators.c $(INDICATOR_SRCS) src/indicators.h src/indicators_internal.h
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) -lm

.PHONY: unit test demo bench
unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "== $$t"; $$t $(SHARED_DIR) || exit 1; done

test:
	bash test/run-tests.sh

demo:
	bash test/demo.sh

bench:
	@for script in test/bench/run-*.sh; do echo "== $$script"; bash $$script || exit 1; done
