/*-------------------------------------------------------------------------
 *
 * batches.c
 *	  Vector store file batches (/vector_stores/{id}/file_batches): create,
 *	  retrieve, cancel, list their files, poll; and vs_upload_many, the bulk
 *	  helper that turns arrays of names and contents into attached files.
 *
 * vs_upload_many
 * --------------
 * The SDKs' uploadAndPoll uploads with a few workers, then attaches the
 * uploaded ids in one batch; if any upload fails it throws and the files
 * that did upload are neither attached nor deleted, and it never splits past
 * the 2,000-files-per-batch limit. Here:
 *	 1. every argument is checked before anything is sent;
 *	 2. all uploads run concurrently through vs_http_execute_paced (libcurl's
 *		multi interface, SDK retries), as many at once as the server takes
 *		(pacing.c: from 5 up to max_concurrency, backing off on a 429, which
 *		costs no attempt);
 *	 3. every file that uploaded is attached, with its own attributes, by
 *		batches of at most 2,000 using the per-file "files" form;
 *	 4. with wait, every batch is polled to the end and its files listed;
 *	 5. one row per input element reports the outcome (file_id, batch_id,
 *		status, error): a failed upload or attach is a row with its error,
 *		never an ERROR that would lose track of the files already uploaded.
 * The batch "object" value is accepted as vector_store.files_batch (schema,
 * SDKs) or vector_store.file_batch (the spec's description and example).
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(vs_batch_create);
PG_FUNCTION_INFO_V1(vs_batch_get);
PG_FUNCTION_INFO_V1(vs_batch_cancel);
PG_FUNCTION_INFO_V1(vs_batch_files);
PG_FUNCTION_INFO_V1(vs_batch_poll);
PG_FUNCTION_INFO_V1(vs_upload_many_text);
PG_FUNCTION_INFO_V1(vs_upload_many_bytea);

#define VS_BATCH_MAX_FILES 2000
#define VS_UPLOAD_MAX_CONCURRENCY 64	/* = the transport's VS_MAX_CONCURRENCY */

static Datum
vs_batch_row(FunctionCallInfo fcinfo, cJSON *obj)
{
	return vs_object_result(fcinfo, obj, vs_batch_kinds, vs_batch_aliases);
}

static void
vs_check_batch_size(int n, const char *argname)
{
	if (n < 1 || n > VS_BATCH_MAX_FILES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has %d elements; a file batch holds 1 to %d files",
						argname, n, VS_BATCH_MAX_FILES),
				 n > VS_BATCH_MAX_FILES ?
				 errhint("Create several batches, or use vs_upload_many(), which splits by itself.") : 0));
}

/* files: [{file_id, attributes?, chunking_strategy?}, ...] */
static void
vs_validate_batch_files(const cJSON *files)
{
	const cJSON *f;
	int			i = 0;

	if (!cJSON_IsArray(files))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("files must be a JSON array of {\"file_id\": ..., \"attributes\": ..., \"chunking_strategy\": ...} objects")));
	vs_check_batch_size(cJSON_GetArraySize(files), "files");
	cJSON_ArrayForEach(f, files)
	{
		const cJSON *kv;
		const cJSON *id;
		char		path[64];

		snprintf(path, sizeof(path), "files[%d]", i);
		if (!cJSON_IsObject(f))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must be a JSON object", path)));
		cJSON_ArrayForEach(kv, f)
		{
			if (strcmp(kv->string, "file_id") != 0 && strcmp(kv->string, "attributes") != 0 &&
				strcmp(kv->string, "chunking_strategy") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s has unknown key \"%s\"", path, kv->string),
						 errdetail("Allowed keys are \"file_id\", \"attributes\" and \"chunking_strategy\".")));
		}
		id = cJSON_GetObjectItemCaseSensitive(f, "file_id");
		if (!cJSON_IsString(id) || id->valuestring[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.file_id must be a non-empty string", path)));
		snprintf(path, sizeof(path), "files[%d].attributes", i);
		vs_validate_attributes(cJSON_GetObjectItemCaseSensitive(f, "attributes"), path);
		snprintf(path, sizeof(path), "files[%d].chunking_strategy", i);
		vs_validate_chunking_strategy(cJSON_GetObjectItemCaseSensitive(f, "chunking_strategy"),
									  path);
		i++;
	}
}

