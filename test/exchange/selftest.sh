#!/usr/bin/env bash
# selftest.sh - self-test of the local test exchange (exchange_sim).
#
# Builds exchange_sim, then for each case starts it on a free port (--port 0
# with --port-file) in replay or simulate mode, drains it with drain.py after
# sending the exchange's subscribe message, and checks the result with
# selftest_check.py:
#   - replay of the real captures under ../shared/data/websocket/: the frames
#     received equal the capture's (matching) lines, byte for byte, in order,
#     plus the expected number of acks/greetings;
#   - --drop-every 1000 --overlap 10 with a reconnecting client;
#   - --tls with a throw-away CA (make-cert.sh);
#   - --simulate for every exchange (format, ids, side convention, count);
#   - --rate pacing, and a clean stop with the stats file on SIGTERM.
# Prints "N passed, N failed"; exits 1 if anything failed.  Every process it
# starts is stopped by its pid.
#
# Environment: SHARED_DIR (default <repo>/../shared), PYTHON (a python3 with
# the websockets module; default /usr/bin/python3), EXCHANGE_SIM (a binary to
# test instead of building test/exchange/exchange_sim, e.g. a sanitizer build).
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${SHARED_DIR:-$root/../shared}
ws="$shared/data/websocket"
py=${PYTHON:-/usr/bin/python3}
sim=${EXCHANGE_SIM:-$here/exchange_sim}
tmp=$(mktemp -d)
pids=()
passed=0
failed=0

# Stop every simulator still running (by pid) and remove the scratch dir.
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# Record a verdict: ok NAME / not ok NAME: reason.
verdict() {
	local name=$1 rc=$2 why=${3:-}
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok - $name"
	else
		failed=$((failed + 1))
		echo "not ok - $name${why:+: $why}"
	fi
}

# start_sim NAME ARGS...: run exchange_sim in the background; sets sim_pid,
# port.  Fails if it is not ready within 10 s.
start_sim() {
	local name=$1 i
	shift
	rm -f "$tmp/$name".{port,ready,stats}
	"$sim" --port 0 --port-file "$tmp/$name.port" --ready-file "$tmp/$name.ready" \
		--stats-file "$tmp/$name.stats" "$@" 2>"$tmp/$name.log" &
	sim_pid=$!
	pids+=("$sim_pid")
	for i in $(seq 100); do
		[ -s "$tmp/$name.ready" ] && break
		kill -0 "$sim_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$tmp/$name.ready" ]; then
		port=
		return 1
	fi
	port=$(cat "$tmp/$name.port")
}

# stop_sim [TERM]: wait up to 10 s for the simulator to exit by itself
# (end of data), or send SIGTERM at once with TERM; sets sim_status.
stop_sim() {
	local i
	if [ "${1:-}" = TERM ]; then
		kill -TERM "$sim_pid" 2>/dev/null
	else
		for i in $(seq 100); do
			kill -0 "$sim_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -TERM "$sim_pid" 2>/dev/null
	fi
	wait "$sim_pid" 2>/dev/null
	sim_status=$?
}

# drain NAME URL ARGS...: drain.py with its JSON summary in $tmp/NAME.drain.
drain() {
	local name=$1 url=$2
	shift 2
	"$py" "$here/drain.py" "$url" --dump "$tmp/$name.dump" "$@" >"$tmp/$name.drain" 2>>"$tmp/$name.log"
}

# check ARGS...: selftest_check.py; prints its reason on failure.
check() {
	"$py" "$here/selftest_check.py" "$@"
}

# replay_case NAME EXCHANGE CAPTURE PATH SYNTHETIC [--match S] [--strict]
#             -- DRAIN-ARGS...   (--strict: exchange_sim --require-subscribe)
replay_case() {
	local name=$1 exchange=$2 capture=$3 path=$4 synthetic=$5 why rc=0
	shift 5
	local match=() extra=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		case $1 in
			--match) match=(--match "$2"); shift 2 ;;
			--strict) extra=(--require-subscribe); shift ;;
			*) echo "replay_case: bad argument $1" >&2; return 1 ;;
		esac
	done
	[ "${1:-}" = -- ] && shift
	if ! start_sim "$name" --exchange "$exchange" --replay "$capture" "${extra[@]}"; then
		verdict "$name" 1 "did not start: $(tail -1 "$tmp/$name.log")"
		return
	fi
	drain "$name" "ws://127.0.0.1:$port$path" "$@" || rc=1
	stop_sim
	if [ $rc -ne 0 ]; then
		why="drain failed: $(tail -1 "$tmp/$name.log")"
	elif ! why=$(check replay "$capture" "$tmp/$name.dump" "$synthetic" "${match[@]}"); then
		rc=1
	elif [ "$sim_status" -ne 0 ]; then
		rc=1 why="exit status $sim_status"
	fi
	verdict "$name ($(basename "$capture"))" $rc "$why"
}

