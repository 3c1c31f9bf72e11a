/*
 * fmt_coinbase.c
 *	  Coinbase Exchange legacy feed and Advanced Trade.
 *
 * Legacy (ws-feed): {"type":"subscribe","product_ids":[...],
 * "channels":["matches" | {"name":..,"product_ids":[..]}]} is answered with
 * the cumulative {"type":"subscriptions","channels":[...]}, and, when
 * simulating, one last_match per newly subscribed product.  Trades are
 * {"type":"match",...} with side = the MAKER's side (taker bought => "sell").
 *
 * Advanced Trade: {"type":"subscribe","product_ids":[..],"channel":
 * "market_trades"} (and "heartbeats") is answered with a "subscriptions"
 * envelope listing every channel (sorted, as Go marshals maps) and, when
 * simulating, a market_trades snapshot per new product.  Every envelope
 * carries a per-connection sequence_num; trade ids are strings; side is the
 * MAKER's side in upper case; batched trades are listed newest first.
 *
 * Invariants: product ids are instrument keys as-is; channels are checked
 * before any subscription changes; times follow the capture (legacy: 6 fixed
 * digits; Advanced: Go RFC3339Nano with trailing zeros trimmed).
 */
#include "exchange_sim.h"

#include <stdio.h>
#include <string.h>

/*
 * sim_cb_symbol_defaults
 *	  Coinbase prices: quote increment (cents); sizes: 1e-8, trimmed.
 */
static void
sim_cb_symbol_defaults(sim_symbol *s)
{
	s->qty_lot = 1;
	if (s->price < SIM_SCALE)
	{
		s->tick = SIM_SCALE / 100000;
		s->price_dec = 5;
	}
}

/*
 * sim_cb_error
 *	  {"type":"error","message":..,"reason":..}; counts a bad message.
 */
static int
sim_cb_error(sim_conn *c, const char *message, const char *reason)
{
	cJSON	   *r = cJSON_CreateObject();

	sim_st.bad_messages++;
	if (r == NULL || !cJSON_AddStringToObject(r, "type", "error") ||
		!cJSON_AddStringToObject(r, "message", message) ||
		(reason != NULL && !cJSON_AddStringToObject(r, "reason", reason)))
	{
		cJSON_Delete(r);
		return -1;
	}
	return sim_conn_send_json(c, r);
}

/*
 * sim_cb_uuid
 *	  A deterministic pseudo-random UUID for an order of trade t.
 */
static char *
sim_cb_uuid(char *p, const sim_trade *t, uint64_t salt)
{
	uint64_t	st = (uint64_t) t->id * 0x9E3779B97F4A7C15ULL ^ (uint64_t) t->seq ^ salt;
	uint64_t	a = sim_rand(&st);

	return sim_put_uuid(p, a, sim_rand(&st));
}

/*
 * sim_cb_match
 *	  Legacy match / last_match payload.
 */
static char *
sim_cb_match(char *p, const char *type, const sim_symbol *s, const sim_trade *t)
{
	p = sim_put_str(p, "{\"type\":\"");
	p = sim_put_str(p, type);
	p = sim_put_str(p, "\",\"trade_id\":");
	p = sim_put_i64(p, t->id);
	p = sim_put_str(p, ",\"maker_order_id\":\"");
	p = sim_cb_uuid(p, t, 1);
	p = sim_put_str(p, "\",\"taker_order_id\":\"");
	p = sim_cb_uuid(p, t, 2);
	/* side is the maker's: a taker buy lifts a resting sell */
	p = sim_put_str(p, t->taker_buy ? "\",\"side\":\"sell\",\"size\":\"" : "\",\"side\":\"buy\",\"size\":\"");
	p = sim_put_fixed(p, t->qty, s->qty_dec, true);
	p = sim_put_str(p, "\",\"price\":\"");
	p = sim_put_fixed(p, t->price, s->price_dec, false);
	p = sim_put_str(p, "\",\"product_id\":\"");
	p = sim_put_str(p, s->name);
	p = sim_put_str(p, "\",\"sequence\":");
	p = sim_put_i64(p, t->seq);
	p = sim_put_str(p, ",\"time\":\"");
	p = sim_put_iso(p, t->ts_ns, 6, false);
	return sim_put_str(p, "\"}");
}

/*
 * sim_cb_products
 *	  Apply the product list of a subscribe/unsubscribe to one channel.  With
 *	  new_ids, products that were not subscribed before are collected (for
 *	  last_match / snapshot frames).  Returns NULL or the offending product.
 */