/* Wait for a file batch to finish: vs_poll_status, raising 55000 after timeout_ms. */
static cJSON *
vs_batch_wait(const char *vsid, const char *bid, int64 timeout_ms, int interval,
			  const VsRequestOptions *opts)
{
	return vs_poll_status(vs_path("/vector_stores/%s/file_batches/%s", vsid, bid),
						  "file batch", bid, timeout_ms, interval, true,
						  vs_options_without_body(opts));
}

/*
 * vs_batch_create(vector_store_id, file_ids, files, attributes,
 *				   chunking_strategy, wait, timeout, poll_interval_ms,
 *				   request_options): file_ids (with attributes and
 * chunking_strategy for all of them) or files (each with its own), not both;
 * with wait, polled until the batch is done (the SDKs' createAndPoll).
 */
Datum
vs_batch_create(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	cJSON	   *body = vs_json_new_object();
	cJSON	   *attributes = vs_arg_json(fcinfo, 3);
	cJSON	   *chunking = vs_arg_json(fcinfo, 4);
	bool		wait = vs_arg_bool(fcinfo, 5, false);
	int64		timeout_ms = vs_arg_timeout_ms(fcinfo, 6, VS_WAIT_DEFAULT_MS);
	int			interval = vs_arg_poll_interval(fcinfo, 7);
	VsRequestOptions *opts = vs_arg_request_options(fcinfo, 8);
	cJSON	   *batch;

	if (PG_ARGISNULL(1) == PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("exactly one of file_ids and files must be given"),
				 errhint("file_ids attaches files with the same attributes; files gives each its own.")));
	if (!PG_ARGISNULL(1))
	{
		cJSON	   *ids = vs_json_from_text_array(PG_GETARG_ARRAYTYPE_P(1), "file_ids");

		vs_check_batch_size(cJSON_GetArraySize(ids), "file_ids");
		vs_json_add_ref(body, "file_ids", ids);
		vs_validate_attributes(attributes, "attributes");
		vs_validate_chunking_strategy(chunking, "chunking_strategy");
		if (attributes)
			vs_json_add_ref(body, "attributes", attributes);
		if (chunking)
			vs_json_add_ref(body, "chunking_strategy", chunking);
	}
	else
	{
		cJSON	   *files = vs_arg_json(fcinfo, 2);

		/* the API ignores these with "files": say so rather than drop them */
		if (attributes || chunking)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("attributes and chunking_strategy apply only with file_ids"),
					 errhint("With files, give each element its own \"attributes\" and \"chunking_strategy\".")));
		vs_validate_batch_files(files);
		vs_json_add_ref(body, "files", files);
	}
	batch = vs_api_request("POST", vs_path("/vector_stores/%s/file_batches", vsid), NULL,
						   body, true, opts);
	vs_expect_kind(batch, vs_batch_kinds);
	if (wait)
		batch = vs_batch_wait(vsid, vs_json_get_string(batch, "id"), timeout_ms, interval, opts);
	return vs_batch_row(fcinfo, batch);
}

/* vs_batch_get(vector_store_id, batch_id, request_options) */
Datum
vs_batch_get(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *bid = vs_arg_cstring(fcinfo, 1, "batch_id");

	return vs_batch_row(fcinfo,
						vs_api_request("GET", vs_path("/vector_stores/%s/file_batches/%s", vsid, bid),
									   NULL, NULL, true,
									   vs_arg_request_options_nobody(fcinfo, 2)));
}

/* vs_batch_cancel(vector_store_id, batch_id, request_options) */
Datum
vs_batch_cancel(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *bid = vs_arg_cstring(fcinfo, 1, "batch_id");

	return vs_batch_row(fcinfo,
						vs_api_request("POST",
									   vs_path("/vector_stores/%s/file_batches/%s/cancel", vsid, bid),
									   NULL, NULL, true, vs_arg_request_options(fcinfo, 2)));
}

