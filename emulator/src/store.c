/*
 * store.c - in-memory state of the emulator (see store.h for the locking
 * rules) and the JSON renderers of its objects.
 */
#include "store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

Store g_store;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

const char *const status_names[4] = {"in_progress", "completed", "failed",
				     "cancelled"};

void store_lock(void)
{
	pthread_mutex_lock(&g_lock);
}

void store_unlock(void)
{
	pthread_mutex_unlock(&g_lock);
}

/* ---- hash map: open addressing, linear probing, backward-shift delete ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

void *map_get(const Map *m, const char *key)
{
	size_t mask, i;

	if (m->cap == 0)
		return NULL;
	mask = m->cap - 1;
	for (i = hash_str(key) & mask; m->keys[i]; i = (i + 1) & mask)
		if (strcmp(m->keys[i], key) == 0)
			return m->vals[i];
	return NULL;
}

static void map_insert_raw(Map *m, const char *key, void *val)
{
	size_t mask = m->cap - 1, i;

	for (i = hash_str(key) & mask; m->keys[i]; i = (i + 1) & mask)
		if (strcmp(m->keys[i], key) == 0) {
			m->vals[i] = val;
			return;
		}
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
}

void map_put(Map *m, const char *key, void *val)
{
	if ((m->n + 1) * 2 > m->cap) {
		Map nm = {0};

		nm.cap = m->cap ? m->cap * 2 : 16;
		nm.keys = calloc(nm.cap, sizeof *nm.keys);
		nm.vals = calloc(nm.cap, sizeof *nm.vals);
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i])
				map_insert_raw(&nm, m->keys[i], m->vals[i]);
		free(m->keys);
		free(m->vals);
		*m = nm;
	}
	map_insert_raw(m, key, val);
}

void map_del(Map *m, const char *key)
{
	size_t mask, i, j;

	if (m->cap == 0)
		return;
	mask = m->cap - 1;
	for (i = hash_str(key) & mask; m->keys[i]; i = (i + 1) & mask)
		if (strcmp(m->keys[i], key) == 0)
			break;
	if (!m->keys[i])
		return;
	j = i;
	for (;;) {
		size_t h;

		j = (j + 1) & mask;
		if (!m->keys[j])
			break;
		h = hash_str(m->keys[j]) & mask;
		/* entry j may move to i unless its home h lies in (i, j] */
		if ((i < j && (h <= i || h > j)) || (i > j && h <= i && h > j)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = NULL;
	m->vals[i] = NULL;
	m->n--;
}

void map_free(Map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

/* ---- growable pointer arrays ---- */

static void ptr_push(void ***arr, size_t *n, size_t *cap, void *p)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*arr = realloc(*arr, *cap * sizeof(void *));
	}
	(*arr)[(*n)++] = p;
}

static void ptr_remove(void **arr, size_t *n, void *p)
{
	for (size_t i = 0; i < *n; i++)
		if (arr[i] == p) {
			memmove(&arr[i], &arr[i + 1], (*n - i - 1) * sizeof(void *));
			(*n)--;
			return;
		}
}

/* ---- files ---- */

File *file_add(const char *filename, const char *purpose,
	       const unsigned char *data, size_t len, int64_t expires_at)
{
	File *f = calloc(1, sizeof *f);

	make_id(f->id, sizeof f->id, "file-");
	f->seq = ++g_store.next_seq;
	f->created_at = now_s();
	f->expires_at = expires_at;
	f->filename = strdup(filename);
	f->purpose = strdup(purpose);
	f->data = malloc(len + 1);
	if (len)
		memcpy(f->data, data, len);
	f->data[len] = 0;
	f->bytes = len;
	ptr_push((void ***)&g_store.files, &g_store.nfiles, &g_store.capfiles, f);
	map_put(&g_store.file_map, f->id, f);
	return f;
}

static void file_free(File *f)
{
	free(f->filename);
	free(f->purpose);
	free(f->data);
	free(f);
}