static const char *
sim_cb_products(sim_conn *c, const char *channel, const cJSON *ids, bool on,
				int *new_ids, int *nnew)
{
	const cJSON *p;

	if (sim_json_array_size(ids) == 0)
		return sim_conn_subscribe(c, channel, -1, on) == 0 ? NULL : channel;
	cJSON_ArrayForEach(p, ids)
	{
		int			before;
		int			id;

		if (!cJSON_IsString(p))
			return "(non-string)";
		before = sim_instr_find(p->valuestring);
		before = before >= 0 && sim_conn_has(c, before);
		if ((id = sim_subscribe_instr(c, channel, p->valuestring, on)) < 0)
			return p->valuestring;
		if (on && sim_cfg.simulate)
			(void) sim_market_ensure(p->valuestring);	/* warns if it cannot */
		if (new_ids != NULL && on && !before && *nnew < 64)
			new_ids[(*nnew)++] = id;
	}
	return NULL;
}

/* Channels of the legacy feed. */
static const char *const sim_cb_channels[] = {
	"matches", "full", "level2", "level2_batch", "level3", "ticker",
	"ticker_batch", "heartbeat", "status", "auctionfeed", "rfq_matches",
};

/*
 * sim_cb_legacy_ack
 *	  Legacy {"type":"subscriptions","channels":[{"name","product_ids"}...]}.
 */
static int
sim_cb_legacy_ack(sim_conn *c)
{
	cJSON	   *r = cJSON_CreateObject();
	cJSON	   *chans;

	if (r == NULL || !cJSON_AddStringToObject(r, "type", "subscriptions") ||
		(chans = cJSON_AddArrayToObject(r, "channels")) == NULL)
		goto fail;
	for (int i = 0; i < SIM_MAX_CHANNELS; i++)
	{
		const sim_channel *ch = &c->chans[i];
		cJSON	   *o;
		cJSON	   *ids;

		if (!ch->active)
			continue;
		if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(chans, o))
		{
			cJSON_Delete(o);
			goto fail;
		}
		if (!cJSON_AddStringToObject(o, "name", ch->name) ||
			(ids = sim_json_ids(ch)) == NULL)
			goto fail;
		if (!cJSON_AddItemToObject(o, "product_ids", ids))
		{
			cJSON_Delete(ids);
			goto fail;
		}
	}
	return sim_conn_send_json(c, r);
fail:
	cJSON_Delete(r);
	return -1;
}

/*
 * sim_cb_legacy_message
 *	  Legacy subscribe / unsubscribe.
 */
static int
sim_cb_legacy_message(sim_conn *c, const cJSON *msg)
{
	const char *type = sim_json_str(msg, "type");
	const cJSON *top = cJSON_GetObjectItemCaseSensitive(msg, "product_ids");
	const cJSON *chans = cJSON_GetObjectItemCaseSensitive(msg, "channels");
	const cJSON *ch;
	int			new_ids[64];
	int			nnew = 0;
	bool		on;
	char		reason[160];

	if (msg == NULL)
		return sim_cb_error(c, "Failed to subscribe", "Malformed JSON");
	if (type == NULL || (strcmp(type, "subscribe") != 0 && strcmp(type, "unsubscribe") != 0))
		return sim_cb_error(c, "Failed to subscribe",
							"Type has to be either subscribe or unsubscribe");
	on = strcmp(type, "subscribe") == 0;
	if (sim_json_array_size(chans) == 0)
		return sim_cb_error(c, "Failed to subscribe", "No channels provided");
	/* validate everything before changing anything */
	cJSON_ArrayForEach(ch, chans)
	{
		const char *name = cJSON_IsString(ch) ? ch->valuestring : sim_json_str(ch, "name");

		if (!sim_str_in(name, sim_cb_channels, SIM_LEN(sim_cb_channels)))
		{
			snprintf(reason, sizeof(reason), "%s is not a valid channel",
					 name ? name : "(missing name)");
			return sim_cb_error(c, "Failed to subscribe", reason);
		}
	}
	cJSON_ArrayForEach(ch, chans)
	{
		const char *name = cJSON_IsString(ch) ? ch->valuestring : sim_json_str(ch, "name");
		const cJSON *ids = cJSON_IsObject(ch) &&
			cJSON_GetObjectItemCaseSensitive(ch, "product_ids") ?
			cJSON_GetObjectItemCaseSensitive(ch, "product_ids") : top;
		const char *bad = sim_cb_products(c, name, ids, on,
										  strcmp(name, "matches") == 0 ? new_ids : NULL,
										  &nnew);

		if (bad != NULL)
		{
			snprintf(reason, sizeof(reason), "%s is not a valid product", bad);
			return sim_cb_error(c, "Failed to subscribe", reason);
		}
	}
	if (sim_cb_legacy_ack(c) != 0)
		return -1;
	for (int i = 0; i < nnew && sim_cfg.simulate; i++)
	{
		const sim_symbol *s = sim_market_symbol(sim_market_ensure(sim_instr_name(new_ids[i])));
		char		buf[SIM_MAX_RENDER];

		if (s != NULL && s->has_last &&
			sim_conn_send(c, buf, (size_t) (sim_cb_match(buf, "last_match", s, &s->last) - buf), 1) != 0)
			return -1;
	}
	sim_conn_activate(c);
	return 0;
}

