/*
 * main.c
 *	  exchange_sim: command line, signals, the lws context, and the ready /
 *	  port / stats files.
 *
 * The command line is a fixed contract (the ingest tests and benchmarks
 * code against it): see sim_usage().  The server listens on an IPv4
 * loopback address only; it exits on SIGTERM/SIGINT, or at the end of
 * data once the last client is gone, and then writes the stats file.
 *
 * Invariants: files written for other processes (ready, port, stats)
 * appear atomically (written to F.tmp, then renamed); every failure to
 * start is a message on stderr and exit status 2; a run that fails later
 * exits 1; a clean stop exits 0.
 */
#include "exchange_sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

sim_config	sim_cfg = {
	.host = "127.0.0.1",
	.port = -1,
	.require_subscribe = -1,
	.seed = 42,
	.batch = 1,
	.heartbeat_ms = -1,
	.settle_ms = 50,
	.rest_ahead = 3,
};
sim_stats	sim_st;

static volatile sig_atomic_t sim_stop;
static lws_sorted_usec_list_t sim_tick_sul;
static struct lws_context *sim_ctx;

/*
 * sim_usage
 *	  --help text; the first block is the contract, the rest are extras.
 */
static void
sim_usage(FILE *out)
{
	fputs(
		  "usage: exchange_sim --port P [--host 127.0.0.1]\n"
		  "         --exchange binance|coinbase|coinbase-advanced|kraken|kraken-v2|finnhub\n"
		  "         (--replay FILE[.gz] | --simulate) [options]\n"
		  "\n"
		  "A local exchange for tests, benchmarks and the demo: a WebSocket server on\n"
		  "127.0.0.1 that replays a capture (one frame per line) or simulates a market\n"
		  "in the exchange's own wire format, and answers subscribe messages as the\n"
		  "exchange does.\n"
		  "\n"
		  "  --port P               TCP port (0: any free port, see --port-file)\n"
		  "  --host H               IPv4 loopback address to listen on (default 127.0.0.1)\n"
		  "  --exchange E           wire format and subscribe protocol\n"
		  "  --replay FILE[.gz]     serve the capture's frames in file order, once\n"
		  "  --simulate             random-walk prices, Poisson arrivals, wall-clock times\n"
		  "  --rate N               frames per second per connection (default: as fast\n"
		  "                         as possible); Poisson arrivals with --simulate\n"
		  "  --symbols A,B          simulate: instruments in the exchange's naming\n"
		  "                         (default BTCUSDT,ETHUSDT; BTC-USD,ETH-USD; XBT/USD,ETH/USD;\n"
		  "                         BTC/USD,ETH/USD; AAPL,TSLA); subscribing adds more;\n"
		  "                         NAME=PRICE[:NEXT_ID] starts NAME at PRICE with the\n"
		  "                         given next trade id (continue an earlier run)\n"
		  "  --count N              simulate: stop after N trades (default unlimited)\n"
		  "  --drop-every N         close each connection after N stream frames sent\n"
		  "  --overlap K            a reconnecting client resumes K stream frames before\n"
		  "                         the cut (default 0); the position is per server run\n"
		  "  --gap K                a reconnecting client resumes K stream frames after\n"
		  "                         the cut: those frames are never sent (no overlap)\n"
		  "  --require-subscribe    stream only after a valid subscribe message (default:\n"
		  "                         on for all but binance, whose URL may name streams;\n"
		  "                         binance without streams in the URL gets everything)\n"
		  "  --tls CERT KEY         serve wss:// with these PEM files (see make-cert.sh)\n"
		  "  --ready-file F         write \"ready\\n\" to F once listening\n"
		  "  --stats-file F         on exit write {\"frames_sent\",\"trades_sent\",\n"
		  "                         \"connections\",\"drops\",...} as JSON to F\n"
		  "\n"
		  "Extras:\n"
		  "  --no-require-subscribe stream to every connection from the start (unfiltered\n"
		  "                         until it subscribes)\n"
		  "  --port-file F          write the listening port to F (useful with --port 0)\n"
		  "  --seed N               simulate: random seed (default 42)\n"
		  "  --batch N              simulate: up to N trades per frame for formats that\n"
		  "                         batch (coinbase-advanced, kraken, kraken-v2, finnhub;\n"
		  "                         default 1, max 16)\n"
		  "  --heartbeat MS         period of heartbeats/pings (default: the exchange's\n"
		  "                         when simulating, none when replaying; 0 = none)\n"
		  "  --settle MS            after a subscribe, wait this long for more subscribe\n"
		  "                         messages before the first frame (default 50)\n"
		  "  --hold                 at the end of data keep connections open (heartbeats\n"
		  "                         continue) until SIGTERM instead of closing and exiting\n"
		  "  --rest-ahead K         binance replay: GET /api/v3/depth (/fapi/v1, /dapi/v1)\n"
		  "                         serves the capture's book K frames beyond the most\n"
		  "                         advanced connection (default 3; see book.c)\n"
		  "  --drop-frame N         never send stream position N (once per run)\n"
		  "  --corrupt-checksum N   alter the Kraken book checksum of stream position N\n"
		  "                         (once per run); kraken replay answers a book\n"
		  "                         resubscription with a snapshot of the replayed book\n"
		  "  --verbose              log connections and client messages to stderr\n"
		  "  --help                 this text\n"
		  "\n"
		  "Binance clients connect to /stream?streams=btcusdt@trade/... or send SUBSCRIBE;\n"
		  "other exchanges accept any path.  Replay filters frames by the subscribed\n"
		  "instruments where a frame names one; control frames pass as they are.\n",
		  out);
}

