/*
 * chunk.h - tokenizer approximation, chunking and term statistics.
 */
#ifndef VSE_CHUNK_H
#define VSE_CHUNK_H

#include <stddef.h>
#include <stdint.h>

typedef struct Chunk {
	uint32_t start, end;   /* byte range in the file */
	uint32_t ntok;         /* approximate tokens (BM25 document length) */
	uint32_t nuniq;        /* distinct terms */
	uint64_t *terms;       /* sorted term hashes */
	uint32_t *tf;          /* term frequencies, parallel to terms */
} Chunk;

/* 0 = valid UTF-8 text, 1 = contains NUL bytes, 2 = invalid UTF-8 */
int text_check(const unsigned char *s, size_t len);
/* approximate token count of a string */
size_t count_tokens(const char *s, size_t len);
/* split text into chunks; returns number of chunks, *out malloc'd */
size_t chunk_text(const char *s, size_t len, int max_tokens, int overlap,
		  Chunk **out);
void chunks_free(Chunk *c, size_t n);
/* distinct term hashes of a query string; returns count, *out malloc'd */
size_t query_terms(const char *s, uint64_t **out);
/* term frequency of hash h in chunk c */
uint32_t chunk_tf(const Chunk *c, uint64_t h);

#endif