/*
 * sim_cb_legacy_heartbeat
 *	  Legacy heartbeat channel: one {"type":"heartbeat",...} per product.
 */
static int
sim_cb_legacy_heartbeat(sim_conn *c, int64_t idle_us)
{
	const sim_channel *ch = sim_conn_channel(c, "heartbeat", false);
	char		buf[512];

	(void) idle_us;
	for (int id = 0; ch != NULL && id < sim_instr_count(); id++)
	{
		const sim_symbol *s;
		char	   *p = buf;

		if (!(ch->bits[id / 64] & (UINT64_C(1) << (id % 64))))
			continue;
		s = sim_cfg.simulate ? sim_market_symbol(sim_market_ensure(sim_instr_name(id))) : NULL;
		p = sim_put_str(p, "{\"type\":\"heartbeat\",\"last_trade_id\":");
		p = sim_put_i64(p, s && s->has_last ? s->last.id : 0);
		p = sim_put_str(p, ",\"product_id\":\"");
		p = sim_put_str(p, sim_instr_name(id));
		p = sim_put_str(p, "\",\"sequence\":");
		p = sim_put_i64(p, s ? s->next_seq : 0);
		p = sim_put_str(p, ",\"time\":\"");
		p = sim_put_iso(p, sim_wall_ns(), 6, false);
		p = sim_put_str(p, "\"}");
		if (sim_conn_send(c, buf, (size_t) (p - buf), 0) != 0)
			return -1;
	}
	return 0;
}

/*
 * sim_cb_legacy_describe
 *	  Captured legacy frame: key = "product_id"; match/last_match = 1 trade.
 */
static void
sim_cb_legacy_describe(const cJSON *root, int *keys, int *nkeys, int maxkeys,
					   int *ntrades)
{
	const char *type = sim_json_str(root, "type");

	sim_collect_keys(root, "product_id", false, keys, nkeys, maxkeys);
	*ntrades = type != NULL && (strcmp(type, "match") == 0 || strcmp(type, "last_match") == 0);
}

/*
 * sim_cb_legacy_render
 *	  Simulated legacy frame: one match.
 */
static int
sim_cb_legacy_render(sim_conn *c, const sim_frame *f, char *out, size_t *lens, int max)
{
	(void) c;
	if (max < 1)
		return 0;
	lens[0] = (size_t) (sim_cb_match(out, "match", sim_market_symbol(f->sym), &f->t[0]) - out);
	return 1;
}

/* ---- Advanced Trade --------------------------------------------------------- */

/*
 * sim_cba_envelope
 *	  Envelope start: {"channel":..,"timestamp":..,"sequence_num":..,"events":[
 */
static char *
sim_cba_envelope(char *p, sim_conn *c, const char *channel)
{
	p = sim_put_str(p, "{\"channel\":\"");
	p = sim_put_str(p, channel);
	p = sim_put_str(p, "\",\"timestamp\":\"");
	p = sim_put_iso(p, sim_wall_ns(), 9, true);
	p = sim_put_str(p, "\",\"sequence_num\":");
	p = sim_put_i64(p, c->seq_num++);
	return sim_put_str(p, ",\"events\":[");
}

/*
 * sim_cba_trades
 *	  A market_trades envelope with one event of n trades, newest first.
 */