/*
 * vs_batch_files(vector_store_id, batch_id, filter, "order", "limit", after,
 *				  before, max_items, request_options)
 */
Datum
vs_batch_files(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *bid = vs_arg_cstring(fcinfo, 1, "batch_id");

	VsPager		pager = {0};

	pager.path = vs_path("/vector_stores/%s/file_batches/%s/files", vsid, bid);
	pager.beta = true;
	vs_store_files_args(fcinfo, &pager, 2);
	vs_list_to_srf(fcinfo, &pager, vs_store_file_kinds, vs_store_file_aliases);
	return (Datum) 0;
}

/*
 * vs_batch_poll(vector_store_id, batch_id, timeout, poll_interval_ms,
 *				 request_options)
 */
Datum
vs_batch_poll(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *bid = vs_arg_cstring(fcinfo, 1, "batch_id");
	int64		timeout_ms = vs_arg_interval_ms(fcinfo, 2, "timeout");
	int			interval = vs_arg_poll_interval(fcinfo, 3);

	return vs_batch_row(fcinfo,
						vs_batch_wait(vsid, bid, timeout_ms, interval,
									  vs_arg_request_options_nobody(fcinfo, 4)));
}

/* ---------------------------------------------------------------------
 * vs_upload_many
 * ---------------------------------------------------------------------
 */
typedef struct VsUploadItem
{
	char	   *filename;		/* UTF-8, as sent */
	const char *data;
	size_t		len;
	cJSON	   *attributes;		/* validated, or NULL */
	char	   *file_id;		/* UTF-8; NULL when the upload failed */
	bool		existing;		/* from file_ids: attached, never deleted */
	char	   *batch_id;
	char	   *status;
	char	   *error;
} VsUploadItem;

/* Sorted (file_id, item) pairs, to find a listed file's input row. */
typedef struct VsIdIndex
{
	const char *file_id;
	int			item;
} VsIdIndex;

typedef struct VsUploadState
{
	VsUploadItem *items;
	VsIdIndex  *index;
	int			nindex;
	MemoryContext cxt;			/* where the rows' strings live */
} VsUploadState;

static int
vs_id_cmp(const void *a, const void *b)
{
	return strcmp(((const VsIdIndex *) a)->file_id, ((const VsIdIndex *) b)->file_id);
}

/* One listed vector store file: record its status and error in its row. */
static void
vs_upload_record(const cJSON *item, void *arg)
{
	VsUploadState *st = (VsUploadState *) arg;
	VsIdIndex	key;
	VsIdIndex  *hit;
	VsUploadItem *it;
	const char *status;
	const cJSON *err;

	key.file_id = vs_json_get_string(item, "id");
	if (key.file_id == NULL)
		return;
	hit = bsearch(&key, st->index, st->nindex, sizeof(VsIdIndex), vs_id_cmp);
	if (hit == NULL)
		return;
	it = &st->items[hit->item];
	/* list pages live in a short context: copy what is kept */
	status = vs_json_get_string(item, "status");
	it->status = MemoryContextStrdup(st->cxt, status ? status : "unknown");
	err = cJSON_GetObjectItemCaseSensitive(item, "last_error");
	if (cJSON_IsObject(err))
	{
		const char *code = vs_json_get_string(err, "code");
		const char *msg = vs_json_get_string(err, "message");

		it->error = MemoryContextStrdup(st->cxt,
										psprintf("%s: %s", code ? code : "error",
												 msg ? msg : "(no message)"));
	}
}

/*
 * Poll one batch to the end (or until left_ms passes: no ERROR then, its
 * rows stay in_progress) and record each file's outcome. A failure to follow
 * the batch (say the API is down) is written into the batch's rows instead
 * of raised, so the report of what was uploaded and attached is not lost.
 * Nothing here holds resources an ERROR would need to release but memory
 * (http.c releases its handles itself), so carrying on after it is safe.
 * Cancel and termination are raised as usual.
 */
