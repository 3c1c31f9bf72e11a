/*
 * test_decode_frames.c
 *	  Decoder unit tests, known frames: one hand-written frame per case of
 *	  each exchange family (sides, exact timestamps, ids, derived ids,
 *	  snapshot flags, control and error frames) and the canonical-symbol
 *	  rule; the helpers J, D and expect_* that test_decode_input.c shares.
 *	  Called from test_decode.c's main.
 */
#include "test_decode.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- known frames ------------------------------------------------------ */

/*
 * J
 *	  Frame text with ' turned into " (keeps the literals below readable).
 */
const char *
J(const char *s)
{
	static char ring[8][4096];
	static int	next;
	char	   *b = ring[next++ % 8];

	snprintf(b, sizeof ring[0], "%s", s);
	for (char *p = b; *p; p++)
		if (*p == '\'')
			*p = '"';
	return b;
}

/*
 * D
 *	  Decode a single-quoted frame literal.
 */
td_kind
D(td_exchange ex, const char *frame, td_trade *out, int cap, td_result *r)
{
	const char *f = J(frame);

	return tsk_td_decode(ex, NULL, f, strlen(f), out, cap, r);
}

/*
 * expect_control
 *	  Decode and expect one TD_CONTROL frame.
 */
void
expect_control(td_exchange ex, const char *frame)
{
	td_trade	t[4];
	td_result	r;
	td_kind		k = D(ex, frame, t, 4, &r);

	CHECK(k == TD_CONTROL, "%s: expected control, got %s (%s): %s", tsk_td_exchange_name(ex),
		  tsk_td_kind_name(k), r.error, J(frame));
}

/*
 * expect_error
 *	  Decode and expect TD_ERROR whose message contains `needle`.
 */
void
expect_error(td_exchange ex, const char *frame, const char *needle)
{
	td_trade	t[4];
	td_result	r;
	td_kind		k = D(ex, frame, t, 4, &r);

	CHECK(k == TD_ERROR && strstr(r.error, needle) != NULL,
		  "%s: expected error containing '%s', got %s '%s': %.200s", tsk_td_exchange_name(ex),
		  needle, tsk_td_kind_name(k), r.error, J(frame));
}

/*
 * expect_trade
 *	  Expect one trade with the given fields.
 */
void
expect_trade(const char *what, const td_trade *t, const char *sym, int64_t id, int derived,
			 int64_t ts, double price, double qty, char side)
{
	CHECK(strcmp(t->instrument, sym) == 0, "%s: instrument '%s'", what, t->instrument);
	CHECK(id < 0 || t->trade_id == id, "%s: id %lld", what, (long long) t->trade_id);
	CHECK(t->id_derived == derived, "%s: id_derived %d", what, t->id_derived);
	CHECK(t->ts_us == ts, "%s: ts %lld != %lld", what, (long long) t->ts_us, (long long) ts);
	CHECK(t->price == price && t->qty == qty, "%s: price %.10g qty %.10g", what, t->price, t->qty);
	CHECK(t->side == side, "%s: side '%c' expected '%c'", what, t->side ? t->side : '0',
		  side ? side : '0');
}

/*
 * test_binance
 *	  Binance: trade/aggTrade, spot/futures, side from m, controls, errors.
 */
