/*
 * stream.c
 *	  instrument registry and the stream of frames being served.
 *
 * Instrument keys are the names a client subscribes with and a frame names:
 * Binance stream names ("btcusdt@trade"), Coinbase product ids, Kraken
 * pairs, Finnhub symbols.  Each distinct key gets a small integer id so a
 * connection's subscriptions are a bitmap and filtering a frame is a few
 * bit tests.  Ids are never reused during a run.
 *
 * The stream is either the replayed capture or the simulated market; the
 * rest of the program only sees sim_stream_get().
 *
 * Invariants: at most SIM_MAX_INSTR ids; the hash table is open addressing
 * with twice as many slots, so it never fills.
 */
#include "exchange_sim.h"

#include <stdlib.h>
#include <string.h>

#define SIM_HASH_SLOTS (SIM_MAX_INSTR * 2)

typedef struct sim_instr
{
	char	   *name;
	int64_t		channel;		/* Kraken v1 channelID seen in a capture */
} sim_instr;

static sim_instr sim_instrs[SIM_MAX_INSTR];
static int	sim_ninstr;
static int	sim_slots[SIM_HASH_SLOTS];	/* id + 1; 0 = empty */

/*
 * sim_hash
 *	  FNV-1a hash of a key.
 */
static uint32_t
sim_hash(const char *s, size_t n)
{
	uint32_t	h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char) s[i]) * 16777619u;
	return h;
}

/*
 * sim_slot
 *	  Slot of key (len bytes) in the table: its id's slot or an empty one.
 */
static int
sim_slot(const char *name, size_t len)
{
	uint32_t	i = sim_hash(name, len) % SIM_HASH_SLOTS;

	for (;;)
	{
		int			id = sim_slots[i] - 1;

		if (id < 0 || (strlen(sim_instrs[id].name) == len &&
					   memcmp(sim_instrs[id].name, name, len) == 0))
			return (int) i;
		i = (i + 1) % SIM_HASH_SLOTS;
	}
}

/*
 * sim_instr_id
 *	  Id of an instrument key, registering it if new; -1 if the table is full.
 */
int
sim_instr_id(const char *name, size_t len)
{
	int			slot = sim_slot(name, len);
	char	   *copy;

	if (sim_slots[slot] != 0)
		return sim_slots[slot] - 1;
	if (sim_ninstr >= SIM_MAX_INSTR || (copy = malloc(len + 1)) == NULL)
		return -1;
	memcpy(copy, name, len);
	copy[len] = '\0';
	sim_instrs[sim_ninstr].name = copy;
	sim_instrs[sim_ninstr].channel = 0;
	sim_slots[slot] = ++sim_ninstr;
	return sim_ninstr - 1;
}

/*
 * sim_instr_find
 *	  Id of a registered key, or -1.
 */
int
sim_instr_find(const char *name)
{
	int			slot = sim_slot(name, strlen(name));

	return sim_slots[slot] - 1;
}

/*
 * sim_instr_name
 *	  Name of a registered id.
 */
const char *
sim_instr_name(int id)
{
	return id >= 0 && id < sim_ninstr ? sim_instrs[id].name : "";
}

/*
 * sim_instr_count
 *	  Number of registered ids.
 */
int
sim_instr_count(void)
{
	return sim_ninstr;
}

/*
 * sim_instr_set_channel
 *	  Remember the Kraken v1 channelID a capture used for this pair.
 */
void
sim_instr_set_channel(int id, int64_t channel)
{
	if (id >= 0 && id < sim_ninstr && sim_instrs[id].channel == 0)
		sim_instrs[id].channel = channel;
}

/*
 * sim_instr_channel
 *	  The channelID for a pair: from the capture, else derived from the id.
 */
int64_t
sim_instr_channel(int id)
{
	if (id >= 0 && id < sim_ninstr && sim_instrs[id].channel != 0)
		return sim_instrs[id].channel;
	return 10000 + id;
}

/*
 * sim_stream_get
 *	  Frame at a stream position (replay or simulate, per the configuration).
 */
enum sim_get
sim_stream_get(uint64_t pos, sim_item *it)
{
	return sim_cfg.simulate ? sim_market_get(pos, it) : sim_replay_get(pos, it);
}

/*
 * sim_stream_oldest
 *	  Oldest position the stream can still serve (overlap after eviction).
 */
uint64_t
sim_stream_oldest(void)
{
	return sim_cfg.simulate ? sim_market_oldest() : 0;
}
