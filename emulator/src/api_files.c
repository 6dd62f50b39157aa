/*
 * api_files.c - /v1/files endpoints and the multipart/form-data parser used
 * by the upload.  File bytes are kept verbatim (binary safe, NULs included).
 */
#include "list.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct Part {
	char name[128];
	char filename[512];
	bool has_filename;
	const char *data;
	size_t len;
} Part;

/* value of attribute `key` (e.g. name=) inside a header line; quoted or not */
static bool header_attr(const char *h, size_t hl, const char *key, char *out,
			size_t outsz)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i + kl < hl; i++) {
		size_t o = 0, j;

		if (strncasecmp(h + i, key, kl) != 0 || h[i + kl] != '=')
			continue;
		if (i > 0 && h[i - 1] != ' ' && h[i - 1] != ';' && h[i - 1] != '\t')
			continue;
		j = i + kl + 1;
		if (j < hl && h[j] == '"') {
			j++;
			while (j < hl && h[j] != '"' && o + 1 < outsz) {
				if (h[j] == '\\' && j + 1 < hl)
					j++;
				out[o++] = h[j++];
			}
		} else
			while (j < hl && h[j] != ';' && h[j] != '\r' && o + 1 < outsz)
				out[o++] = h[j++];
		out[o] = 0;
		return true;
	}
	return false;
}

/* splits a multipart body; returns number of parts or -1 if malformed */
static int parse_multipart(const char *ct, const char *body, size_t len,
			   Part *parts, int maxparts)
{
	char bnd[256], delim[300];
	size_t dl, pos;
	const char *p;
	int n = 0;

	if (!ct || strncasecmp(ct, "multipart/form-data", 19) != 0 ||
	    !header_attr(ct, strlen(ct), "boundary", bnd, sizeof bnd) || !*bnd)
		return -1;
	dl = (size_t)snprintf(delim, sizeof delim, "--%s", bnd);
	p = memmem(body, len, delim, dl);
	if (!p)
		return -1;
	pos = (size_t)(p - body) + dl;
	for (;;) {
		const char *hend, *next, *line;
		Part *pt;

		if (pos + 2 <= len && memcmp(body + pos, "--", 2) == 0)
			return n;               /* closing delimiter */
		if (pos + 2 > len || memcmp(body + pos, "\r\n", 2) != 0)
			return -1;
		pos += 2;
		hend = memmem(body + pos, len - pos, "\r\n\r\n", 4);
		if (!hend)
			return -1;
		if (n == maxparts)
			return -1;
		pt = &parts[n];
		memset(pt, 0, sizeof *pt);
		for (line = body + pos; line < hend;) {
			const char *le = memmem(line, (size_t)(hend - line), "\r\n", 2);
			size_t ll = le ? (size_t)(le - line) : (size_t)(hend - line);

			if (ll > 20 && strncasecmp(line, "content-disposition:", 20) == 0) {
				header_attr(line, ll, "name", pt->name, sizeof pt->name);
				pt->has_filename = header_attr(line, ll, "filename",
							       pt->filename,
							       sizeof pt->filename);
			}
			line += ll + 2;
		}
		pos = (size_t)(hend - body) + 4;
		/* the part ends at CRLF + delimiter */
		{
			char d2[304];
			size_t d2l = (size_t)snprintf(d2, sizeof d2, "\r\n%s", delim);

			next = memmem(body + pos, len - pos, d2, d2l);
			if (!next)
				return -1;
			pt->data = body + pos;
			pt->len = (size_t)(next - (body + pos));
			pos = (size_t)(next - body) + d2l;
		}
		n++;
	}
}

static const char *const upload_purposes[] = {"assistants", "batch",
					      "fine-tune", "vision", "user_data",
					      "evals", NULL};

void api_files_create(Req *r)
{
	Part parts[16];
	int n = parse_multipart(r->content_type, r->body, r->body_len, parts, 16);
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