/*
 * sim_parse_u64
 *	  Parse an unsigned integer option value; false if malformed.
 */
static bool
sim_parse_u64(const char *s, uint64_t *out)
{
	char	   *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

/*
 * sim_bad_usage
 *	  Complain about a command line and exit with status 2.
 */
static void
sim_bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "exchange_sim: ");
	fprintf(stderr, fmt, arg ? arg : "");
	fprintf(stderr, "\n(see exchange_sim --help)\n");
	exit(2);
}

/*
 * sim_value
 *	  The value of option argv[*i] (--opt v or --opt=v), advancing *i.
 */
static const char *
sim_value(int argc, char **argv, int *i, const char *eq)
{
	if (eq != NULL)
		return eq + 1;
	if (*i + 1 >= argc)
		sim_bad_usage("%s needs a value", argv[*i]);
	return argv[++*i];
}

/*
 * sim_value_u64
 *	  Numeric option value, or exit.
 */
static uint64_t
sim_value_u64(int argc, char **argv, int *i, const char *eq)
{
	const char *opt = argv[*i];
	const char *v = sim_value(argc, argv, i, eq);
	uint64_t	n;

	if (!sim_parse_u64(v, &n))
		sim_bad_usage("%s needs a non-negative integer", opt);
	return n;
}

/*
 * sim_parse_args
 *	  Fill sim_cfg from the command line, or exit with a message.
 */
