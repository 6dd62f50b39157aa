/*
 * api_vs.c - /v1/vector_stores endpoints: create, list, retrieve, modify,
 * delete, and search.  Every handler runs under the store lock.
 */
#include "list.h"
#include "search.h"
#include "store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* finds the store named by path param 0, or fills a 404 */
VectorStore *vs_lookup(Req *r)
{
	VectorStore *vs = map_get(&g_store.store_map, r->params[0]);

	if (!vs)
		not_found(r, NULL, "No vector store found with id '%s'.",
			  r->params[0]);
	return vs;
}

static char *dup_str_or_null(const cJSON *v)
{
	return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

void api_vs_create(Req *r)
{
	static const char *const keys[] = {"file_ids", "name", "description",
					   "expires_after", "chunking_strategy",
					   "metadata", NULL};
	cJSON *b = parse_body_object(r), *fids, *name, *desc, *exp, *cs, *md, *it;
	int days = 0, mx, ov;
	VectorStore *vs;

	if (!b)
		return;
	if (check_keys(r, b, keys, NULL))
		goto out;
	fids = cJSON_GetObjectItemCaseSensitive(b, "file_ids");
	name = cJSON_GetObjectItemCaseSensitive(b, "name");
	desc = cJSON_GetObjectItemCaseSensitive(b, "description");
	exp = cJSON_GetObjectItemCaseSensitive(b, "expires_after");
	cs = cJSON_GetObjectItemCaseSensitive(b, "chunking_strategy");
	md = cJSON_GetObjectItemCaseSensitive(b, "metadata");
	if (fids && validate_id_array(r, fids, "file_ids", 0, 500))
		goto out;
	if (name && !cJSON_IsString(name) && !cJSON_IsNull(name)) {
		bad_request(r, "name", "Invalid type for 'name': expected a string.");
		goto out;
	}
	if (desc && !cJSON_IsString(desc) && !cJSON_IsNull(desc)) {
		bad_request(r, "description", "Invalid type for 'description': "
			    "expected a string.");
		goto out;
	}
	if (exp && !cJSON_IsNull(exp) &&
	    parse_vs_expires(r, exp, "expires_after", &days))
		goto out;
	if (parse_chunking(r, cs, "chunking_strategy", &mx, &ov))
		goto out;
	if (md && validate_metadata(r, md, "metadata"))
		goto out;
	cJSON_ArrayForEach(it, fids) {
		if (!map_get(&g_store.file_map, it->valuestring)) {
			not_found(r, "file_ids", "No file found with id '%s'.",
				  it->valuestring);
			goto out;
		}
	}
	vs = vs_add();
	vs->name = dup_str_or_null(name);
	vs->description = dup_str_or_null(desc);
	vs->expires_days = days;
	if (cJSON_IsObject(md))
		vs->metadata = cJSON_Duplicate(md, 1);
	if (r->lenient)
		vs->extra = unknown_keys(b, keys);
	cJSON_ArrayForEach(it, fids) {
		bool existed;

		vsf_attach(vs, map_get(&g_store.file_map, it->valuestring), mx, ov,
			   NULL, &existed);
	}
	req_json(r, 200, vs_json(vs));
out:
	cJSON_Delete(b);
}

static cJSON *render_vs(const void *ctx, const void *item)
{
	(void)ctx;
	return vs_json(item);
}

void api_vs_list(Req *r)
{
	size_t n = g_store.nstores;
	ListItem *items = calloc(n ? n : 1, sizeof *items);

	for (size_t i = 0; i < n; i++) {
		items[i].id = g_store.stores[i]->id;
		items[i].seq = g_store.stores[i]->seq;
		items[i].keep = true;
		items[i].render = render_vs;
		items[i].item = g_store.stores[i];
	}
	list_respond(r, items, n, 20, 100, true);
	free(items);
}

void api_vs_get(Req *r)
{
	VectorStore *vs = vs_lookup(r);

	if (vs)
		req_json(r, 200, vs_json(vs));
}

void api_vs_update(Req *r)
{
	static const char *const keys[] = {"name", "expires_after", "metadata",
					   NULL};
	cJSON *b, *name, *exp, *md;
	VectorStore *vs = vs_lookup(r);
	int days = 0;

	if (!vs)
		return;
	b = parse_body_object(r);
	if (!b)
		return;
	if (check_keys(r, b, keys, NULL))
		goto out;
	name = cJSON_GetObjectItemCaseSensitive(b, "name");
	exp = cJSON_GetObjectItemCaseSensitive(b, "expires_after");
	md = cJSON_GetObjectItemCaseSensitive(b, "metadata");
	if (name && !cJSON_IsString(name) && !cJSON_IsNull(name)) {
		bad_request(r, "name", "Invalid type for 'name': expected a string "
			    "or null.");
		goto out;
	}
	if (exp && !cJSON_IsNull(exp) &&
	    parse_vs_expires(r, exp, "expires_after", &days))
		goto out;
	if (md && validate_metadata(r, md, "metadata"))
		goto out;
	/* null name keeps the store's name; null expires_after removes the
	 * policy; null metadata clears it (as the real service does) */
	if (cJSON_IsString(name)) {
		free(vs->name);
		vs->name = strdup(name->valuestring);
	}
	if (exp)
		vs->expires_days = days;
	if (md) {
		cJSON_Delete(vs->metadata);
		vs->metadata = cJSON_IsObject(md) ? cJSON_Duplicate(md, 1) : NULL;
	}
	if (r->lenient) {
		/* unknown fields are kept, later values replacing earlier ones */
		cJSON *x = unknown_keys(b, keys), *it;

		while (x && x->child) {
			it = cJSON_DetachItemViaPointer(x, x->child);
			if (!vs->extra)
				vs->extra = cJSON_CreateObject();
			cJSON_DeleteItemFromObjectCaseSensitive(vs->extra, it->string);
			cJSON_AddItemToObject(vs->extra, it->string, it);
		}
		cJSON_Delete(x);
	}
	vs->last_active_at = now_s();
	req_json(r, 200, vs_json(vs));
out:
	cJSON_Delete(b);
}

void api_vs_delete(Req *r)
{
	VectorStore *vs = vs_lookup(r);
	cJSON *o;

	if (!vs)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", vs->id);
	cJSON_AddStringToObject(o, "object", "vector_store.deleted");
	cJSON_AddBoolToObject(o, "deleted", 1);
	vs_remove(vs);
	req_json(r, 200, o);
}

/* appends the distinct terms of q to *terms */
static void add_terms(const char *q, uint64_t **terms, size_t *n)
{
	uint64_t *t;
	size_t m = query_terms(q, &t);

	for (size_t i = 0; i < m; i++) {
		bool dup = false;

		for (size_t j = 0; j < *n; j++)
			if ((*terms)[j] == t[i])
				dup = true;
		if (!dup) {
			*terms = realloc(*terms, (*n + 1) * sizeof **terms);
			(*terms)[(*n)++] = t[i];
		}
	}
	free(t);
}

static int validate_ranking(Req *r, const cJSON *ro, double *threshold)
{
	static const char *const keys[] = {"ranker", "score_threshold", NULL};
	const cJSON *rk, *st;

	*threshold = 0;
	if (!ro)
		return 0;
	if (!cJSON_IsObject(ro)) {
		bad_request(r, "ranking_options", "Invalid type for "
			    "'ranking_options': expected an object.");
		return -1;
	}
	if (check_keys(r, ro, keys, "ranking_options"))
		return -1;
	rk = cJSON_GetObjectItemCaseSensitive(ro, "ranker");
	st = cJSON_GetObjectItemCaseSensitive(ro, "score_threshold");
	if (rk && (!cJSON_IsString(rk) ||
		   (strcmp(rk->valuestring, "none") != 0 &&
		    strcmp(rk->valuestring, "auto") != 0 &&
		    strcmp(rk->valuestring, "default-2024-11-15") != 0))) {
		bad_request(r, "ranking_options.ranker", "Invalid value for "
			    "'ranking_options.ranker': expected one of 'none', "
			    "'auto', 'default-2024-11-15'.");
		return -1;
	}
	if (st && (!cJSON_IsNumber(st) || st->valuedouble < 0 ||
		   st->valuedouble > 1)) {
		bad_request(r, "ranking_options.score_threshold", "Invalid "
			    "'ranking_options.score_threshold': must be a number "
			    "between 0 and 1.");
		return -1;
	}
	if (st)
		*threshold = st->valuedouble;
	return 0;
}

void api_vs_search(Req *r)
{
	static const char *const keys[] = {"query", "rewrite_query",
					   "max_num_results", "filters",
					   "ranking_options", NULL};
	cJSON *b, *q, *rw, *mx, *fl, *ro, *it, *o, *sq, *data;
	VectorStore *vs = vs_lookup(r);
	long long maxn = 10;
	double threshold;
	uint64_t *terms = NULL;
	size_t nterms = 0, nh, i = 0;
	Hit *hits;

	if (!vs)
		return;
	b = parse_body_object(r);
	if (!b)
		return;
	if (check_keys(r, b, keys, NULL))
		goto out;
	q = cJSON_GetObjectItemCaseSensitive(b, "query");
	rw = cJSON_GetObjectItemCaseSensitive(b, "rewrite_query");
	mx = cJSON_GetObjectItemCaseSensitive(b, "max_num_results");
	fl = cJSON_GetObjectItemCaseSensitive(b, "filters");
	ro = cJSON_GetObjectItemCaseSensitive(b, "ranking_options");
	if (!q) {
		bad_request(r, "query", "Missing required parameter: 'query'.");
		goto out;
	}
	if (cJSON_IsArray(q)) {
		if (cJSON_GetArraySize(q) == 0) {
			bad_request(r, "query", "Invalid 'query': empty array. "
				    "Expected an array with minimum length 1.");
			goto out;
		}
		cJSON_ArrayForEach(it, q) {
			if (!cJSON_IsString(it)) {
				bad_request(r, "query", "Invalid type for 'query': "
					    "expected an array of strings.");
				goto out;
			}
		}
	} else if (!cJSON_IsString(q)) {
		bad_request(r, "query", "Invalid type for 'query': expected a "
			    "string or an array of strings.");
		goto out;
	}
	if (rw && !cJSON_IsBool(rw)) {
		bad_request(r, "rewrite_query", "Invalid type for 'rewrite_query': "
			    "expected a boolean.");
		goto out;
	}
	if (mx && (!get_int(mx, &maxn) || maxn < 1 || maxn > 50)) {
		bad_request(r, "max_num_results", "Invalid 'max_num_results': "
			    "integer must be between 1 and 50.");
		goto out;
	}
	if (fl && !cJSON_IsNull(fl) && filter_validate(r, fl, "filters"))
		goto out;
	if (validate_ranking(r, ro, &threshold))
		goto out;

	/* search_query: the (possibly rewritten) queries, always an array */
	sq = cJSON_CreateArray();
	if (cJSON_IsString(q))
		cJSON_AddItemToArray(sq, cJSON_CreateString(q->valuestring));
	else
		cJSON_ArrayForEach(it, q)
			cJSON_AddItemToArray(sq, cJSON_CreateString(it->valuestring));
	if (cJSON_IsTrue(rw))
		cJSON_ArrayForEach(it, sq) {
			char *nq = rewrite_query(it->valuestring);

			cJSON_SetValuestring(it, nq);   /* never longer: copies in place */
			free(nq);
		}
	cJSON_ArrayForEach(it, sq)
		add_terms(it->valuestring, &terms, &nterms);

	nh = bm25_search(vs, terms, nterms, cJSON_IsObject(fl) ? fl : NULL,
			 threshold, &hits);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "object", "vector_store.search_results.page");
	cJSON_AddItemToObject(o, "search_query", sq);
	data = cJSON_AddArrayToObject(o, "data");
	for (i = 0; i < nh && i < (size_t)maxn; i++) {
		const VSFile *vf = hits[i].vf;
		const Chunk *ch = &vf->chunks[hits[i].chunk];
		cJSON *h = cJSON_CreateObject(), *content, *c;
		char *text = strndup((const char *)vf->file->data + ch->start,
				     ch->end - ch->start);

		cJSON_AddStringToObject(h, "file_id", vf->file->id);
		cJSON_AddStringToObject(h, "filename", vf->file->filename);
		/* round to 6 decimals so that clients see stable numbers */
		cJSON_AddNumberToObject(h, "score",
					round(hits[i].score * 1e6) / 1e6);
		if (vf->attributes)
			cJSON_AddItemToObject(h, "attributes",
					      cJSON_Duplicate(vf->attributes, 1));
		else
			cJSON_AddNullToObject(h, "attributes");
		content = cJSON_AddArrayToObject(h, "content");
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "type", "text");
		cJSON_AddStringToObject(c, "text", text);
		cJSON_AddItemToArray(content, c);
		cJSON_AddItemToArray(data, h);
		free(text);
	}
	cJSON_AddBoolToObject(o, "has_more", 0);
	cJSON_AddNullToObject(o, "next_page");
	vs->last_active_at = now_s();
	free(hits);
	free(terms);
	req_json(r, 200, o);
out:
	cJSON_Delete(b);
}
