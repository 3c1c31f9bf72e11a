/*
 * fmt_common.c
 *	  helpers shared by the exchange formats.
 *
 * Lookup of a format by its --exchange name, collection of instrument keys
 * from a parsed capture frame, subscription of client-supplied instrument
 * names, and small cJSON accessors.
 *
 * Invariants: an instrument name accepted here contains only characters
 * that need no escaping in JSON ([A-Za-z0-9] and "@_./:-"), so renderers
 * may print registered names into JSON strings verbatim.
 */
#include "exchange_sim.h"

#include <stdio.h>
#include <string.h>

/*
 * sim_format_by_name
 *	  The format for an --exchange value, or NULL.
 */
const sim_format *
sim_format_by_name(const char *name)
{
	static const sim_format *const sim_all[] = {
		&sim_fmt_binance, &sim_fmt_coinbase, &sim_fmt_coinbase_adv,
		&sim_fmt_kraken, &sim_fmt_kraken_v2, &sim_fmt_finnhub,
	};

	for (size_t i = 0; i < sizeof(sim_all) / sizeof(sim_all[0]); i++)
		if (strcmp(sim_all[i]->name, name) == 0)
			return sim_all[i];
	return NULL;
}

/*
 * sim_symbol_keys_same
 *	  Subscription key of a symbol that is its own key (all but Binance).
 */
void
sim_symbol_keys_same(const char *symbol, char keys[2][64])
{
	snprintf(keys[0], 64, "%s", symbol);
	keys[1][0] = '\0';
}

/*
 * sim_str_in
 *	  Whether s (may be NULL) is one of the n strings of list.
 */
bool
sim_str_in(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/*
 * sim_add_key
 *	  Add an id to a key list unless present or full.
 */
static void
sim_add_key(int id, int *keys, int *nkeys, int maxkeys)
{
	if (id < 0 || *nkeys >= maxkeys)
		return;
	for (int i = 0; i < *nkeys; i++)
		if (keys[i] == id)
			return;
	keys[(*nkeys)++] = id;
}

/*
 * sim_collect_keys
 *	  Collect the string values of members named key under node (direct members
 *	  only, or at any depth with deep) as instrument ids.
 */
void
sim_collect_keys(const cJSON *node, const char *key, bool deep, int *keys,
				 int *nkeys, int maxkeys)
{
	const cJSON *child;

	cJSON_ArrayForEach(child, node)
	{
		if (child->string != NULL && strcmp(child->string, key) == 0 &&
			cJSON_IsString(child))
			sim_add_key(sim_instr_id(child->valuestring, strlen(child->valuestring)),
						keys, nkeys, maxkeys);
		else if (deep && (cJSON_IsObject(child) || cJSON_IsArray(child)))
			sim_collect_keys(child, key, deep, keys, nkeys, maxkeys);
	}
}

/*
 * sim_name_ok
 *	  Whether a client-supplied instrument name is acceptable.
 */
static bool
sim_name_ok(const char *name)
{
	size_t		n = strlen(name);

	if (n == 0 || n >= 64)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		char		ch = name[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			  (ch >= '0' && ch <= '9') || strchr("@_./:-", ch) != NULL))
			return false;
	}
	return true;
}

/*
 * sim_subscribe_instr
 *	  (Un)subscribe an instrument by name on a channel.  Returns its id, -1 if
 *	  the name is not acceptable, -2 if the registry or the channels are full.
 */
int
sim_subscribe_instr(sim_conn *c, const char *channel, const char *name, bool on)
{
	int			id;

	if (!sim_name_ok(name))
		return -1;
	if ((id = sim_instr_id(name, strlen(name))) < 0 ||
		sim_conn_subscribe(c, channel, id, on) != 0)
		return -2;
	return id;
}

/*
 * sim_json_array_size
 *	  Number of elements of a JSON array (0 for anything else).
 */
int
sim_json_array_size(const cJSON *node)
{
	return cJSON_IsArray(node) ? cJSON_GetArraySize(node) : 0;
}

/*
 * sim_json_str
 *	  String member of an object, or NULL.
 */
const char *
sim_json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/*
 * sim_json_ids
 *	  JSON array of the instrument names subscribed on a channel (NULL: OOM).
 */
cJSON *
sim_json_ids(const sim_channel *ch)
{
	cJSON	   *arr = cJSON_CreateArray();

	if (arr == NULL)
		return NULL;
	for (int id = 0; id < sim_instr_count() && id < SIM_MAX_INSTR; id++)
		if (ch->bits[id / 64] & (UINT64_C(1) << (id % 64)))
		{
			cJSON	   *s = cJSON_CreateString(sim_instr_name(id));

			if (s == NULL || !cJSON_AddItemToArray(arr, s))
			{
				cJSON_Delete(s);
				cJSON_Delete(arr);
				return NULL;
			}
		}
	return arr;
}

/*
 * sim_now_iso
 *	  Print "now" as RFC 3339 with the given digits into a NUL-terminated buf.
 */
void
sim_now_iso(char *buf, int digits, bool trim)
{
	char	   *end = sim_put_iso(buf, sim_wall_ns(), digits, trim);

	*end = '\0';
}
