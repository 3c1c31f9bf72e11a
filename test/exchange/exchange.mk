# test/exchange/exchange.mk - build the local test exchange (exchange_sim).
#
# Included from the top-level Makefile, or used on its own from the
# repository root:  make -f test/exchange/exchange.mk exchange
# Variables are prefixed EXCHANGE_ so they never collide with PGXS.

EXCHANGE_DIR := test/exchange
EXCHANGE_BIN := $(EXCHANGE_DIR)/exchange_sim
EXCHANGE_SRCS := $(addprefix $(EXCHANGE_DIR)/, main.c server.c conn.c stream.c \
	replay.c market.c text.c fmt_common.c fmt_binance.c fmt_coinbase.c \
	fmt_kraken.c fmt_finnhub.c book.c)
EXCHANGE_HDRS := $(EXCHANGE_DIR)/exchange_sim.h
EXCHANGE_CC ?= $(CC)
EXCHANGE_CFLAGS ?= -O2 -g -std=gnu11 -Wall -Wextra -Werror
EXCHANGE_LIBS := -lwebsockets -lcjson -lz -lm

.PHONY: exchange exchange-selftest exchange-clean

exchange: $(EXCHANGE_BIN)

$(EXCHANGE_BIN): $(EXCHANGE_SRCS) $(EXCHANGE_HDRS) $(EXCHANGE_DIR)/exchange.mk
	$(EXCHANGE_CC) $(EXCHANGE_CFLAGS) -o $@ $(EXCHANGE_SRCS) $(EXCHANGE_LIBS)

exchange-selftest: $(EXCHANGE_BIN)
	bash $(EXCHANGE_DIR)/selftest.sh

exchange-clean:
	rm -f $(EXCHANGE_BIN)

# "make clean" of the including Makefile removes the binary too.
EXTRA_CLEAN += $(EXCHANGE_BIN)