if [ ! -d "$ws" ]; then
	echo "selftest.sh: captures not found under $ws (set SHARED_DIR)" >&2
	exit 2
fi
if ! "$py" -c 'import websockets' 2>/dev/null; then
	echo "selftest.sh: $py lacks the websockets module (apt-get install python3-websockets; or set PYTHON)" >&2
	exit 2
fi
if [ -z "${EXCHANGE_SIM:-}" ] && ! make -s -C "$root" -f test/exchange/exchange.mk exchange; then
	echo "selftest.sh: build failed" >&2
	exit 1
fi

bn_trade="$ws/binance/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl"
bn_combined="$ws/binance/cryptofeed_spot_combined_2021-10-12.jsonl"
cb_matches="$ws/coinbase/exchange_wsfeed_matches_only_2021-04-17.jsonl"
cba_trades="$ws/coinbase/advanced_trade_market_trades_2026-08-09.jsonl"
cba_all="$ws/coinbase/advanced_trade_all_channels_2026-08-09.jsonl.gz"
kr_trade="$ws/kraken/spot_v1_trade_2021-04-17.jsonl"
fh_trade="$ws/finnhub/trade_frame_sample_2022-12-29.jsonl"
cb_products='["BAND-BTC","BAND-GBP","CRV-EUR","DASH-BTC","NMR-EUR","NU-GBP","SKL-BTC","SKL-GBP","SKL-USD","YFI-BTC"]'
kr_pairs='["ADA/XBT","ETH/CHF","GRT/ETH","KSM/XBT","OCEAN/XBT","OMG/USD","SC/EUR","WAVES/EUR","XBT/CHF","XMR/USD"]'

# ---- replay of the real captures -------------------------------------------

replay_case binance-url binance "$bn_trade" "/stream?streams=btcusdt@trade" 0
replay_case binance-subscribe binance "$bn_trade" "/stream" 1 --strict -- \
	--subscribe '{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}'
replay_case binance-bare binance "$bn_trade" "/" 0
replay_case binance-filter binance "$bn_combined" \
	"/stream?streams=nknusdt@depth@100ms" 0 --match '"stream":"nknusdt@depth@100ms"'
replay_case coinbase coinbase "$cb_matches" "/" 1 -- \
	--subscribe "{\"type\":\"subscribe\",\"product_ids\":$cb_products,\"channels\":[\"matches\"]}"
replay_case coinbase-advanced coinbase-advanced "$cba_trades" "/" 2 -- \
	--subscribe '{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"market_trades"}' \
	--subscribe '{"type":"subscribe","channel":"heartbeats"}'
replay_case coinbase-advanced-gz coinbase-advanced "$cba_all" "/" 1 -- \
	--subscribe '{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"market_trades"}'
replay_case kraken kraken "$kr_trade" "/" 11 -- \
	--subscribe "{\"event\":\"subscribe\",\"reqid\":42,\"pair\":$kr_pairs,\"subscription\":{\"name\":\"trade\"}}"
replay_case finnhub finnhub "$fh_trade" "/?token=test" 0 -- \
	--subscribe '{"type":"subscribe","symbol":"TSLA"}' --subscribe '{"type":"subscribe","symbol":"AAPL"}'

# stats of a replay: every frame and trade of the capture, one connection
name=binance-stats rc=0 why=
if start_sim "$name" --exchange binance --replay "$bn_trade"; then
	drain "$name" "ws://127.0.0.1:$port/stream?streams=btcusdt@trade" || rc=1
	stop_sim
	why=$(check stats "$tmp/$name.stats" frames_sent=15923 trades_sent=15923 \
		connections=1 drops=0 end_of_data=true) || rc=1
else
	rc=1 why="did not start"
fi
verdict "$name" $rc "$why"

# ---- drop and resume ---------------------------------------------------------

