/*-------------------------------------------------------------------------
 *
 * search.c
 *	  Vector store search (POST /vector_stores/{id}/search) as a
 *	  set-returning function, one row per result, and as one jsonb value.
 *
 *	  Rows are (file_id, filename, score, content, attributes, rank, raw,
 *	  content_parts): content is the result's text parts joined in order
 *	  with a newline, content_parts the same parts as an array, raw the
 *	  whole result as the server sent it (fields this version does not know,
 *	  such as a compatible server's chunk id, are kept there). Rows come in
 *	  descending score order (ties keep the API's order) and rank numbers
 *	  them from 1. Arguments are checked before sending: max_num_results
 *	  1..50, filters (filters.c), ranking_options {ranker, score_threshold}.
 *	  The API has no paging for search, so one request is the whole answer.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include <math.h>

/* columns of vectorstore.vector_store_search_result */
#define VS_SEARCH_NATTS 8

PG_FUNCTION_INFO_V1(vs_search);
PG_FUNCTION_INFO_V1(vs_search_array);
PG_FUNCTION_INFO_V1(vs_search_json);
PG_FUNCTION_INFO_V1(vs_search_json_array);

/* ranking_options: {"ranker": none|auto|default-2024-11-15, "score_threshold": 0..1} */
static void
vs_validate_ranking_options(const cJSON *ro)
{
	const cJSON *kv;

	if (ro == NULL || cJSON_IsNull(ro))
		return;
	if (!cJSON_IsObject(ro))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ranking_options must be a JSON object"),
				 errhint("For example {\"ranker\": \"auto\", \"score_threshold\": 0.5}.")));
	cJSON_ArrayForEach(kv, ro)
	{
		if (strcmp(kv->string, "ranker") == 0)
		{
			if (!cJSON_IsString(kv) ||
				(strcmp(kv->valuestring, "none") != 0 &&
				 strcmp(kv->valuestring, "auto") != 0 &&
				 strcmp(kv->valuestring, "default-2024-11-15") != 0))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("ranking_options.ranker must be one of none, auto, default-2024-11-15")));
		}
		else if (strcmp(kv->string, "score_threshold") == 0)
		{
			if (!cJSON_IsNumber(kv) || !isfinite(kv->valuedouble) ||
				kv->valuedouble < 0 || kv->valuedouble > 1)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("ranking_options.score_threshold must be a number from 0 to 1")));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ranking_options has unknown key \"%s\"", kv->string),
					 errdetail("Allowed keys are \"ranker\" and \"score_threshold\".")));
	}
}

/*
 * Check the arguments (vector_store_id, query, max_num_results, filters,
 * ranking_options, rewrite_query, request_options) and run the search. The
 * query argument is text or text[] depending on the overload.
 */
static cJSON *
vs_search_call(FunctionCallInfo fcinfo, bool is_array)
{
	cJSON	   *body = vs_json_new_object();
	cJSON	   *filters;
	cJSON	   *ranking;
	char	   *vsid;

	vs_require_arg(fcinfo, 0, "vector_store_id");
	vs_require_arg(fcinfo, 1, "query");
	vsid = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (is_array)
	{
		cJSON	   *q = vs_json_from_text_array(PG_GETARG_ARRAYTYPE_P(1), "query");

		if (cJSON_GetArraySize(q) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("query must not be an empty array")));
		vs_json_add_ref(body, "query", q);
	}
	else
	{
		if (VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(1)) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("query must not be empty")));
		vs_json_add_text(body, "query", PG_GETARG_TEXT_PP(1));
	}
	if (!PG_ARGISNULL(2))
	{
		int32		max = PG_GETARG_INT32(2);

		if (max < 1 || max > 50)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_num_results must be between 1 and 50, not %d", max)));
		vs_json_add_number(body, "max_num_results", max);
	}
	filters = vs_arg_json(fcinfo, 3);
	if (filters && !cJSON_IsNull(filters))
	{
		vs_validate_filters(filters, "filters");
		vs_json_add_ref(body, "filters", filters);
	}
	ranking = vs_arg_json(fcinfo, 4);
	if (ranking && !cJSON_IsNull(ranking))
	{
		vs_validate_ranking_options(ranking);
		vs_json_add_ref(body, "ranking_options", ranking);
	}
	if (!PG_ARGISNULL(5))
		vs_json_add_bool(body, "rewrite_query", PG_GETARG_BOOL(5));

	return vs_api_request("POST", vs_path("/vector_stores/%s/search", vsid), NULL, body, true,
						  vs_arg_request_options(fcinfo, 6));
}

typedef struct VsHit
{
	const cJSON *item;
	double		score;
	int			pos;			/* position in the response: ties keep it */
} VsHit;

static int
vs_hit_cmp(const void *a, const void *b)
{
	const VsHit *x = (const VsHit *) a;
	const VsHit *y = (const VsHit *) b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->pos - y->pos;
}

