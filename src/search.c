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
 *	  The checks, the request body and the reading of a results page are
 *	  functions of their own (vs_search_params, vs_search_body,
 *	  vs_search_hits, vs_search_hit_columns) that vs_search_many
 *	  (search_many.c) shares, so the two cannot drift apart.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include <math.h>

/* columns of vectorstore.vector_store_search_result */
#define VS_SEARCH_NATTS 8

PG_FUNCTION_INFO_V1(vs_search);
PG_FUNCTION_INFO_V1(vs_search_array);
PG_FUNCTION_INFO_V1(vs_search_json);
PG_FUNCTION_INFO_V1(vs_search_json_array);

/*
 * ranking_options: {"ranker": none|auto|default-2024-11-15, "score_threshold": 0..1}.
 * Shared with vs_search_many (search_many.c).
 */
void
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

/* A query string must not be empty (argname: "query", "queries[3]"). */
void
vs_search_check_query(text *query, const char *argname)
{
	if (VARSIZE_ANY_EXHDR(query) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", argname)));
}

/*
 * Read and check the arguments every search shares: max_num_results
 * (1..50), ranking_options and rewrite_query, at the given positions.
 */
void
vs_search_params(FunctionCallInfo fcinfo, int max_arg, int ranking_arg, int rewrite_arg,
				 VsSearchParams *p)
{
	p->max_num_results = -1;
	p->ranking_options = NULL;
	p->rewrite_query = -1;
	if (!PG_ARGISNULL(max_arg))
	{
		int32		max = PG_GETARG_INT32(max_arg);

		if (max < 1 || max > VS_SEARCH_MAX_RESULTS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_num_results must be between 1 and %d, not %d",
							VS_SEARCH_MAX_RESULTS, max)));
		p->max_num_results = max;
	}
	p->ranking_options = vs_arg_json(fcinfo, ranking_arg);
	if (p->ranking_options && cJSON_IsNull(p->ranking_options))
		p->ranking_options = NULL;
	vs_validate_ranking_options(p->ranking_options);
	if (!PG_ARGISNULL(rewrite_arg))
		p->rewrite_query = PG_GETARG_BOOL(rewrite_arg) ? 1 : 0;
}

/*
 * The body of one search as JSON text (UTF-8): the query (one string, or
 * query_array, a JSON array of strings), the filters (already validated;
 * NULL or JSON null: none) and the parameters every search of a call
 * shares. Written directly rather than built as a cJSON tree and printed:
 * this runs for every search, and a tree costs a malloc per node and a
 * free per node at the end of the call.
 */
char *
vs_search_body(text *query, const cJSON *query_array, const cJSON *filters,
			   const VsSearchParams *p)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoString(&b, "{\"query\":");
	if (query)
		escape_json(&b, vs_text_to_utf8(query, NULL));
	else
		appendStringInfoString(&b, vs_json_print(query_array));
	if (p->max_num_results > 0)
		appendStringInfo(&b, ",\"max_num_results\":%d", p->max_num_results);
	if (filters && !cJSON_IsNull(filters))
	{
		appendStringInfoString(&b, ",\"filters\":");
		appendStringInfoString(&b, vs_json_print(filters));
	}
	if (p->ranking_options)
	{
		appendStringInfoString(&b, ",\"ranking_options\":");
		appendStringInfoString(&b, vs_json_print(p->ranking_options));
	}
	if (p->rewrite_query >= 0)
		appendStringInfo(&b, ",\"rewrite_query\":%s", p->rewrite_query == 1 ? "true" : "false");
	appendStringInfoChar(&b, '}');
	return b.data;
}

/*
 * Check the arguments (vector_store_id, query, max_num_results, filters,
 * ranking_options, rewrite_query, request_options) and run the search. The
 * query argument is text or text[] depending on the overload.
 */
static cJSON *
vs_search_call(FunctionCallInfo fcinfo, bool is_array, int *max_results)
{
	cJSON	   *query_array = NULL;
	text	   *query = NULL;
	cJSON	   *filters;
	char	   *vsid;
	VsSearchParams params;
	VsRequest	req = {0};

	vs_require_arg(fcinfo, 0, "vector_store_id");
	vs_require_arg(fcinfo, 1, "query");
	vsid = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (is_array)
	{
		query_array = vs_json_from_text_array(PG_GETARG_ARRAYTYPE_P(1), "query");
		if (cJSON_GetArraySize(query_array) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("query must not be an empty array")));
	}
	else
	{
		query = PG_GETARG_TEXT_PP(1);
		vs_search_check_query(query, "query");
	}
	vs_search_params(fcinfo, 2, 4, 5, &params);
	if (max_results)
		*max_results = params.max_num_results;
	filters = vs_arg_json(fcinfo, 3);
	if (filters && !cJSON_IsNull(filters))
		vs_validate_filters(filters, "filters");

	req.method = "POST";
	req.path = vs_path("/vector_stores/%s/search", vsid);
	req.body = vs_search_body(query, query_array, filters, &params);
	req.beta = true;
	req.opts = vs_arg_request_options(fcinfo, 6);
	return vs_api_call(&req);
}

