/*
 * test_ws_url.c
 *	  Unit tests of src/ingest/ws_url.c without a server: the URL shapes of
 *	  each exchange (with and without port, path, query and token), the
 *	  request target and Host header the worker sends for them, rejected
 *	  URLs, and redaction of credentials.
 *
 * Usage: test_ws_url [shared-dir] (the argument is accepted and unused).
 * Last line: "N passed, N failed"; exit status 1 if anything failed.
 */
#include <stdio.h>
#include <string.h>

#include "ingest/ws_url.h"

static int	tu_passed;
static int	tu_failed;

/*
 * tu_str
 *	  Compare two strings; print both when they differ.
 */
static void
tu_str(const char *got, const char *want, const char *what)
{
	if (strcmp(got, want) == 0)
		tu_passed++;
	else
	{
		tu_failed++;
		printf("FAILED: %s: got \"%s\", want \"%s\"\n", what, got, want);
	}
}

/*
 * tu_ok
 *	  Record one boolean check.
 */
static void
tu_ok(int ok, const char *what)
{
	if (ok)
		tu_passed++;
	else
	{
		tu_failed++;
		printf("FAILED: %s\n", what);
	}
}

/* One URL shape: what the worker connects to and sends. */
typedef struct tu_case
{
	const char *url;
	const char *token;
	const char *address;		/* host to connect to */
	int			port;
	const char *target;			/* request target */
	const char *host_header;
} tu_case;

static const tu_case tu_cases[] = {
	/* the README's examples: no path, no port */
	{"wss://ws-feed.exchange.coinbase.com", NULL, "ws-feed.exchange.coinbase.com", 443, "/",
	"ws-feed.exchange.coinbase.com"},
	{"wss://ws.kraken.com", NULL, "ws.kraken.com", 443, "/", "ws.kraken.com"},
	{"wss://ws.kraken.com/v2", NULL, "ws.kraken.com", 443, "/v2", "ws.kraken.com"},
	{"wss://ws.finnhub.io", "abc123", "ws.finnhub.io", 443, "/?token=abc123", "ws.finnhub.io"},
	{"wss://ws.finnhub.io/", "a b&c=d/é", "ws.finnhub.io", 443, "/?token=a%20b%26c%3Dd%2F%C3%A9",
	"ws.finnhub.io"},
	{"wss://ws.finnhub.io?x=1", "t", "ws.finnhub.io", 443, "/?x=1&token=t", "ws.finnhub.io"},
	{"wss://futures.kraken.com/ws/v1", NULL, "futures.kraken.com", 443, "/ws/v1", "futures.kraken.com"},
	{"wss://advanced-trade-ws.coinbase.com", NULL, "advanced-trade-ws.coinbase.com", 443, "/",
	"advanced-trade-ws.coinbase.com"},
	/* ports, explicit default ports, ws:// */
	{"wss://stream.binance.com:9443", NULL, "stream.binance.com", 9443, "/", "stream.binance.com:9443"},
	{"wss://fstream.binance.com:443/ws", NULL, "fstream.binance.com", 443, "/ws", "fstream.binance.com"},
	{"ws://127.0.0.1:8765/a/b?c=d#frag", "tok", "127.0.0.1", 8765, "/a/b?c=d&token=tok", "127.0.0.1:8765"},
	{"ws://example.org", NULL, "example.org", 80, "/", "example.org"},
	{"WSS://Example.ORG:443", NULL, "Example.ORG", 443, "/", "Example.ORG"},
	{"ws://[::1]:9000/x", NULL, "::1", 9000, "/x", "[::1]:9000"},
	{"wss://[2001:db8::1]", NULL, "2001:db8::1", 443, "/", "[2001:db8::1]"},
	{"ws://h?", "t", "h", 80, "/?token=t", "h"},
};

/*
 * tu_shapes
 *	  The shapes above: parse, target, Host header.
 */
