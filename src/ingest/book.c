/*
 * book.c
 *	  the pure-C order book of book.h: one AVL tree per side over an
 *	  index-addressed node pool, the Kraken checksum and the order-flow
 *	  imbalance (the exact decimals are book_dec.c's).
 *
 * Invariants: see book.h.  Recursion is bounded by the AVL height
 * (<= 1.45 log2(n + 2), under 30 for the largest cap); the explicit
 * iteration stacks hold 64 entries, more than any reachable height.  Pool
 * growth (realloc) happens only before a tree walk starts, so no walk ever
 * holds a stale node pointer.
 */
#include "ingest/book.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TB_NIL (-1)
#define TB_STACK 64

/* ---- AVL tree over the node pool ---------------------------------------- */

/*
 * tb_height
 *	  Height of a subtree (0 for none).
 */
static inline int
tb_height(const tb_side *s, int32_t i)
{
	return i == TB_NIL ? 0 : s->nodes[i].height;
}

/*
 * tb_fix
 *	  Recompute a node's height from its children.
 */
static inline void
tb_fix(tb_side *s, int32_t i)
{
	int			l = tb_height(s, s->nodes[i].left),
				r = tb_height(s, s->nodes[i].right);

	s->nodes[i].height = (int8_t) (1 + (l > r ? l : r));
}

/*
 * tb_rotate_right
 *	  Rotate the subtree at i right; returns its new root.
 */
static int32_t
tb_rotate_right(tb_side *s, int32_t i)
{
	int32_t		l = s->nodes[i].left;

	s->nodes[i].left = s->nodes[l].right;
	s->nodes[l].right = i;
	tb_fix(s, i);
	tb_fix(s, l);
	return l;
}

/*
 * tb_rotate_left
 *	  Rotate the subtree at i left; returns its new root.
 */
static int32_t
tb_rotate_left(tb_side *s, int32_t i)
{
	int32_t		r = s->nodes[i].right;

	s->nodes[i].right = s->nodes[r].left;
	s->nodes[r].left = i;
	tb_fix(s, i);
	tb_fix(s, r);
	return r;
}

/*
 * tb_balance
 *	  Restore the AVL property at i after a child changed height by one.
 */
static int32_t
tb_balance(tb_side *s, int32_t i)
{
	int			bf;

	tb_fix(s, i);
	bf = tb_height(s, s->nodes[i].left) - tb_height(s, s->nodes[i].right);
	if (bf > 1)
	{
		int32_t		l = s->nodes[i].left;

		if (tb_height(s, s->nodes[l].left) < tb_height(s, s->nodes[l].right))
			s->nodes[i].left = tb_rotate_left(s, l);
		return tb_rotate_right(s, i);
	}
	if (bf < -1)
	{
		int32_t		r = s->nodes[i].right;

		if (tb_height(s, s->nodes[r].right) < tb_height(s, s->nodes[r].left))
			s->nodes[i].right = tb_rotate_right(s, r);
		return tb_rotate_left(s, i);
	}
	return i;
}

/*
 * tb_insert
 *	  Insert node n (key not present) under i; returns the new subtree root.
 */
static int32_t
tb_insert(tb_side *s, int32_t i, int32_t n)
{
	if (i == TB_NIL)
		return n;
	if (s->nodes[n].key < s->nodes[i].key)
		s->nodes[i].left = tb_insert(s, s->nodes[i].left, n);
	else
		s->nodes[i].right = tb_insert(s, s->nodes[i].right, n);
	return tb_balance(s, i);
}

/*
 * tb_remove_min
 *	  Detach the minimum of the subtree at i into *min; returns the new root.
 */
static int32_t
tb_remove_min(tb_side *s, int32_t i, int32_t *min)
{
	if (s->nodes[i].left == TB_NIL)
	{
		*min = i;
		return s->nodes[i].right;
	}
	s->nodes[i].left = tb_remove_min(s, s->nodes[i].left, min);
	return tb_balance(s, i);
}

/*
 * tb_remove
 *	  Detach the node with key k (present) from the subtree at i into
 *	  *gone; returns the new root.
 */