static int
vs_hit_cmp(const void *a, const void *b)
{
	const VsSearchHit *x = (const VsSearchHit *) a;
	const VsSearchHit *y = (const VsSearchHit *) b;

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
 * The results of a search results page in rank order: descending score,
 * ties in the API's order, at most max_results of them (the max_num_results
 * the search sent; 0 or less when it sent none: the API's largest, 50). A
 * server that sends more than asked for gets the best kept and the rest
 * dropped, so what a search holds (rows, or a fan-out's held rows) never
 * grows with what the server chooses to send. Raises 08P01 when the page
 * or a result is not the shape the API documents. The hits point into page.
 */
VsSearchHit *
vs_search_hits(const cJSON *page, int max_results, int *nhits)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(page, "data");
	const cJSON *item;
	VsSearchHit *hits;
	int			n = 0;

	if (!cJSON_IsArray(data))
		vs_search_invalid("Field \"data\" of a search results page must be an array.");
	hits = palloc(sizeof(VsSearchHit) * Max(1, cJSON_GetArraySize(data)));
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
	qsort(hits, n, sizeof(VsSearchHit), vs_hit_cmp);
	if (max_results <= 0 || max_results > VS_SEARCH_MAX_RESULTS)
		max_results = VS_SEARCH_MAX_RESULTS;
	*nhits = Min(n, max_results);
	return hits;
}

/*
 * The columns of one hit, in the server encoding: file_id, filename (may be
 * null), score, content (the text parts in order, joined with "\n") and
 * attributes (may be null); with extra, also raw (the result as sent) and
 * content_parts (the text parts as an array).
 */
void
vs_search_hit_columns(const VsSearchHit *hit, bool extra, VsSearchColumns *cols)
{
	const cJSON *it = hit->item;
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(it, "attributes");
	const char *file_id = vs_json_get_string(it, "file_id");
	const char *filename = vs_json_get_string(it, "filename");
	ArrayBuildState *parts = NULL;
	const cJSON *part;

	if (file_id == NULL)
		vs_search_invalid("A search result has no file_id.");
	cols->file_id = vs_utf8_datum(file_id, strlen(file_id));
	cols->filename_null = filename == NULL;
	cols->filename = filename == NULL ? (Datum) 0 : vs_utf8_datum(filename, strlen(filename));
	cols->score = Float8GetDatum(hit->score);

	/* content parts in order: joined with "\n" (and, with extra, as an array) */
	if (content != NULL && !cJSON_IsNull(content) && !cJSON_IsArray(content))
		vs_search_invalid("Field \"content\" of a search result must be an array.");
	if (extra)
		parts = initArrayResult(TEXTOID, CurrentMemoryContext, false);
	if (!extra && cJSON_GetArraySize(content) == 1)
	{
		/* the usual case, one part: no joining */
		const char *t1;

		part = cJSON_GetArrayItem(content, 0);
		t1 = cJSON_IsObject(part) ? vs_json_get_string(part, "text") : NULL;
		if (t1 == NULL)
			t1 = "";
		cols->content = vs_utf8_datum(t1, strlen(t1));
	}
	else
	{
		StringInfoData text;
		bool		first = true;

		initStringInfo(&text);
		cJSON_ArrayForEach(part, content)
		{
			const char *t = cJSON_IsObject(part) ? vs_json_get_string(part, "text") : NULL;

			if (t == NULL)
				continue;
			if (!first)
				appendStringInfoChar(&text, '\n');
			appendStringInfoString(&text, t);
			first = false;
			if (extra)
				parts = accumArrayResult(parts, vs_utf8_datum(t, strlen(t)), false, TEXTOID,
										 CurrentMemoryContext);
		}
		cols->content = vs_utf8_datum(text.data, text.len);
	}
	cols->attributes_null = attrs == NULL || cJSON_IsNull(attrs);
	cols->attributes = cols->attributes_null ? (Datum) 0 : vs_json_to_jsonb(attrs);
	cols->raw = extra ? vs_json_to_jsonb(it) : (Datum) 0;
	cols->content_parts = extra ? makeArrayResult(parts, CurrentMemoryContext) : (Datum) 0;
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
	int			max_results;
	cJSON	   *res = vs_search_call(fcinfo, is_array, &max_results);
	ReturnSetInfo *rsinfo;
	VsSearchHit *hits;
	int			n;
	int			natts;

	hits = vs_search_hits(res, max_results, &n);
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	natts = rsinfo->setDesc->natts;
	/* 0.1.0's row type has the first six columns only */
	if (natts != 6 && natts != VS_SEARCH_NATTS)
		elog(ERROR, "vectorstore: unexpected search result row type with %d columns", natts);
	for (int i = 0; i < n; i++)
	{
		VsSearchColumns c;
		Datum		values[VS_SEARCH_NATTS];
		bool		nulls[VS_SEARCH_NATTS] = {false, false, false, false, false, false,
		false, false};

		vs_search_hit_columns(&hits[i], natts == VS_SEARCH_NATTS, &c);
		values[0] = c.file_id;
		values[1] = c.filename;
		nulls[1] = c.filename_null;
		values[2] = c.score;
		values[3] = c.content;
		values[4] = c.attributes;
		nulls[4] = c.attributes_null;
		values[5] = Int32GetDatum(i + 1);
		values[6] = c.raw;
		values[7] = c.content_parts;
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
	PG_RETURN_DATUM(vs_json_to_jsonb(vs_search_call(fcinfo, false, NULL)));
}

Datum
vs_search_json_array(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(vs_json_to_jsonb(vs_search_call(fcinfo, true, NULL)));
}
