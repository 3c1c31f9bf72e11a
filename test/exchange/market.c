/*
 * market.c
 *	  the simulated market behind --simulate.
 *
 * Each instrument follows a random walk in whole ticks; a trade's aggressor
 * side follows the move (up-tick: taker bought, down-tick: taker sold, no
 * change: either), sizes are exponential multiples of the lot, trade ids
 * and feed sequences increase per instrument, and timestamps are the wall
 * clock at the moment the frame is generated, so a consumer can measure
 * feed-to-commit latency.  Arrival times (Poisson under --rate) are the
 * server's business: a frame is generated when the first connection needs
 * it.
 *
 * Generated frames are kept in a ring of --overlap + SIM_RING_SLACK frames
 * so a reconnecting client is re-sent exactly the same frames, and several
 * concurrent clients see the same market.
 *
 * Invariants: frame at position p lives in sim_ring[p % sim_ring_cap] while
 * sim_generated - p <= sim_ring_cap; prices stay >= one tick; with --count
 * the total number of generated trades never exceeds it.
 */
#include "exchange_sim.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const sim_format *sim_mfmt;
static sim_symbol sim_syms[SIM_MAX_SYMBOLS];
static int	sim_nsyms;
static uint64_t sim_mrng;
static int64_t sim_count;		/* 0 = unlimited */
static int64_t sim_trades_made;
static int	sim_batch;
static sim_frame *sim_ring;
static uint64_t sim_ring_cap;
static uint64_t sim_generated;

/*
 * sim_rand
 *	  splitmix64: the next 64 random bits of a state.
 */
