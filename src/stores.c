/*-------------------------------------------------------------------------
 *
 * stores.c
 *	  Vector stores: create, retrieve, update, delete and list
 *	  (/vector_stores). Results are rows of vectorstore.vector_store, with
 *	  typed columns for every field plus the whole object in "raw".
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "funcapi.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(vs_store_create);
PG_FUNCTION_INFO_V1(vs_store_get);
PG_FUNCTION_INFO_V1(vs_store_update);
PG_FUNCTION_INFO_V1(vs_store_delete);
PG_FUNCTION_INFO_V1(vs_stores);

/* file_counts is expanded into columns */
static const VsFieldAlias vs_store_aliases[] = {
	{"files_in_progress", "file_counts.in_progress"},
	{"files_completed", "file_counts.completed"},
	{"files_failed", "file_counts.failed"},
	{"files_cancelled", "file_counts.cancelled"},
	{"files_total", "file_counts.total"},
	{NULL, NULL}
};

/* Check a response really is a vector store before turning it into a row. */
static void
vs_expect_object(const cJSON *obj, const char *expected)
{
	const char *object = vs_json_get_string(obj, "object");

	if (object == NULL || strcmp(object, expected) != 0 ||
		vs_json_get_string(obj, "id") == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("invalid response from the vector store API"),
				 errdetail("Expected an object of type \"%s\" with an id, got \"%s\".",
						   expected, object ? object : "(none)")));
}

/* Add a validated jsonb argument to body under key (unless SQL NULL). */
static void
vs_add_json_arg(cJSON *body, FunctionCallInfo fcinfo, int argno, const char *key,
				void (*validate) (const cJSON *, const char *))
{
	cJSON	   *v = vs_arg_json(fcinfo, argno);

	if (v == NULL)
		return;
	if (validate)
		validate(v, key);
	cJSON_AddItemToObject(body, key, v);
}

/*
 * vs_store_create(name, description, file_ids, chunking_strategy,
 *				   expires_after, metadata) -> vector_store
 */
Datum
vs_store_create(PG_FUNCTION_ARGS)
{
	cJSON	   *body = cJSON_CreateObject();
	cJSON	   *res;

	if (!PG_ARGISNULL(0))
		cJSON_AddItemToObject(body, "name", vs_json_string_from_text(PG_GETARG_TEXT_PP(0)));
	if (!PG_ARGISNULL(1))
		cJSON_AddItemToObject(body, "description", vs_json_string_from_text(PG_GETARG_TEXT_PP(1)));
	if (!PG_ARGISNULL(2))
	{
		cJSON	   *ids = vs_json_from_text_array(PG_GETARG_ARRAYTYPE_P(2), "file_ids");

		if (cJSON_GetArraySize(ids) > 500)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("file_ids has %d elements; at most 500 are allowed",
							cJSON_GetArraySize(ids)),
					 errhint("Attach more files afterwards with a file batch.")));
		cJSON_AddItemToObject(body, "file_ids", ids);
	}
	vs_add_json_arg(body, fcinfo, 3, "chunking_strategy", vs_validate_chunking_strategy);
	vs_add_json_arg(body, fcinfo, 4, "expires_after", vs_validate_expires_after);
	vs_add_json_arg(body, fcinfo, 5, "metadata", vs_validate_metadata);

	res = vs_api_post("/vector_stores", body, true);
	vs_expect_object(res, "vector_store");
	PG_RETURN_DATUM(vs_json_to_composite(res, fcinfo, vs_store_aliases));
}

/* vs_store_get(vector_store_id) -> vector_store */
Datum
vs_store_get(PG_FUNCTION_ARGS)
{
	cJSON	   *res;

	vs_require_arg(fcinfo, 0, "vector_store_id");
	res = vs_api_get(vs_path("/vector_stores/%s", text_to_cstring(PG_GETARG_TEXT_PP(0))),
					 NULL, true);
	vs_expect_object(res, "vector_store");
	PG_RETURN_DATUM(vs_json_to_composite(res, fcinfo, vs_store_aliases));
}

/*
 * vs_store_update(vector_store_id, name, expires_after, metadata)
 * SQL NULL leaves a field alone; 'null'::jsonb clears expires_after/metadata.
 */