void file_remove(File *f)
{
	for (size_t i = 0; i < g_store.nstores; i++) {
		VectorStore *vs = g_store.stores[i];
		VSFile *vf = map_get(&vs->file_map, f->id);

		if (vf)
			vsf_detach(vs, vf);
	}
	map_del(&g_store.file_map, f->id);
	ptr_remove((void **)g_store.files, &g_store.nfiles, f);
	file_free(f);
}

/* ---- vector stores ---- */

VectorStore *vs_add(void)
{
	VectorStore *vs = calloc(1, sizeof *vs);

	make_id(vs->id, sizeof vs->id, "vs_");
	vs->seq = ++g_store.next_seq;
	vs->created_at = now_s();
	vs->last_active_at = vs->created_at;
	ptr_push((void ***)&g_store.stores, &g_store.nstores, &g_store.capstores,
		 vs);
	map_put(&g_store.store_map, vs->id, vs);
	return vs;
}

static void vsf_free(VSFile *vf)
{
	cJSON_Delete(vf->attributes);
	chunks_free(vf->chunks, vf->nchunks);
	free(vf);
}

static void batch_free(Batch *b)
{
	for (size_t i = 0; i < b->nfiles; i++)
		free(b->file_ids[i]);
	free(b->file_ids);
	free(b);
}

static void vs_free(VectorStore *vs)
{
	for (size_t i = 0; i < vs->nfiles; i++)
		vsf_free(vs->files[i]);
	free(vs->files);
	map_free(&vs->file_map);
	for (size_t i = 0; i < vs->nbatches; i++)
		batch_free(vs->batches[i]);
	free(vs->batches);
	map_free(&vs->batch_map);
	free(vs->name);
	free(vs->description);
	cJSON_Delete(vs->metadata);
	cJSON_Delete(vs->extra);
	free(vs);
}

void vs_remove(VectorStore *vs)
{
	map_del(&g_store.store_map, vs->id);
	ptr_remove((void **)g_store.stores, &g_store.nstores, vs);
	vs_free(vs);
}

int64_t vs_expires_at(const VectorStore *vs)
{
	if (vs->expires_days <= 0 || vs->last_active_at <= 0)
		return 0;
	return vs->last_active_at + (int64_t)vs->expires_days * 86400;
}

int vs_status(const VectorStore *vs)
{
	int64_t exp = vs_expires_at(vs);

	if (exp && now_s() >= exp)
		return 2;
	for (size_t i = 0; i < vs->nfiles; i++)
		if (vsf_status(vs->files[i]) == ST_IN_PROGRESS)
			return 0;
	return 1;
}

/* ---- vector store files ---- */

int vsf_status(const VSFile *vf)
{
	if (vf->cancelled)
		return ST_CANCELLED;
	if (now_ms() < vf->ready_at_ms)
		return ST_IN_PROGRESS;
	return vf->final_status;
}

VSFile *vsf_attach(VectorStore *vs, File *f, int max_tokens, int overlap,
		   const cJSON *attributes, bool *existed)
{
	VSFile *vf = map_get(&vs->file_map, f->id);
	int chk;

	if (vf) {
		*existed = true;
		return vf;
	}
	*existed = false;
	vf = calloc(1, sizeof *vf);
	vf->file = f;
	vf->seq = ++g_store.next_seq;
	vf->created_at = now_s();
	vf->ready_at_ms = now_ms() + g_processing_delay_ms;
	vf->max_tokens = max_tokens;
	vf->overlap = overlap;
	vf->attributes = (attributes && cJSON_IsObject(attributes))
				 ? cJSON_Duplicate(attributes, 1) : NULL;
	chk = text_check(f->data, f->bytes);
	if (chk == 0) {
		vf->final_status = ST_COMPLETED;
		vf->nchunks = chunk_text((const char *)f->data, f->bytes,
					 max_tokens, overlap, &vf->chunks);
	} else {
		vf->final_status = ST_FAILED;
		vf->err_code = chk == 1 ? "unsupported_file" : "invalid_file";
		vf->err_msg = chk == 1
			? "The file contains NUL bytes; only UTF-8 text files are supported."
			: "The file is not valid UTF-8 text.";
	}
	ptr_push((void ***)&vs->files, &vs->nfiles, &vs->capfiles, vf);
	map_put(&vs->file_map, f->id, vf);
	return vf;
}

