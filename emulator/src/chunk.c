/*
 * chunk.c - tokenizer approximation, chunking and per-chunk term statistics.
 *
 * Token approximation (the real service uses a BPE tokenizer; we do not):
 *   - whitespace separates units and counts 0 tokens;
 *   - a "word" is a maximal run of ASCII letters/digits and non-ASCII bytes
 *     (so UTF-8 letters stay inside words).  Words longer than 32 bytes are
 *     cut into pieces of at most 32 bytes (on UTF-8 character boundaries);
 *   - a word (piece) of L bytes counts 1 token if L <= 8, else ceil(L/4);
 *   - every other byte (punctuation, symbols) is a unit of 1 token.
 * Chunking: greedy packing of whole units into chunks of at most
 * max_chunk_size_tokens; the next chunk starts so that it repeats at most
 * chunk_overlap_tokens of trailing units of the previous chunk (always
 * making progress).  Chunk text is the byte range from the first unit's
 * first byte to the last unit's last byte.
 * Terms for BM25 are the words, ASCII-lowercased, hashed to 64 bits (FNV-1a).
 */
#include "chunk.h"

#include <stdlib.h>
#include <string.h>

typedef struct Unit {
	uint32_t start, end;
	uint16_t weight;
	uint8_t word;
} Unit;

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static int is_word(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c >= 0x80;
}

int text_check(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c == 0)
			return 1;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
		} else
			return 2;
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
				return 2;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 2;
		i += n + 1;
	}
	return 0;
}

static uint16_t word_weight(size_t len)
{
	return len <= 8 ? 1 : (uint16_t)((len + 3) / 4);
}

/* split s into units; returns count, *out malloc'd */
static size_t units_of(const char *s, size_t len, Unit **out)
{
	size_t cap = 64, n = 0, i = 0;
	Unit *u = malloc(cap * sizeof *u);
	const unsigned char *p = (const unsigned char *)s;

	while (i < len) {
		size_t j;

		if (is_space(p[i])) {
			i++;
			continue;
		}
		if (n == cap) {
			cap *= 2;
			u = realloc(u, cap * sizeof *u);
		}
		if (is_word(p[i])) {
			j = i;
			while (j < len && j - i < 32 && is_word(p[j]))
				j++;
			/* do not cut inside a UTF-8 sequence */
			while (j < len && j > i + 1 && (p[j] & 0xC0) == 0x80 &&
			       is_word(p[j]))
				j--;
			u[n].word = 1;
			u[n].weight = word_weight(j - i);
		} else {
			j = i + 1;
			u[n].word = 0;
			u[n].weight = 1;
		}
		u[n].start = (uint32_t)i;
		u[n].end = (uint32_t)j;
		n++;
		i = j;
	}
	*out = u;
	return n;
}

size_t count_tokens(const char *s, size_t len)
{
	Unit *u;
	size_t n = units_of(s, len, &u), t = 0;

	for (size_t i = 0; i < n; i++)
		t += u[i].weight;
	free(u);
	return t;
}

static uint64_t hash_word(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h ^= c;
		h *= 1099511628211ULL;
	}
	return h;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* sort hashes and collapse into (term, tf) pairs */
static uint32_t collapse(uint64_t *h, size_t n, uint32_t *tf)
{
	uint32_t m = 0;

	qsort(h, n, sizeof *h, cmp_u64);
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && h[m - 1] == h[i]) {
			tf[m - 1]++;
			continue;
		}
		h[m] = h[i];
		tf[m] = 1;
		m++;
	}
	return m;
}

size_t chunk_text(const char *s, size_t len, int max_tokens, int overlap,
		  Chunk **out)
{
	Unit *u;
	size_t n = units_of(s, len, &u), cap = 8, nc = 0, i = 0;
	Chunk *c = malloc(cap * sizeof *c);

	while (i < n) {
		size_t j = i, tok = 0, k, ov = 0, nw = 0;
		Chunk *ch;

		while (j < n && tok + u[j].weight <= (size_t)max_tokens)
			tok += u[j++].weight;
		if (j == i)   /* cannot happen: units weigh <= 8 tokens */
			tok += u[j++].weight;
		if (nc == cap) {
			cap *= 2;
			c = realloc(c, cap * sizeof *c);
		}
		ch = &c[nc++];
		ch->start = u[i].start;
		ch->end = u[j - 1].end;
		ch->ntok = (uint32_t)tok;
		for (k = i; k < j; k++)
			nw += u[k].word;
		ch->terms = malloc((nw ? nw : 1) * sizeof(uint64_t));
		ch->tf = malloc((nw ? nw : 1) * sizeof(uint32_t));
		nw = 0;
		for (k = i; k < j; k++)
			if (u[k].word)
				ch->terms[nw++] = hash_word(s + u[k].start,
							    u[k].end - u[k].start);
		ch->nuniq = collapse(ch->terms, nw, ch->tf);
		if (j >= n)
			break;
		k = j;
		while (k > i + 1 && ov + u[k - 1].weight <= (size_t)overlap)
			ov += u[--k].weight;
		i = k;
	}
	free(u);
	*out = c;
	return nc;
}

void chunks_free(Chunk *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].terms);
		free(c[i].tf);
	}
	free(c);
}

size_t query_terms(const char *s, uint64_t **out)
{
	Unit *u;
	size_t n = units_of(s, strlen(s), &u), m = 0;
	uint64_t *h = malloc((n ? n : 1) * sizeof *h);
	uint32_t *tf = malloc((n ? n : 1) * sizeof *tf);

	for (size_t i = 0; i < n; i++)
		if (u[i].word)
			h[m++] = hash_word(s + u[i].start, u[i].end - u[i].start);
	m = collapse(h, m, tf);
	free(tf);
	free(u);
	*out = h;
	return m;
}

uint32_t chunk_tf(const Chunk *c, uint64_t h)
{
	size_t lo = 0, hi = c->nuniq;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c->terms[mid] == h)
			return c->tf[mid];
		if (c->terms[mid] < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}
