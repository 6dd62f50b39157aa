/*-------------------------------------------------------------------------
 *
 * store_files.c
 *	  Vector store files (/vector_stores/{id}/files): attach, retrieve,
 *	  update attributes, detach, list, read the parsed content, poll until
 *	  processed, and the SDK's upload helper (upload + attach [+ poll]).
 *	  Rows are vectorstore.vector_store_file, last_error expanded into
 *	  last_error_code and last_error_message.
 *
 * Polling is api.c's vs_poll_status (the SDKs' rules, plus an overall
 * timeout that raises 55000, kept apart from a real cancel's 57014).
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

PG_FUNCTION_INFO_V1(vs_store_file_add);
PG_FUNCTION_INFO_V1(vs_store_file_get);
PG_FUNCTION_INFO_V1(vs_store_file_update);
PG_FUNCTION_INFO_V1(vs_store_file_remove);
PG_FUNCTION_INFO_V1(vs_store_files);
PG_FUNCTION_INFO_V1(vs_store_file_content);
PG_FUNCTION_INFO_V1(vs_store_file_poll);
PG_FUNCTION_INFO_V1(vs_upload_text);
PG_FUNCTION_INFO_V1(vs_upload_bytea);

static Datum
vs_store_file_row(FunctionCallInfo fcinfo, cJSON *obj)
{
	return vs_object_result(fcinfo, obj, vs_store_file_kinds, vs_store_file_aliases);
}

/* Body of POST /vector_stores/{id}/files, validated. */
static cJSON *
vs_attach_body(const char *file_id, cJSON *attributes, cJSON *chunking_strategy)
{
	cJSON	   *body = vs_json_new_object();

	vs_json_add_string(body, "file_id", file_id);
	if (attributes)
		vs_json_add_ref(body, "attributes", attributes);
	if (chunking_strategy)
		vs_json_add_ref(body, "chunking_strategy", chunking_strategy);
	return body;
}

/* Validated attributes / chunking_strategy arguments (NULL when SQL NULL). */
static cJSON *
vs_arg_attributes(FunctionCallInfo fcinfo, int argno)
{
	cJSON	   *v = vs_arg_json(fcinfo, argno);

	vs_validate_attributes(v, "attributes");
	return v;
}

static cJSON *
vs_arg_chunking(FunctionCallInfo fcinfo, int argno)
{
	cJSON	   *v = vs_arg_json(fcinfo, argno);

	vs_validate_chunking_strategy(v, "chunking_strategy");
	return v;
}

/*
 * Wait for a vector store file to be processed (the wait of vs_upload and
 * vs_store_file_add): vs_poll_status, raising 55000 after timeout_ms.
 */
static cJSON *
vs_store_file_wait(const char *vsid, const char *file_id, int64 timeout_ms, int interval,
				   const VsRequestOptions *opts)
{
	return vs_poll_status(vs_path("/vector_stores/%s/files/%s", vsid, file_id),
						  "vector store file", file_id, timeout_ms, interval, true,
						  vs_options_without_body(opts));
}

/*
 * vs_store_file_add(vector_store_id, file_id, attributes, chunking_strategy,
 *					 wait, timeout, poll_interval_ms, request_options): attach
 * and, with wait, poll until processed (the SDKs' createAndPoll).
 */
Datum
vs_store_file_add(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *file_id = vs_arg_cstring(fcinfo, 1, "file_id");
	bool		wait = vs_arg_bool(fcinfo, 4, false);
	int64		timeout_ms = vs_arg_timeout_ms(fcinfo, 5, VS_WAIT_DEFAULT_MS);
	int			interval = vs_arg_poll_interval(fcinfo, 6);
	VsRequestOptions *opts = vs_arg_request_options(fcinfo, 7);
	cJSON	   *body;
	cJSON	   *vsf;

	body = vs_attach_body(file_id, vs_arg_attributes(fcinfo, 2), vs_arg_chunking(fcinfo, 3));
	vsf = vs_api_request("POST", vs_path("/vector_stores/%s/files", vsid), NULL, body, true, opts);
	vs_expect_kind(vsf, vs_store_file_kinds);
	if (wait)
		vsf = vs_store_file_wait(vsid, file_id, timeout_ms, interval, opts);
	return vs_store_file_row(fcinfo, vsf);
}