static char *
sim_cba_trades(char *p, sim_conn *c, const char *type, const sim_symbol *s,
			   const sim_trade *t, int n)
{
	p = sim_cba_envelope(p, c, "market_trades");
	p = sim_put_str(p, "{\"type\":\"");
	p = sim_put_str(p, type);
	p = sim_put_str(p, "\",\"trades\":[");
	for (int i = n - 1; i >= 0; i--)
	{
		p = sim_put_str(p, "{\"product_id\":\"");
		p = sim_put_str(p, s->name);
		p = sim_put_str(p, "\",\"trade_id\":\"");
		p = sim_put_i64(p, t[i].id);
		p = sim_put_str(p, "\",\"price\":\"");
		p = sim_put_fixed(p, t[i].price, s->price_dec, false);
		p = sim_put_str(p, "\",\"size\":\"");
		p = sim_put_fixed(p, t[i].qty, s->qty_dec, true);
		p = sim_put_str(p, "\",\"time\":\"");
		p = sim_put_iso(p, t[i].ts_ns, 6, true);
		/* maker side, upper case */
		p = sim_put_str(p, t[i].taker_buy ? "\",\"side\":\"SELL\"}" : "\",\"side\":\"BUY\"}");
		if (i > 0)
			*p++ = ',';
	}
	return sim_put_str(p, "]}]}");
}

/*
 * sim_cba_ack
 *	  The "subscriptions" envelope: every channel, names sorted.
 */
static int
sim_cba_ack(sim_conn *c)
{
	const sim_channel *sorted[SIM_MAX_CHANNELS];
	int			n = 0;
	sim_buf		b = {0};
	char		head[256];
	int			rc;

	for (int i = 0; i < SIM_MAX_CHANNELS; i++)
	{
		int			j;

		if (!c->chans[i].active)
			continue;
		for (j = n++; j > 0 && strcmp(sorted[j - 1]->name, c->chans[i].name) > 0; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = &c->chans[i];
	}
	if (sim_buf_append(&b, head, (size_t) (sim_cba_envelope(head, c, "subscriptions") - head)) != 0 ||
		sim_buf_append(&b, "{\"subscriptions\":{", 18) != 0)
		goto fail;
	for (int i = 0; i < n; i++)
	{
		cJSON	   *ids = strcmp(sorted[i]->name, "heartbeats") == 0 ?
			cJSON_CreateStringArray((const char *const[]) {"heartbeats"}, 1) :
			sim_json_ids(sorted[i]);
		char	   *text = ids ? cJSON_PrintUnformatted(ids) : NULL;

		cJSON_Delete(ids);
		if (text == NULL ||
			(i > 0 && sim_buf_append(&b, ",", 1) != 0) ||
			sim_buf_append(&b, "\"", 1) != 0 ||
			sim_buf_append(&b, sorted[i]->name, strlen(sorted[i]->name)) != 0 ||
			sim_buf_append(&b, "\":", 2) != 0 ||
			sim_buf_append(&b, text, strlen(text)) != 0)
		{
			cJSON_free(text);
			goto fail;
		}
		cJSON_free(text);
	}
	if (sim_buf_append(&b, "}}]}", 4) != 0)
		goto fail;
	rc = sim_conn_send(c, b.data, b.len, 0);
	sim_buf_free(&b);
	return rc;
fail:
	sim_buf_free(&b);
	return -1;
}

/* Advanced Trade channels. */
static const char *const sim_cba_channels[] = {
	"market_trades", "heartbeats", "status", "ticker", "ticker_batch",
	"level2", "candles", "user", "futures_balance_summary",
};

/*
 * sim_cba_message
 *	  Advanced Trade subscribe / unsubscribe.
 */
static int
sim_cba_message(sim_conn *c, const cJSON *msg)
{
	const char *type = sim_json_str(msg, "type");
	const char *channel = sim_json_str(msg, "channel");
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(msg, "product_ids");
	int			new_ids[64];
	int			nnew = 0;
	bool		on;
	const char *bad;
	char		reason[160];

	if (msg == NULL)
		return sim_cb_error(c, "failure to parse message", NULL);
	if (type == NULL || (strcmp(type, "subscribe") != 0 && strcmp(type, "unsubscribe") != 0))
		return sim_cb_error(c, "type has to be either subscribe or unsubscribe", NULL);
	if (!sim_str_in(channel, sim_cba_channels, SIM_LEN(sim_cba_channels)))
		return sim_cb_error(c, "Failed to subscribe", "channel is not valid");
	on = strcmp(type, "subscribe") == 0;
	if (strcmp(channel, "heartbeats") == 0 || strcmp(channel, "status") == 0 ||
		strcmp(channel, "user") == 0)
	{
		if (sim_conn_subscribe(c, channel, -1, on) != 0)
			return sim_cb_error(c, "Failed to subscribe", "too many channels");
	}
	else if (sim_json_array_size(ids) == 0)
		return sim_cb_error(c, "Failed to subscribe", "product_ids is required");
	else if ((bad = sim_cb_products(c, channel, ids, on,
									strcmp(channel, "market_trades") == 0 ? new_ids : NULL,
									&nnew)) != NULL)
	{
		snprintf(reason, sizeof(reason), "%s is not a valid product", bad);
		return sim_cb_error(c, "Failed to subscribe", reason);
	}
	if (sim_cba_ack(c) != 0)
		return -1;
	for (int i = 0; i < nnew && sim_cfg.simulate; i++)
	{
		const sim_symbol *s = sim_market_symbol(sim_market_ensure(sim_instr_name(new_ids[i])));
		char		buf[SIM_MAX_RENDER];
		char	   *end;

		if (s == NULL)
			continue;
		end = sim_cba_trades(buf, c, "snapshot", s, &s->last, s->has_last ? 1 : 0);
		if (sim_conn_send(c, buf, (size_t) (end - buf), s->has_last ? 1 : 0) != 0)
			return -1;
	}
	sim_conn_activate(c);
	return 0;
}

/*
 * sim_cba_heartbeat
 *	  heartbeats channel: one envelope per period, Go-style current_time.
 */
static int
sim_cba_heartbeat(sim_conn *c, int64_t idle_us)
{
	char		buf[512];
	char	   *p;
	char	   *t;
	int64_t		up = sim_mono_us();

	(void) idle_us;
	if (sim_conn_channel(c, "heartbeats", false) == NULL)
		return 0;
	p = sim_cba_envelope(buf, c, "heartbeats");
	p = sim_put_str(p, "{\"current_time\":\"");
	t = p;
	p = sim_put_iso(p, sim_wall_ns(), 9, false) - 1;	/* drop the 'Z' */
	t[10] = ' ';
	p = sim_put_str(p, " +0000 UTC m=+");
	p = sim_put_epoch_us(p, up * 1000);
	p = sim_put_str(p, "\",\"heartbeat_counter\":");
	p = sim_put_u64(p, ++c->hb_count);
	p = sim_put_str(p, "}]}");
	return sim_conn_send(c, buf, (size_t) (p - buf), 0);
}

/*
 * sim_cba_describe
 *	  Captured Advanced frame: product_id at any depth; market_trades trades.
 */
static void
sim_cba_describe(const cJSON *root, int *keys, int *nkeys, int maxkeys,
				 int *ntrades)
{
	const char *channel = sim_json_str(root, "channel");
	const cJSON *ev;

	sim_collect_keys(root, "product_id", true, keys, nkeys, maxkeys);
	*ntrades = 0;
	if (channel == NULL || strcmp(channel, "market_trades") != 0)
		return;
	cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(root, "events"))
		*ntrades += sim_json_array_size(cJSON_GetObjectItemCaseSensitive(ev, "trades"));
}