static void
sim_parse_args(int argc, char **argv)
{
	const char *exchange = NULL;

	for (int i = 1; i < argc; i++)
	{
		char		name[32];
		const char *arg = argv[i];
		const char *eq = strchr(arg, '=');
		size_t		n = eq ? (size_t) (eq - arg) : strlen(arg);

		if (n >= sizeof(name) || strncmp(arg, "--", 2) != 0)
			sim_bad_usage("unexpected argument \"%s\"", arg);
		memcpy(name, arg, n);
		name[n] = '\0';
		if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		{
			sim_usage(stdout);
			exit(0);
		}
		else if (strcmp(name, "--port") == 0)
		{
			uint64_t	p = sim_value_u64(argc, argv, &i, eq);

			if (p > 65535)
				sim_bad_usage("--port must be 0..65535", NULL);
			sim_cfg.port = (int) p;
		}
		else if (strcmp(name, "--host") == 0)
			sim_cfg.host = sim_value(argc, argv, &i, eq);
		else if (strcmp(name, "--exchange") == 0)
			exchange = sim_value(argc, argv, &i, eq);
		else if (strcmp(name, "--replay") == 0)
			sim_cfg.replay = sim_value(argc, argv, &i, eq);
		else if (strcmp(name, "--simulate") == 0)
			sim_cfg.simulate = true;
		else if (strcmp(name, "--rate") == 0)
		{
			const char *v = sim_value(argc, argv, &i, eq);
			char	   *end;

			sim_cfg.rate = strtod(v, &end);
			if (*v == '\0' || *end != '\0' || !isfinite(sim_cfg.rate) || sim_cfg.rate <= 0)
				sim_bad_usage("--rate needs a positive number", NULL);
		}
		else if (strcmp(name, "--symbols") == 0)
			sim_cfg.symbols = sim_value(argc, argv, &i, eq);
		else if (strcmp(name, "--count") == 0)
			sim_cfg.count = (int64_t) sim_value_u64(argc, argv, &i, eq);
		else if (strcmp(name, "--drop-every") == 0)
			sim_cfg.drop_every = sim_value_u64(argc, argv, &i, eq);
		else if (strcmp(name, "--overlap") == 0)
			sim_cfg.overlap = sim_value_u64(argc, argv, &i, eq);
		else if (strcmp(name, "--gap") == 0)
			sim_cfg.gap = sim_value_u64(argc, argv, &i, eq);
		else if (strcmp(name, "--require-subscribe") == 0)
			sim_cfg.require_subscribe = 1;
		else if (strcmp(name, "--no-require-subscribe") == 0)
			sim_cfg.require_subscribe = 0;
		else if (strcmp(name, "--tls") == 0)
		{
			if (eq != NULL || i + 2 >= argc)
				sim_bad_usage("--tls needs two values: CERT KEY", NULL);
			sim_cfg.tls_cert = argv[++i];
			sim_cfg.tls_key = argv[++i];
		}
		else if (strcmp(name, "--ready-file") == 0)
			sim_cfg.ready_file = sim_value(argc, argv, &i, eq);
		else if (strcmp(name, "--stats-file") == 0)
			sim_cfg.stats_file = sim_value(argc, argv, &i, eq);
		else if (strcmp(name, "--port-file") == 0)
			sim_cfg.port_file = sim_value(argc, argv, &i, eq);
		else if (strcmp(name, "--seed") == 0)
			sim_cfg.seed = sim_value_u64(argc, argv, &i, eq);
		else if (strcmp(name, "--batch") == 0)
		{
			uint64_t	b = sim_value_u64(argc, argv, &i, eq);

			if (b < 1 || b > SIM_MAX_BATCH)
				sim_bad_usage("--batch must be 1..16", NULL);
			sim_cfg.batch = (int) b;
		}
		else if (strcmp(name, "--heartbeat") == 0)
		{
			uint64_t	ms = sim_value_u64(argc, argv, &i, eq);

			if (ms > 3600000)
				sim_bad_usage("--heartbeat must be at most 3600000 ms", NULL);
			sim_cfg.heartbeat_ms = (int) ms;
		}
		else if (strcmp(name, "--settle") == 0)
		{
			uint64_t	ms = sim_value_u64(argc, argv, &i, eq);

			if (ms > 60000)
				sim_bad_usage("--settle must be at most 60000 ms", NULL);
			sim_cfg.settle_ms = (int) ms;
		}
		else if (strcmp(name, "--hold") == 0)
			sim_cfg.hold = true;
		else if (strcmp(name, "--rest-ahead") == 0)
			sim_cfg.rest_ahead = sim_value_u64(argc, argv, &i, eq);
		else if (strcmp(name, "--drop-frame") == 0)
			sim_cfg.drop_frame = sim_value_u64(argc, argv, &i, eq);
		else if (strcmp(name, "--corrupt-checksum") == 0)
			sim_cfg.corrupt_checksum = sim_value_u64(argc, argv, &i, eq);
		else if (strcmp(name, "--verbose") == 0)
			sim_cfg.verbose++;
		else
			sim_bad_usage("unknown option \"%s\"", name);
	}
	if (sim_cfg.port < 0)
		sim_bad_usage("--port is required", NULL);
	if (exchange == NULL)
		sim_bad_usage("--exchange is required", NULL);
	if ((sim_cfg.fmt = sim_format_by_name(exchange)) == NULL)
		sim_bad_usage("unknown exchange \"%s\"", exchange);
	if ((sim_cfg.replay != NULL) == sim_cfg.simulate)
		sim_bad_usage("give exactly one of --replay FILE and --simulate", NULL);
	if (!sim_cfg.simulate && (sim_cfg.count > 0 || sim_cfg.symbols != NULL))
		sim_bad_usage("--count and --symbols apply to --simulate only", NULL);
	if (sim_cfg.drop_every > 0 && sim_cfg.overlap >= sim_cfg.drop_every)
		sim_bad_usage("--overlap must be smaller than --drop-every", NULL);
	if (sim_cfg.overlap > 10000000)
		sim_bad_usage("--overlap must be at most 10000000", NULL);
	if (sim_cfg.gap > 0 && (sim_cfg.overlap > 0 || sim_cfg.simulate))
		sim_bad_usage("--gap goes with --replay and no --overlap", NULL);
	if (sim_cfg.gap > 10000000)
		sim_bad_usage("--gap must be at most 10000000", NULL);
}

