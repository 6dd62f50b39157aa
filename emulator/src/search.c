/*
 * search.c - attribute filters and BM25 ranking.
 *
 * Ranking is lexical, not semantic: Okapi BM25 with k1 = 1.2, b = 0.75
 * over the chunks of the *completed* files of one vector store that pass
 * the attribute filter.  For query terms t (distinct, over all query
 * strings):  idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)),
 *   raw(c) = sum_t idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl/avgdl))
 * where N = number of chunks, df = chunks containing t, dl = chunk tokens.
 * The reported score is raw / (raw + 1), a monotonic map into (0, 1) that
 * does not depend on the other results (so thresholds are stable).
 * Chunks with raw score 0 are never returned.  Ties are broken by file
 * creation order, then chunk index, so results are deterministic.
 * All rankers (auto, default-2024-11-15, none) rank the same way.
 *
 * Filter semantics: eq/ne compare type and value; gt/gte/lt/lte compare
 * two numbers numerically or two strings by byte order (other pairs are
 * false); in/nin test membership in the array.  A missing attribute makes
 * every comparison false except ne and nin, which are true.
 */
#include "search.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cmp_ops[] = {"eq", "ne", "gt", "gte", "lt", "lte",
				      "in", "nin", NULL};

static int op_index(const char *s)
{
	for (int i = 0; cmp_ops[i]; i++)
		if (strcmp(cmp_ops[i], s) == 0)
			return i;
	return -1;
}

/* Nesting is bounded so that recursion stays well inside a thread stack. */
#define MAX_FILTER_DEPTH 64

static int validate_at(Req *r, const cJSON *f, const char *path, int depth);

int filter_validate(Req *r, const cJSON *f, const char *path)
{
	return validate_at(r, f, path, 1);
}

