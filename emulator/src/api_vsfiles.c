/*
 * api_vsfiles.c - /v1/vector_stores/{id}/files and /file_batches endpoints.
 *
 * Processing is simulated: an attached file is in_progress for the
 * processing delay (--processing-delay-ms, POST /_emulator/config) and then
 * completed, or failed when its bytes are not UTF-8 text.  Status is derived
 * from timestamps on every read, so no timer threads exist.
 *
 * Choices where the real service is not specified:
 *   - attaching a file that is already in the store returns the existing
 *     vector store file unchanged (200), like an idempotent create;
 *   - attaching (files or file_batches) to an *expired* store -> 409
 *     (type invalid_request_error, code "vector_store_expired");
 *   - cancelling a batch that is no longer in_progress returns it unchanged;
 *   - `chunking_strategy`/`attributes` at the top level of a batch request
 *     that uses `files` are ignored, as the spec says.
 */
#include "list.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int poll_after(const VSFile *vf)
{
	int64_t left = vf->ready_at_ms - now_ms();

	if (left > 1000)
		left = 1000;
	if (left < 10)
		left = 10;
	return (int)left;
}

static VSFile *vsf_lookup(Req *r, VectorStore *vs)
{
	VSFile *vf = map_get(&vs->file_map, r->params[1]);

	if (!vf)
		not_found(r, NULL, "No file found with id '%s' in vector store "
			  "'%s'.", r->params[1], vs->id);
	return vf;
}

static int check_not_expired(Req *r, VectorStore *vs)
{
	if (vs_status(vs) != 2)
		return 0;
	req_error(r, 409, "invalid_request_error", NULL, "vector_store_expired",
		  "Vector store '%s' has expired; files cannot be added.",
		  vs->id);
	return -1;
}

void api_vsf_create(Req *r)
{
	static const char *const keys[] = {"file_id", "attributes",
					   "chunking_strategy", NULL};
	VectorStore *vs = vs_lookup(r);
	cJSON *b, *fid, *attrs, *cs;
	File *f;
	VSFile *vf;
	int mx, ov;
	bool existed;

	if (!vs)
		return;
	b = parse_body_object(r);
	if (!b)
		return;
	if (check_keys(r, b, keys, NULL))
		goto out;
	fid = cJSON_GetObjectItemCaseSensitive(b, "file_id");
	attrs = cJSON_GetObjectItemCaseSensitive(b, "attributes");
	cs = cJSON_GetObjectItemCaseSensitive(b, "chunking_strategy");
	if (!cJSON_IsString(fid)) {
		bad_request(r, "file_id", fid ? "Invalid type for 'file_id': "
						"expected a string."
					      : "Missing required parameter: "
						"'file_id'.");
		goto out;
	}
	if (attrs && validate_attributes(r, attrs, "attributes"))
		goto out;
	if (parse_chunking(r, cs, "chunking_strategy", &mx, &ov))
		goto out;
	f = map_get(&g_store.file_map, fid->valuestring);
	if (!f) {
		not_found(r, "file_id", "No file found with id '%s'.",
			  fid->valuestring);
		goto out;
	}
	if (check_not_expired(r, vs))
		goto out;
	vf = vsf_attach(vs, f, mx, ov, attrs, &existed);
	vs->last_active_at = now_s();
	req_json(r, 200, vsf_json(vs, vf));
out:
	cJSON_Delete(b);
}

static cJSON *render_vsf(const void *ctx, const void *item)
{
	return vsf_json(ctx, item);
}

static int parse_filter(Req *r, int *st)
{
	const char *f = query_arg(r, "filter");

	*st = -1;
	if (!f)
		return 0;
	for (int i = 0; i < 4; i++)
		if (strcmp(f, status_names[i]) == 0) {
			*st = i;
			return 0;
		}
	bad_request(r, "filter", "Invalid value for 'filter': expected one of "
		    "'in_progress', 'completed', 'failed', 'cancelled'.");
	return -1;
}

static void list_vsfiles(Req *r, VectorStore *vs, VSFile **fs, size_t n)
{
	ListItem *items;
	int st;

	if (parse_filter(r, &st))
		return;
	items = calloc(n ? n : 1, sizeof *items);
	for (size_t i = 0; i < n; i++) {
		items[i].id = fs[i]->file->id;
		items[i].seq = fs[i]->seq;
		items[i].keep = st < 0 || vsf_status(fs[i]) == st;
		items[i].render = render_vsf;
		items[i].ctx = vs;
		items[i].item = fs[i];
	}
	list_respond(r, items, n, 20, 100, true);
	free(items);
}

void api_vsf_list(Req *r)
{
	VectorStore *vs = vs_lookup(r);

	if (vs)
		list_vsfiles(r, vs, vs->files, vs->nfiles);
}

void api_vsf_get(Req *r)
{
	VectorStore *vs = vs_lookup(r);
	VSFile *vf = vs ? vsf_lookup(r, vs) : NULL;

	if (!vf)
		return;
	if (vsf_status(vf) == ST_IN_PROGRESS)
		r->poll_after_ms = poll_after(vf);
	req_json(r, 200, vsf_json(vs, vf));
}

