/*
 * sentiment.h
 *	  pure-C lexicon sentiment scorer for financial news headlines.
 *
 * Purpose
 *   Scores short English texts (headlines, news sentences) in [-1, 1] with a
 *   word lexicon plus a small grammar.  No PostgreSQL headers: the SQL glue
 *   (the other src files) wraps these functions.
 *
 * Pipeline
 *   1. Tokeniser (tsk_sentiment_next_token): UTF-8 safe, case-insensitive.  Words
 *      are runs of letters/digits (any valid non-ASCII letter included);
 *      apostrophes (' and U+2019) are kept only between two letters, so
 *      "don't" and "n't" stay whole and a trailing "'s" is dropped; hyphens
 *      split words ("loss-making" -> "loss" "making", matched as a phrase);
 *      numbers keep "." and "," between digits ("100,000" -> 100000,
 *      "13.1" -> 13.1, ".5" -> 0.5); '%' is its own token; the characters
 *      . , ; : ! ? ( ) [ ] { } and newlines are punctuation tokens (scope
 *      boundaries); other symbols and invalid UTF-8 bytes are skipped and
 *      never end up inside a token.
 *   2. Lookup: longest match of up to SENTIMENT_MAX_PHRASE tokens in the
 *      lexicon's hash table (FNV-1a, open addressing), so multi-word entries
 *      ("profit warning", "etf approval") beat single words.
 *   3. Grammar (applied with every lexicon; the function words come from the
 *      built-in table):
 *        negation     a negator (not, no, never, without, *n't, ...) at most
 *                     3 tokens before a scored word, not across punctuation,
 *                     multiplies it by SENTIMENT_NEGATION (-0.74, VADER's);
 *        intensifiers a booster/dampener up to 3 tokens before (decay 1,
 *                     0.95, 0.9) or right after a scored word multiplies it
 *                     by (1 + b), b > 0 for "sharply", b < 0 for "slightly";
 *        contrast     in a sentence containing "but"/"however"/..., words
 *                     before the last contrast word weigh 0.5, words after
 *                     it weigh 1.5 (a contrast word with no word after it,
 *                     as in "..., however.", changes nothing).
 *      Scopes never cross a sentence end (. ! ? ; newline); a sentence of
 *      more than 256 tokens is scored in 256-token pieces.
 *   4. Financial composition rules (built-in lexicon only; the constants
 *      named here are in sentiment.c):
 *      R1 direction x object.  A direction word (role UP/DOWN: rose, fell,
 *         higher, narrowed, cut ...) binds an object word (GOOD: profit,
 *         sales, orders ...; BAD: loss, costs, debt ...), trying in order:
 *         - destination: "fell to a (net) loss": an object at most 3 plain
 *           words after a following "to"/"into" is where the figure ended
 *           up, and the contribution takes the object's own sign;
 *         - object: one at most 2 plain words after ("lower operating
 *           costs"), else the nearest one up to SENT_BACK_WINDOW tokens
 *           before (across commas and parentheses, not across other
 *           punctuation, "but" or "while"; a bound direction word on the
 *           way lends its object: "profit rose 5 %, up from ..."), else one
 *           up to SENT_FWD_WINDOW tokens after ("an increase of 5 % in net
 *           sales"); the sign is sign(direction) * sign(object);
 *         - origin: "loss of X, down from a profit": if "from" follows and
 *           names an object of the other kind, it is a swing and the sign
 *           is that of the bound object.
 *         A run of object words resolves to its last one ("sales growth
 *         forecast").  The contribution is |valence of the direction word|
 *         and the bound objects' own valences are not counted; an unbound
 *         direction word counts SENT_DIR_ALONE times its valence.
 *      R2 comparison.  An object left unbound by R1, followed within
 *         SENT_NUM_WINDOW tokens (no direction word or other object in
 *         between) by a number N1, a comparison word (from, compared,
 *         versus, against) and a number N2, takes the direction N2 -> N1
 *         times its own sign; an object of the same kind may precede N2
 *         ("a loss of 0.4 mn compared to a loss of 1.9 mn").  If an object
 *         of the other kind follows the comparison word ("a profit of X
 *         compared to a loss of Y") it takes its own sign.  Units (mn, bn,
 *         thousand) are scaled; years and %/non-% pairs are ignored; the
 *         magnitude is SENT_NUM_WEIGHT.
 *      Negation, intensifiers and contrast weights then apply at the
 *      position of the direction word (R1) or of the object (R2).
 *   5. Normalisation: S is the sum of all contributions (valences in [-1, 1]);
 *          score = S / sqrt(S * S + SENTIMENT_ALPHA)      (SENTIMENT_ALPHA = 1)
 *      i.e. VADER's x / sqrt(x^2 + 15) rescaled from its [-4, 4] valence
 *      range to ours ([-1, 1]): 15 / 16 ~ 1.  The result is always in
 *      (-1, 1), 0 for texts with no sentiment-bearing word.
 *
 * Labels: tsk_sentiment_label() maps score <= -SENTIMENT_LABEL_THRESHOLD to -1
 * (negative), score >= SENTIMENT_LABEL_THRESHOLD to +1 (positive), else 0.
 * The threshold 0.30 (|S| >= 0.315) keeps a single weak cue neutral (the
 * lexicon gives weak cues |v| <= 0.3: "contract", "agreement", an unbound
 * direction word) while one clear cue or two weak ones label the text.  It
 * was chosen on Financial PhraseBank Sentences_50Agree (the sweep printed by
 * test/bench/phrasebank_eval.c), so the figures there are in-sample.
 *
 * Lexicons
 *   The built-in lexicon (NULL pointer everywhere) is written by this project
 *   (src/sentiment/sentiment_lexicon.c).  Files are loaded from memory buffers
 *   (tsk_sentiment_lexicon_load) in VADER, Loughran-McDonald .cat or AFINN format.
 *   A loaded lexicon is ONE malloc'd, pointer-free block of
 *   tsk_sentiment_lexicon_memsize() bytes: it can be memcpy'd to any 8-byte
 *   aligned memory (e.g. palloc'd in a PostgreSQL memory context) and used
 *   from there; free the original with tsk_sentiment_lexicon_free().  Lexicons
 *   are read-only after loading and may be shared freely.
 *
 * Invariants
 *   - No function reads outside [text, text + len) or allocates while scoring;
 *     scoring uses a fixed amount of stack and is linear in len.
 *   - Parsing never trusts its input: every malformed buffer yields NULL and
 *     a sentiment_error, never a crash or an out-of-bounds read.
 *   - The built-in lexicon is initialised on first use (not thread-safe on
 *     that first call; PostgreSQL backends are single-threaded).
 */