/*
 * sim_check_host
 *	  Resolve --host to a dotted IPv4 loopback address, or exit.
 */
static void
sim_check_host(void)
{
	struct in_addr a;

	if (strcmp(sim_cfg.host, "localhost") == 0)
		sim_cfg.host = "127.0.0.1";
	if (inet_pton(AF_INET, sim_cfg.host, &a) != 1 ||
		(ntohl(a.s_addr) >> 24) != 127)
		sim_bad_usage("--host must be an IPv4 loopback address such as 127.0.0.1, "
					  "not \"%s\"", sim_cfg.host);
}

/*
 * sim_write_file
 *	  Write text to path atomically (path.tmp, then rename); 0 or -1.
 */
static int
sim_write_file(const char *path, const char *text)
{
	size_t		n = strlen(path) + 5;
	char	   *tmp = malloc(n);
	FILE	   *f;
	int			rc = -1;

	if (tmp == NULL)
		return -1;
	snprintf(tmp, n, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) != NULL)
	{
		bool		ok = fputs(text, f) >= 0;

		if (fclose(f) == 0 && ok && rename(tmp, path) == 0)
			rc = 0;
	}
	if (rc != 0)
	{
		fprintf(stderr, "exchange_sim: cannot write %s: %s\n", path, strerror(errno));
		(void) unlink(tmp);
	}
	free(tmp);
	return rc;
}

/*
 * sim_write_stats
 *	  The stats file: counters of the run as one JSON object.
 */
static int
sim_write_stats(double seconds, bool end_of_data)
{
	char		text[1024];

	snprintf(text, sizeof(text),
			 "{\"frames_sent\":%llu,\"trades_sent\":%llu,\"connections\":%llu,"
			 "\"drops\":%llu,\"skipped\":%llu,\"stream_frames\":%llu,\"control_frames\":%llu,"
			 "\"bytes_sent\":%llu,\"messages_in\":%llu,\"bad_messages\":%llu,"
			 "\"seconds\":%.3f,\"end_of_data\":%s}\n",
			 (unsigned long long) sim_st.frames_sent,
			 (unsigned long long) sim_st.trades_sent,
			 (unsigned long long) sim_st.connections,
			 (unsigned long long) sim_st.drops,
			 (unsigned long long) sim_st.skipped,
			 (unsigned long long) sim_st.stream_frames,
			 (unsigned long long) sim_st.control_frames,
			 (unsigned long long) sim_st.bytes_sent,
			 (unsigned long long) sim_st.messages_in,
			 (unsigned long long) sim_st.bad_messages,
			 seconds, end_of_data ? "true" : "false");
	return sim_write_file(sim_cfg.stats_file, text);
}

/*
 * sim_on_signal
 *	  SIGTERM/SIGINT: ask the service loop to stop.
 */
static void
sim_on_signal(int sig)
{
	(void) sig;
	sim_stop = 1;
}

/*
 * sim_signals
 *	  Install signal handlers (no SA_RESTART: poll() returns EINTR).
 */