void
test_binance(void)
{
	td_trade	t[4];
	td_result	r;

	CHECK(D(TD_BINANCE, "{'stream':'btcusdt@trade','data':{'e':'trade','E':1723161255343,'s':'BTCUSDT',"
			"'t':3735683259,'p':'61837.63000000','q':'0.02000000','T':1723161255342,'m':true,'M':false}}",
			t, 4, &r) == TD_TRADES && r.ntrades == 1, "binance spot trade: %s", r.error);
	expect_trade("binance spot", &t[0], "BTCUSDT", 3735683259, 0, 1723161255342000, 61837.63, 0.02, 's');
	CHECK(D(TD_BINANCE, "{'stream':'btcusdt@trade','data':{'e':'trade','E':1723161256322,'T':1723161256322,"
			"'s':'BTCUSDT','t':5266583935,'p':'61800.30','q':'0.006','X':'MARKET','m':false}}",
			t, 4, &r) == TD_TRADES, "binance usdm trade: %s", r.error);
	expect_trade("binance usdm", &t[0], "BTCUSDT", 5266583935, 0, 1723161256322000, 61800.30, 0.006, 'b');
	CHECK(D(TD_BINANCE, "{'stream':'bchusd_perp@aggTrade','data':{'e':'aggTrade','E':1626916404006,"
			"'a':11285749,'s':'BCHUSD_PERP','p':'427.91','q':'3','f':16034449,'l':16034449,"
			"'T':1626916403852,'m':true}}", t, 4, &r) == TD_TRADES, "binance aggTrade: %s", r.error);
	expect_trade("binance coinm aggTrade", &t[0], "BCHUSD_PERP", 11285749, 0, 1626916403852000, 427.91, 3, 's');
	CHECK(D(TD_BINANCE, "{'e':'trade','E':1,'s':'FOOBARBAZ','t':7,'p':'1.5','q':'2','T':1000,'m':false}",
			t, 4, &r) == TD_TRADES, "binance raw stream / unknown instrument: %s", r.error);
	expect_trade("binance raw", &t[0], "FOOBARBAZ", 7, 0, 1000000, 1.5, 2, 'b');

	expect_control(TD_BINANCE, "{'stream':'btcusdt@depth@100ms','data':{'e':'depthUpdate','E':1,'s':'BTCUSDT','U':1,'u':2,'b':[],'a':[]}}");
	expect_control(TD_BINANCE, "{'stream':'sushiusdt@bookTicker','data':{'u':1,'s':'SUSHIUSDT','b':'1','B':'2','a':'3','A':'4'}}");
	expect_control(TD_BINANCE, "{'stream':'btcusdt@kline_1m','data':{'e':'kline','E':1,'s':'BTCUSDT','k':{}}}");
	expect_control(TD_BINANCE, "{'result':null,'id':1}");
	expect_control(TD_BINANCE, "{'stream':'!miniTicker@arr','data':[]}");
	expect_error(TD_BINANCE, "{'error':{'code':2,'msg':'Invalid request: unknown stream'},'id':1}", "Invalid request");
	expect_error(TD_BINANCE, "{'stream':'btcusdt@trade','data':{'s':'BTCUSDT'}}", "\"e\"");
	expect_error(TD_BINANCE, "{'foo':1}", "unrecognised");
	expect_error(TD_BINANCE, "[1,2]", "object");
}

/*
 * test_coinbase
 *	  Coinbase: legacy match (maker side), Advanced Trade, controls, errors.
 */