static int32_t
tb_remove(tb_side *s, int32_t i, tb_key k, int32_t *gone)
{
	if (i == TB_NIL)
		return TB_NIL;
	if (k < s->nodes[i].key)
		s->nodes[i].left = tb_remove(s, s->nodes[i].left, k, gone);
	else if (k > s->nodes[i].key)
		s->nodes[i].right = tb_remove(s, s->nodes[i].right, k, gone);
	else
	{
		int32_t		l = s->nodes[i].left,
					r = s->nodes[i].right,
					m;

		*gone = i;
		if (r == TB_NIL)
			return l;
		r = tb_remove_min(s, r, &m);
		s->nodes[m].left = l;
		s->nodes[m].right = r;
		return tb_balance(s, m);
	}
	return tb_balance(s, i);
}

/*
 * tb_find
 *	  Node index with key k, or TB_NIL.
 */
static int32_t
tb_find(const tb_side *s, tb_key k)
{
	int32_t		i = s->root;

	while (i != TB_NIL && s->nodes[i].key != k)
		i = k < s->nodes[i].key ? s->nodes[i].left : s->nodes[i].right;
	return i;
}

/*
 * tb_extreme
 *	  Index of the lowest (max = false) or highest key, or TB_NIL.
 */
static int32_t
tb_extreme(const tb_side *s, bool max)
{
	int32_t		i = s->root;

	while (i != TB_NIL)
	{
		int32_t		next = max ? s->nodes[i].right : s->nodes[i].left;

		if (next == TB_NIL)
			break;
		i = next;
	}
	return i;
}

/*
 * tb_free_node
 *	  Put a detached node on the free list.
 */
static void
tb_free_node(tb_side *s, int32_t i)
{
	s->nodes[i].left = s->free_head;
	s->free_head = i;
	s->count--;
}

/*
 * tb_new_node
 *	  A node from the free list or the pool (grown by doubling up to cap);
 *	  TB_NIL when out of memory.
 */
static int32_t
tb_new_node(tb_side *s, int32_t cap)
{
	int32_t		i;

	if (s->free_head != TB_NIL)
	{
		i = s->free_head;
		s->free_head = s->nodes[i].left;
		return i;
	}
	if (s->used == s->alloc)
	{
		int64_t		want = s->alloc == 0 ? 16 : (int64_t) s->alloc * 2;
		tb_node    *p;

		if (want > cap)
			want = cap;
		if (want <= s->alloc)
			return TB_NIL;
		p = realloc(s->nodes, sizeof(tb_node) * (size_t) want);
		if (p == NULL)
			return TB_NIL;
		s->nodes = p;
		s->alloc = (int32_t) want;
	}
	return s->used++;
}

/* ---- the book ---------------------------------------------------------- */

/*
 * tsk_tb_book_init
 *	  Empty book; no memory until the first level.
 */
void
tsk_tb_book_init(tb_book *b, int max_levels)
{
	memset(b, 0, sizeof *b);
	for (int k = 0; k < 2; k++)
	{
		b->side[k].root = TB_NIL;
		b->side[k].free_head = TB_NIL;
	}
	b->max_levels = max_levels < 1 ? 1 : max_levels > TB_MAX_LEVELS_LIMIT ? TB_MAX_LEVELS_LIMIT : max_levels;
}

/*
 * tsk_tb_book_free
 *	  Release both pools.
 */
void
tsk_tb_book_free(tb_book *b)
{
	int			cap = b->max_levels;

	for (int k = 0; k < 2; k++)
		free(b->side[k].nodes);
	tsk_tb_book_init(b, cap);
}

/*
 * tsk_tb_book_clear
 *	  Forget every level; the pools stay allocated.
 */
void
tsk_tb_book_clear(tb_book *b)
{
	for (int k = 0; k < 2; k++)
	{
		b->side[k].root = TB_NIL;
		b->side[k].free_head = TB_NIL;
		b->side[k].used = 0;
		b->side[k].count = 0;
	}
}

/*
 * tb_worse
 *	  True if key a is a worse price than key b on this side.
 */