#ifndef TRIGGERSTOCK_SENTIMENT_H
#define TRIGGERSTOCK_SENTIMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest token (bytes, normalised) that can match a lexicon entry. */
#define SENTIMENT_MAX_WORD 48
/* Longest lexicon phrase, in tokens. */
#define SENTIMENT_MAX_PHRASE 4
/* Normalisation constant: score = S / sqrt(S^2 + SENTIMENT_ALPHA). */
#define SENTIMENT_ALPHA 1.0
/* Factor applied to a word negated by a preceding negator. */
#define SENTIMENT_NEGATION (-0.74)
/* |score| at or above which a text is labelled positive/negative. */
#define SENTIMENT_LABEL_THRESHOLD 0.30
/* Largest buffer tsk_sentiment_lexicon_load() accepts (bytes). */
#define SENTIMENT_MAX_LEXICON_BYTES (64u * 1024u * 1024u)

/* ---- Tokeniser ---------------------------------------------------------- */

typedef enum sentiment_token_type
{
	SENTIMENT_TOK_WORD = 0,     /* letters (maybe digits) */
	SENTIMENT_TOK_NUMBER,       /* digits with optional . , separators */
	SENTIMENT_TOK_PERCENT,      /* '%' */
	SENTIMENT_TOK_PUNCT         /* scope boundary; see punct */
} sentiment_token_type;

typedef struct sentiment_token
{
	sentiment_token_type type;
	size_t      offset;         /* byte offset of the token in the text */
	size_t      length;         /* byte length in the text */
	char        norm[SENTIMENT_MAX_WORD + 1];  /* lowercased, NUL-terminated */
	uint8_t     norm_len;
	bool        truncated;      /* norm was cut: the token never matches */
	char        punct;          /* PUNCT: one of . , ; : ! ? ( ) [ ] { } \n */
	double      number;         /* NUMBER: parsed value */
} sentiment_token;

/*
 * Reads the next token of text[0..len) starting at *pos; advances *pos.
 * Returns false (and leaves *tok unspecified) at the end of the text or
 * when text is NULL.
 */
extern bool tsk_sentiment_next_token(const char *text, size_t len, size_t *pos,
								 sentiment_token *tok);

/* True for punctuation that ends a sentence (. ! ? ; newline). */
extern bool tsk_sentiment_token_ends_sentence(const sentiment_token *tok);

/* ---- Lexicons ----------------------------------------------------------- */

typedef enum sentiment_format
{
	SENTIMENT_FORMAT_AUTO = 0,  /* detect from the content (load only) */
	SENTIMENT_FORMAT_VADER,     /* token TAB mean TAB std TAB [ratings]; mean/4 */
	SENTIMENT_FORMAT_LM,        /* Loughran-McDonald .cat: POSITIVE +1, NEGATIVE -1 */
	SENTIMENT_FORMAT_AFINN,     /* term TAB integer -5..5; score/5 */
	SENTIMENT_FORMAT_BUILTIN    /* the project's own table (never loaded) */
} sentiment_format;

typedef enum sentiment_status
{
	SENTIMENT_OK = 0,
	SENTIMENT_ERR_ARGUMENT,     /* NULL buffer with len > 0, bad format enum */
	SENTIMENT_ERR_EMPTY,        /* no usable entry at all */
	SENTIMENT_ERR_TOO_LARGE,    /* buffer over SENTIMENT_MAX_LEXICON_BYTES */
	SENTIMENT_ERR_DETECT,       /* AUTO could not recognise the format */
	SENTIMENT_ERR_SYNTAX,       /* malformed line (see line/message) */
	SENTIMENT_ERR_NOMEM
} sentiment_status;

