/*
 * search.h - attribute filters and BM25 ranking for vector store search.
 */
#ifndef VSE_SEARCH_H
#define VSE_SEARCH_H

#include "store.h"

typedef struct Hit {
	const VSFile *vf;
	size_t chunk;
	double score;
} Hit;

/* 0 if valid, else fills a 400 on r (param = path of the offending field) */
int filter_validate(Req *r, const cJSON *f, const char *path);
bool filter_eval(const cJSON *f, const cJSON *attrs);
/* ranked hits over completed files of vs; returns count, *out malloc'd */
size_t bm25_search(const VectorStore *vs, const uint64_t *terms,
		   size_t nterms, const cJSON *filters, double threshold,
		   Hit **out);
/* deterministic query rewrite (lowercase, no punctuation, no stop words) */
char *rewrite_query(const char *q);

#endif