void vsf_detach(VectorStore *vs, VSFile *vf)
{
	map_del(&vs->file_map, vf->file->id);
	ptr_remove((void **)vs->files, &vs->nfiles, vf);
	vsf_free(vf);
}

Batch *batch_add(VectorStore *vs, char **file_ids, size_t n)
{
	Batch *b = calloc(1, sizeof *b);

	make_id(b->id, sizeof b->id, "vsfb_");
	b->seq = ++g_store.next_seq;
	b->created_at = now_s();
	b->file_ids = file_ids;
	b->nfiles = n;
	ptr_push((void ***)&vs->batches, &vs->nbatches, &vs->capbatches, b);
	map_put(&vs->batch_map, b->id, b);
	return b;
}

void store_reset(void)
{
	for (size_t i = 0; i < g_store.nstores; i++)
		vs_free(g_store.stores[i]);
	free(g_store.stores);
	map_free(&g_store.store_map);
	for (size_t i = 0; i < g_store.nfiles; i++)
		file_free(g_store.files[i]);
	free(g_store.files);
	map_free(&g_store.file_map);
	memset(&g_store, 0, sizeof g_store);
}

/* ---- JSON renderers ---- */

cJSON *file_json(const File *f)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", f->id);
	cJSON_AddStringToObject(o, "object", "file");
	cJSON_AddNumberToObject(o, "bytes", (double)f->bytes);
	cJSON_AddNumberToObject(o, "created_at", (double)f->created_at);
	/* expires_at is a non-nullable integer in the spec: omitted when unset */
	if (f->expires_at)
		cJSON_AddNumberToObject(o, "expires_at", (double)f->expires_at);
	cJSON_AddStringToObject(o, "filename", f->filename);
	cJSON_AddStringToObject(o, "purpose", f->purpose);
	cJSON_AddStringToObject(o, "status", "processed");
	return o;
}

void counts_add(int counts[5], int status)
{
	counts[status]++;
	counts[4]++;
}

cJSON *counts_json(const int c[5])
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "in_progress", c[ST_IN_PROGRESS]);
	cJSON_AddNumberToObject(o, "completed", c[ST_COMPLETED]);
	cJSON_AddNumberToObject(o, "failed", c[ST_FAILED]);
	cJSON_AddNumberToObject(o, "cancelled", c[ST_CANCELLED]);
	cJSON_AddNumberToObject(o, "total", c[4]);
	return o;
}