Datum
vs_store_update(PG_FUNCTION_ARGS)
{
	cJSON	   *body = cJSON_CreateObject();
	cJSON	   *res;

	vs_require_arg(fcinfo, 0, "vector_store_id");
	if (!PG_ARGISNULL(1))
		cJSON_AddItemToObject(body, "name", vs_json_string_from_text(PG_GETARG_TEXT_PP(1)));
	vs_add_json_arg(body, fcinfo, 2, "expires_after", vs_validate_expires_after);
	vs_add_json_arg(body, fcinfo, 3, "metadata", vs_validate_metadata);
	res = vs_api_post(vs_path("/vector_stores/%s", text_to_cstring(PG_GETARG_TEXT_PP(0))),
					  body, true);
	vs_expect_object(res, "vector_store");
	PG_RETURN_DATUM(vs_json_to_composite(res, fcinfo, vs_store_aliases));
}

/* vs_store_delete(vector_store_id) -> boolean (deleted) */
Datum
vs_store_delete(PG_FUNCTION_ARGS)
{
	cJSON	   *res;

	vs_require_arg(fcinfo, 0, "vector_store_id");
	res = vs_api_delete(vs_path("/vector_stores/%s", text_to_cstring(PG_GETARG_TEXT_PP(0))),
						true);
	PG_RETURN_BOOL(vs_json_deleted(res));
}

typedef struct VsSrfState
{
	ReturnSetInfo *rsinfo;
	const VsFieldAlias *aliases;
	const char *expected;
} VsSrfState;

static void
vs_put_row(cJSON *item, void *arg)
{
	VsSrfState *st = (VsSrfState *) arg;
	TupleDesc	td = st->rsinfo->setDesc;
	Datum	   *values = palloc(sizeof(Datum) * td->natts);
	bool	   *nulls = palloc(sizeof(bool) * td->natts);

	if (st->expected)
		vs_expect_object(item, st->expected);
	vs_json_to_row(item, td, st->aliases, values, nulls);
	tuplestore_putvalues(st->rsinfo->setResult, td, values, nulls);
}

/* Validate "order" and page size and build the list query string. */
char *
vs_list_query(FunctionCallInfo fcinfo, int order_arg, int limit_arg, int after_arg)
{
	StringInfoData q;

	initStringInfo(&q);
	if (order_arg >= 0 && !PG_ARGISNULL(order_arg))
	{
		char	   *order = text_to_cstring(PG_GETARG_TEXT_PP(order_arg));

		if (strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("order must be \"asc\" or \"desc\", not \"%s\"", order)));
		vs_query_add(&q, "order", order);
	}
	if (limit_arg >= 0 && !PG_ARGISNULL(limit_arg))
	{
		int32		limit = PG_GETARG_INT32(limit_arg);
		char		buf[16];

		if (limit < 1 || limit > 100)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("limit (the page size) must be between 1 and 100, not %d", limit)));
		snprintf(buf, sizeof(buf), "%d", limit);
		vs_query_add(&q, "limit", buf);
	}
	if (after_arg >= 0 && !PG_ARGISNULL(after_arg))
		vs_query_add(&q, "after", text_to_cstring(PG_GETARG_TEXT_PP(after_arg)));
	return q.data;
}

/* Run a list endpoint through every page into the function's tuplestore. */
void
vs_list_to_srf(FunctionCallInfo fcinfo, const char *path, const char *query,
			   const VsFieldAlias *aliases, const char *expected)
{
	VsSrfState	st;

	InitMaterializedSRF(fcinfo, 0);
	st.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	st.aliases = aliases;
	st.expected = expected;
	vs_api_list_all(path, query, strncmp(path, "/vector_stores", 14) == 0,
					vs_put_row, &st);
}

/* vs_stores("order", "limit", after) -> setof vector_store, every page */
Datum
vs_stores(PG_FUNCTION_ARGS)
{
	vs_list_to_srf(fcinfo, "/vector_stores", vs_list_query(fcinfo, 0, 1, 2),
				   vs_store_aliases, "vector_store");
	return (Datum) 0;
}