name=drop-resume rc=0 why=
if start_sim "$name" --exchange binance --replay "$bn_trade" --drop-every 1000 --overlap 10; then
	drain "$name" "ws://127.0.0.1:$port/stream?streams=btcusdt@trade" --reconnect || rc=1
	stop_sim
	drops=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["drops"])' "$tmp/$name.stats" 2>/dev/null || echo 0)
	conns=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["connections"])' "$tmp/$name.drain" 2>/dev/null || echo 0)
	if [ "$rc" -ne 0 ]; then
		why="drain failed"
	elif [ "$drops" -lt 15 ] || [ "$conns" -ne $((drops + 1)) ]; then
		rc=1 why="$drops drops, $conns connections"
	else
		why=$(check resume "$bn_trade" "$tmp/$name.dump" 10 "$drops") || rc=1
	fi
else
	rc=1 why="did not start"
fi
verdict "$name ($drops drops)" $rc "$why"

# ---- TLS -----------------------------------------------------------------------

name=tls rc=0 why=
if ! "$here/make-cert.sh" "$tmp/certs" >/dev/null; then
	rc=1 why="make-cert.sh failed"
elif start_sim "$name" --exchange binance --replay "$bn_trade" \
	--tls "$tmp/certs/server.pem" "$tmp/certs/server.key"; then
	drain "$name" "wss://localhost:$port/stream?streams=btcusdt@trade" --cafile "$tmp/certs/ca.pem" || rc=1
	stop_sim
	if [ "$rc" -ne 0 ]; then
		why="drain failed: $(tail -1 "$tmp/$name.log")"
	else
		why=$(check replay "$bn_trade" "$tmp/$name.dump" 0) || rc=1
	fi
else
	rc=1 why="did not start: $(tail -1 "$tmp/$name.log")"
fi
verdict "$name (wss:// with a throw-away CA)" $rc "$why"

# ---- simulated markets -----------------------------------------------------------

# sim_case EXCHANGE PATH SUBSCRIBE...: 3000 trades, format and conventions.
sim_case() {
	local exchange=$1 path=$2 name="simulate-$1" rc=0 why=
	shift 2
	local subs=()
	for s in "$@"; do
		subs+=(--subscribe "$s")
	done
	if start_sim "$name" --exchange "$exchange" --simulate --count 3000 --batch 4; then
		drain "$name" "ws://127.0.0.1:$port$path" --exchange "$exchange" "${subs[@]}" || rc=1
		stop_sim
		if [ "$rc" -ne 0 ]; then
			why="drain failed"
		elif ! why=$(check simulate "$exchange" "$tmp/$name.dump" 3000); then
			rc=1
		else
			why=$(check stats "$tmp/$name.stats" trades_sent=3000 end_of_data=true) || rc=1
		fi
	else
		rc=1 why="did not start: $(tail -1 "$tmp/$name.log")"
	fi
	verdict "$name" $rc "$why"
}

sim_case binance "/stream?streams=btcusdt@trade/ethusdt@trade"
sim_case coinbase "/" '{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channels":["matches"]}'
sim_case coinbase-advanced "/" \
	'{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"market_trades"}'
sim_case kraken "/" '{"event":"subscribe","pair":["XBT/USD","ETH/USD"],"subscription":{"name":"trade"}}'
sim_case kraken-v2 "/v2" \
	'{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","ETH/USD"]}}'
sim_case finnhub "/" '{"type":"subscribe","symbol":"AAPL"}' '{"type":"subscribe","symbol":"TSLA"}'

# --rate: Poisson arrivals at 500 frames/s for 2 s
name=rate rc=0 why=
if start_sim "$name" --exchange binance --simulate --rate 500; then
	drain "$name" "ws://127.0.0.1:$port/stream?streams=btcusdt@trade/ethusdt@trade" --seconds 2 || rc=1
	stop_sim TERM
	frames=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["frames"])' "$tmp/$name.drain" 2>/dev/null || echo 0)
	if [ "$frames" -lt 800 ] || [ "$frames" -gt 1200 ]; then
		rc=1 why="$frames frames in 2 s at 500/s"
	fi
else
	rc=1 why="did not start"
fi
verdict "$name (${frames:-0} frames in 2 s at --rate 500)" $rc "$why"

# SIGTERM: clean exit, stats written
name=sigterm rc=0 why=
if start_sim "$name" --exchange kraken --simulate; then
	drain "$name" "ws://127.0.0.1:$port/" --seconds 1 \
		--subscribe '{"event":"subscribe","pair":["XBT/USD"],"subscription":{"name":"trade"}}' || rc=1
	stop_sim TERM
	if [ "$sim_status" -ne 0 ]; then
		rc=1 why="exit status $sim_status"
	elif ! why=$(check stats "$tmp/$name.stats" connections=1 end_of_data=false); then
		rc=1
	fi
else
	rc=1 why="did not start"
fi
verdict "$name" $rc "$why"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
