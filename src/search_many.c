/*-------------------------------------------------------------------------
 *
 * search_many.c
 *	  Fan-out reads: many requests of one kind sent at once over the
 *	  connection pool, answered as rows in the order of the input, each row
 *	  carrying the 1-based position of its input element.
 *
 *	  vs_search_many(vector_store_id, queries text[], max_num_results,
 *		  filters, ranking_options, rewrite_query, max_concurrency,
 *		  request_options)
 *		  -> (query_index, query, rank, file_id, filename, score, content,
 *			  attributes): one search per element of queries;
 *	  vs_store_file_get_many(vector_store_id, file_ids text[], ...)
 *		  -> (file_index, the columns of vector_store_file);
 *	  vs_file_get_many(file_ids text[], ...)
 *		  -> (file_index, the columns of openai_file).
 *
 * Why
 * ---
 * A function in FROM or LATERAL runs one call at a time, so a statement
 * that searches 64 questions waits for 64 round trips one after the other.
 * These send them together, up to max_concurrency at once (default 16),
 * each with the checks, retries, 429 handling, timeouts and cancel of the
 * single-request function (the checks are the same functions: search.c).
 *
 * Rules
 * -----
 *	  - Every argument is checked before anything is sent; an element that
 *		is NULL or empty is an error naming its position.
 *	  - An empty array sends nothing and returns no rows.
 *	  - Rows come in input order (then rank): an answer that arrives early
 *		is turned into tuples and held until the ones before it are out,
 *		so memory holds the rows of the answers that came out of turn (a
 *		search's rows are at most its max_num_results, whatever the server
 *		sends: vs_search_hits), and each response body and its parsed tree
 *		are released as soon as its rows are made.
 *	  - A request that still fails after its retries raises its ERROR (the
 *		one reporter, client.c) with a context line naming its position
 *		("vs_search_many: queries[3]"); the requests still in flight are
 *		dropped (transport.c releases them).
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(vs_search_many);
PG_FUNCTION_INFO_V1(vs_store_file_get_many);
PG_FUNCTION_INFO_V1(vs_file_get_many);

#define VS_FANOUT_DEFAULT_CONCURRENCY 16
#define VS_FANOUT_MAX_CONCURRENCY 64	/* the transport's VS_MAX_CONCURRENCY */

typedef struct VsFanout VsFanout;

/* Turn answer i (a parsed object) into rows with vs_fanout_put(). */
typedef void (*VsFanoutRowsFn) (VsFanout *f, int i, const cJSON *obj);

struct VsFanout
{
	const char *func;			/* "vs_search_many", for the error context */
	const char *argname;		/* "queries": names an element in errors */
	int			n;
	const VsRequest *reqs;
	VsFanoutRowsFn rows;
	void	   *arg;			/* the function's own state */
	/* output */
	Tuplestorestate *ts;
	TupleDesc	tupdesc;
	MemoryContext hold_cxt;		/* tuples of answers that came out of turn */
	MemoryContext tmp_cxt;		/* one answer's parse, reset after each */
	List	  **held;			/* per element: tuples waiting for their turn */
	bool	   *answered;
	int			next;			/* first element whose rows are not out yet */
	int			current;		/* element being read (error context), -1 */
	int			putting;		/* element whose rows vs_fanout_put takes */
};

/* Error context: which element an error is about. */
static void
vs_fanout_context(void *arg)
{
	VsFanout   *f = (VsFanout *) arg;

	if (f->current >= 0)
		errcontext("%s: %s[%d]", f->func, f->argname, f->current + 1);
}

/* A row of the element being read: out now if its turn, else held. */
static void
vs_fanout_put(VsFanout *f, Datum *values, bool *nulls)
{
	if (f->putting == f->next)
		tuplestore_putvalues(f->ts, f->tupdesc, values, nulls);
	else
	{
		MemoryContext old = MemoryContextSwitchTo(f->hold_cxt);

		f->held[f->putting] = lappend(f->held[f->putting],
									  heap_form_tuple(f->tupdesc, values, nulls));
		MemoryContextSwitchTo(old);
	}
}