void
test_coinbase(void)
{
	td_trade	t[4];
	td_result	r;

	CHECK(D(TD_COINBASE, "{'type':'match','trade_id':280232,'maker_order_id':'a','taker_order_id':'b',"
			"'side':'sell','size':'985','price':'0.00001305','product_id':'SKL-BTC','sequence':177100030,"
			"'time':'2021-04-17T16:43:37.089723Z'}", t, 4, &r) == TD_TRADES && !r.snapshot,
		  "coinbase match: %s", r.error);
	expect_trade("coinbase match (maker sell)", &t[0], "SKL-BTC", 280232, 0, 1618677817089723, 0.00001305, 985, 'b');
	CHECK(D(TD_COINBASE, "{'type':'last_match','trade_id':82007,'side':'buy','size':'1008.2','price':'0.5752',"
			"'product_id':'SKL-GBP','time':'2021-04-17T16:43:29.571587Z'}", t, 4, &r) == TD_TRADES
		  && r.snapshot == 1, "coinbase last_match: %s", r.error);
	CHECK(t[0].side == 's', "coinbase maker buy => taker sold");
	CHECK(D(TD_COINBASE, "{'channel':'market_trades','client_id':'','timestamp':'2026-08-09T21:05:48.228568804Z',"
			"'sequence_num':0,'events':[{'type':'snapshot','trades':[{'product_id':'BTC-USD','trade_id':'1068572090',"
			"'price':'65083.67','size':'0.002186','time':'2026-08-09T21:05:42.514318Z','side':'SELL'},"
			"{'product_id':'BTC-USD','trade_id':'1068572088','price':'65083.66','size':'0.00007299',"
			"'time':'2026-08-09T21:05:38.50436Z','side':'BUY'}]}]}", t, 4, &r) == TD_TRADES
		  && r.ntrades == 2 && r.snapshot == 1, "coinbase advanced: %s", r.error);
	expect_trade("coinbase adv SELL", &t[0], "BTC-USD", 1068572090, 0, 1786309542514318, 65083.67, 0.002186, 'b');
	expect_trade("coinbase adv BUY", &t[1], "BTC-USD", 1068572088, 0, 1786309538504360, 65083.66, 0.00007299, 's');
	CHECK(D(TD_COINBASE, "{'channel':'market_trades','events':[{'type':'update','trades':[{'product_id':'BTC-PERP-INTX',"
			"'trade_id':'7c1d2f3a-uuid','price':'1','size':'1','time':'2026-08-09T21:05:42Z','side':'BUY'}]}]}",
			t, 4, &r) == TD_TRADES && t[0].id_derived == 1 && t[0].trade_id >= 0 && !r.snapshot,
		  "coinbase non-numeric trade_id => derived id: %s", r.error);
	CHECK(D(TD_COINBASE, "{'channel':'market_trades','events':[{'type':'update','trades':[]}]}", t, 4, &r)
		  == TD_TRADES && r.ntrades == 0, "coinbase empty update: %s", r.error);

	expect_control(TD_COINBASE, "{'type':'subscriptions','channels':[{'name':'matches','product_ids':['BTC-USD']}]}");
	expect_control(TD_COINBASE, "{'type':'l2update','product_id':'BTC-USD','changes':[['buy','1','2']],'time':'x'}");
	expect_control(TD_COINBASE, "{'type':'ticker','product_id':'BTC-USD','price':'1','side':'buy'}");
	expect_control(TD_COINBASE, "{'type':'heartbeat','sequence':1}");
	expect_control(TD_COINBASE, "{'channel':'heartbeats','events':[{'current_time':'x','heartbeat_counter':3}]}");
	expect_control(TD_COINBASE, "{'channel':'l2_data','events':[]}");
	expect_control(TD_COINBASE, "{'channel':'subscriptions','events':[{'subscriptions':{'market_trades':['BTC-USD']}}]}");
	expect_error(TD_COINBASE, "{'type':'error','message':'Failed to subscribe','reason':'bad product'}", "Failed to subscribe");
	expect_error(TD_COINBASE, "{'type':'error','message':'caf\\u00e9\\n\\u0007.'}", "exchange error: caf????.");
	CHECK(D(TD_COINBASE, "{'type':'ti\\u00e9ker'}", t, 4, &r) == TD_CONTROL && strcmp(r.detail, "ti??ker") == 0,
		  "control detail sanitised: '%s'", r.detail);
	CHECK(D(TD_COINBASE, "{'type':'match','trade_id':'12345678901234567890','side':'sell','size':'1','price':'1',"
			"'product_id':'X','time':'2021-04-17T16:43:37Z'}", t, 4, &r) == TD_TRADES && t[0].id_derived,
		  "20-digit string id does not fit int64 => derived: %s", r.error);
	expect_error(TD_COINBASE, "{'type':'match','trade_id':1,'side':'sell','size':'1','price':'1','product_id':'X','time':'2021-02-30T00:00:00Z'}", "\"time\"");
	expect_error(TD_COINBASE, "{'type':'match','trade_id':1,'side':'sell','size':'1','price':'1','product_id':'X','time':'2021-02-01T00:00:00'}", "\"time\"");
	expect_error(TD_COINBASE, "{'type':'match','trade_id':1,'size':'1','price':'1','product_id':'X','time':'2021-02-01T00:00:00Z'}", "\"side\": missing");
	expect_error(TD_COINBASE, "{'channel':'market_trades','events':{}}", "\"events\"");
}

/*
 * test_kraken
 *	  Kraken: v1 arrays (derived ids), v2, futures, controls, errors.
 */