/* vs_store_file_get(vector_store_id, file_id, request_options) */
Datum
vs_store_file_get(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *file_id = vs_arg_cstring(fcinfo, 1, "file_id");

	return vs_store_file_row(fcinfo,
							 vs_api_request("GET", vs_path("/vector_stores/%s/files/%s", vsid, file_id),
											NULL, NULL, true,
											vs_arg_request_options_nobody(fcinfo, 2)));
}

/*
 * vs_store_file_update(vector_store_id, file_id, attributes, request_options):
 * replaces the attributes; SQL NULL (or 'null'::jsonb) removes them all.
 */
Datum
vs_store_file_update(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *file_id = vs_arg_cstring(fcinfo, 1, "file_id");
	cJSON	   *attributes = vs_arg_attributes(fcinfo, 2);
	cJSON	   *body = vs_json_new_object();

	if (attributes)
		vs_json_add_ref(body, "attributes", attributes);
	else
		vs_json_add_null(body, "attributes");
	return vs_store_file_row(fcinfo,
							 vs_api_request("POST", vs_path("/vector_stores/%s/files/%s", vsid, file_id),
											NULL, body, true, vs_arg_request_options(fcinfo, 3)));
}

/*
 * vs_store_file_remove(vector_store_id, file_id, missing_ok, request_options)
 * -> boolean (detach only; with missing_ok, false when it was not attached)
 */
Datum
vs_store_file_remove(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *file_id = vs_arg_cstring(fcinfo, 1, "file_id");

	PG_RETURN_BOOL(vs_api_delete_object(vs_path("/vector_stores/%s/files/%s", vsid, file_id),
										true, vs_arg_bool(fcinfo, 2, false),
										vs_arg_request_options_nobody(fcinfo, 3)));
}

/*
 * vs_store_files(vector_store_id, filter, "order", "limit", after, before,
 *				  max_items, request_options)
 */
Datum
vs_store_files(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	VsPager		pager = {0};

	pager.path = vs_path("/vector_stores/%s/files", vsid);
	pager.beta = true;
	vs_store_files_args(fcinfo, &pager, 1);
	vs_list_to_srf(fcinfo, &pager, vs_store_file_kinds, vs_store_file_aliases);
	return (Datum) 0;
}

/*
 * vs_store_file_content(vector_store_id, file_id, request_options)
 * -> (part, type, text):
 * the parsed text of a file, in order. The schema says "data"; the spec's
 * example says "content": both are read.
 */
Datum
vs_store_file_content(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *file_id = vs_arg_cstring(fcinfo, 1, "file_id");
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	cJSON	   *res;
	const cJSON *data;
	const cJSON *item;
	int			part = 0;

	res = vs_api_request("GET", vs_path("/vector_stores/%s/files/%s/content", vsid, file_id),
						 NULL, NULL, true, vs_arg_request_options_nobody(fcinfo, 2));
	data = cJSON_GetObjectItemCaseSensitive(res, "data");
	if (data == NULL)
		data = cJSON_GetObjectItemCaseSensitive(res, "content");
	if (!cJSON_IsArray(data))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("invalid response from the vector store API"),
				 errdetail("Field \"data\" of a file content page must be an array.")));

	InitMaterializedSRF(fcinfo, 0);
	cJSON_ArrayForEach(item, data)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		const char *type;
		const char *txt;

		if (!cJSON_IsObject(item))
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("invalid response from the vector store API"),
					 errdetail("Items of a file content page must be objects.")));
		type = vs_json_get_string(item, "type");
		txt = vs_json_get_string(item, "text");
		values[0] = Int32GetDatum(++part);
		nulls[1] = type == NULL;
		if (type)
			values[1] = CStringGetTextDatum(pg_any_to_server(type, strlen(type), PG_UTF8));
		nulls[2] = txt == NULL;
		if (txt)
			values[2] = CStringGetTextDatum(pg_any_to_server(txt, strlen(txt), PG_UTF8));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * vs_store_file_poll(vector_store_id, file_id, timeout, poll_interval_ms,
 *					  request_options)
 */
