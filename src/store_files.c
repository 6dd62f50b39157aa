/*-------------------------------------------------------------------------
 *
 * store_files.c
 *	  Vector store files (/vector_stores/{id}/files): attach, retrieve,
 *	  update attributes, detach, list, read the parsed content, poll until
 *	  processed, and the SDK's upload helper (upload + attach [+ poll]).
 *	  Rows are vectorstore.vector_store_file, last_error expanded into
 *	  last_error_code and last_error_message.
 *
 * Polling (vs_poll_status, also used for file batches) follows the SDKs:
 * a GET marked as a poll (X-Stainless-Poll-Helper), repeated at the
 * caller's interval, else the server's openai-poll-after-ms, else every
 * 1000 ms (the Python SDK's default), until completed, failed or cancelled.
 * Waits are WaitLatch() calls, so cancel and statement_timeout end them at
 * once. Unlike the SDKs there is an overall timeout (an interval argument):
 * a file stuck in_progress raises 55000 object_not_in_prerequisite_state,
 * kept apart from 57014, which only a real cancel raises.
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

#define VS_POLL_DEFAULT_MS	1000	/* openai-python's default interval */
#define VS_POLL_MIN_MS		10		/* never spin, whatever the server says */

const VsFieldAlias vs_store_file_aliases[] = {
	{"last_error_code", "last_error.code"},
	{"last_error_message", "last_error.message"},
	{NULL, NULL}
};

const char *const vs_store_file_kinds[] = {"vector_store.file", NULL};

/* Timeout argument in ms (-1: SQL NULL, no limit). */
int64
vs_arg_interval_ms(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	Interval   *iv;
	int64		us;

	if (PG_ARGISNULL(argno))
		return -1;
	iv = PG_GETARG_INTERVAL_P(argno);
	us = iv->time + ((int64) iv->day + (int64) iv->month * DAYS_PER_MONTH) * USECS_PER_DAY;
	if (us < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", argname)));
	return us / 1000;
}

static int
vs_arg_poll_interval(FunctionCallInfo fcinfo, int argno)
{
	int32		ms;

	if (PG_ARGISNULL(argno))
		return -1;
	ms = PG_GETARG_INT32(argno);
	if (ms < 1 || ms > 3600000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("poll_interval_ms must be between 1 and 3600000, not %d", ms)));
	return ms;
}

static bool
vs_status_terminal(const char *status)
{
	return strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
		strcmp(status, "cancelled") == 0;
}

/* See vectorstore.h. */
cJSON *
vs_poll_status(const char *path, const char *what, const char *id,
			   int64 timeout_ms, int poll_interval_ms, bool raise_on_timeout)
{
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext loopcxt = AllocSetContextCreate(outer, "vectorstore poll",
												  ALLOCSET_SMALL_SIZES);
	TimestampTz start = GetCurrentTimestamp();
	cJSON	   *result = NULL;

	for (;;)
	{
		VsRequest	req = {0};
		VsResponse *resp;
		cJSON	   *obj;
		const char *status;
		long		secs;
		int			usecs;
		int64		elapsed_ms;
		int64		wait_ms;

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(loopcxt);
		req.method = "GET";
		req.path = path;
		req.beta = true;
		req.poll = true;
		resp = vs_http_execute(&req);
		obj = vs_json_parse_response(&req, resp);
		status = vs_json_get_string(obj, "status");
		if (status == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("invalid response from the vector store API"),
					 errdetail("The %s has no status.", what),
					 errcontext("vectorstore request: GET %s", path)));
		TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
		elapsed_ms = (int64) secs * 1000 + usecs / 1000;

		if (vs_status_terminal(status) ||
			(timeout_ms >= 0 && elapsed_ms >= timeout_ms && !raise_on_timeout))
		{
			/* the result must outlive the loop context */
			MemoryContextSwitchTo(outer);
			result = vs_json_parse_response(&req, resp);
			break;
		}
		if (timeout_ms >= 0 && elapsed_ms >= timeout_ms)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s \"%s\" is still %s after %lld ms", what, id, status,
							(long long) elapsed_ms),
					 errhint("Raise timeout, or poll again later with %s().",
							 strcmp(what, "file batch") == 0 ? "vs_batch_poll" : "vs_store_file_poll")));

		if (poll_interval_ms > 0)
			wait_ms = poll_interval_ms;
		else if (resp->poll_after_ms >= 0)
			wait_ms = Max(resp->poll_after_ms, VS_POLL_MIN_MS);
		else
			wait_ms = VS_POLL_DEFAULT_MS;
		if (timeout_ms >= 0)
			wait_ms = Min(wait_ms, timeout_ms - elapsed_ms);

		MemoryContextSwitchTo(outer);
		MemoryContextReset(loopcxt);
		if (wait_ms > 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 (long) wait_ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
	MemoryContextDelete(loopcxt);
	return result;
}