void
test_kraken(void)
{
	td_trade	t[4], u[4];
	td_result	r;

	CHECK(D(TD_KRAKEN, "[993,[['354.11000000','0.89594024','1618678142.557535','s','l','']],'trade','XMR/USD']",
			t, 4, &r) == TD_TRADES && r.ntrades == 1, "kraken v1: %s", r.error);
	expect_trade("kraken v1", &t[0], "XMR/USD", -1, 1, 1618678142557535, 354.11, 0.89594024, 's');
	/* derived ids: stable, channelID-independent, index- and field-sensitive */
	D(TD_KRAKEN, "[993,[['1.0','2.0','1618678150.826417','b','m',''],['1.0','2.0','1618678150.826417','b','m','']],'trade','XMR/USD']", t, 4, &r);
	D(TD_KRAKEN, "[42,[['1.0','2.0','1618678150.826417','b','m',''],['1.0','2.0','1618678150.826417','b','m','']],'trade','XMR/USD']", u, 4, &r);
	CHECK(r.ntrades == 2 && t[0].trade_id == u[0].trade_id && t[1].trade_id == u[1].trade_id,
		  "kraken v1 ids stable across channelID");
	CHECK(t[0].trade_id != t[1].trade_id, "kraken v1 identical trades in one frame get distinct ids");
	D(TD_KRAKEN, "[42,[['1.0','2.0','1618678150.826417','b','m',''],['1.00','2.0','1618678150.826417','b','m','']],'trade','XMR/USD']", u, 4, &r);
	CHECK(t[0].trade_id == u[0].trade_id && t[1].trade_id != u[1].trade_id, "kraken v1 id depends on price text");
	CHECK(D(TD_KRAKEN, "[1,[['1.5','2','1618678150.5','b','m','',123456]],'trade','XBT/USD']", t, 4, &r)
		  == TD_TRADES && t[0].trade_id == 123456 && t[0].id_derived == 0 && t[0].ts_us == 1618678150500000,
		  "kraken v1 with REST-style 7th element id: %s", r.error);
	CHECK(D(TD_KRAKEN, "{'channel':'trade','type':'update','data':[{'symbol':'BTC/USD','side':'buy','price':105944.2,"
			"'qty':0.00027625,'ord_type':'limit','trade_id':10218208,'timestamp':'2025-11-10T17:23:53.971745Z'}]}",
			t, 4, &r) == TD_TRADES && !r.snapshot, "kraken v2: %s", r.error);
	expect_trade("kraken v2", &t[0], "BTC/USD", 10218208, 0, 1762795433971745, 105944.2, 0.00027625, 'b');
	CHECK(D(TD_KRAKEN, "{'channel':'trade','type':'snapshot','data':[]}", t, 4, &r) == TD_TRADES && r.snapshot,
		  "kraken v2 snapshot flag");
	CHECK(D(TD_KRAKEN, "{'feed':'trade','product_id':'PI_LTCUSD','uid':'e2429e31-8b9d-4195-900e-fd42be2dec89',"
			"'side':'buy','type':'fill','seq':5956,'time':1626994929946,'qty':320.0,'price':119.44}",
			t, 4, &r) == TD_TRADES, "kraken futures: %s", r.error);
	expect_trade("kraken futures", &t[0], "PI_LTCUSD", -1, 1, 1626994929946000, 119.44, 320, 'b');
	CHECK(D(TD_KRAKEN, "{'feed':'trade_snapshot','product_id':'PI_LTCUSD','trades':[{'feed':'trade',"
			"'uid':'e2429e31-8b9d-4195-900e-fd42be2dec89','side':'sell','type':'fill','seq':5956,"
			"'time':1626994929946,'qty':320.0,'price':119.44}]}", u, 4, &r) == TD_TRADES && r.snapshot
		  && strcmp(u[0].instrument, "PI_LTCUSD") == 0 && u[0].trade_id == t[0].trade_id && u[0].side == 's',
		  "kraken futures snapshot: envelope product_id, uid-derived id stable: %s", r.error);

	expect_control(TD_KRAKEN, "{'event':'heartbeat'}");
	expect_control(TD_KRAKEN, "{'connectionID':18239578009413566319,'event':'systemStatus','status':'online','version':'1.8.3'}");
	expect_control(TD_KRAKEN, "{'channelID':993,'channelName':'trade','event':'subscriptionStatus','pair':'XMR/USD','status':'subscribed','subscription':{'name':'trade'}}");
	expect_control(TD_KRAKEN, "[1664,{'as':[['1','2','3']],'bs':[]},'book-1000','WAVES/EUR']");
	expect_control(TD_KRAKEN, "[1,{'a':[['1','2','3']]},{'b':[['1','2','3']],'c':'4105471083'},'book-1000','XBT/USD']");
	expect_control(TD_KRAKEN, "{'event':'subscribed','feed':'trade','product_ids':['PI_XRPUSD']}");
	expect_control(TD_KRAKEN, "{'event':'info','version':1}");
	expect_control(TD_KRAKEN, "{'feed':'book','product_id':'PI_XBTUSD','side':'buy','seq':1,'price':1,'qty':0,'timestamp':1}");
	expect_control(TD_KRAKEN, "{'channel':'heartbeat'}");
	expect_control(TD_KRAKEN, "{'method':'subscribe','result':{'channel':'trade','symbol':'BTC/USD'},'success':true}");
	expect_error(TD_KRAKEN, "{'event':'subscriptionStatus','status':'error','errorMessage':'Currency pair not supported','pair':'FOO/BAR'}", "Currency pair");
	expect_error(TD_KRAKEN, "{'event':'error','message':'Invalid product id'}", "Invalid product id");
	expect_error(TD_KRAKEN, "{'method':'subscribe','success':false,'error':'Currency pair not supported'}", "Currency pair");
	expect_error(TD_KRAKEN, "[993,[['354.1','0.8','abc','s','l','']],'trade','XMR/USD']", "\"time\"");
	expect_error(TD_KRAKEN, "[993,[['354.1','0.8','1.5','x','l','']],'trade','XMR/USD']", "\"side\"");
	expect_error(TD_KRAKEN, "[993,[['354.1']],'trade','XMR/USD']", "\"volume\": missing");
	expect_error(TD_KRAKEN, "[993,'trade','XMR/USD']", ">= 4");
	expect_error(TD_KRAKEN, "{'feed':'trade','product_id':'PI_X','side':'buy','time':1,'qty':1,'price':1}", "\"uid\"");
}