cJSON *vs_json(const VectorStore *vs)
{
	cJSON *o = cJSON_CreateObject();
	int counts[5] = {0};
	double usage = 0;
	int64_t exp = vs_expires_at(vs);
	int st = vs_status(vs);

	for (size_t i = 0; i < vs->nfiles; i++) {
		int s = vsf_status(vs->files[i]);

		counts_add(counts, s);
		if (s == ST_COMPLETED)
			usage += (double)vs->files[i]->file->bytes;
	}
	cJSON_AddStringToObject(o, "id", vs->id);
	cJSON_AddStringToObject(o, "object", "vector_store");
	cJSON_AddNumberToObject(o, "created_at", (double)vs->created_at);
	cJSON_AddStringToObject(o, "name", vs->name ? vs->name : "");
	/* description: not in the response schema, but in the spec examples */
	if (vs->description)
		cJSON_AddStringToObject(o, "description", vs->description);
	else
		cJSON_AddNullToObject(o, "description");
	cJSON_AddNumberToObject(o, "usage_bytes", usage);
	cJSON_AddItemToObject(o, "file_counts", counts_json(counts));
	cJSON_AddStringToObject(o, "status", st == 0 ? "in_progress"
					     : st == 1 ? "completed" : "expired");
	if (vs->expires_days > 0) {
		cJSON *ea = cJSON_AddObjectToObject(o, "expires_after");

		cJSON_AddStringToObject(ea, "anchor", "last_active_at");
		cJSON_AddNumberToObject(ea, "days", vs->expires_days);
	}
	if (exp)
		cJSON_AddNumberToObject(o, "expires_at", (double)exp);
	else
		cJSON_AddNullToObject(o, "expires_at");
	cJSON_AddNumberToObject(o, "last_active_at", (double)vs->last_active_at);
	if (vs->metadata)
		cJSON_AddItemToObject(o, "metadata",
				      cJSON_Duplicate(vs->metadata, 1));
	else
		cJSON_AddNullToObject(o, "metadata");
	/* lenient mode: fields the request had that the API does not know */
	if (vs->extra) {
		const cJSON *it;

		cJSON_ArrayForEach(it, vs->extra)
			if (!cJSON_HasObjectItem(o, it->string))
				cJSON_AddItemToObject(o, it->string,
						      cJSON_Duplicate(it, 1));
	}
	return o;
}

cJSON *vsf_json(const VectorStore *vs, const VSFile *vf)
{
	cJSON *o = cJSON_CreateObject(), *cs, *st;
	int s = vsf_status(vf);

	cJSON_AddStringToObject(o, "id", vf->file->id);
	cJSON_AddStringToObject(o, "object", "vector_store.file");
	cJSON_AddNumberToObject(o, "usage_bytes",
				s == ST_COMPLETED ? (double)vf->file->bytes : 0);
	cJSON_AddNumberToObject(o, "created_at", (double)vf->created_at);
	cJSON_AddStringToObject(o, "vector_store_id", vs->id);
	cJSON_AddStringToObject(o, "status", status_names[s]);
	if (s == ST_FAILED) {
		cJSON *e = cJSON_AddObjectToObject(o, "last_error");

		cJSON_AddStringToObject(e, "code", vf->err_code);
		cJSON_AddStringToObject(e, "message", vf->err_msg);
	} else
		cJSON_AddNullToObject(o, "last_error");
	cs = cJSON_AddObjectToObject(o, "chunking_strategy");
	cJSON_AddStringToObject(cs, "type", "static");
	st = cJSON_AddObjectToObject(cs, "static");
	cJSON_AddNumberToObject(st, "max_chunk_size_tokens", vf->max_tokens);
	cJSON_AddNumberToObject(st, "chunk_overlap_tokens", vf->overlap);
	if (vf->attributes)
		cJSON_AddItemToObject(o, "attributes",
				      cJSON_Duplicate(vf->attributes, 1));
	else
		cJSON_AddNullToObject(o, "attributes");
	return o;
}

cJSON *batch_json(const VectorStore *vs, const Batch *b)
{
	cJSON *o = cJSON_CreateObject();
	int counts[5] = {0};

	for (size_t i = 0; i < b->nfiles; i++) {
		VSFile *vf = map_get(&vs->file_map, b->file_ids[i]);

		if (vf)
			counts_add(counts, vsf_status(vf));
	}
	cJSON_AddStringToObject(o, "id", b->id);
	/* schema + SDK say files_batch (description says file_batch) */
	cJSON_AddStringToObject(o, "object", "vector_store.files_batch");
	cJSON_AddNumberToObject(o, "created_at", (double)b->created_at);
	cJSON_AddStringToObject(o, "vector_store_id", vs->id);
	cJSON_AddStringToObject(o, "status",
				b->cancelled ? "cancelled"
				: counts[ST_IN_PROGRESS] ? "in_progress"
							 : "completed");
	cJSON_AddItemToObject(o, "file_counts", counts_json(counts));
	return o;
}