Datum
vs_store_file_poll(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *file_id = vs_arg_cstring(fcinfo, 1, "file_id");
	int64		timeout_ms = vs_arg_interval_ms(fcinfo, 2, "timeout");
	int			interval = vs_arg_poll_interval(fcinfo, 3);

	return vs_store_file_row(fcinfo,
							 vs_store_file_wait(vsid, file_id, timeout_ms, interval,
												vs_arg_request_options_nobody(fcinfo, 4)));
}

/*
 * vs_upload(vector_store_id, filename, content, attributes, chunking_strategy,
 *			 wait, timeout, poll_interval_ms, request_options): upload a File,
 * attach it and (wait) poll it to the end. Arguments are all checked before
 * the upload. If attaching fails, the uploaded File is deleted again (best
 * effort) so a failed call leaves no orphan behind, and the error says so.
 * request_options go with every request; extra_body with the attach, the
 * request that makes the vector store file this function returns.
 */
static Datum
vs_upload_common(FunctionCallInfo fcinfo, const char *data, size_t len)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *filename;
	cJSON	   *attributes = vs_arg_attributes(fcinfo, 3);
	cJSON	   *chunking = vs_arg_chunking(fcinfo, 4);
	bool		wait = vs_arg_bool(fcinfo, 5, false);
	int64		timeout_ms = vs_arg_timeout_ms(fcinfo, 6, VS_WAIT_DEFAULT_MS);
	int			interval = vs_arg_poll_interval(fcinfo, 7);
	VsRequestOptions *opts = vs_arg_request_options(fcinfo, 8);
	const VsRequestOptions *nobody = vs_options_without_body(opts);
	char	   *attach_path = vs_path("/vector_stores/%s/files", vsid);
	VsRequest	req;
	cJSON	   *file;
	char	   *file_id;
	cJSON	   *vsf = NULL;
	MemoryContext oldcxt = CurrentMemoryContext;

	vs_require_arg(fcinfo, 1, "filename");
	filename = vs_text_to_utf8(PG_GETARG_TEXT_PP(1), NULL);
	if (filename[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("filename must not be empty")));

	vs_file_upload_request(&req, filename, data, len, "assistants");
	req.opts = nobody;
	file = vs_api_call(&req);
	file_id = pstrdup(vs_file_check(file));
	file_id = pg_any_to_server(file_id, strlen(file_id), PG_UTF8);

	PG_TRY();
	{
		vsf = vs_api_request("POST", attach_path, NULL,
							 vs_attach_body(file_id, attributes, chunking), true, opts);
		vs_expect_kind(vsf, vs_store_file_kinds);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || ProcDiePending)
			PG_RE_THROW();
		FlushErrorState();
		{
			VsRequest	del = {0};
			VsResponse	dresp;

			del.method = "DELETE";
			del.path = vs_path("/files/%s", file_id);
			del.opts = nobody;
			vs_http_execute_many(&del, &dresp, 1, 1, true);
			edata->detail = psprintf("%s%sThe uploaded file %s was %s.",
									 edata->detail ? edata->detail : "",
									 edata->detail ? " " : "", file_id,
									 VS_HTTP_OK(&dresp) ? "deleted again" : "left in the Files API");
		}
		ReThrowError(edata);
	}
	PG_END_TRY();

	if (wait)
		vsf = vs_store_file_wait(vsid, file_id, timeout_ms, interval, nobody);
	return vs_store_file_row(fcinfo, vsf);
}

Datum
vs_upload_text(PG_FUNCTION_ARGS)
{
	char	   *data;
	int			len;

	vs_require_arg(fcinfo, 2, "content");
	data = vs_text_to_utf8(PG_GETARG_TEXT_PP(2), &len);
	return vs_upload_common(fcinfo, data, (size_t) len);
}

Datum
vs_upload_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *content;

	vs_require_arg(fcinfo, 2, "content");
	content = PG_GETARG_BYTEA_PP(2);
	return vs_upload_common(fcinfo, VARDATA_ANY(content), VARSIZE_ANY_EXHDR(content));
}
