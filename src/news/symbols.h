/*
 * symbols.h
 *	  finds which symbols a news text mentions (pure C, no PostgreSQL headers;
 *	  the SQL glue is match_symbols() in src/news/news_sql.c).
 *
 * An alias ("bitcoin", "BTC", "shiba inu") matches where it occurs in the
 * text ASCII-case-insensitively on word boundaries: the bytes just before
 * and just after the occurrence are not word bytes.  Word bytes are ASCII
 * letters, digits, '_' and every byte >= 0x80 (so an alias never matches
 * inside a non-ASCII word).  Hence "Bitcoin's", "$BTC", "(BTC)" and
 * "BTC-USD" all mention BTC, while "BTCUSD", "ethereum" (for "ether") and
 * "subtle" do not.  Inside an alias, any run of spaces in the alias matches
 * one or more whitespace characters in the text.
 *
 * Invariants: never reads outside [text, text + len); no allocation;
 * linear in len for each alias.
 */
#ifndef TRIGGERSTOCK_SYMBOLS_H
#define TRIGGERSTOCK_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct symbol_alias
{
	const char *alias;			/* bytes of the alias (need not be NUL-terminated) */
	size_t		len;
	int			symbol;			/* caller's symbol index, 0 .. nsymbols - 1 */
} symbol_alias;

/*
 * Sets found[a->symbol] = true for every alias occurring in text[0..len);
 * found[] (nsymbols entries) is not cleared first, and aliases of symbols
 * already found are skipped.  Returns the number of symbols newly found.
 * Aliases with len 0 or a symbol outside
 * [0, nsymbols) are ignored.
 */
extern size_t tsk_symbols_match(const char *text, size_t len,
							const symbol_alias *aliases, size_t naliases,
							bool *found, int nsymbols);

/* True if alias occurs in text on word boundaries (see the banner). */
extern bool tsk_symbols_alias_occurs(const char *text, size_t len,
								 const char *alias, size_t alias_len);

#endif							/* TRIGGERSTOCK_SYMBOLS_H */