typedef struct sentiment_error
{
	sentiment_status status;
	size_t      line;           /* 1-based line of a syntax error, else 0 */
	char        message[160];   /* human-readable, always NUL-terminated */
} sentiment_error;

/* Opaque; one relocatable block (see the banner). */
typedef struct SentimentLexicon SentimentLexicon;

/*
 * Parses a lexicon file held in buf[0..len) (need not be NUL-terminated).
 * Entries whose key does not tokenise to 1..SENTIMENT_MAX_PHRASE words
 * (emoticons, keys with digits or punctuation) are skipped, not errors; the
 * first of several entries with the same normalised key wins.  Returns NULL
 * and fills *err (if err is not NULL) on failure.
 */
extern SentimentLexicon *tsk_sentiment_lexicon_load(const void *buf, size_t len,
												sentiment_format format,
												sentiment_error *err);

/* Frees a loaded lexicon (NULL and the built-in lexicon are ignored). */
extern void tsk_sentiment_lexicon_free(SentimentLexicon *lex);

/* The built-in lexicon (what a NULL lexicon pointer means); never freed. */
extern const SentimentLexicon *tsk_sentiment_builtin_lexicon(void);

/* Size in bytes of the lexicon's single block (for copying it). */
extern size_t tsk_sentiment_lexicon_memsize(const SentimentLexicon *lex);

/* Number of entries (phrases count once; NULL = built-in). */
extern size_t tsk_sentiment_lexicon_entries(const SentimentLexicon *lex);

/* Format the lexicon was loaded from (NULL = built-in). */
extern sentiment_format tsk_sentiment_lexicon_format(const SentimentLexicon *lex);

/*
 * Looks up a word or phrase (normalised with the tokeniser, so case and
 * hyphens do not matter).  Returns true and the valence in [-1, 1] if found.
 */
extern bool tsk_sentiment_lexicon_lookup(const SentimentLexicon *lex,
									 const char *key, size_t len,
									 double *valence);

/* "auto", "vader", "lm", "afinn", "builtin"; NULL for an invalid value. */
extern const char *tsk_sentiment_format_name(sentiment_format format);

/* Parses a format name (case-insensitive; "loughran-mcdonald" and "lm" both
 * accepted).  Returns false for an unknown name. */
extern bool tsk_sentiment_format_from_name(const char *name, sentiment_format *out);

/* ---- Scoring ------------------------------------------------------------ */

typedef struct sentiment_detail
{
	double      raw;            /* S, the unnormalised sum */
	double      positive;       /* sum of positive contributions */
	double      negative;       /* sum of negative contributions (<= 0) */
	size_t      tokens;         /* tokens read */
	size_t      hits;           /* contributions counted */
} sentiment_detail;

/* Score of text[0..len) in [-1, 1]; lex NULL = built-in lexicon. */
extern double tsk_sentiment_score(const SentimentLexicon *lex, const char *text,
							  size_t len);

/* Same, also filling *detail when it is not NULL. */
extern double tsk_sentiment_score_detail(const SentimentLexicon *lex,
									 const char *text, size_t len,
									 sentiment_detail *detail);

/* -1, 0 or +1 with SENTIMENT_LABEL_THRESHOLD (see the banner). */
extern int tsk_sentiment_label(double score);

/* ---- Built-in table (shared with src/sentiment/sentiment_lexicon.c only) ---------- */

/* Grammatical/financial role of a built-in entry. */
typedef enum sentiment_role
{
	SENTIMENT_ROLE_NONE = 0,    /* plain valence word */
	SENTIMENT_ROLE_NEGATOR,     /* flips the next scored word (3 tokens) */
	SENTIMENT_ROLE_BOOSTER,     /* value = b: multiplies by (1 + b) */
	SENTIMENT_ROLE_CONTRAST,    /* "but": re-weights the sentence */
	SENTIMENT_ROLE_UP,          /* direction word, value = own valence > 0 */
	SENTIMENT_ROLE_DOWN,        /* direction word, value = own valence < 0 */
	SENTIMENT_ROLE_GOOD,        /* object whose increase is good */
	SENTIMENT_ROLE_BAD,         /* object whose increase is bad */
	SENTIMENT_ROLE_COMPARE,     /* "from", "compared", "versus" (rule R2) */
	SENTIMENT_ROLE_CLAUSE       /* "while", "whereas": R1 does not look past */
} sentiment_role;

typedef struct sentiment_builtin_entry
{
	const char *key;            /* word or phrase, lower case */
	float       value;          /* valence in [-1, 1] (booster: b) */
	uint8_t     role;           /* sentiment_role */
} sentiment_builtin_entry;

extern const sentiment_builtin_entry tsk_sentiment_builtin_entries[];
extern const size_t tsk_sentiment_builtin_count;

#endif                          /* TRIGGERSTOCK_SENTIMENT_H */