void api_vsf_update(Req *r)
{
	static const char *const keys[] = {"attributes", NULL};
	VectorStore *vs = vs_lookup(r);
	VSFile *vf = vs ? vsf_lookup(r, vs) : NULL;
	cJSON *b, *attrs;

	if (!vf)
		return;
	b = parse_body_object(r);
	if (!b)
		return;
	if (check_keys(r, b, keys, NULL))
		goto out;
	attrs = cJSON_GetObjectItemCaseSensitive(b, "attributes");
	if (!attrs) {
		bad_request(r, "attributes", "Missing required parameter: "
			    "'attributes'.");
		goto out;
	}
	if (validate_attributes(r, attrs, "attributes"))
		goto out;
	cJSON_Delete(vf->attributes);
	vf->attributes = cJSON_IsObject(attrs) ? cJSON_Duplicate(attrs, 1) : NULL;
	req_json(r, 200, vsf_json(vs, vf));
out:
	cJSON_Delete(b);
}

void api_vsf_delete(Req *r)
{
	VectorStore *vs = vs_lookup(r);
	VSFile *vf = vs ? vsf_lookup(r, vs) : NULL;
	cJSON *o;

	if (!vf)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", vf->file->id);
	cJSON_AddStringToObject(o, "object", "vector_store.file.deleted");
	cJSON_AddBoolToObject(o, "deleted", 1);
	vsf_detach(vs, vf);
	req_json(r, 200, o);
}

void api_vsf_content(Req *r)
{
	VectorStore *vs = vs_lookup(r);
	VSFile *vf = vs ? vsf_lookup(r, vs) : NULL;
	cJSON *o, *data;

	if (!vf)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "object", "vector_store.file_content.page");
	data = cJSON_AddArrayToObject(o, "data");
	/* parsed text exists only for files that processed successfully */
	if (vsf_status(vf) == ST_COMPLETED) {
		cJSON *d = cJSON_CreateObject();

		cJSON_AddStringToObject(d, "type", "text");
		cJSON_AddStringToObject(d, "text", (const char *)vf->file->data);
		cJSON_AddItemToArray(data, d);
	}
	cJSON_AddBoolToObject(o, "has_more", 0);
	cJSON_AddNullToObject(o, "next_page");
	req_json(r, 200, o);
}

/* ---- file batches ---- */

static Batch *batch_lookup(Req *r, VectorStore *vs)
{
	Batch *b = map_get(&vs->batch_map, r->params[1]);

	if (!b)
		not_found(r, NULL, "No file batch found with id '%s' in vector "
			  "store '%s'.", r->params[1], vs->id);
	return b;
}

typedef struct BatchEntry {
	const char *file_id;
	const cJSON *attributes;
	int mx, ov;
} BatchEntry;

