/*
 * symbols.c
 *	  word-boundary, case-insensitive alias matching (see symbols.h).
 *
 * Invariants: every index is checked against len before it is read; the
 * only state is on the stack.
 */
#include "news/symbols.h"

/*
 * sym_fold
 *	  ASCII lower case of c; other bytes unchanged.
 */
static unsigned char
sym_fold(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char) (c + ('a' - 'A')) : c;
}

/*
 * sym_is_word
 *	  True for bytes that belong to words (see symbols.h).
 */
static bool
sym_is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

/*
 * sym_is_space
 *	  True for ASCII whitespace.
 */
static bool
sym_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * sym_match_at
 *	  Matches alias[0..alen) at text[start..len); returns the end offset of the
 *	  match, or 0 when it does not match there (a match is never empty).
 */
static size_t
sym_match_at(const unsigned char *text, size_t len, size_t start,
			 const unsigned char *alias, size_t alen)
{
	size_t		i = start,
				k = 0;

	while (k < alen)
	{
		if (sym_is_space(alias[k]))
		{
			if (i >= len || !sym_is_space(text[i]))
				return 0;
			while (k < alen && sym_is_space(alias[k]))
				k++;
			while (i < len && sym_is_space(text[i]))
				i++;
			continue;
		}
		if (i >= len || sym_fold(text[i]) != sym_fold(alias[k]))
			return 0;
		i++, k++;
	}
	return i;
}

/*
 * tsk_symbols_alias_occurs
 *	  See symbols.h.
 */
bool
tsk_symbols_alias_occurs(const char *text, size_t len, const char *alias, size_t alias_len)
{
	const unsigned char *t = (const unsigned char *) text;
	const unsigned char *a = (const unsigned char *) alias;
	unsigned char first;
	size_t		i,
				end;

	if (text == NULL || alias == NULL || alias_len == 0 || sym_is_space(a[0]))
		return false;
	first = sym_fold(a[0]);
	for (i = 0; i < len; i++)
	{
		if (sym_fold(t[i]) != first)
			continue;
		if (i > 0 && sym_is_word(t[i - 1]))
			continue;
		end = sym_match_at(t, len, i, a, alias_len);
		if (end != 0 && (end >= len || !sym_is_word(t[end])))
			return true;
	}
	return false;
}

/*
 * tsk_symbols_match
 *	  See symbols.h.
 */
size_t
tsk_symbols_match(const char *text, size_t len, const symbol_alias *aliases, size_t naliases,
			  bool *found, int nsymbols)
{
	size_t		matched = 0;

	for (size_t i = 0; aliases != NULL && i < naliases; i++)
	{
		const symbol_alias *a = &aliases[i];

		if (a->symbol < 0 || a->symbol >= nsymbols || found[a->symbol])
			continue;
		if (tsk_symbols_alias_occurs(text, len, a->alias, a->len))
		{
			found[a->symbol] = true;
			matched++;
		}
	}
	return matched;
}