/* One answer arrived: check it, make its rows, release its body. */
static void
vs_fanout_done(int i, VsResponse *resp, void *arg)
{
	VsFanout   *f = (VsFanout *) arg;
	const VsRequest *req = &f->reqs[i];
	MemoryContext old;
	cJSON	   *obj;

	/* not sent: the statement's request cap; the client raises it after the run */
	if (resp->cap_reached)
		return;
	f->current = i;
	if (resp->invalid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg_internal("%s", resp->error),
				 errcontext("vectorstore request: %s %s", req->method, req->path)));
	if (!VS_HTTP_OK(resp))
		vs_report_error(req, resp);
	old = MemoryContextSwitchTo(f->tmp_cxt);
	obj = vs_json_parse_response(req, resp);
	vs_response_release(resp);
	f->putting = i;
	f->rows(f, i, obj);
	MemoryContextSwitchTo(old);
	MemoryContextReset(f->tmp_cxt);
	f->answered[i] = true;
	f->current = -1;

	/* the rows of every answered element whose turn has come */
	while (f->next < f->n && f->answered[f->next])
	{
		ListCell   *lc;

		foreach(lc, f->held[f->next])
		{
			HeapTuple	t = (HeapTuple) lfirst(lc);

			tuplestore_puttuple(f->ts, t);
			heap_freetuple(t);
		}
		list_free(f->held[f->next]);
		f->held[f->next] = NIL;
		f->next++;
	}
}

/*
 * Send f->n requests, max_concurrency at once, and put the rows of every
 * answer, in input order, into the function's tuplestore.
 */
static void
vs_fanout_run(VsFanout *f, FunctionCallInfo fcinfo, int max_concurrency)
{
	ReturnSetInfo *rsinfo;
	ErrorContextCallback ctx;
	VsResponse *resps;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	f->ts = rsinfo->setResult;
	f->tupdesc = rsinfo->setDesc;
	if (f->n == 0)
		return;
	f->hold_cxt = AllocSetContextCreate(CurrentMemoryContext, "vectorstore fan-out rows",
										ALLOCSET_DEFAULT_SIZES);
	f->tmp_cxt = AllocSetContextCreate(CurrentMemoryContext, "vectorstore fan-out answer",
									   ALLOCSET_DEFAULT_SIZES);
	f->held = palloc0(sizeof(List *) * f->n);
	f->answered = palloc0(sizeof(bool) * f->n);
	f->next = 0;
	f->current = -1;
	resps = palloc0(sizeof(VsResponse) * f->n);

	ctx.callback = vs_fanout_context;
	ctx.arg = f;
	ctx.previous = error_context_stack;
	error_context_stack = &ctx;
	vs_http_execute_each(f->reqs, resps, f->n, max_concurrency, true,
						 vs_fanout_done, f, NULL);
	error_context_stack = ctx.previous;
	MemoryContextDelete(f->tmp_cxt);
	MemoryContextDelete(f->hold_cxt);
}

/* max_concurrency: NULL is the default, else 1..64. */
static int
vs_arg_concurrency(FunctionCallInfo fcinfo, int argno)
{
	int32		c;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return VS_FANOUT_DEFAULT_CONCURRENCY;
	c = PG_GETARG_INT32(argno);
	if (c < 1 || c > VS_FANOUT_MAX_CONCURRENCY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_concurrency must be between 1 and %d, not %d",
						VS_FANOUT_MAX_CONCURRENCY, c)));
	return c;
}

/*
 * A text[] argument's elements, checked: one-dimensional, none NULL (22004)
 * or empty (22023), each named by its 1-based position.
 */
static Datum *
vs_arg_text_elements(FunctionCallInfo fcinfo, int argno, const char *argname, int *n)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;

	vs_require_arg(fcinfo, argno, argname);
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", argname)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	for (int i = 0; i < *n; i++)
	{
		char		name[64];

		snprintf(name, sizeof(name), "%s[%d]", argname, i + 1);
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s is null", name)));
		if (VARSIZE_ANY_EXHDR(DatumGetTextPP(elems[i])) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must not be empty", name)));
	}
	return elems;
}