static void
tu_shapes(void)
{
	for (size_t i = 0; i < sizeof(tu_cases) / sizeof(tu_cases[0]); i++)
	{
		const tu_case *c = &tu_cases[i];
		ws_url		u;
		char		err[256];
		char		target[4096];
		char		host[512];
		char		what[512];

		snprintf(what, sizeof(what), "parse %s", c->url);
		if (!tsk_ws_url_parse(c->url, &u, err, sizeof(err)))
		{
			tu_ok(0, what);
			printf("  reason: %s\n", err);
			continue;
		}
		tu_str(u.host, c->address, what);
		snprintf(what, sizeof(what), "port of %s", c->url);
		tu_ok(u.port == c->port, what);
		snprintf(what, sizeof(what), "target of %s", c->url);
		tu_ok(tsk_ws_url_target(&u, NULL, NULL, c->token, target, sizeof(target)) >= 0, what);
		tu_str(target, c->target, what);
		snprintf(what, sizeof(what), "Host of %s", c->url);
		tu_ok(tsk_ws_url_host_header(&u, host, sizeof(host)) >= 0, what);
		tu_str(host, c->host_header, what);
	}
}

/*
 * tu_binance_override
 *	  Binance: the stream list as the path, the URL's query and token after it.
 */
static void
tu_binance_override(void)
{
	ws_url		u;
	char		err[256];
	char		target[512];

	tu_ok(tsk_ws_url_parse("wss://stream.binance.com:9443?timeUnit=MICROSECOND", &u, err, sizeof(err)), "parse binance");
	tsk_ws_url_target(&u, "/stream", "streams=btcusdt@trade/ethusdt@trade", "k", target, sizeof(target));
	tu_str(target, "/stream?streams=btcusdt@trade/ethusdt@trade&timeUnit=MICROSECOND&token=k", "binance target");
	tu_ok(tsk_ws_url_target(&u, "/stream", "streams=x", "k", target, 20) == -1, "a target that does not fit is -1");
}

/*
 * tu_rejects
 *	  URLs that must be refused, and their reasons never repeat the URL.
 */
static void
tu_rejects(void)
{
	static const char *bad[] = {
		"http://example.org", "ws://", "ws://:80", "ws://h:0", "ws://h:65536", "ws://h:80x",
		"ws://user:secretpw@h/", "ws://h/a b", "ws://h/\r\nX-Injected: 1", "wss://[::1",
		"ws://h\x7f", "ws://h/\xc3\xa9", "ws://ho st", "ws://[::1]x",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		ws_url		u;
		char		err[256] = "";
		char		what[256];

		snprintf(what, sizeof(what), "rejects %zu", i);
		tu_ok(!tsk_ws_url_parse(bad[i], &u, err, sizeof(err)), what);
		snprintf(what, sizeof(what), "reason of %zu names no secret", i);
		tu_ok(strstr(err, "secretpw") == NULL && err[0] != '\0', what);
	}
}

/*
 * tu_redact
 *	  Redaction of userinfo, credential parameters and a known secret.
 */
static void
tu_redact(void)
{
	char		out[512];

	tsk_ws_url_redact("wss://ws.finnhub.io/?token=abc123", NULL, out, sizeof(out));
	tu_str(out, "wss://ws.finnhub.io/?token=***", "token parameter");
	tsk_ws_url_redact("wss://h/p?a=1&API_KEY=zz&b=2&secret=s#f", NULL, out, sizeof(out));
	tu_str(out, "wss://h/p?a=1&API_KEY=***&b=2&secret=***#f", "several parameters");
	tsk_ws_url_redact("ws://bob:hunter2@h:80/x", NULL, out, sizeof(out));
	tu_str(out, "ws://***@h:80/x", "userinfo");
	tsk_ws_url_redact("connection error: GET /?q=a%2Fb&t=a/b HTTP/1.1", "a/b", out, sizeof(out));
	tu_str(out, "connection error: GET /?q=***&t=*** HTTP/1.1", "secret raw and percent-encoded");
	tsk_ws_url_redact("not a url token=x?token=y", NULL, out, sizeof(out));
	tu_str(out, "not a url token=x?token=***", "any string");
	tsk_ws_url_redact("wss://h/?token=abcdefgh", NULL, out, 12);
	tu_ok(strlen(out) == 11, "redaction truncates to the buffer");
}

/*
 * main
 *	  Runs every test; exit status 1 on any failure.
 */
int
main(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	tu_shapes();
	tu_binance_override();
	tu_rejects();
	tu_redact();
	printf("%d passed, %d failed\n", tu_passed, tu_failed);
	return tu_failed > 0;
}