static void
vs_follow_batch(const char *vsid, const char *batch_id, int64 left_ms, int interval,
				const VsRequestOptions *opts, VsUploadState *st, VsUploadItem *items,
				const int *uploaded, int from, int to)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		VsPager		pager = {0};

		(void) vs_poll_status(vs_path("/vector_stores/%s/file_batches/%s", vsid, batch_id),
							  "file batch", batch_id, left_ms, interval, false, opts);
		pager.path = vs_path("/vector_stores/%s/file_batches/%s/files", vsid, batch_id);
		pager.beta = true;
		pager.opts = opts;
		pager.page_size = 100;
		pager.raise = true;
		(void) vs_paginate(&pager, vs_upload_record, st);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || ProcDiePending)
			PG_RE_THROW();
		FlushErrorState();
		for (int k = from; k < to; k++)
		{
			VsUploadItem *it = &items[uploaded[k]];

			if (it->error == NULL)
				it->error = psprintf("could not follow file batch %s: %s", batch_id,
									 edata->message);
		}
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/* Read one upload's answer as it arrives (never raises on what it says). */
typedef struct VsUploadRead
{
	VsUploadItem *items;
	const VsRequest *reqs;
} VsUploadRead;

static void
vs_upload_read(int i, VsResponse *resp, void *arg)
{
	VsUploadRead *rd = (VsUploadRead *) arg;
	VsUploadItem *it = &rd->items[i];

	if (VS_HTTP_OK(resp))
	{
		char	   *err;
		cJSON	   *file = vs_json_try_parse_response(&rd->reqs[i], resp, &err);

		if (file && (err = vs_kind_problem(file, vs_file_kinds)) == NULL)
		{
			it->file_id = pstrdup(cJSON_GetObjectItemCaseSensitive(file, "id")->valuestring);
			it->status = "uploaded";
		}
		else
		{
			/* a 2xx we cannot read: if it made a file, we cannot name it */
			it->status = "upload_failed";
			it->error = file ? psprintf("POST /files: invalid response: %s", err) : err;
		}
	}
	else
	{
		it->status = "upload_failed";
		it->error = vs_describe_error(&rd->reqs[i], resp);
	}
	vs_response_release(resp);
}

/*
 * Files uploaded but not attached are deleted again, so a failed call leaves
 * no orphan behind; what could not be deleted is said in the row's error.
 * Files given by file_ids were the caller's before the call: they stay.
 */
static void
vs_delete_files(VsUploadItem *items, const int *uploaded, int from, int to, const char *why,
				const VsRequestOptions *opts)
{
	int			n = 0;
	VsRequest  *reqs = palloc0(sizeof(VsRequest) * Max(to - from, 1));
	VsResponse *resps = palloc0(sizeof(VsResponse) * Max(to - from, 1));
	int		   *which = palloc(sizeof(int) * Max(to - from, 1));

	for (int k = from; k < to; k++)
	{
		VsUploadItem *it = &items[uploaded[k]];

		if (it->existing)
		{
			it->error = psprintf("%s; file %s, given in file_ids, is left as it was", why,
								 it->file_id);
			continue;
		}
		reqs[n].method = "DELETE";
		reqs[n].path = vs_path("/files/%s", pg_any_to_server(it->file_id, strlen(it->file_id), PG_UTF8));
		reqs[n].opts = opts;
		which[n++] = uploaded[k];
	}
	vs_http_execute_many(reqs, resps, n, 8, true);
	for (int k = 0; k < n; k++)
	{
		VsUploadItem *it = &items[which[k]];
		bool		gone = VS_HTTP_OK(&resps[k]) || resps[k].status == 404;

		it->error = psprintf("%s; the uploaded file %s was %s", why, it->file_id,
							 gone ? "deleted again" : "left in the Files API");
		vs_response_release(&resps[k]);
	}
}

static void
vs_deconstruct(ArrayType *arr, Oid elemtype, const char *argname,
			   Datum **elems, bool **nulls, int *n)
{
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", argname)));
	deconstruct_array(arr, elemtype, -1, false, TYPALIGN_INT, elems, nulls, n);
}