static inline bool
tb_worse(int side, tb_key a, tb_key b)
{
	return side == TB_BID ? a < b : a > b;
}

/*
 * tb_level_of
 *	  The level stored in node i.
 */
static inline tb_level
tb_level_of(const tb_side *s, int32_t i)
{
	tb_level	l;

	l.price.mant = s->nodes[i].pmant;
	l.price.dec = s->nodes[i].pdec;
	l.qty.mant = s->nodes[i].qmant;
	l.qty.dec = s->nodes[i].qdec;
	return l;
}

/*
 * tb_delete_key
 *	  Remove the level with key k (present).
 */
static void
tb_delete_key(tb_side *s, tb_key k)
{
	int32_t		gone = TB_NIL;

	s->root = tb_remove(s, s->root, k, &gone);
	if (gone != TB_NIL)
		tb_free_node(s, gone);
}

/*
 * tsk_tb_book_set
 *	  Insert, replace or delete one level (see book.h for the cap rule).
 */
tb_set
tsk_tb_book_set(tb_book *b, int side, tb_dec price, tb_dec qty, tb_level *evicted)
{
	tb_side    *s;
	tb_key		k;
	int32_t		i;
	tb_set		rc = TB_SET_INSERTED;

	if ((side != TB_BID && side != TB_ASK) || price.mant == 0 || price.dec > TB_MAX_DEC ||
		qty.dec > TB_MAX_DEC)
		return TB_SET_INVALID;
	s = &b->side[side];
	k = tsk_tb_dec_key(price);
	if (qty.mant == 0)
	{
		int32_t		gone = TB_NIL;

		/* one descent: remove if present */
		s->root = tb_remove(s, s->root, k, &gone);
		if (gone == TB_NIL)
			return TB_SET_ABSENT;
		tb_free_node(s, gone);
		return TB_SET_DELETED;
	}
	i = s->root == TB_NIL ? TB_NIL : tb_find(s, k);
	if (i != TB_NIL)
	{
		s->nodes[i].qmant = qty.mant;
		s->nodes[i].qdec = qty.dec;
		s->nodes[i].pmant = price.mant;	/* the latest wire form of the price */
		s->nodes[i].pdec = price.dec;
		return TB_SET_UPDATED;
	}
	if (s->count >= b->max_levels)
	{
		int32_t		w = tb_extreme(s, side == TB_ASK);

		if (!tb_worse(side, s->nodes[w].key, k))
			return TB_SET_REFUSED;
		if (evicted)
			*evicted = tb_level_of(s, w);
		tb_delete_key(s, s->nodes[w].key);
		rc = TB_SET_EVICTED;
	}
	if ((i = tb_new_node(s, b->max_levels)) == TB_NIL)
		return TB_SET_NOMEM;
	s->nodes[i].key = k;
	s->nodes[i].pmant = price.mant;
	s->nodes[i].pdec = price.dec;
	s->nodes[i].qmant = qty.mant;
	s->nodes[i].qdec = qty.dec;
	s->nodes[i].left = s->nodes[i].right = TB_NIL;
	s->nodes[i].height = 1;
	s->root = tb_insert(s, s->root, i);
	s->count++;
	return rc;
}

/*
 * tsk_tb_book_get
 *	  Look a level up by price.
 */
bool
tsk_tb_book_get(const tb_book *b, int side, tb_dec price, tb_dec *qty)
{
	const tb_side *s;
	int32_t		i;

	if ((side != TB_BID && side != TB_ASK) || price.dec > TB_MAX_DEC)
		return false;
	s = &b->side[side];
	if (s->root == TB_NIL || (i = tb_find(s, tsk_tb_dec_key(price))) == TB_NIL)
		return false;
	if (qty)
		*qty = tb_level_of(s, i).qty;
	return true;
}

/*
 * tsk_tb_book_truncate
 *	  Keep the best depth levels of each side.
 */
