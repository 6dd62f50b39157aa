/*-------------------------------------------------------------------------
 *
 * files.c
 *	  The Files API (/files): upload straight from a text or bytea value,
 *	  retrieve, delete, list and download. Results are rows of
 *	  vectorstore.openai_file with typed columns plus the whole object in
 *	  "raw".
 *
 *	  /files calls do not send the OpenAI-Beta header (the SDKs send it only
 *	  on /vector_stores calls). Uploads are multipart/form-data built from
 *	  the value itself: text is sent as its UTF-8 bytes, bytea as is (NUL
 *	  bytes included), so nothing touches the server's file system.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "funcapi.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(vs_file_upload_text);
PG_FUNCTION_INFO_V1(vs_file_upload_bytea);
PG_FUNCTION_INFO_V1(vs_file_get);
PG_FUNCTION_INFO_V1(vs_file_delete);
PG_FUNCTION_INFO_V1(vs_files);
PG_FUNCTION_INFO_V1(vs_file_content);

/* Purposes POST /files accepts (CONTRACT.md 3.2). */
static const char *const vs_file_purposes[] = {
	"assistants", "batch", "fine-tune", "vision", "user_data", "evals", NULL
};

static void
vs_check_purpose(const char *purpose)
{
	for (int i = 0; vs_file_purposes[i]; i++)
		if (strcmp(purpose, vs_file_purposes[i]) == 0)
			return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("purpose must be one of assistants, batch, fine-tune, vision, user_data, evals, not \"%s\"",
					purpose),
			 errhint("Files meant for vector stores use \"assistants\".")));
}

/*
 * Common part of both upload overloads (filename, content, purpose,
 * expires_after, request_options): the checks, then one POST /files.
 */
static Datum
vs_file_upload_common(FunctionCallInfo fcinfo, const char *data, size_t len)
{
	char	   *filename;
	char	   *purpose;
	cJSON	   *expires_after = NULL;
	VsRequest	req;
	cJSON	   *res;

	filename = vs_text_to_utf8(PG_GETARG_TEXT_PP(0), NULL);
	if (filename[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("filename must not be empty")));
	purpose = PG_ARGISNULL(2) ? "assistants" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	vs_check_purpose(purpose);
	if (vs_arg_given(fcinfo, 3))
	{
		expires_after = vs_arg_json(fcinfo, 3);
		vs_validate_file_expires_after(expires_after, "expires_after");
	}

	vs_file_upload_request_ex(&req, filename, data, len, purpose, expires_after);
	req.opts = vs_arg_request_options(fcinfo, 4);
	res = vs_api_call(&req);
	PG_RETURN_DATUM(vs_object_result(fcinfo, res, vs_file_kinds, NULL));
}

/* vs_file_upload(filename, content text, ...) -> openai_file */
Datum
vs_file_upload_text(PG_FUNCTION_ARGS)
{
	char	   *data;
	int			len;

	vs_require_arg(fcinfo, 0, "filename");
	vs_require_arg(fcinfo, 1, "content");
	data = vs_text_to_utf8(PG_GETARG_TEXT_PP(1), &len);
	return vs_file_upload_common(fcinfo, data, (size_t) len);
}

/* vs_file_upload(filename, content bytea, ...) -> openai_file */
Datum
vs_file_upload_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *content;

	vs_require_arg(fcinfo, 0, "filename");
	vs_require_arg(fcinfo, 1, "content");
	content = PG_GETARG_BYTEA_PP(1);
	return vs_file_upload_common(fcinfo, VARDATA_ANY(content),
								 VARSIZE_ANY_EXHDR(content));
}

/* vs_file_get(file_id, request_options) -> openai_file */
Datum
vs_file_get(PG_FUNCTION_ARGS)
{
	char	   *file_id = vs_arg_cstring(fcinfo, 0, "file_id");
	cJSON	   *res;

	res = vs_api_request("GET", vs_path("/files/%s", file_id), NULL, NULL, false,
						 vs_arg_request_options_nobody(fcinfo, 1));
	PG_RETURN_DATUM(vs_object_result(fcinfo, res, vs_file_kinds, NULL));
}

/*
 * vs_file_delete(file_id, missing_ok, request_options) -> boolean; also
 * removes it from every store. With missing_ok, false for a file not there.
 */
Datum
vs_file_delete(PG_FUNCTION_ARGS)
{
	char	   *file_id = vs_arg_cstring(fcinfo, 0, "file_id");

	PG_RETURN_BOOL(vs_api_delete_object(vs_path("/files/%s", file_id), false,
										vs_arg_bool(fcinfo, 1, false),
										vs_arg_request_options_nobody(fcinfo, 2)));
}

/*
 * vs_files(purpose, "order", "limit", after, max_items, request_options)
 * -> setof openai_file, every page (or the first max_items). GET /files
 * pages hold up to 10,000 files, and the endpoint has no "before".
 */
Datum
vs_files(PG_FUNCTION_ARGS)
{
	VsPager		pager = {0};
	StringInfoData q;
	VsListArgs	a = {.order = 1,.limit = 2,.after = 3,.before = -1,.max_items = 4,
	.request_options = 5,.max_limit = 10000};

	initStringInfo(&q);
	if (!PG_ARGISNULL(0))
		vs_query_add(&q, "purpose", text_to_cstring(PG_GETARG_TEXT_PP(0)));
	pager.path = "/files";
	vs_list_args(fcinfo, &pager, &q, &a);
	vs_list_to_srf(fcinfo, &pager, vs_file_kinds, NULL);
	return (Datum) 0;
}

/* vs_file_content(file_id, request_options) -> bytea: the raw bytes, never parsed */
Datum
vs_file_content(PG_FUNCTION_ARGS)
{
	VsRequest	req = {0};
	VsResponse *resp;
	bytea	   *out;

	req.method = "GET";
	req.path = vs_path("/files/%s/content", vs_arg_cstring(fcinfo, 0, "file_id"));
	req.binary = true;
	req.beta = false;
	req.opts = vs_arg_request_options_nobody(fcinfo, 1);
	resp = vs_http_execute(&req);
	if (resp->body_len > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("file content of %zu bytes is too large for a bytea value",
						resp->body_len)));
	out = (bytea *) palloc(VARHDRSZ + resp->body_len);
	SET_VARSIZE(out, VARHDRSZ + resp->body_len);
	if (resp->body_len > 0)
		memcpy(VARDATA(out), resp->body, resp->body_len);
	PG_RETURN_BYTEA_P(out);
}
