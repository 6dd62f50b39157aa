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

/* Common part of both upload overloads: the file name and purpose checks. */
static Datum
vs_file_upload_common(FunctionCallInfo fcinfo, const char *data, size_t len)
{
	char	   *filename;
	char	   *purpose;
	VsRequest	req;
	cJSON	   *res;

	filename = vs_text_to_utf8(PG_GETARG_TEXT_PP(0), NULL);
	if (filename[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("filename must not be empty")));
	purpose = PG_ARGISNULL(2) ? "assistants" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	vs_check_purpose(purpose);

	vs_file_upload_request(&req, filename, data, len, purpose);
	res = vs_api_call(&req);
	PG_RETURN_DATUM(vs_object_result(fcinfo, res, vs_file_kinds, NULL));
}

/* vs_file_upload(filename, content text, purpose) -> openai_file */
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

/* vs_file_upload(filename, content bytea, purpose) -> openai_file */
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

/* vs_file_get(file_id) -> openai_file */
Datum
vs_file_get(PG_FUNCTION_ARGS)
{
	cJSON	   *res;

	vs_require_arg(fcinfo, 0, "file_id");
	res = vs_api_get(vs_path("/files/%s", text_to_cstring(PG_GETARG_TEXT_PP(0))),
					 NULL, false);
	PG_RETURN_DATUM(vs_object_result(fcinfo, res, vs_file_kinds, NULL));
}

/* vs_file_delete(file_id) -> boolean; also removes it from every store */
Datum
vs_file_delete(PG_FUNCTION_ARGS)
{
	cJSON	   *res;

	vs_require_arg(fcinfo, 0, "file_id");
	res = vs_api_delete(vs_path("/files/%s", text_to_cstring(PG_GETARG_TEXT_PP(0))),
						false);
	PG_RETURN_BOOL(vs_json_deleted(res));
}

/*
 * vs_files(purpose, "order", "limit", after) -> setof openai_file, every page.
 * GET /files pages hold up to 10,000 files, so "limit" is checked here
 * rather than by vs_list_query (whose range is the vector stores' 1..100).
 */
Datum
vs_files(PG_FUNCTION_ARGS)
{
	VsPager		pager = {0};
	StringInfoData q;

	initStringInfo(&q);
	if (!PG_ARGISNULL(0))
		vs_query_add(&q, "purpose", text_to_cstring(PG_GETARG_TEXT_PP(0)));
	pager.path = "/files";
	vs_list_args(fcinfo, &pager, &q, 1, 2, 3, 10000);
	vs_list_to_srf(fcinfo, &pager, vs_file_kinds, NULL);
	return (Datum) 0;
}

/* vs_file_content(file_id) -> bytea: the raw bytes, never parsed */
Datum
vs_file_content(PG_FUNCTION_ARGS)
{
	VsRequest	req = {0};
	VsResponse *resp;
	bytea	   *out;

	vs_require_arg(fcinfo, 0, "file_id");
	req.method = "GET";
	req.path = vs_path("/files/%s/content", text_to_cstring(PG_GETARG_TEXT_PP(0)));
	req.binary = true;
	req.beta = false;
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
