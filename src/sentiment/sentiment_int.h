/*
 * sentiment_int.h
 *	  Internals shared by the three parts of the scorer: sentiment_token.c
 *	  (tokeniser), sentiment.c (scorer) and sentiment_load.c (lexicon block,
 *	  file parsers, accessors).  Not part of the public API (sentiment.h); no
 *	  PostgreSQL headers.
 *
 * Invariants: a lexicon is ONE pointer-free block (header, sent_entry array,
 * hash slots, key bytes; see sentiment_load.c), so every reference inside
 * it is an offset and the block can be copied anywhere 8-byte aligned.
 */
#ifndef TRIGGERSTOCK_SENTIMENT_INT_H
#define TRIGGERSTOCK_SENTIMENT_INT_H

#include "sentiment/sentiment.h"

#define SENT_MAGIC           0x544e4553u /* "SENT" */
#define SENT_F_HEAD          1u          /* a longer phrase starts with this key */
#define SENT_F_PLACEHOLDER   2u          /* phrase head only, no value of its own */
#define SENT_PHRASE_BUF      (SENTIMENT_MAX_PHRASE * (SENTIMENT_MAX_WORD + 1))

typedef struct sent_entry
{
	uint32_t key_off;                  /* offset into the key bytes */
	uint8_t key_len, role, flags, pad; /* role: sentiment_role */
	float value;
} sent_entry;

struct SentimentLexicon
{
	uint32_t magic, format;        /* SENT_MAGIC, sentiment_format */
	uint64_t memsize;              /* bytes of the whole block */
	uint32_t n_entries;            /* used entries, placeholders included */
	uint32_t n_keys;               /* user-visible entries */
	uint32_t cap_entries, n_slots; /* n_slots: power of two */
	uint32_t key_used, key_cap, max_phrase, pad;
	/* followed by sent_entry[cap_entries], uint32_t slots[n_slots], keys */
};

/* Arrays of a lexicon block (see its layout above). */
#define SENT_ENTRIES(lex) ((sent_entry *) ((char *) (lex) + sizeof(SentimentLexicon)))
#define SENT_SLOTS(lex)   ((uint32_t *) (SENT_ENTRIES(lex) + (lex)->cap_entries))
#define SENT_KEYS(lex)    ((char *) (SENT_SLOTS(lex) + (lex)->n_slots))

/*
 * sent_digit
 *	  Accumulates digit character c into *v: integer part while *scale == 0,
 *	  else the next fraction digit.
 */
static inline void
sent_digit(double *v, double *scale, char c)
{
	if (*scale > 0)
		*v += (c - '0') * (*scale /= 10);
	else
		*v = *v * 10 + (c - '0');
}

/* Entry for normalised key[0..n) (as produced by the tokeniser), or NULL. */
extern const sent_entry *tsk_sent_find(const SentimentLexicon *lex, const char *key, size_t n);

#endif							/* TRIGGERSTOCK_SENTIMENT_INT_H */
