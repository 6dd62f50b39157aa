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

/* Add a jsonb argument to body under key (unless SQL NULL), validated. */
static void
vs_add_json_arg(cJSON *body, FunctionCallInfo fcinfo, int argno, const char *key,
				void (*validate) (const cJSON *, const char *))
{
	cJSON	   *v = vs_arg_json(fcinfo, argno);

	if (v == NULL)
		return;
	if (validate)
		validate(v, key);
	vs_json_add_ref(body, key, v);
}

/*
 * vs_store_create(name, description, file_ids, chunking_strategy,
 *				   expires_after, metadata, request_options) -> vector_store
 */
Datum
vs_store_create(PG_FUNCTION_ARGS)
{
	cJSON	   *body = vs_json_new_object();
	cJSON	   *res;

	if (!PG_ARGISNULL(0))
		vs_json_add_text(body, "name", PG_GETARG_TEXT_PP(0));
	if (!PG_ARGISNULL(1))
		vs_json_add_text(body, "description", PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2))
	{
		cJSON	   *ids = vs_json_from_text_array(PG_GETARG_ARRAYTYPE_P(2), "file_ids");

		if (cJSON_GetArraySize(ids) > 500)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("file_ids has %d elements; at most 500 are allowed",
							cJSON_GetArraySize(ids)),
					 errhint("Attach more files afterwards with a file batch.")));
		vs_json_add_ref(body, "file_ids", ids);
	}
	vs_add_json_arg(body, fcinfo, 3, "chunking_strategy", vs_validate_chunking_strategy);
	vs_add_json_arg(body, fcinfo, 4, "expires_after", vs_validate_expires_after);
	vs_add_json_arg(body, fcinfo, 5, "metadata", vs_validate_metadata);

	res = vs_api_request("POST", "/vector_stores", NULL, body, true,
						 vs_arg_request_options(fcinfo, 6));
	PG_RETURN_DATUM(vs_object_result(fcinfo, res, vs_store_kinds, vs_store_aliases));
}

/* vs_store_get(vector_store_id, request_options) -> vector_store */
Datum
vs_store_get(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	cJSON	   *res;

	res = vs_api_request("GET", vs_path("/vector_stores/%s", vsid), NULL, NULL, true,
						 vs_arg_request_options_nobody(fcinfo, 1));
	PG_RETURN_DATUM(vs_object_result(fcinfo, res, vs_store_kinds, vs_store_aliases));
}

/*
 * vs_store_update(vector_store_id, name, expires_after, metadata,
 *				   request_options)
 * SQL NULL leaves a field alone; 'null'::jsonb clears expires_after/metadata.
 */
Datum
vs_store_update(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	cJSON	   *body = vs_json_new_object();
	cJSON	   *res;

	if (!PG_ARGISNULL(1))
		vs_json_add_text(body, "name", PG_GETARG_TEXT_PP(1));
	vs_add_json_arg(body, fcinfo, 2, "expires_after", vs_validate_expires_after);
	vs_add_json_arg(body, fcinfo, 3, "metadata", vs_validate_metadata);
	res = vs_api_request("POST", vs_path("/vector_stores/%s", vsid), NULL, body, true,
						 vs_arg_request_options(fcinfo, 4));
	PG_RETURN_DATUM(vs_object_result(fcinfo, res, vs_store_kinds, vs_store_aliases));
}

/*
 * vs_store_delete(vector_store_id, missing_ok, request_options) -> boolean
 * (deleted; with missing_ok, false for a store that is not there)
 */
Datum
vs_store_delete(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");

	PG_RETURN_BOOL(vs_api_delete_object(vs_path("/vector_stores/%s", vsid), true,
										vs_arg_bool(fcinfo, 1, false),
										vs_arg_request_options_nobody(fcinfo, 2)));
}

/*
 * vs_stores("order", "limit", after, before, max_items, request_options)
 * -> setof vector_store, every page (or the first max_items rows)
 */
Datum
vs_stores(PG_FUNCTION_ARGS)
{
	VsPager		pager = {0};
	StringInfoData q;
	VsListArgs	a = {.order = 0,.limit = 1,.after = 2,.before = 3,.max_items = 4,
	.request_options = 5,.max_limit = 100};

	initStringInfo(&q);
	pager.path = "/vector_stores";
	pager.beta = true;
	vs_list_args(fcinfo, &pager, &q, &a);
	vs_list_to_srf(fcinfo, &pager, vs_store_kinds, vs_store_aliases);
	return (Datum) 0;
}