/*
 * test_finnhub
 *	  Finnhub: multi-trade frames, no side, derived ids, ping.
 */
void
test_finnhub(void)
{
	const char *f = "{'data':[{'c':['1','8'],'p':122.1,'s':'TSLA','t':1672348887195,'v':1},"
		"{'c':null,'p':122.1,'s':'TSLA','t':1672348887195,'v':1},{'p':16500.5,'s':'BINANCE:BTCUSDT',"
		"'t':1672348887196,'v':0}],'type':'trade'}";
	td_trade	t[8], u[8];
	td_result	r;

	CHECK(D(TD_FINNHUB, f, t, 8, &r) == TD_TRADES && r.ntrades == 3, "finnhub: %s", r.error);
	expect_trade("finnhub", &t[0], "TSLA", -1, 1, 1672348887195000, 122.1, 1, 0);
	expect_trade("finnhub v=0", &t[2], "BINANCE:BTCUSDT", -1, 1, 1672348887196000, 16500.5, 0, 0);
	CHECK(t[0].trade_id != t[1].trade_id && t[1].trade_id != t[2].trade_id, "finnhub ids distinct");
	D(TD_FINNHUB, f, u, 8, &r);
	CHECK(memcmp(t, u, 3 * sizeof *t) == 0, "finnhub decode is deterministic");
	expect_control(TD_FINNHUB, "{'type':'ping'}");
	expect_control(TD_FINNHUB, "{'type':'news','data':[]}");
	expect_error(TD_FINNHUB, "{'type':'error','msg':'Subscribing to too many symbols'}", "too many");
	expect_error(TD_FINNHUB, "{'type':'trade','data':[{'p':1e999,'s':'X','t':1,'v':1}]}", "finite");
	expect_error(TD_FINNHUB, "{'type':'trade','data':[{'p':1,'s':'X','t':-1,'v':1}]}", "\"t\"");
	expect_error(TD_FINNHUB, "{'data':[]}", "\"type\"");
}

/*
 * test_canonical
 *	  The default canonical-symbol rule (tsk_td_canonical_symbol) on real
 *	  instrument names of every exchange, and its refusals.
 */
void
test_canonical(void)
{
	static const char *const cases[][2] = {
		{"BTCUSDT", "BTC"}, {"btcusdt", "BTC"}, {"XBT/USD", "BTC"}, {"BTC-USD", "BTC"},
		{"BINANCE:BTCUSDT", "BTC"}, {"PI_XBTUSD", "BTC"}, {"FI_XBTUSD_210924", "BTC"},
		{"BCHUSD_PERP", "BCH"}, {"ETHUSD_210924", "ETH"}, {"ETHBTC", "ETH"}, {"LRCBTC", "LRC"},
		{"OMGBUSD", "OMG"}, {"BTCUSDC", "BTC"}, {"USDCUSDT", "USDC"}, {"XDG/EUR", "DOGE"},
		{"SKL-GBP", "SKL"}, {"TSLA", "TSLA"}, {"AAPL", "AAPL"}, {"OANDA:EUR_USD", "EUR"},
		{"1000SHIBUSDT", "1000SHIB"}, {"USD", "USD"}, {"XETH", "XETH"}, {"PF_SOLUSD", "SOL"},
		{"BNBUSD", "BNB"}, {"PF_DOTUSD", "DOT"}, {"BTCBUSD", "BTC"}, {"OPUSDT", "OP"}, {"ETHTUSD", "ETH"},
	};
	char		out[64];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK(tsk_td_canonical_symbol(cases[i][0], out, sizeof out) == 0 && strcmp(out, cases[i][1]) == 0,
			  "canonical %s -> '%s', expected %s", cases[i][0], out, cases[i][1]);
	CHECK(tsk_td_canonical_symbol("", out, sizeof out) == -1 && out[0] == 0, "canonical empty");
	CHECK(tsk_td_canonical_symbol("BTC\xc3\xa9", out, sizeof out) == -1, "canonical non-ASCII");
	CHECK(tsk_td_canonical_symbol("BTCUSDT", out, 3) == -1, "canonical small buffer");
	CHECK(tsk_td_canonical_symbol(NULL, out, sizeof out) == -1, "canonical NULL");
}