static Datum
vs_upload_many_common(FunctionCallInfo fcinfo, bool is_bytea)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	cJSON	   *chunking = vs_arg_json(fcinfo, 4);
	/* NULL: as many as the pacer finds the server takes (pacing.c) */
	int			concurrency = PG_ARGISNULL(5) ? VS_UPLOAD_MAX_CONCURRENCY : PG_GETARG_INT32(5);
	bool		wait = PG_ARGISNULL(6) ? true : PG_GETARG_BOOL(6);
	int64		timeout_ms = vs_arg_interval_ms(fcinfo, 7, "timeout");
	int			interval = vs_arg_poll_interval(fcinfo, 8);
	bool		have_ids = vs_arg_given(fcinfo, 9);
	VsRequestOptions *opts = vs_arg_request_options(fcinfo, 10);
	const VsRequestOptions *nobody = vs_options_without_body(opts);
	ReturnSetInfo *rsinfo;
	Datum	   *names = NULL,
			   *contents = NULL,
			   *attrs = NULL,
			   *ids = NULL;
	bool	   *names_null = NULL,
			   *contents_null = NULL,
			   *attrs_null = NULL,
			   *ids_null = NULL;
	int			n = 0,
				ncontents = 0,
				nattrs,
				nids = 0,
				ntotal;
	VsUploadItem *items;
	VsRequest  *reqs;
	VsResponse *resps;
	int		   *uploaded;
	int			nuploaded = 0;
	int			nbatches;
	VsRequest  *breqs;
	VsResponse *bresps;
	char	  **batch_ids;
	VsStrSet   *id_set = NULL;
	TimestampTz start = GetCurrentTimestamp();

	/* filenames and contents may both be NULL when file_ids says what to attach */
	if (!(have_ids && PG_ARGISNULL(1) && PG_ARGISNULL(2)))
	{
		vs_require_arg(fcinfo, 1, "filenames");
		vs_require_arg(fcinfo, 2, "contents");
	}
	vs_validate_chunking_strategy(chunking, "chunking_strategy");
	if (concurrency < 1 || concurrency > VS_UPLOAD_MAX_CONCURRENCY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_concurrency must be between 1 and 64, not %d", concurrency)));

	/* 1. check every argument before anything is sent */
	if (!PG_ARGISNULL(1))
	{
		vs_deconstruct(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, "filenames", &names, &names_null, &n);
		vs_deconstruct(PG_GETARG_ARRAYTYPE_P(2), is_bytea ? BYTEAOID : TEXTOID, "contents",
					   &contents, &contents_null, &ncontents);
	}
	if (ncontents != n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("filenames has %d elements but contents has %d", n, ncontents)));
	if (have_ids)
		vs_deconstruct(PG_GETARG_ARRAYTYPE_P(9), TEXTOID, "file_ids", &ids, &ids_null, &nids);
	ntotal = n + nids;
	if (!PG_ARGISNULL(3))
	{
		vs_deconstruct(PG_GETARG_ARRAYTYPE_P(3), JSONBOID, "attributes",
					   &attrs, &attrs_null, &nattrs);
		/* one per upload, or one per upload and then one per file id */
		if (nattrs != n && nattrs != ntotal)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 nids > 0 ?
					 errmsg("attributes has %d elements; it needs %d (one per file name) or %d (one per file name, then one per file id)",
							nattrs, n, ntotal) :
					 errmsg("filenames has %d elements but attributes has %d", n, nattrs)));
	}
	else
		nattrs = 0;

	items = palloc0(sizeof(VsUploadItem) * Max(ntotal, 1));
	for (int i = 0; i < n; i++)
	{
		VsUploadItem *it = &items[i];

		CHECK_FOR_INTERRUPTS();
		if (names_null[i] || contents_null[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s[%d] is null", names_null[i] ? "filenames" : "contents", i + 1)));
		it->filename = vs_text_to_utf8(DatumGetTextPP(names[i]), NULL);
		if (it->filename[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("filenames[%d] is empty", i + 1)));
		if (is_bytea)
		{
			bytea	   *b = DatumGetByteaPP(contents[i]);

			it->data = VARDATA_ANY(b);
			it->len = VARSIZE_ANY_EXHDR(b);
		}
		else
		{
			int			len;

			it->data = vs_text_to_utf8(DatumGetTextPP(contents[i]), &len);
			it->len = len;
		}
	}
	/* existing files: non-empty ids, each once; after the uploads in the rows */
	if (nids > 0)
		id_set = vs_strset_create("vectorstore file_ids", nids);
	for (int j = 0; j < nids; j++)
	{
		VsUploadItem *it = &items[n + j];
		int		   *first;
		bool		found;

		CHECK_FOR_INTERRUPTS();
		if (ids_null[j])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("file_ids[%d] is null", j + 1)));
		it->file_id = vs_text_to_utf8(DatumGetTextPP(ids[j]), NULL);
		if (it->file_id[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("file_ids[%d] is empty", j + 1)));
		first = vs_strset_enter(id_set, it->file_id, &found);
		if (found)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("file_ids[%d] repeats file_ids[%d] (\"%s\")", j + 1, *first + 1,
							pg_any_to_server(it->file_id, strlen(it->file_id), PG_UTF8))));
		*first = j;
		it->existing = true;
		it->status = "uploaded";
	}
	for (int i = 0; i < nattrs; i++)
	{
		VsUploadItem *it = &items[i];
		char		argname[32];

		CHECK_FOR_INTERRUPTS();
		if (attrs_null[i])
			continue;
		snprintf(argname, sizeof(argname), "attributes[%d]", i + 1);
		it->attributes = vs_json_from_jsonb(DatumGetJsonbP(attrs[i]));
		if (cJSON_IsNull(it->attributes))
			it->attributes = NULL;
		vs_validate_attributes(it->attributes, argname);
	}

	/*
	 * 2. upload everything concurrently; failures stay per row. Each answer
	 * is read as it arrives and its body released, so memory holds the
	 * answers in flight, not all of them. From here on nothing the server
	 * answers raises: a file that uploaded ends attached, or deleted again.
	 */
	reqs = palloc0(sizeof(VsRequest) * Max(n, 1));
	resps = palloc0(sizeof(VsResponse) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		vs_file_upload_request(&reqs[i], items[i].filename, items[i].data, items[i].len,
							   "assistants");
		reqs[i].opts = nobody;
	}
	{
		VsUploadRead rd = {items, reqs};

		/* paced per credential: up to max_concurrency, 429s held back (pacing.c) */
		vs_http_execute_paced(reqs, resps, n, concurrency, vs_upload_read, &rd, NULL);
	}
	/* what is to be attached: the uploads that worked, then the file_ids */
	uploaded = palloc(sizeof(int) * Max(ntotal, 1));
	for (int i = 0; i < ntotal; i++)
		if (items[i].file_id)
			uploaded[nuploaded++] = i;

	/* 3. attach what uploaded, by batches of at most 2,000 with attributes */
	nbatches = (nuploaded + VS_BATCH_MAX_FILES - 1) / VS_BATCH_MAX_FILES;
	breqs = palloc0(sizeof(VsRequest) * Max(nbatches, 1));
	bresps = palloc0(sizeof(VsResponse) * Max(nbatches, 1));
	batch_ids = palloc0(sizeof(char *) * Max(nbatches, 1));
	for (int b = 0; b < nbatches; b++)
	{
		cJSON	   *body = vs_json_new_object();
		cJSON	   *files = cJSON_AddArrayToObject(body, "files");

		if (files == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory building JSON")));
		for (int k = b * VS_BATCH_MAX_FILES; k < Min(nuploaded, (b + 1) * VS_BATCH_MAX_FILES); k++)
		{
			VsUploadItem *it = &items[uploaded[k]];
			cJSON	   *f = cJSON_CreateObject();

			if (f == NULL || !cJSON_AddItemToArray(files, f) ||
				cJSON_AddStringToObject(f, "file_id", it->file_id) == NULL)
				ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory building JSON")));
			if (it->attributes)
				vs_json_add_ref(f, "attributes", it->attributes);
			if (chunking)
				vs_json_add_ref(f, "chunking_strategy", chunking);
		}
		breqs[b].method = "POST";
		breqs[b].path = vs_path("/vector_stores/%s/file_batches", vsid);
		breqs[b].json = body;
		breqs[b].beta = true;
		breqs[b].opts = opts;	/* extra_body goes with the batches */
	}
	vs_http_execute_many(breqs, bresps, nbatches, Min(nbatches, 4), true);
	for (int b = 0; b < nbatches; b++)
	{
		char	   *err = NULL;
		const char *status = "in_progress";

		if (VS_HTTP_OK(&bresps[b]))
		{
			cJSON	   *batch = vs_json_try_parse_response(&breqs[b], &bresps[b], &err);

			if (batch && (err = vs_kind_problem(batch, vs_batch_kinds)) == NULL)
				batch_ids[b] = pstrdup(cJSON_GetObjectItemCaseSensitive(batch, "id")->valuestring);
			else if (batch)
				err = psprintf("%s %s: invalid response: %s", breqs[b].method, breqs[b].path, err);
		}
		else
			err = vs_describe_error(&breqs[b], &bresps[b]);
		vs_response_release(&bresps[b]);
		if (err)
		{
			/* not attached: delete this batch's files again */
			status = "attach_failed";
			vs_delete_files(items, uploaded, b * VS_BATCH_MAX_FILES,
							Min(nuploaded, (b + 1) * VS_BATCH_MAX_FILES), err, nobody);
		}
		for (int k = b * VS_BATCH_MAX_FILES; k < Min(nuploaded, (b + 1) * VS_BATCH_MAX_FILES); k++)
		{
			VsUploadItem *it = &items[uploaded[k]];

			it->batch_id = batch_ids[b];
			it->status = (char *) status;
			if (it->error == NULL)
				it->error = err;
		}
	}

	/* 4. wait: poll every batch to the end, then read each file's outcome */
	if (wait && nbatches > 0)
	{
		VsUploadState st;
		int			m = 0;

		st.items = items;
		st.cxt = CurrentMemoryContext;
		st.index = palloc(sizeof(VsIdIndex) * Max(nuploaded, 1));
		for (int k = 0; k < nuploaded; k++)
		{
			if (items[uploaded[k]].batch_id == NULL)
				continue;
			st.index[m].file_id = items[uploaded[k]].file_id;
			st.index[m].item = uploaded[k];
			m++;
		}
		st.nindex = m;
		qsort(st.index, m, sizeof(VsIdIndex), vs_id_cmp);

		for (int b = 0; b < nbatches; b++)
		{
			int64		left = -1;

			if (batch_ids[b] == NULL)
				continue;
			if (timeout_ms >= 0)
			{
				long		secs;
				int			usecs;

				TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
				left = Max(0, timeout_ms - ((int64) secs * 1000 + usecs / 1000));
			}
			vs_follow_batch(vsid, batch_ids[b], left, interval, nobody, &st, items, uploaded,
							b * VS_BATCH_MAX_FILES,
							Min(nuploaded, (b + 1) * VS_BATCH_MAX_FILES));
		}
	}

	/* 5. one row per input element, in input order (file_ids last) */
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	for (int i = 0; i < ntotal; i++)
	{
		VsUploadItem *it = &items[i];
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

#define VS_TEXT_OR_NULL(col, s) \
		do { \
			nulls[col] = (s) == NULL; \
			if (s) \
				values[col] = CStringGetTextDatum(pg_any_to_server((s), strlen(s), PG_UTF8)); \
		} while (0)

		values[0] = Int32GetDatum(i + 1);
		VS_TEXT_OR_NULL(1, it->filename);
		VS_TEXT_OR_NULL(2, it->file_id);
		VS_TEXT_OR_NULL(3, it->batch_id);
		VS_TEXT_OR_NULL(4, it->status);
		nulls[5] = it->error == NULL;
		if (it->error)
			values[5] = CStringGetTextDatum(it->error);
#undef VS_TEXT_OR_NULL
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * vs_upload_many(vector_store_id, filenames, contents, attributes,
 *				  chunking_strategy, max_concurrency, wait, timeout,
 *				  poll_interval_ms, file_ids, request_options)
 */
Datum
vs_upload_many_text(PG_FUNCTION_ARGS)
{
	return vs_upload_many_common(fcinfo, false);
}

Datum
vs_upload_many_bytea(PG_FUNCTION_ARGS)
{
	return vs_upload_many_common(fcinfo, true);
}