static int
sim_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sim_on_signal;
	if (sigemptyset(&sa.sa_mask) != 0 ||
		sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

/*
 * sim_tick
 *	  A 100 ms tick so a signal that races the poll is still seen promptly.
 */
static void
sim_tick(lws_sorted_usec_list_t *sul)
{
	lws_sul_schedule(sim_ctx, 0, sul, sim_tick, 100 * LWS_US_PER_MS);
}

/*
 * sim_load_stream
 *	  Load the capture or set up the market; 0 or -1 (message printed).
 */
static int
sim_load_stream(void)
{
	const sim_format *fmt = sim_cfg.fmt;

	if (!sim_cfg.simulate)
		return sim_replay_load(sim_cfg.replay, fmt);
	return sim_market_init(fmt, sim_cfg.symbols ? sim_cfg.symbols : fmt->default_symbols,
						   sim_cfg.seed, sim_cfg.count, fmt->batches ? sim_cfg.batch : 1,
						   sim_cfg.overlap);
}

/*
 * sim_listen
 *	  Create the lws context listening on host:port; NULL on failure.
 */
static struct lws_context *
sim_listen(int *port)
{
	struct lws_context_creation_info info;
	struct lws_context *ctx;
	struct lws_vhost *vh;

	memset(&info, 0, sizeof(info));
	info.port = sim_cfg.port;
	info.iface = sim_cfg.host;
	info.protocols = sim_protocols;
	info.vhost_name = "default";
	info.gid = -1;
	info.uid = -1;
	info.timeout_secs = 10;
	info.max_http_header_data = 32768;	/* long Binance stream lists */
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	if (sim_cfg.tls_cert != NULL)
	{
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = sim_cfg.tls_cert;
		info.ssl_private_key_filepath = sim_cfg.tls_key;
	}
	if ((ctx = lws_create_context(&info)) == NULL)
	{
		fprintf(stderr, "exchange_sim: cannot listen on %s:%d%s\n", sim_cfg.host,
				sim_cfg.port, sim_cfg.tls_cert ? " with TLS" : "");
		return NULL;
	}
	vh = lws_get_vhost_by_name(ctx, "default");
	*port = vh ? lws_get_vhost_listen_port(vh) : sim_cfg.port;
	if (*port <= 0)
	{
		fprintf(stderr, "exchange_sim: no listening socket on %s:%d\n",
				sim_cfg.host, sim_cfg.port);
		lws_context_destroy(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * main
 *	  Entry point: parse, load, listen, serve, report.
 */
int
main(int argc, char **argv)
{
	int			port;
	int			status = 0;
	bool		finished;
	int64_t		t0;
	char		text[32];

	sim_parse_args(argc, argv);
	sim_check_host();
	if (sim_cfg.tls_cert != NULL &&
		(access(sim_cfg.tls_cert, R_OK) != 0 || access(sim_cfg.tls_key, R_OK) != 0))
	{
		fprintf(stderr, "exchange_sim: cannot read %s or %s: %s\n",
				sim_cfg.tls_cert, sim_cfg.tls_key, strerror(errno));
		return 2;
	}
	lws_set_log_level(LLL_ERR | LLL_WARN | LLL_USER | (sim_cfg.verbose > 1 ? LLL_NOTICE : 0), NULL);
	if (sim_signals() != 0 || sim_load_stream() != 0)
		return 2;
	if ((sim_ctx = sim_listen(&port)) == NULL)
		return 2;
	if (sim_cfg.simulate)
		fprintf(stderr, "exchange_sim: %s on %s://%s:%d, simulating\n", sim_cfg.fmt->name,
				sim_cfg.tls_cert ? "wss" : "ws", sim_cfg.host, port);
	else
		fprintf(stderr, "exchange_sim: %s on %s://%s:%d, replaying %s (%llu frames)\n",
				sim_cfg.fmt->name, sim_cfg.tls_cert ? "wss" : "ws", sim_cfg.host, port,
				sim_cfg.replay, (unsigned long long) sim_replay_frames());
	snprintf(text, sizeof(text), "%d\n", port);
	if ((sim_cfg.port_file != NULL && sim_write_file(sim_cfg.port_file, text) != 0) ||
		(sim_cfg.ready_file != NULL && sim_write_file(sim_cfg.ready_file, "ready\n") != 0))
		status = 2;
	t0 = sim_mono_us();
	sim_tick(&sim_tick_sul);
	while (status == 0 && !sim_stop && !sim_server_finished())
		if (lws_service(sim_ctx, 0) < 0)
		{
			fprintf(stderr, "exchange_sim: lws_service failed\n");
			status = 1;
		}
	finished = sim_server_finished();
	lws_sul_cancel(&sim_tick_sul);
	lws_context_destroy(sim_ctx);
	sim_server_shutdown();
	if (sim_cfg.stats_file != NULL &&
		sim_write_stats((double) (sim_mono_us() - t0) / 1e6, finished) != 0 &&
		status == 0)
		status = 1;
	sim_replay_free();
	sim_market_free();
	return status;
}
