/*
 * api_files.c - /v1/files endpoints.  Uploads are multipart/form-data
 * (multipart.c); file bytes are kept verbatim (binary safe, NULs included).
 * In lenient mode (--lenient) unknown form fields are accepted and ignored
 * (they are visible in the request log) instead of 400.
 */
#include "list.h"
#include "multipart.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const upload_purposes[] = {"assistants", "batch",
					      "fine-tune", "vision", "user_data",
					      "evals", NULL};

void api_files_create(Req *r)
{
	Part parts[64];
	int n = multipart_parse(r->content_type, r->body, r->body_len, parts,
				r->lenient ? 64 : 16);
	const Part *file = NULL;
	char purpose[64] = "", anchor[64] = "", seconds[64] = "";
	bool has_purpose = false, has_anchor = false, has_seconds = false;
	int64_t expires_at = 0;
	File *f;

	if (n < 0) {
		bad_request(r, NULL, "Invalid multipart/form-data body: expected "
			    "fields 'file' and 'purpose'.");
		return;
	}
	for (int i = 0; i < n; i++) {
		const Part *p = &parts[i];
		char *dst = NULL;
		bool *flag = NULL;

		if (strcmp(p->name, "file") == 0) {
			file = p;
			continue;
		}
		if (strcmp(p->name, "purpose") == 0)
			dst = purpose, flag = &has_purpose;
		else if (strcmp(p->name, "expires_after[anchor]") == 0)
			dst = anchor, flag = &has_anchor;
		else if (strcmp(p->name, "expires_after[seconds]") == 0)
			dst = seconds, flag = &has_seconds;
		else if (r->lenient)
			continue;
		else {
			bad_request(r, p->name, "Unrecognized request argument "
				    "supplied: %s", p->name);
			return;
		}
		snprintf(dst, 64, "%.*s", (int)(p->len < 63 ? p->len : 63), p->data);
		*flag = true;
	}
	if (!file) {
		bad_request(r, "file", "Missing required parameter: 'file'.");
		return;
	}
	if (!has_purpose) {
		bad_request(r, "purpose", "Missing required parameter: 'purpose'.");
		return;
	}
	{
		bool ok = false;

		for (int i = 0; upload_purposes[i]; i++)
			if (strcmp(purpose, upload_purposes[i]) == 0)
				ok = true;
		if (!ok) {
			bad_request(r, "purpose", "Invalid value for 'purpose': '%s'. "
				    "Supported values are: 'assistants', 'batch', "
				    "'fine-tune', 'vision', 'user_data' and 'evals'.",
				    purpose);
			return;
		}
	}
	if (has_anchor || has_seconds) {
		char *end;
		long long s = strtoll(seconds, &end, 10);

		if (!has_anchor || strcmp(anchor, "created_at") != 0) {
			bad_request(r, "expires_after.anchor", "Invalid value for "
				    "'expires_after.anchor': expected 'created_at'.");
			return;
		}
		if (!has_seconds || !*seconds || *end || s < 3600 || s > 2592000) {
			bad_request(r, "expires_after.seconds", "Invalid "
				    "'expires_after.seconds': integer must be "
				    "between 3600 and 2592000.");
			return;
		}
		expires_at = now_s() + s;
	}
	f = file_add(file->has_filename && *file->filename ? file->filename
							   : "upload",
		     purpose, (const unsigned char *)file->data, file->len,
		     expires_at);
	req_json(r, 200, file_json(f));
}

static cJSON *render_file(const void *ctx, const void *item)
{
	(void)ctx;
	return file_json(item);
}

void api_files_list(Req *r)
{
	const char *purpose = query_arg(r, "purpose");
	size_t n = g_store.nfiles;
	ListItem *items = calloc(n ? n : 1, sizeof *items);

	for (size_t i = 0; i < n; i++) {
		File *f = g_store.files[i];

		items[i].id = f->id;
		items[i].seq = f->seq;
		items[i].keep = !purpose || strcmp(purpose, f->purpose) == 0;
		items[i].render = render_file;
		items[i].item = f;
	}
	list_respond(r, items, n, 10000, 10000, false);
	free(items);
}

static File *file_lookup(Req *r)
{
	File *f = map_get(&g_store.file_map, r->params[0]);

	if (!f)
		not_found(r, NULL, "No such File object: %s", r->params[0]);
	return f;
}

void api_files_get(Req *r)
{
	File *f = file_lookup(r);

	if (f)
		req_json(r, 200, file_json(f));
}

void api_files_delete(Req *r)
{
	File *f = file_lookup(r);
	cJSON *o;

	if (!f)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", f->id);
	cJSON_AddStringToObject(o, "object", "file");
	cJSON_AddBoolToObject(o, "deleted", 1);
	file_remove(f);
	req_json(r, 200, o);
}

void api_files_content(Req *r)
{
	File *f = file_lookup(r);

	if (!f)
		return;
	r->status = 200;
	r->out = malloc(f->bytes + 1);
	memcpy(r->out, f->data, f->bytes);
	r->out_len = f->bytes;
	r->out_type = "application/octet-stream";
}