static char *
vs_arg_cstring(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	vs_require_arg(fcinfo, argno, argname);
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static Datum
vs_store_file_row(FunctionCallInfo fcinfo, cJSON *obj)
{
	vs_expect_kind(obj, vs_store_file_kinds);
	return vs_json_to_composite(obj, fcinfo, vs_store_file_aliases);
}

/* Body of POST /vector_stores/{id}/files, validated. */
static cJSON *
vs_attach_body(const char *file_id, cJSON *attributes, cJSON *chunking_strategy)
{
	cJSON	   *body = cJSON_CreateObject();

	cJSON_AddItemToObject(body, "file_id",
						  cJSON_CreateString(pg_server_to_any(file_id, strlen(file_id), PG_UTF8)));
	if (attributes)
		cJSON_AddItemToObject(body, "attributes", attributes);
	if (chunking_strategy)
		cJSON_AddItemToObject(body, "chunking_strategy", chunking_strategy);
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

/* vs_store_file_add(vector_store_id, file_id, attributes, chunking_strategy) */
Datum
vs_store_file_add(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *file_id = vs_arg_cstring(fcinfo, 1, "file_id");
	cJSON	   *body;

	body = vs_attach_body(file_id, vs_arg_attributes(fcinfo, 2), vs_arg_chunking(fcinfo, 3));
	return vs_store_file_row(fcinfo,
							 vs_api_post(vs_path("/vector_stores/%s/files", vsid), body, true));
}

/* vs_store_file_get(vector_store_id, file_id) */
Datum
vs_store_file_get(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *file_id = vs_arg_cstring(fcinfo, 1, "file_id");

	return vs_store_file_row(fcinfo,
							 vs_api_get(vs_path("/vector_stores/%s/files/%s", vsid, file_id),
										NULL, true));
}

/*
 * vs_store_file_update(vector_store_id, file_id, attributes): replaces the
 * attributes; SQL NULL (or 'null'::jsonb) removes them all.
 */
Datum
vs_store_file_update(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *file_id = vs_arg_cstring(fcinfo, 1, "file_id");
	cJSON	   *attributes = vs_arg_attributes(fcinfo, 2);
	cJSON	   *body = cJSON_CreateObject();

	cJSON_AddItemToObject(body, "attributes", attributes ? attributes : cJSON_CreateNull());
	return vs_store_file_row(fcinfo,
							 vs_api_post(vs_path("/vector_stores/%s/files/%s", vsid, file_id),
										 body, true));
}

/* vs_store_file_remove(vector_store_id, file_id) -> boolean (detach only) */
Datum
vs_store_file_remove(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *file_id = vs_arg_cstring(fcinfo, 1, "file_id");
	cJSON	   *res;

	res = vs_api_delete(vs_path("/vector_stores/%s/files/%s", vsid, file_id), true);
	PG_RETURN_BOOL(vs_json_deleted(res));
}

/* Append filter=<status> after checking it is one the API knows. */
static char *
vs_list_query_with_filter(FunctionCallInfo fcinfo, int filter_arg, int order_arg)
{
	StringInfoData q;

	initStringInfo(&q);
	appendStringInfoString(&q, vs_list_query(fcinfo, order_arg, order_arg + 1, order_arg + 2));
	if (!PG_ARGISNULL(filter_arg))
	{
		char	   *filter = text_to_cstring(PG_GETARG_TEXT_PP(filter_arg));

		if (strcmp(filter, "in_progress") != 0 && !vs_status_terminal(filter))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("filter must be one of in_progress, completed, failed, cancelled, not \"%s\"",
							filter)));
		vs_query_add(&q, "filter", filter);
	}
	return q.data;
}

/* The list query of vs_store_files and vs_batch_files (vectorstore.h). */
char *
vs_store_files_query(FunctionCallInfo fcinfo, int filter_arg, int order_arg)
{
	return vs_list_query_with_filter(fcinfo, filter_arg, order_arg);
}

/* vs_store_files(vector_store_id, filter, "order", "limit", after) */
Datum
vs_store_files(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");

	vs_list_to_srf(fcinfo, vs_path("/vector_stores/%s/files", vsid),
				   vs_list_query_with_filter(fcinfo, 1, 2),
				   vs_store_file_aliases, "vector_store.file");
	return (Datum) 0;
}

/*
 * vs_store_file_content(vector_store_id, file_id) -> (part, type, text):
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

	res = vs_api_get(vs_path("/vector_stores/%s/files/%s/content", vsid, file_id),
					 NULL, true);
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

/* vs_store_file_poll(vector_store_id, file_id, timeout, poll_interval_ms) */
Datum
vs_store_file_poll(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *file_id = vs_arg_cstring(fcinfo, 1, "file_id");
	int64		timeout_ms = vs_arg_interval_ms(fcinfo, 2, "timeout");
	int			interval = vs_arg_poll_interval(fcinfo, 3);
	cJSON	   *res;

	res = vs_poll_status(vs_path("/vector_stores/%s/files/%s", vsid, file_id),
						 "vector store file", file_id, timeout_ms, interval, true);
	return vs_store_file_row(fcinfo, res);
}

/*
 * vs_upload(vector_store_id, filename, content, attributes, chunking_strategy,
 *			 wait): upload a File, attach it and (wait) poll it to the end.
 * Arguments are all checked before the upload. If attaching fails, the
 * uploaded File is deleted again (best effort) so a failed call leaves no
 * orphan behind, and the error says so.
 */
static Datum
vs_upload_common(FunctionCallInfo fcinfo, const char *data, size_t len)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	char	   *filename;
	cJSON	   *attributes = vs_arg_attributes(fcinfo, 3);
	cJSON	   *chunking = vs_arg_chunking(fcinfo, 4);
	bool		wait = !PG_ARGISNULL(5) && PG_GETARG_BOOL(5);
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
	file = vs_api_call(&req);
	file_id = pstrdup(vs_file_check(file));
	file_id = pg_any_to_server(file_id, strlen(file_id), PG_UTF8);

	PG_TRY();
	{
		vsf = vs_api_post(attach_path, vs_attach_body(file_id, attributes, chunking), true);
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
		vsf = vs_poll_status(vs_path("/vector_stores/%s/files/%s", vsid, file_id),
							 "vector store file", file_id, 600000, -1, true);
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