uint64_t
sim_rand(uint64_t *state)
{
	uint64_t	z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/*
 * sim_rand_exp
 *	  Exponential variate with mean 1 (inter-arrival gaps, sizes).
 */
double
sim_rand_exp(uint64_t *state)
{
	double		u = (double) (sim_rand(state) >> 11) * (1.0 / 9007199254740992.0);

	return -log1p(-u);
}

/*
 * sim_guess_market
 *	  A plausible start price and size for a symbol, from its base asset.
 */
static void
sim_guess_market(sim_symbol *s)
{
	static const struct
	{
		const char *base;
		int64_t		price;		/* whole units */
		int64_t		qty_mean;	/* SIM_SCALE units */
	}			sim_table[] = {
		{"BTC", 60000, SIM_SCALE / 20},
		{"XBT", 60000, SIM_SCALE / 20},
		{"ETH", 2600, SIM_SCALE / 2},
		{"SOL", 150, 5 * SIM_SCALE},
		{"XRP", 1, 500 * SIM_SCALE},
	};
	char		upper[sizeof(s->name)];
	size_t		i;

	for (i = 0; s->name[i] != '\0' && i + 1 < sizeof(upper); i++)
		upper[i] = (char) toupper((unsigned char) s->name[i]);
	upper[i] = '\0';
	s->price = 100 * SIM_SCALE;
	s->qty_mean = 10 * SIM_SCALE;
	for (i = 0; i < SIM_LEN(sim_table); i++)
		if (strstr(upper, sim_table[i].base) != NULL)
		{
			s->price = sim_table[i].price * SIM_SCALE;
			s->qty_mean = sim_table[i].qty_mean;
			break;
		}
	s->tick = SIM_SCALE / 100;
	s->qty_lot = 1000;			/* 0.00001 */
	s->price_dec = 2;
	s->qty_dec = 8;
}

/*
 * sim_market_ensure
 *	  Index of a simulated symbol, adding it if new; -1 (with one warning per
 *	  run) if it cannot be added.
 */
int
sim_market_ensure(const char *symbol)
{
	static bool sim_warned;
	sim_symbol *s;
	char		keys[2][64];

	for (int i = 0; i < sim_nsyms; i++)
		if (strcmp(sim_syms[i].name, symbol) == 0)
			return i;
	if (sim_mfmt == NULL || sim_nsyms >= SIM_MAX_SYMBOLS || symbol[0] == '\0' ||
		strlen(symbol) >= sizeof(sim_syms[0].name))
	{
		if (sim_mfmt != NULL && !sim_warned)
			lwsl_warn("exchange_sim: cannot simulate %s (at most %d symbols); "
					  "further symbols get no trades\n", symbol, SIM_MAX_SYMBOLS);
		sim_warned = sim_mfmt != NULL;
		return -1;
	}
	s = &sim_syms[sim_nsyms];
	memset(s, 0, sizeof(*s));
	strcpy(s->name, symbol);
	sim_guess_market(s);
	sim_mfmt->symbol_defaults(s);
	keys[0][0] = keys[1][0] = '\0';
	sim_mfmt->symbol_keys(symbol, keys);
	for (int k = 0; k < 2; k++)
		s->keys[k] = keys[k][0] ? sim_instr_id(keys[k], strlen(keys[k])) : -1;
	if (s->keys[0] < 0)
		return -1;
	s->next_id = 1000000000LL + 100000000LL * sim_nsyms;
	s->next_seq = 5000000000LL + 100000000LL * sim_nsyms;
	return sim_nsyms++;
}

/*
 * sim_market_start
 *	  One entry of --symbols: NAME, or NAME=PRICE[:NEXT_ID] to continue a
 *	  market where an earlier run stopped (start price, rounded to the tick,
 *	  and the next trade id).  0 or -1 with a message.
 */
static int
sim_market_start(char *entry)
{
	char	   *eq = strchr(entry, '=');
	char	   *end;
	double		price = 0;
	long long	next_id = 0;
	int			idx;

	if (eq != NULL)
	{
		*eq = '\0';
		price = strtod(eq + 1, &end);
		if (end == eq + 1 || !(price > 0 && price < 1e10) ||
			(*end != '\0' && *end != ':'))
		{
			fprintf(stderr, "exchange_sim: bad start price in \"%s=%s\"\n", entry, eq + 1);
			return -1;
		}
		if (*end == ':')
		{
			char	   *idend;

			next_id = strtoll(end + 1, &idend, 10);
			if (idend == end + 1 || *idend != '\0' || next_id < 0)
			{
				fprintf(stderr, "exchange_sim: bad next trade id in \"%s=%s\"\n", entry, eq + 1);
				return -1;
			}
		}
	}
	idx = sim_market_ensure(entry);
	if (idx < 0)
	{
		fprintf(stderr, "exchange_sim: cannot simulate symbol \"%s\"\n", entry);
		return -1;
	}
	if (eq != NULL)
	{
		sim_symbol *s = &sim_syms[idx];
		int64_t		ticks = llround(price * (double) SIM_SCALE / (double) s->tick);

		s->price = (ticks < 1 ? 1 : ticks) * s->tick;
		if (*end == ':')
			s->next_id = next_id;
	}
	return 0;
}

/*
 * sim_market_init
 *	  Set up the market: symbols is a comma-separated list (exchange naming,
 *	  each optionally NAME=PRICE[:NEXT_ID], see sim_market_start), count the
 *	  trade limit (0 = none), batch the most trades per frame, keep the
 *	  frames a reconnecting client may be re-sent.  0 or -1 with a message.
 */
int
sim_market_init(const sim_format *fmt, const char *symbols, uint64_t seed,
				int64_t count, int batch, uint64_t keep)
{
	const char *p = symbols;

	sim_mfmt = fmt;
	sim_mrng = seed;
	sim_count = count;
	sim_batch = batch < 1 ? 1 : batch > SIM_MAX_BATCH ? SIM_MAX_BATCH : batch;
	while (*p != '\0')
	{
		const char *comma = strchr(p, ',');
		size_t		n = comma ? (size_t) (comma - p) : strlen(p);
		char		name[sizeof(sim_syms[0].name)];

		if (n == 0 || n >= sizeof(name))
		{
			fprintf(stderr, "exchange_sim: bad symbol list \"%s\"\n", symbols);
			return -1;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (sim_market_start(name) < 0)
			return -1;
		p += n + (comma ? 1 : 0);
	}
	if (sim_nsyms == 0)
	{
		fprintf(stderr, "exchange_sim: no symbols to simulate\n");
		return -1;
	}
	sim_ring_cap = keep + SIM_RING_SLACK;
	sim_ring = calloc(sim_ring_cap, sizeof(*sim_ring));
	if (sim_ring == NULL)
	{
		fprintf(stderr, "exchange_sim: out of memory for %llu frames of history\n",
				(unsigned long long) sim_ring_cap);
		return -1;
	}
	return 0;
}

/*
 * sim_step
 *	  Price move of one trade, in ticks: 0 half the time, else +-1 or +-2.
 */
static int
sim_step(void)
{
	uint64_t	r = sim_rand(&sim_mrng) % 20;

	return r < 10 ? 0 : r < 14 ? 1 : r < 18 ? -1 : r == 18 ? 2 : -2;
}

/*
 * sim_generate
 *	  Generate the next frame into f: one instrument, 1..batch trades.
 */
static void
sim_generate(sim_frame *f)
{
	sim_symbol *s = &sim_syms[sim_rand(&sim_mrng) % (uint64_t) sim_nsyms];
	int			n = sim_batch > 1 ? 1 + (int) (sim_rand(&sim_mrng) % (uint64_t) sim_batch) : 1;

	if (sim_count > 0 && n > sim_count - sim_trades_made)
		n = (int) (sim_count - sim_trades_made);
	f->sym = (int) (s - sim_syms);
	f->n = n;
	f->ts_ns = sim_wall_ns();
	for (int i = 0; i < n; i++)
	{
		sim_trade  *t = &f->t[i];
		int			k = sim_step();
		double		lots = sim_rand_exp(&sim_mrng) * (double) s->qty_mean / (double) s->qty_lot;

		s->price += k * s->tick;
		if (s->price < s->tick)
			s->price = s->tick;
		t->price = s->price;
		t->taker_buy = k > 0 ? true : k < 0 ? false : (sim_rand(&sim_mrng) & 1);
		t->market_order = sim_rand(&sim_mrng) % 10 < 3;
		t->qty = s->qty_lot * (lots < 1.0 ? 1 : (int64_t) (lots + 0.5));
		t->id = s->next_id++;
		t->seq = s->next_seq;
		s->next_seq += 1 + (int64_t) (sim_rand(&sim_mrng) % 4);
		t->ts_ns = f->ts_ns;
	}
	sim_trades_made += n;
	s->last = f->t[n - 1];
	s->has_last = true;
}

/*
 * sim_item_of
 *	  Describe the kept frame at pos as a stream item.
 */
static void
sim_item_of(uint64_t pos, sim_item *it)
{
	const sim_frame *f = &sim_ring[pos % sim_ring_cap];
	const sim_symbol *s = &sim_syms[f->sym];

	it->payload = NULL;
	it->len = 0;
	it->keys = s->keys;
	it->nkeys = s->keys[1] >= 0 ? 2 : 1;
	it->ntrades = f->n;
	it->frame = f;
}

/*
 * sim_market_get
 *	  Frame at pos: kept, generated now (pos == next), evicted, or the end.
 */
enum sim_get
sim_market_get(uint64_t pos, sim_item *it)
{
	if (pos < sim_generated)
	{
		if (sim_generated - pos > sim_ring_cap)
			return SIM_GET_EVICTED;
		sim_item_of(pos, it);
		return SIM_GET_OK;
	}
	if (pos > sim_generated || (sim_count > 0 && sim_trades_made >= sim_count))
		return SIM_GET_END;
	sim_generate(&sim_ring[pos % sim_ring_cap]);
	sim_generated++;
	sim_item_of(pos, it);
	return SIM_GET_OK;
}

/*
 * sim_market_oldest
 *	  Oldest position still kept.
 */
uint64_t
sim_market_oldest(void)
{
	return sim_generated > sim_ring_cap ? sim_generated - sim_ring_cap : 0;
}

/*
 * sim_market_wanted
 *	  Whether a connection subscribes any simulated symbol; if not, producing
 *	  frames only for it to skip them would spin the CPU.
 */
bool
sim_market_wanted(const sim_conn *c)
{
	for (int i = 0; i < sim_nsyms; i++)
		for (int k = 0; k < 2; k++)
			if (sim_conn_has(c, sim_syms[i].keys[k]))
				return true;
	return false;
}

/*
 * sim_market_symbol
 *	  Symbol by index (formats render names and last trades from it).
 */
const sim_symbol *
sim_market_symbol(int idx)
{
	return idx >= 0 && idx < sim_nsyms ? &sim_syms[idx] : NULL;
}

/*
 * sim_market_free
 *	  Release the history.
 */
void
sim_market_free(void)
{
	free(sim_ring);
	sim_ring = NULL;
}