/* ---------------------------------------------------------------------
 * vs_search_many
 * ---------------------------------------------------------------------
 */
typedef struct VsSearchManyState
{
	Datum	   *queries;		/* the elements, as given */
	int			max_results;	/* max_num_results sent (-1: none) */
} VsSearchManyState;

/* One search's results page: rows (query_index, query, rank, ...). */
static void
vs_search_many_rows(VsFanout *f, int i, const cJSON *page)
{
	VsSearchManyState *st = (VsSearchManyState *) f->arg;
	VsSearchHit *hits;
	int			n;

	hits = vs_search_hits(page, st->max_results, &n);
	for (int r = 0; r < n; r++)
	{
		VsSearchColumns c;
		Datum		values[8];
		bool		nulls[8] = {false, false, false, false, false, false, false, false};

		vs_search_hit_columns(&hits[r], false, &c);
		values[0] = Int32GetDatum(i + 1);
		values[1] = st->queries[i];
		values[2] = Int32GetDatum(r + 1);
		values[3] = c.file_id;
		values[4] = c.filename;
		nulls[4] = c.filename_null;
		values[5] = c.score;
		values[6] = c.content;
		values[7] = c.attributes;
		nulls[7] = c.attributes_null;
		vs_fanout_put(f, values, nulls);
	}
}

/*
 * filters: one filter for every query (an object), or a JSON array with
 * one filter (or null) per query; each is checked as vs_search checks its
 * filters, named filters[i] after queries[i]. Returns one per query.
 */
static cJSON **
vs_search_many_filters(FunctionCallInfo fcinfo, int argno, int nqueries)
{
	cJSON	  **per = palloc0(sizeof(cJSON *) * Max(nqueries, 1));
	cJSON	   *filters = vs_arg_json(fcinfo, argno);

	if (filters == NULL || cJSON_IsNull(filters))
		return per;
	if (cJSON_IsArray(filters))
	{
		int			nf = cJSON_GetArraySize(filters);
		cJSON	   *f;
		int			i = 0;

		if (nf != nqueries)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("filters has %d elements but queries has %d", nf, nqueries),
					 errhint("Give one filter for every query, or a JSON array with one filter (or null) per query.")));
		cJSON_ArrayForEach(f, filters)
		{
			char		name[64];

			snprintf(name, sizeof(name), "filters[%d]", i + 1);
			if (!cJSON_IsNull(f))
			{
				vs_validate_filters(f, name);
				per[i] = f;
			}
			i++;
		}
		return per;
	}
	if (!cJSON_IsObject(filters))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("filters must be a filter object, or a JSON array with one filter (or null) per query")));
	vs_validate_filters(filters, "filters");
	for (int i = 0; i < nqueries; i++)
		per[i] = filters;
	return per;
}

/*
 * vs_search_many(vector_store_id, queries, max_num_results, filters,
 *				  ranking_options, rewrite_query, max_concurrency,
 *				  request_options)
 */
