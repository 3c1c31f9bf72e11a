# triggerstock: PGXS build of the extension, plus the project's own targets.
#
#   make / make install      build and install the extension (PGXS)
#   make installcheck        pg_regress suites in sql/ against a running server
#   make unit                pure-C unit tests (no server)
#   make test                everything, in throw-away clusters (test/run-tests.sh)
#   make demo                the demo (test/demo.sh)
#   make bench               every benchmark (test/bench/run-*.sh)
#   make fuzz                each libFuzzer target for FUZZ_SECONDS (clang)

EXTENSION = triggerstock
MODULE_big = triggerstock
DATA = triggerstock--0.1.sql
PGFILEDESC = "triggerstock - real-time market analytics inside PostgreSQL"

# Pure-C cores: no Postgres headers, shared with the unit tests.
CORE_SRCS = src/exactsum.c src/candle.c
DECODE_SRCS = src/decode.c src/decode_binance.c src/decode_coinbase.c src/decode_finnhub.c \
	src/decode_kraken.c src/decode_generic.c src/decode_subscribe.c
CORE_OBJS = $(CORE_SRCS:.c=.o) $(DECODE_SRCS:.c=.o)
OBJS = $(CORE_OBJS) src/ohlcv.o src/triggerstock.o bgworker/launcher.o bgworker/workers.o \
	bgworker/ingest.o bgworker/ingest_ws.o bgworker/ingest_flush.o bgworker/ingest_stats.o

PG_CPPFLAGS = -I$(srcdir)/src -I$(srcdir)/bgworker
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
SHLIB_LINK = -lxgboost -lwebsockets -lcurl -lcjson -lxml2 -lm

REGRESS = candles candle_errors storage ingest
EXTRA_CLEAN = test/unit/bin test/fuzz/bin results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

# The shared data and golden files live beside the repository.
SHARED_DIR ?= $(abspath $(CURDIR)/../shared)

UNIT_CFLAGS = -O2 -g -std=gnu11 -Wall -Wextra -Werror -I$(CURDIR)/src
UNIT_BIN = test/unit/bin
UNIT_TESTS = $(UNIT_BIN)/test_candle $(UNIT_BIN)/test_decode

$(UNIT_BIN)/test_candle: test/unit/test_candle.c $(CORE_SRCS)
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $^ -lm

$(UNIT_BIN)/test_decode: test/unit/test_decode.c test/unit/test_decode_input.c $(DECODE_SRCS) \
		test/unit/test_decode.h src/decode.h
	@mkdir -p $(UNIT_BIN)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) -lcjson -lm

# libFuzzer targets: one per decoder family, each run for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
FUZZ_BIN = test/fuzz/bin
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$(CURDIR)/src
FUZZ_TARGETS = binance coinbase kraken finnhub generic

$(FUZZ_BIN)/fuzz_%: test/fuzz/fuzz_decode.c $(DECODE_SRCS) src/decode.h
	@mkdir -p $(FUZZ_BIN)
	clang $(FUZZ_CFLAGS) -DTD_FUZZ_ONLY=TD_$(shell echo $* | tr a-z A-Z) -o $@ $(filter %.c,$^) -lcjson -lm

.PHONY: unit test demo bench fuzz
unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "== $$t"; $$t $(SHARED_DIR) || exit 1; done

test:
	bash test/run-tests.sh

demo:
	bash test/demo.sh

bench:
	@for script in test/bench/run-*.sh; do echo "== $$script"; bash $$script || exit 1; done

fuzz: $(addprefix $(FUZZ_BIN)/fuzz_,$(FUZZ_TARGETS))
	FUZZ_SECONDS=$(FUZZ_SECONDS) SHARED_DIR=$(SHARED_DIR) bash test/fuzz/run-fuzz.sh $(FUZZ_TARGETS)
include test/exchange/exchange.mk