/*
 * sim_cba_render
 *	  Simulated Advanced frame: one update event with the frame's trades.
 */
static int
sim_cba_render(sim_conn *c, const sim_frame *f, char *out, size_t *lens, int max)
{
	if (max < 1)
		return 0;
	lens[0] = (size_t) (sim_cba_trades(out, c, "update", sim_market_symbol(f->sym),
									   f->t, f->n) - out);
	return 1;
}

const sim_format sim_fmt_coinbase = {
	.name = "coinbase",
	.default_symbols = "BTC-USD,ETH-USD",
	.needs_subscribe = true,
	.batches = false,
	.heartbeat_ms = 1000,
	.symbol_keys = sim_symbol_keys_same,
	.symbol_defaults = sim_cb_symbol_defaults,
	.on_connect = NULL,
	.on_message = sim_cb_legacy_message,
	.on_heartbeat = sim_cb_legacy_heartbeat,
	.describe = sim_cb_legacy_describe,
	.render = sim_cb_legacy_render,
};

const sim_format sim_fmt_coinbase_adv = {
	.name = "coinbase-advanced",
	.default_symbols = "BTC-USD,ETH-USD",
	.needs_subscribe = true,
	.batches = true,
	.heartbeat_ms = 1000,
	.symbol_keys = sim_symbol_keys_same,
	.symbol_defaults = sim_cb_symbol_defaults,
	.on_connect = NULL,
	.on_message = sim_cba_message,
	.on_heartbeat = sim_cba_heartbeat,
	.describe = sim_cba_describe,
	.render = sim_cba_render,
};