static int validate_at(Req *r, const cJSON *f, const char *path, int depth)
{
	static const char *const ckeys[] = {"type", "key", "value", NULL};
	static const char *const gkeys[] = {"type", "filters", NULL};
	const cJSON *t, *k, *v, *it;
	char p[512];
	int op, i = 0;

	if (!cJSON_IsObject(f)) {
		bad_request(r, path, "Invalid type for '%s': expected an object.",
			    path);
		return -1;
	}
	if (depth > MAX_FILTER_DEPTH) {
		bad_request(r, path, "Invalid '%s': filters may be nested at most "
			    "%d levels deep.", path, MAX_FILTER_DEPTH);
		return -1;
	}
	t = cJSON_GetObjectItemCaseSensitive(f, "type");
	snprintf(p, sizeof p, "%s.type", path);
	if (!cJSON_IsString(t)) {
		bad_request(r, p, "Missing required parameter: '%s'.", p);
		return -1;
	}
	if (strcmp(t->valuestring, "and") == 0 ||
	    strcmp(t->valuestring, "or") == 0) {
		if (check_keys(r, f, gkeys, path))
			return -1;
		v = cJSON_GetObjectItemCaseSensitive(f, "filters");
		snprintf(p, sizeof p, "%s.filters", path);
		if (!cJSON_IsArray(v)) {
			bad_request(r, p, v ? "Invalid type for '%s': expected an "
					      "array." :
					      "Missing required parameter: '%s'.",
				    p);
			return -1;
		}
		cJSON_ArrayForEach(it, v) {
			snprintf(p, sizeof p, "%s.filters[%d]", path, i++);
			if (validate_at(r, it, p, depth + 1))
				return -1;
		}
		return 0;
	}
	op = op_index(t->valuestring);
	if (op < 0) {
		bad_request(r, p, "Invalid value: '%s'. Supported values are: "
			    "'eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', "
			    "'and' and 'or'.", t->valuestring);
		return -1;
	}
	if (check_keys(r, f, ckeys, path))
		return -1;
	k = cJSON_GetObjectItemCaseSensitive(f, "key");
	snprintf(p, sizeof p, "%s.key", path);
	if (!cJSON_IsString(k)) {
		bad_request(r, p, k ? "Invalid type for '%s': expected a string."
				    : "Missing required parameter: '%s'.", p);
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(f, "value");
	snprintf(p, sizeof p, "%s.value", path);
	if (!v) {
		bad_request(r, p, "Missing required parameter: '%s'.", p);
		return -1;
	}
	if (op >= 6) {
		if (!cJSON_IsArray(v)) {
			bad_request(r, p, "Invalid type for '%s': '%s' expects an "
				    "array of strings or numbers.", p,
				    t->valuestring);
			return -1;
		}
		cJSON_ArrayForEach(it, v) {
			if (!cJSON_IsString(it) && !cJSON_IsNumber(it)) {
				snprintf(p, sizeof p, "%s.value[%d]", path, i);
				bad_request(r, p, "Invalid type for '%s': expected "
					    "a string or number.", p);
				return -1;
			}
			i++;
		}
	} else if (!cJSON_IsString(v) && !cJSON_IsNumber(v) &&
		   !cJSON_IsBool(v)) {
		bad_request(r, p, "Invalid type for '%s': expected a string, "
			    "number or boolean.", p);
		return -1;
	}
	return 0;
}

static bool json_equal(const cJSON *a, const cJSON *b)
{
	if (cJSON_IsString(a) && cJSON_IsString(b))
		return strcmp(a->valuestring, b->valuestring) == 0;
	if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
		return a->valuedouble == b->valuedouble;
	if (cJSON_IsBool(a) && cJSON_IsBool(b))
		return cJSON_IsTrue(a) == cJSON_IsTrue(b);
	return false;
}

/* -2 if not comparable */
static int json_order(const cJSON *a, const cJSON *b)
{
	if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
		return a->valuedouble < b->valuedouble ? -1
		       : a->valuedouble > b->valuedouble;
	if (cJSON_IsString(a) && cJSON_IsString(b)) {
		int c = strcmp(a->valuestring, b->valuestring);

		return c < 0 ? -1 : c > 0;
	}
	return -2;
}

bool filter_eval(const cJSON *f, const cJSON *attrs)
{
	const char *t = cJSON_GetObjectItemCaseSensitive(f, "type")->valuestring;
	const cJSON *it, *a, *v;
	int op, c;
	bool any;

	if (strcmp(t, "and") == 0 || strcmp(t, "or") == 0) {
		bool is_and = t[0] == 'a';

		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(f, "filters")) {
			bool x = filter_eval(it, attrs);

			if (is_and && !x)
				return false;
			if (!is_and && x)
				return true;
		}
		return is_and;
	}
	op = op_index(t);
	v = cJSON_GetObjectItemCaseSensitive(f, "value");
	a = attrs ? cJSON_GetObjectItemCaseSensitive(
			    attrs, cJSON_GetObjectItemCaseSensitive(f, "key")->valuestring)
		  : NULL;
	if (!a)
		return op == 1 || op == 7;
	switch (op) {
	case 0:
		return json_equal(a, v);
	case 1:
		return !json_equal(a, v);
	case 6:
	case 7:
		any = false;
		cJSON_ArrayForEach(it, v)
			if (json_equal(a, it))
				any = true;
		return op == 6 ? any : !any;
	default:
		c = json_order(a, v);
		if (c == -2)
			return false;
		return op == 2 ? c > 0 : op == 3 ? c >= 0 : op == 4 ? c < 0 : c <= 0;
	}
}

static int hit_cmp(const void *pa, const void *pb)
{
	const Hit *a = pa, *b = pb;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->vf->file->seq != b->vf->file->seq)
		return a->vf->file->seq < b->vf->file->seq ? -1 : 1;
	return a->chunk < b->chunk ? -1 : a->chunk > b->chunk;
}