int
tsk_tb_book_truncate(tb_book *b, int depth)
{
	int			removed = 0;

	if (depth < 0)
		depth = 0;
	for (int k = 0; k < 2; k++)
	{
		tb_side    *s = &b->side[k];

		while (s->count > depth)
		{
			tb_delete_key(s, s->nodes[tb_extreme(s, k == TB_ASK)].key);
			removed++;
		}
	}
	return removed;
}

/*
 * tsk_tb_book_count
 *	  Levels on one side.
 */
int
tsk_tb_book_count(const tb_book *b, int side)
{
	return side == TB_BID || side == TB_ASK ? b->side[side].count : 0;
}

/*
 * tsk_tb_book_top
 *	  In-order walk from the best level (explicit stack).
 */
int
tsk_tb_book_top(const tb_book *b, int side, int n, tb_level *out)
{
	const tb_side *s;
	int32_t		stack[TB_STACK];
	int			sp = 0,
				got = 0;
	int32_t		i;
	bool		desc = side == TB_BID;

	if (side != TB_BID && side != TB_ASK)
		return 0;
	s = &b->side[side];
	i = s->root;
	while (got < n && (i != TB_NIL || sp > 0))
	{
		while (i != TB_NIL && sp < TB_STACK)
		{
			stack[sp++] = i;
			i = desc ? s->nodes[i].right : s->nodes[i].left;
		}
		i = stack[--sp];
		out[got++] = tb_level_of(s, i);
		i = desc ? s->nodes[i].left : s->nodes[i].right;
	}
	return got;
}

/*
 * tsk_tb_book_best
 *	  The best level of a side.
 */
bool
tsk_tb_book_best(const tb_book *b, int side, tb_level *out)
{
	int32_t		i;

	if (side != TB_BID && side != TB_ASK)
		return false;
	i = tb_extreme(&b->side[side], side == TB_BID);
	if (i == TB_NIL)
		return false;
	*out = tb_level_of(&b->side[side], i);
	return true;
}

/*
 * tsk_tb_book_crossed
 *	  Best bid at or above best ask.
 */
bool
tsk_tb_book_crossed(const tb_book *b)
{
	tb_level	bid,
				ask;

	return tsk_tb_book_best(b, TB_BID, &bid) && tsk_tb_book_best(b, TB_ASK, &ask) &&
		tsk_tb_dec_cmp(bid.price, ask.price) >= 0;
}

/*
 * tb_check_node
 *	  Verify the subtree at i (keys strictly inside (lo, hi)); returns its
 *	  height, or -1 on a violation (message in *why).
 */
static int
tb_check_node(const tb_side *s, int32_t i, const tb_key *lo, const tb_key *hi,
			  int depth, int *seen, const char **why)
{
	const tb_node *n;
	int			l,
				r;

	if (i == TB_NIL)
		return 0;
	if (i < 0 || i >= s->used || depth > TB_STACK || ++*seen > s->count)
	{
		*why = "bad node index, cycle or count too small";
		return -1;
	}
	n = &s->nodes[i];
	if ((lo && n->key <= *lo) || (hi && n->key >= *hi))
		return (*why = "keys out of order"), -1;
	if (n->qmant == 0 || n->pmant == 0 || n->pdec > TB_MAX_DEC || n->qdec > TB_MAX_DEC)
		return (*why = "zero or malformed level"), -1;
	if (tsk_tb_dec_key((tb_dec) {n->pmant, n->pdec}) != n->key)
		return (*why = "key does not match the price"), -1;
	if ((l = tb_check_node(s, n->left, lo, &n->key, depth + 1, seen, why)) < 0 ||
		(r = tb_check_node(s, n->right, &n->key, hi, depth + 1, seen, why)) < 0)
		return -1;
	if (n->height != 1 + (l > r ? l : r))
		return (*why = "wrong height"), -1;
	if (l - r > 1 || r - l > 1)
		return (*why = "unbalanced"), -1;
	return n->height;
}

/*
 * tsk_tb_book_check
 *	  Every invariant of both sides.
 */