void api_batch_create(Req *r)
{
	static const char *const keys[] = {"file_ids", "files", "attributes",
					   "chunking_strategy", NULL};
	static const char *const fkeys[] = {"file_id", "attributes",
					    "chunking_strategy", NULL};
	VectorStore *vs = vs_lookup(r);
	cJSON *b, *fids, *files, *attrs, *cs, *it;
	BatchEntry *e = NULL;
	size_t n = 0, nu = 0;
	char **ids;
	Batch *bt;
	int mx, ov, i = 0;

	if (!vs)
		return;
	b = parse_body_object(r);
	if (!b)
		return;
	if (check_keys(r, b, keys, NULL))
		goto out;
	fids = cJSON_GetObjectItemCaseSensitive(b, "file_ids");
	files = cJSON_GetObjectItemCaseSensitive(b, "files");
	attrs = cJSON_GetObjectItemCaseSensitive(b, "attributes");
	cs = cJSON_GetObjectItemCaseSensitive(b, "chunking_strategy");
	if (fids && files) {
		bad_request(r, "files", "'file_ids' and 'files' are mutually "
			    "exclusive; supply only one of them.");
		goto out;
	}
	if (!fids && !files) {
		bad_request(r, "file_ids", "Missing required parameter: "
			    "'file_ids' (or 'files').");
		goto out;
	}
	if (attrs && validate_attributes(r, attrs, "attributes"))
		goto out;
	if (parse_chunking(r, cs, "chunking_strategy", &mx, &ov))
		goto out;
	if (fids) {
		if (validate_id_array(r, fids, "file_ids", 1, 2000))
			goto out;
		e = calloc((size_t)cJSON_GetArraySize(fids), sizeof *e);
		cJSON_ArrayForEach(it, fids) {
			e[n].file_id = it->valuestring;
			e[n].attributes = attrs;
			e[n].mx = mx;
			e[n].ov = ov;
			n++;
		}
	} else {
		int cnt;

		if (!cJSON_IsArray(files)) {
			bad_request(r, "files", "Invalid type for 'files': expected "
				    "an array of objects.");
			goto out;
		}
		cnt = cJSON_GetArraySize(files);
		if (cnt < 1 || cnt > 2000) {
			bad_request(r, "files", "Invalid 'files': array length must "
				    "be between 1 and 2000, got %d.", cnt);
			goto out;
		}
		e = calloc((size_t)cnt, sizeof *e);
		cJSON_ArrayForEach(it, files) {
			char p[128];
			cJSON *fid, *fa;

			snprintf(p, sizeof p, "files[%d]", i);
			if (!cJSON_IsObject(it)) {
				bad_request(r, p, "Invalid type for '%s': expected "
					    "an object.", p);
				goto out;
			}
			if (check_keys(r, it, fkeys, p))
				goto out;
			fid = cJSON_GetObjectItemCaseSensitive(it, "file_id");
			fa = cJSON_GetObjectItemCaseSensitive(it, "attributes");
			snprintf(p, sizeof p, "files[%d].file_id", i);
			if (!cJSON_IsString(fid)) {
				bad_request(r, p, "Missing required parameter: '%s'.",
					    p);
				goto out;
			}
			snprintf(p, sizeof p, "files[%d].attributes", i);
			if (fa && validate_attributes(r, fa, p))
				goto out;
			snprintf(p, sizeof p, "files[%d].chunking_strategy", i);
			if (parse_chunking(r, cJSON_GetObjectItemCaseSensitive(
						      it, "chunking_strategy"),
					   p, &e[n].mx, &e[n].ov))
				goto out;
			e[n].file_id = fid->valuestring;
			e[n].attributes = fa;
			n++;
			i++;
		}
	}
	for (size_t k = 0; k < n; k++)
		if (!map_get(&g_store.file_map, e[k].file_id)) {
			not_found(r, fids ? "file_ids" : "files",
				  "No file found with id '%s'.", e[k].file_id);
			goto out;
		}
	if (check_not_expired(r, vs))
		goto out;
	ids = calloc(n, sizeof *ids);
	for (size_t k = 0; k < n; k++) {
		bool existed, dup = false;

		for (size_t j = 0; j < nu; j++)
			if (strcmp(ids[j], e[k].file_id) == 0)
				dup = true;
		if (dup)
			continue;
		vsf_attach(vs, map_get(&g_store.file_map, e[k].file_id), e[k].mx,
			   e[k].ov, e[k].attributes, &existed);
		ids[nu++] = strdup(e[k].file_id);
	}
	bt = batch_add(vs, ids, nu);
	vs->last_active_at = now_s();
	req_json(r, 200, batch_json(vs, bt));
out:
	free(e);
	cJSON_Delete(b);
}

static int batch_poll_after(const VectorStore *vs, const Batch *b)
{
	int best = 0;

	for (size_t i = 0; i < b->nfiles; i++) {
		VSFile *vf = map_get(&vs->file_map, b->file_ids[i]);

		if (vf && vsf_status(vf) == ST_IN_PROGRESS) {
			int p = poll_after(vf);

			if (p > best)
				best = p;
		}
	}
	return best;
}

void api_batch_get(Req *r)
{
	VectorStore *vs = vs_lookup(r);
	Batch *b = vs ? batch_lookup(r, vs) : NULL;

	if (!b)
		return;
	if (!b->cancelled)
		r->poll_after_ms = batch_poll_after(vs, b);
	req_json(r, 200, batch_json(vs, b));
}

void api_batch_cancel(Req *r)
{
	VectorStore *vs = vs_lookup(r);
	Batch *b = vs ? batch_lookup(r, vs) : NULL;
	bool in_progress = false;

	if (!b)
		return;
	for (size_t i = 0; i < b->nfiles; i++) {
		VSFile *vf = map_get(&vs->file_map, b->file_ids[i]);

		if (vf && vsf_status(vf) == ST_IN_PROGRESS)
			in_progress = true;
	}
	if (in_progress && !b->cancelled) {
		b->cancelled = true;
		for (size_t i = 0; i < b->nfiles; i++) {
			VSFile *vf = map_get(&vs->file_map, b->file_ids[i]);

			if (vf && vsf_status(vf) == ST_IN_PROGRESS)
				vf->cancelled = true;
		}
	}
	req_json(r, 200, batch_json(vs, b));
}

static int cmp_vsf_seq(const void *a, const void *b)
{
	const VSFile *x = *(VSFile *const *)a, *y = *(VSFile *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void api_batch_files(Req *r)
{
	VectorStore *vs = vs_lookup(r);
	Batch *b = vs ? batch_lookup(r, vs) : NULL;
	VSFile **fs;
	size_t n = 0;

	if (!b)
		return;
	fs = calloc(b->nfiles ? b->nfiles : 1, sizeof *fs);
	for (size_t i = 0; i < b->nfiles; i++) {
		VSFile *vf = map_get(&vs->file_map, b->file_ids[i]);

		if (vf)
			fs[n++] = vf;
	}
	qsort(fs, n, sizeof *fs, cmp_vsf_seq);
	list_vsfiles(r, vs, fs, n);
	free(fs);
}