Datum
vs_search_many(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");
	VsSearchManyState st;
	VsSearchParams params;
	VsRequestOptions *opts;
	cJSON	  **filters;
	VsRequest  *reqs;
	VsFanout	f = {0};
	char	   *path;
	int			n;
	int			concurrency;

	/* every argument is checked before anything is sent */
	st.queries = vs_arg_text_elements(fcinfo, 1, "queries", &n);
	vs_search_params(fcinfo, 2, 4, 5, &params);
	st.max_results = params.max_num_results;
	filters = vs_search_many_filters(fcinfo, 3, n);
	concurrency = vs_arg_concurrency(fcinfo, 6);
	opts = vs_arg_request_options(fcinfo, 7);
	path = vs_path("/vector_stores/%s/search", vsid);

	reqs = palloc0(sizeof(VsRequest) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		reqs[i].method = "POST";
		reqs[i].path = path;
		reqs[i].body = vs_search_body(DatumGetTextPP(st.queries[i]), NULL, filters[i], &params);
		reqs[i].beta = true;
		reqs[i].opts = opts;
	}
	f.func = "vs_search_many";
	f.argname = "queries";
	f.n = n;
	f.reqs = reqs;
	f.rows = vs_search_many_rows;
	f.arg = &st;
	vs_fanout_run(&f, fcinfo, concurrency);
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * The status of many files: vs_store_file_get_many, vs_file_get_many
 * ---------------------------------------------------------------------
 */
typedef struct VsGetManyState
{
	const char *const *kinds;
	const VsFieldAlias *aliases;
	Datum	   *values;			/* a row's worth, reused */
	bool	   *nulls;
} VsGetManyState;

/* One object: (index, its columns by name, as vs_*_get makes them). */
static void
vs_get_many_row(VsFanout *f, int i, const cJSON *obj)
{
	VsGetManyState *st = (VsGetManyState *) f->arg;

	if (st->values == NULL)
	{
		/* once, where it outlives the answer's context */
		st->values = MemoryContextAlloc(f->hold_cxt, sizeof(Datum) * f->tupdesc->natts);
		st->nulls = MemoryContextAlloc(f->hold_cxt, sizeof(bool) * f->tupdesc->natts);
	}
	vs_expect_kind(obj, st->kinds);
	vs_json_to_row(obj, f->tupdesc, st->aliases, st->values, st->nulls);
	/* column 1 is the index; no object field has its name */
	st->values[0] = Int32GetDatum(i + 1);
	st->nulls[0] = false;
	vs_fanout_put(f, st->values, st->nulls);
}

/*
 * GET each id of file_ids (argument ids_arg): a vector store's file when
 * vsid is given, else a File. max_concurrency and request_options follow.
 */
static Datum
vs_get_many(FunctionCallInfo fcinfo, const char *func, const char *vsid, int ids_arg,
			const char *const *kinds, const VsFieldAlias *aliases, bool beta)
{
	VsGetManyState st;
	VsRequestOptions *opts;
	VsRequest  *reqs;
	VsFanout	f = {0};
	Datum	   *ids;
	int			n;
	int			concurrency;

	ids = vs_arg_text_elements(fcinfo, ids_arg, "file_ids", &n);
	concurrency = vs_arg_concurrency(fcinfo, ids_arg + 1);
	opts = vs_arg_request_options(fcinfo, ids_arg + 2);
	reqs = palloc0(sizeof(VsRequest) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		char	   *id = TextDatumGetCString(ids[i]);
		char	   *err;

		reqs[i].method = "GET";
		reqs[i].path = vsid ? vs_path_try(&err, "/vector_stores/%s/files/%s", vsid, id)
			: vs_path_try(&err, "/files/%s", id);
		if (reqs[i].path == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("file_ids[%d]: %s", i + 1, err)));
		reqs[i].beta = beta;
		reqs[i].opts = opts;
	}
	f.func = func;
	f.argname = "file_ids";
	f.n = n;
	f.reqs = reqs;
	f.rows = vs_get_many_row;
	f.arg = &st;
	st.kinds = kinds;
	st.aliases = aliases;
	st.values = NULL;
	st.nulls = NULL;
	vs_fanout_run(&f, fcinfo, concurrency);
	return (Datum) 0;
}

/* vs_store_file_get_many(vector_store_id, file_ids, max_concurrency, request_options) */
Datum
vs_store_file_get_many(PG_FUNCTION_ARGS)
{
	char	   *vsid = vs_arg_cstring(fcinfo, 0, "vector_store_id");

	/* the store id is checked once, before anything is sent */
	(void) vs_path("/vector_stores/%s", vsid);
	return vs_get_many(fcinfo, "vs_store_file_get_many", vsid, 1, vs_store_file_kinds,
					   vs_store_file_aliases, true);
}

/* vs_file_get_many(file_ids, max_concurrency, request_options) */
Datum
vs_file_get_many(PG_FUNCTION_ARGS)
{
	return vs_get_many(fcinfo, "vs_file_get_many", NULL, 0, vs_file_kinds, NULL, false);
}