const char *
tsk_tb_book_check(const tb_book *b)
{
	const char *why = NULL;

	for (int k = 0; k < 2; k++)
	{
		const tb_side *s = &b->side[k];
		int			seen = 0;

		if (s->count < 0 || s->count > b->max_levels || s->used > s->alloc ||
			s->alloc > b->max_levels)
			return "count or pool size out of bounds";
		if (tb_check_node(s, s->root, NULL, NULL, 0, &seen, &why) < 0)
			return why;
		if (seen != s->count)
			return "count differs from the levels reachable";
	}
	return NULL;
}

/* ---- checksums --------------------------------------------------------- */

/*
 * tsk_tb_crc32
 *	  Table-driven reflected CRC-32 (polynomial 0xEDB88320), as zlib.
 */
uint32_t
tsk_tb_crc32(uint32_t crc, const void *data, size_t len)
{
	static uint32_t table[256];
	static bool ready = false;
	const unsigned char *p = data;

	if (!ready)
	{
		for (uint32_t i = 0; i < 256; i++)
		{
			uint32_t	c = i;

			for (int j = 0; j < 8; j++)
				c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = true;
	}
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/*
 * tsk_tb_kraken_checksum
 *	  CRC-32 over the 10 best asks then bids (see book.h).
 */
uint32_t
tsk_tb_kraken_checksum(const tb_book *b)
{
	tb_level	lv[10];
	char		text[2 * 10 * 2 * 21 + 1];
	size_t		len = 0;

	for (int side = TB_ASK; side >= TB_BID; side--)
	{
		int			n = tsk_tb_book_top(b, side, 10, lv);

		for (int i = 0; i < n; i++)
		{
			/* point and leading zeros removed = the mantissa's digits */
			if (lv[i].price.mant)
				len += (size_t) snprintf(text + len, sizeof text - len, "%llu",
										 (unsigned long long) lv[i].price.mant);
			if (lv[i].qty.mant)
				len += (size_t) snprintf(text + len, sizeof text - len, "%llu",
										 (unsigned long long) lv[i].qty.mant);
		}
	}
	return tsk_tb_crc32(0, text, len);
}

/* ---- order-flow imbalance ---------------------------------------------- */

/*
 * tsk_tb_ofi_reset
 *	  No previous observation.
 */
void
tsk_tb_ofi_reset(tb_ofi *o)
{
	memset(o, 0, sizeof *o);
}

/*
 * tsk_tb_ofi_observe
 *	  e_n of Cont, Kukanov and Stoikov between the previous and this
 *	  observation (see book.h).
 */
double
tsk_tb_ofi_observe(tb_ofi *o, bool has_bid, double bid_px, double bid_qty,
				   bool has_ask, double ask_px, double ask_qty)
{
	double		e = 0;

	if (o->have)
	{
		if (has_bid && o->bid_ok)
			e += (bid_px >= o->bid_px ? bid_qty : 0) - (bid_px <= o->bid_px ? o->bid_qty : 0);
		if (has_ask && o->ask_ok)
			e += -(ask_px <= o->ask_px ? ask_qty : 0) + (ask_px >= o->ask_px ? o->ask_qty : 0);
	}
	o->have = true;
	o->bid_ok = has_bid;
	o->ask_ok = has_ask;
	o->bid_px = bid_px;
	o->bid_qty = bid_qty;
	o->ask_px = ask_px;
	o->ask_qty = ask_qty;
	return e;
}

/*
 * tsk_tb_ofi_step
 *	  Observe the book's best levels.
 */
double
tsk_tb_ofi_step(tb_ofi *o, const tb_book *b)
{
	tb_level	bid = {{0, 0}, {0, 0}},
				ask = {{0, 0}, {0, 0}};
	bool		hb = tsk_tb_book_best(b, TB_BID, &bid),
				ha = tsk_tb_book_best(b, TB_ASK, &ask);

	return tsk_tb_ofi_observe(o, hb, hb ? tsk_tb_dec_double(bid.price) : 0, hb ? tsk_tb_dec_double(bid.qty) : 0,
							  ha, ha ? tsk_tb_dec_double(ask.price) : 0, ha ? tsk_tb_dec_double(ask.qty) : 0);
}
