/*
 * replay.c
 *	  capture reader: one WebSocket text frame per line, plain or
 *	  gzip-compressed (zlib's gzread reads both transparently).
 *
 * The whole file is loaded once; every non-empty line becomes a frame that
 * is served byte for byte.  At load time each frame is parsed once with
 * cJSON so the exchange format can name the instruments it mentions (for
 * subscription filtering) and count its trades (for statistics).  A line
 * that is not JSON is still served; it names no instrument and carries no
 * trades.
 *
 * Invariants: frames are in file order; a frame's bytes exclude the line
 * terminator ("\n" or "\r\n"); all key ids are registered instrument ids.
 */
#include "exchange_sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SIM_MAX_FRAME_KEYS 64

typedef struct sim_rframe
{
	size_t		off;			/* payload offset in sim_rdata */
	size_t		len;
	uint32_t	key0;			/* first key in sim_rkeys */
	uint16_t	nkeys;
	int			ntrades;
} sim_rframe;

static char *sim_rdata;
static sim_rframe *sim_rframes;
static uint64_t sim_nrframes;
static int *sim_rkeys;
static size_t sim_nrkeys;

/*
 * sim_read_all
 *	  Read a whole (possibly gzip-compressed) file; NULL and a message on
 *	  error.
 */
static char *
sim_read_all(const char *path, size_t *lenp)
{
	gzFile		gz = gzopen(path, "rb");
	size_t		cap = 1 << 20;
	size_t		len = 0;
	char	   *buf;

	if (gz == NULL)
	{
		fprintf(stderr, "exchange_sim: cannot open %s: %s\n", path,
				errno ? strerror(errno) : "out of memory");
		return NULL;
	}
	if ((buf = malloc(cap)) == NULL)
	{
		fprintf(stderr, "exchange_sim: out of memory reading %s\n", path);
		gzclose(gz);
		return NULL;
	}
	for (;;)
	{
		int			n;

		if (cap - len < (1 << 16))
		{
			char	   *p = realloc(buf, cap * 2);

			if (p == NULL)
			{
				fprintf(stderr, "exchange_sim: out of memory reading %s\n", path);
				free(buf);
				gzclose(gz);
				return NULL;
			}
			buf = p;
			cap *= 2;
		}
		n = gzread(gz, buf + len, (unsigned) (cap - len));
		if (n < 0)
		{
			int			zerr;
			const char *msg = gzerror(gz, &zerr);

			fprintf(stderr, "exchange_sim: cannot read %s: %s\n", path,
					zerr == Z_ERRNO ? strerror(errno) : msg);
			free(buf);
			gzclose(gz);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t) n;
	}
	if (gzclose(gz) != Z_OK)
	{
		fprintf(stderr, "exchange_sim: cannot read %s: truncated or corrupt\n", path);
		free(buf);
		return NULL;
	}
	*lenp = len;
	return buf;
}

/*
 * sim_add_frame
 *	  Append one line as a frame, describing it with the exchange format.
 */
static int
sim_add_frame(const sim_format *fmt, size_t off, size_t len, size_t *capp,
			  size_t *kcapp)
{
	int			keys[SIM_MAX_FRAME_KEYS];
	int			nkeys = 0;
	int			ntrades = 0;
	cJSON	   *root;
	sim_rframe *f;

	if (sim_nrframes == *capp)
	{
		size_t		cap = *capp ? *capp * 2 : 4096;
		sim_rframe *p = realloc(sim_rframes, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		sim_rframes = p;
		*capp = cap;
	}
	root = cJSON_ParseWithLength(sim_rdata + off, len);
	if (root != NULL)
	{
		fmt->describe(root, keys, &nkeys, SIM_MAX_FRAME_KEYS, &ntrades);
		cJSON_Delete(root);
	}
	if (sim_nrkeys + (size_t) nkeys > *kcapp)
	{
		size_t		kcap = (*kcapp ? *kcapp * 2 : 4096) + (size_t) nkeys;
		int		   *p = realloc(sim_rkeys, kcap * sizeof(*p));

		if (p == NULL)
			return -1;
		sim_rkeys = p;
		*kcapp = kcap;
	}
	f = &sim_rframes[sim_nrframes++];
	f->off = off;
	f->len = len;
	f->key0 = (uint32_t) sim_nrkeys;
	f->nkeys = (uint16_t) nkeys;
	f->ntrades = ntrades;
	if (nkeys > 0)
		memcpy(sim_rkeys + sim_nrkeys, keys, (size_t) nkeys * sizeof(int));
	sim_nrkeys += (size_t) nkeys;
	return 0;
}

/*
 * sim_replay_load
 *	  Load a capture; 0 on success, -1 with a message on stderr.
 */
int
sim_replay_load(const char *path, const sim_format *fmt)
{
	size_t		len;
	size_t		cap = 0;
	size_t		kcap = 0;
	size_t		start = 0;

	if ((sim_rdata = sim_read_all(path, &len)) == NULL)
		return -1;
	while (start < len)
	{
		char	   *nl = memchr(sim_rdata + start, '\n', len - start);
		size_t		end = nl ? (size_t) (nl - sim_rdata) : len;
		size_t		flen = end - start;

		if (flen > 0 && sim_rdata[end - 1] == '\r')
			flen--;
		if (flen > 0 && sim_add_frame(fmt, start, flen, &cap, &kcap) != 0)
		{
			fprintf(stderr, "exchange_sim: out of memory indexing %s\n", path);
			return -1;
		}
		start = end + 1;
	}
	if (sim_nrframes == 0)
	{
		fprintf(stderr, "exchange_sim: %s holds no frames\n", path);
		return -1;
	}
	return 0;
}

/*
 * sim_replay_get
 *	  Frame at pos, or SIM_GET_END past the last line.
 */
enum sim_get
sim_replay_get(uint64_t pos, sim_item *it)
{
	const sim_rframe *f;

	if (pos >= sim_nrframes)
		return SIM_GET_END;
	f = &sim_rframes[pos];
	it->payload = sim_rdata + f->off;
	it->len = f->len;
	it->keys = sim_rkeys + f->key0;
	it->nkeys = f->nkeys;
	it->ntrades = f->ntrades;
	it->frame = NULL;
	return SIM_GET_OK;
}

/*
 * sim_replay_frames
 *	  Number of frames in the capture.
 */
uint64_t
sim_replay_frames(void)
{
	return sim_nrframes;
}

/*
 * sim_replay_free
 *	  Release the capture.
 */
void
sim_replay_free(void)
{
	free(sim_rdata);
	free(sim_rframes);
	free(sim_rkeys);
	sim_rdata = NULL;
	sim_rframes = NULL;
	sim_rkeys = NULL;
	sim_nrframes = 0;
	sim_nrkeys = 0;
}