size_t bm25_search(const VectorStore *vs, const uint64_t *terms,
		   size_t nterms, const cJSON *filters, double threshold,
		   Hit **out)
{
	const double k1 = 1.2, b = 0.75;
	const VSFile **fs = malloc((vs->nfiles ? vs->nfiles : 1) * sizeof *fs);
	size_t nf = 0, N = 0, nh = 0, cap = 16;
	double totlen = 0, avgdl, *idf;
	Hit *h = malloc(cap * sizeof *h);

	for (size_t i = 0; i < vs->nfiles; i++) {
		const VSFile *vf = vs->files[i];

		if (vsf_status(vf) != ST_COMPLETED)
			continue;
		if (filters && !filter_eval(filters, vf->attributes))
			continue;
		fs[nf++] = vf;
		N += vf->nchunks;
		for (size_t c = 0; c < vf->nchunks; c++)
			totlen += vf->chunks[c].ntok;
	}
	avgdl = N ? totlen / (double)N : 1;
	if (avgdl <= 0)
		avgdl = 1;
	idf = calloc(nterms ? nterms : 1, sizeof *idf);
	for (size_t t = 0; t < nterms; t++) {
		size_t df = 0;

		for (size_t i = 0; i < nf; i++)
			for (size_t c = 0; c < fs[i]->nchunks; c++)
				if (chunk_tf(&fs[i]->chunks[c], terms[t]))
					df++;
		idf[t] = log(1.0 + ((double)N - (double)df + 0.5) /
				       ((double)df + 0.5));
	}
	for (size_t i = 0; i < nf; i++)
		for (size_t c = 0; c < fs[i]->nchunks; c++) {
			const Chunk *ch = &fs[i]->chunks[c];
			double raw = 0, norm;

			for (size_t t = 0; t < nterms; t++) {
				double tf = chunk_tf(ch, terms[t]);

				if (tf > 0)
					raw += idf[t] * tf * (k1 + 1) /
					       (tf + k1 * (1 - b + b * ch->ntok / avgdl));
			}
			if (raw <= 0)
				continue;
			norm = raw / (raw + 1.0);
			if (norm < threshold)
				continue;
			if (nh == cap) {
				cap *= 2;
				h = realloc(h, cap * sizeof *h);
			}
			h[nh].vf = fs[i];
			h[nh].chunk = c;
			h[nh].score = norm;
			nh++;
		}
	qsort(h, nh, sizeof *h, hit_cmp);
	free(idf);
	free(fs);
	*out = h;
	return nh;
}

static const char *const stop_words[] = {
	"a", "an", "the", "is", "are", "was", "were", "be", "been", "of", "in",
	"on", "at", "to", "for", "and", "or", "what", "how", "why", "when",
	"where", "who", "which", "do", "does", "did", "i", "me", "my", "you",
	"your", "it", "its", "this", "that", "with", "about", "can", "could",
	"please", "tell", "from", "by", "as", "we", "our", "there", "any", NULL};

char *rewrite_query(const char *q)
{
	size_t n = strlen(q), o = 0, i = 0;
	char *out = malloc(n + 1), *word = malloc(n + 1);

	while (i < n) {
		size_t w = 0;
		bool stop = false;

		while (i < n && !isalnum((unsigned char)q[i]) &&
		       (unsigned char)q[i] < 0x80)
			i++;
		while (i < n && (isalnum((unsigned char)q[i]) ||
				 (unsigned char)q[i] >= 0x80))
			word[w++] = (char)tolower((unsigned char)q[i++]);
		word[w] = 0;
		if (w == 0)
			continue;
		for (int s = 0; stop_words[s]; s++)
			if (strcmp(stop_words[s], word) == 0)
				stop = true;
		if (stop)
			continue;
		if (o)
			out[o++] = ' ';
		memcpy(out + o, word, w);
		o += w;
	}
	out[o] = 0;
	free(word);
	return out;
}