static void
vs_search_invalid(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("invalid response from the vector store API"),
			 errdetail("%s", detail)));
}

/* Server text (UTF-8) as a text datum in the server encoding. */
static Datum
vs_utf8_datum(const char *s, int len)
{
	return CStringGetTextDatum(pg_any_to_server(s, len, PG_UTF8));
}

/*
 * vs_search(vector_store_id, query, max_num_results, filters,
 *			 ranking_options, rewrite_query, request_options)
 *	 -> setof (file_id, filename, score, content, attributes, rank, raw,
 *			   content_parts)
 * A database still at 0.1.0 has the result type without raw and
 * content_parts: only the columns the call's row type has are filled.
 */
static Datum
vs_search_rows(FunctionCallInfo fcinfo, bool is_array)
{
	cJSON	   *res = vs_search_call(fcinfo, is_array);
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(res, "data");
	const cJSON *item;
	ReturnSetInfo *rsinfo;
	VsHit	   *hits;
	int			n = 0;
	int			natts;

	if (!cJSON_IsArray(data))
		vs_search_invalid("Field \"data\" of a search results page must be an array.");
	hits = palloc(sizeof(VsHit) * Max(1, cJSON_GetArraySize(data)));
	cJSON_ArrayForEach(item, data)
	{
		const cJSON *score = cJSON_GetObjectItemCaseSensitive(item, "score");

		if (!cJSON_IsObject(item))
			vs_search_invalid("Search results must be objects.");
		if (!cJSON_IsNumber(score) || !isfinite(score->valuedouble))
			vs_search_invalid("Field \"score\" of a search result must be a number.");
		hits[n].item = item;
		hits[n].score = score->valuedouble;
		hits[n].pos = n;
		n++;
	}
	qsort(hits, n, sizeof(VsHit), vs_hit_cmp);

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	natts = rsinfo->setDesc->natts;
	for (int i = 0; i < n; i++)
	{
		const cJSON *it = hits[i].item;
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
		const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(it, "attributes");
		const char *file_id = vs_json_get_string(it, "file_id");
		const char *filename = vs_json_get_string(it, "filename");
		Datum		values[VS_SEARCH_NATTS];
		bool		nulls[VS_SEARCH_NATTS] = {false, false, false, false, false, false,
		false, false};
		StringInfoData text;
		ArrayBuildState *parts;
		const cJSON *part;
		bool		first = true;

		if (file_id == NULL)
			vs_search_invalid("A search result has no file_id.");
		values[0] = vs_utf8_datum(file_id, strlen(file_id));
		nulls[1] = filename == NULL;
		if (filename)
			values[1] = vs_utf8_datum(filename, strlen(filename));
		values[2] = Float8GetDatum(hits[i].score);

		/* content parts in order: joined with "\n", and as an array */
		initStringInfo(&text);
		parts = initArrayResult(TEXTOID, CurrentMemoryContext, false);
		if (content != NULL && !cJSON_IsNull(content) && !cJSON_IsArray(content))
			vs_search_invalid("Field \"content\" of a search result must be an array.");
		cJSON_ArrayForEach(part, content)
		{
			const char *t = cJSON_IsObject(part) ? vs_json_get_string(part, "text") : NULL;

			if (t == NULL)
				continue;
			if (!first)
				appendStringInfoChar(&text, '\n');
			appendStringInfoString(&text, t);
			first = false;
			parts = accumArrayResult(parts, vs_utf8_datum(t, strlen(t)), false, TEXTOID,
									 CurrentMemoryContext);
		}
		values[3] = vs_utf8_datum(text.data, text.len);
		nulls[4] = attrs == NULL || cJSON_IsNull(attrs);
		if (!nulls[4])
			values[4] = vs_json_to_jsonb(attrs);
		values[5] = Int32GetDatum(i + 1);
		values[6] = vs_json_to_jsonb(it);
		values[7] = makeArrayResult(parts, CurrentMemoryContext);
		/* 0.1.0's row type has the first six columns only */
		if (natts != 6 && natts != VS_SEARCH_NATTS)
			elog(ERROR, "vectorstore: unexpected search result row type with %d columns", natts);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* the two overloads: query text and query text[] */
Datum
vs_search(PG_FUNCTION_ARGS)
{
	return vs_search_rows(fcinfo, false);
}

Datum
vs_search_array(PG_FUNCTION_ARGS)
{
	return vs_search_rows(fcinfo, true);
}

/* vs_search_json(...same arguments...) -> the whole results page as jsonb */
Datum
vs_search_json(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(vs_json_to_jsonb(vs_search_call(fcinfo, false)));
}

Datum
vs_search_json_array(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(vs_json_to_jsonb(vs_search_call(fcinfo, true)));
}
