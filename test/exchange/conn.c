/*
 * conn.c
 *	  per-connection subscriptions and the control-frame queue.
 *
 * A connection subscribes instruments per channel (Coinbase "matches",
 * Kraken "trade", ...; Binance and Finnhub use one unnamed channel).  The
 * union of all channels' instruments decides which stream frames the
 * connection receives; the per-channel sets only feed acknowledgements
 * such as Coinbase's cumulative "subscriptions" message.
 *
 * Control frames (acks, greetings, heartbeats, snapshots) are framed into
 * the connection's queue at once and go out ahead of stream frames in the
 * next writeable callback, so replies keep their order.
 *
 * Invariants: any[] == OR of chans[i].bits; a frame that names no
 * instrument passes every filter; frames_sent counts a frame when it is
 * queued or batched for lws_write.
 */
#include "exchange_sim.h"

#include <stdlib.h>
#include <string.h>

/*
 * sim_conn_channel
 *	  The named channel of c; created on demand when create is set.
 */
sim_channel *
sim_conn_channel(sim_conn *c, const char *name, bool create)
{
	sim_channel *free_slot = NULL;

	for (int i = 0; i < SIM_MAX_CHANNELS; i++)
	{
		sim_channel *ch = &c->chans[i];

		if (ch->active && strcmp(ch->name, name) == 0)
			return ch;
		if (!ch->active && free_slot == NULL)
			free_slot = ch;
	}
	if (!create || free_slot == NULL || strlen(name) >= sizeof(free_slot->name))
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	strcpy(free_slot->name, name);
	free_slot->active = true;
	return free_slot;
}

/*
 * sim_conn_union
 *	  Recompute the union of the channels' instrument sets.
 */
static void
sim_conn_union(sim_conn *c)
{
	memset(c->any, 0, sizeof(c->any));
	for (int i = 0; i < SIM_MAX_CHANNELS; i++)
		if (c->chans[i].active)
			for (int w = 0; w < SIM_BITWORDS; w++)
				c->any[w] |= c->chans[i].bits[w];
}

/*
 * sim_conn_subscribe
 *	  (Un)subscribe instrument id on a channel (id < 0: the channel itself,
 *	  e.g. Coinbase heartbeats).  0 on success, -1 if no channel slot is left.
 */
int
sim_conn_subscribe(sim_conn *c, const char *channel, int id, bool on)
{
	sim_channel *ch = sim_conn_channel(c, channel, on);

	if (ch == NULL)
		return on ? -1 : 0;
	if (id >= 0 && id < SIM_MAX_INSTR)
	{
		if (on)
			ch->bits[id / 64] |= UINT64_C(1) << (id % 64);
		else
			ch->bits[id / 64] &= ~(UINT64_C(1) << (id % 64));
	}
	if (!on)
	{
		/* a channel goes away with its last instrument (or by itself) */
		bool		empty = true;

		for (int w = 0; w < SIM_BITWORDS && empty; w++)
			empty = ch->bits[w] == 0;
		if (empty)
			ch->active = false;
	}
	sim_conn_union(c);
	return 0;
}

/*
 * sim_conn_activate
 *	  A valid subscribe arrived: start streaming, filtered by subscriptions.
 *	  Until the first stream frame, every subscribe pushes the start back by
 *	  --settle, so a client's burst of subscribe messages all take effect
 *	  before data flows (as fast as possible would otherwise race them).
 */
void
sim_conn_activate(sim_conn *c)
{
	if (c->sent_stream == 0)
		c->start_us = sim_mono_us() + (int64_t) sim_cfg.settle_ms * 1000;
	c->streaming = true;
	c->filtering = true;
	if (lws_callback_on_writable(c->wsi) < 0)
		lwsl_warn("exchange_sim: cannot request a writeable callback\n");
}

/*
 * sim_conn_has
 *	  Whether instrument id is subscribed on any channel.
 */
bool
sim_conn_has(const sim_conn *c, int id)
{
	return id >= 0 && id < SIM_MAX_INSTR &&
		(c->any[id / 64] & (UINT64_C(1) << (id % 64))) != 0;
}

/*
 * sim_conn_wants
 *	  Whether a stream frame goes to this connection.
 */
bool
sim_conn_wants(const sim_conn *c, const sim_item *it)
{
	if (!c->filtering || it->nkeys == 0)
		return true;
	for (int i = 0; i < it->nkeys; i++)
		if (sim_conn_has(c, it->keys[i]))
			return true;
	return false;
}

/*
 * sim_conn_send
 *	  Queue one control frame carrying ntrades trades (snapshots) for c. 0 on
 *	  success, -1 if out of memory.
 */
int
sim_conn_send(sim_conn *c, const char *payload, size_t len, int ntrades)
{
	unsigned char hdr[10];
	size_t		h = sim_ws_header(hdr, len);

	if (sim_buf_reserve(&c->ctl, h + len) != 0)
		return -1;
	memcpy(c->ctl.data + c->ctl.len, hdr, h);
	memcpy(c->ctl.data + c->ctl.len + h, payload, len);
	c->ctl.len += h + len;
	sim_st.frames_sent++;
	sim_st.control_frames++;
	sim_st.trades_sent += (uint64_t) ntrades;
	if (lws_callback_on_writable(c->wsi) < 0)
		lwsl_warn("exchange_sim: cannot request a writeable callback\n");
	return 0;
}

/*
 * sim_conn_send_json
 *	  Queue a cJSON message (consumed) as a control frame; 0 or -1.
 */
int
sim_conn_send_json(sim_conn *c, cJSON *msg)
{
	char	   *text;
	int			rc;

	if (msg == NULL)
		return -1;
	text = cJSON_PrintUnformatted(msg);
	cJSON_Delete(msg);
	if (text == NULL)
		return -1;
	rc = sim_conn_send(c, text, strlen(text), 0);
	cJSON_free(text);
	return rc;
}
