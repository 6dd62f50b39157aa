/*
 * store.h - the emulator's in-memory state: files, vector stores, vector
 * store files and file batches.
 *
 * Locking: one global mutex (store_lock/store_unlock) protects everything
 * below.  Handlers take it for the whole request; every operation is
 * in-memory and short, so a single lock is both simple and fast enough
 * (tens of thousands of requests/s on 2 cores).  Status transitions of
 * vector store files are evaluated lazily from timestamps (no timers), so
 * readers may update cached state and therefore also take the lock.
 */
#ifndef VSE_STORE_H
#define VSE_STORE_H

#include "common.h"
#include "chunk.h"

/* string -> pointer hash map; keys point into the stored objects */
typedef struct Map {
	const char **keys;
	void **vals;
	size_t cap, n;
} Map;
void *map_get(const Map *m, const char *key);
void map_put(Map *m, const char *key, void *val);
void map_del(Map *m, const char *key);
void map_free(Map *m);

typedef struct File {
	char id[40];
	uint64_t seq;          /* creation order, total */
	int64_t created_at;
	int64_t expires_at;    /* 0 = never */
	char *filename;
	char *purpose;
	unsigned char *data;   /* NUL terminated copy of the bytes */
	size_t bytes;
} File;

enum { ST_IN_PROGRESS, ST_COMPLETED, ST_FAILED, ST_CANCELLED };
extern const char *const status_names[4];

typedef struct VSFile {
	File *file;
	uint64_t seq;
	int64_t created_at;
	int64_t ready_at_ms;   /* processing finishes at this wall time */
	int final_status;      /* ST_COMPLETED or ST_FAILED */
	bool cancelled;
	const char *err_code;  /* static strings, for ST_FAILED */
	const char *err_msg;
	cJSON *attributes;     /* NULL = null */
	int max_tokens, overlap;
	Chunk *chunks;
	size_t nchunks;
} VSFile;

typedef struct Batch {
	char id[40];
	uint64_t seq;
	int64_t created_at;
	char **file_ids;
	size_t nfiles;
	bool cancelled;
} Batch;

typedef struct VectorStore {
	char id[40];
	uint64_t seq;
	int64_t created_at;
	char *name;            /* NULL -> "" */
	char *description;     /* NULL -> null */
	cJSON *metadata;       /* NULL -> null */
	cJSON *extra;          /* lenient mode: unknown request fields, echoed */
	int expires_days;      /* 0 = no expiration policy */
	int64_t last_active_at;
	VSFile **files;        /* attach order */
	size_t nfiles, capfiles;
	Map file_map;          /* file id -> VSFile */
	Batch **batches;
	size_t nbatches, capbatches;
	Map batch_map;
} VectorStore;

typedef struct Store {
	File **files;
	size_t nfiles, capfiles;
	Map file_map;
	VectorStore **stores;
	size_t nstores, capstores;
	Map store_map;
	uint64_t next_seq;
} Store;

extern Store g_store;

void store_lock(void);
void store_unlock(void);
void store_reset(void);      /* frees everything (call with lock held or at exit) */

File *file_add(const char *filename, const char *purpose,
	       const unsigned char *data, size_t len, int64_t expires_at);
void file_remove(File *f);  /* detaches from all stores, frees */

VectorStore *vs_add(void);
void vs_remove(VectorStore *vs);
int vs_status(const VectorStore *vs);
VectorStore *vs_lookup(Req *r);   /* path param 0, else 404 (api_vs.c) */  /* 0 in_progress 1 completed 2 expired */
int64_t vs_expires_at(const VectorStore *vs);

VSFile *vsf_attach(VectorStore *vs, File *f, int max_tokens, int overlap,
		   const cJSON *attributes, bool *existed);
void vsf_detach(VectorStore *vs, VSFile *vf);
int vsf_status(const VSFile *vf);
Batch *batch_add(VectorStore *vs, char **file_ids, size_t n);

/* JSON renderers */
cJSON *file_json(const File *f);
cJSON *vs_json(const VectorStore *vs);
cJSON *vsf_json(const VectorStore *vs, const VSFile *vf);
cJSON *batch_json(const VectorStore *vs, const Batch *b);
void counts_add(int counts[5], int status);  /* counts: ip, done, failed, cancelled, total */
cJSON *counts_json(const int counts[5]);

#endif
