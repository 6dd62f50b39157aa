/*-------------------------------------------------------------------------
 *
 * fdw_scan.c
 *	  The scan of a search table and its EXPLAIN: the plan's inputs and
 *	  filter are evaluated when the scan starts (and again when a rescan
 *	  brings new parameters), one search per query is sent — several
 *	  concurrently — and the results become rows in score order.
 *
 * Every row the API returns is checked again against what was sent (the
 * plan's fdw_recheck_quals: the filter and the inputs). When the API
 * answers as its documentation and the emulator say, that removes
 * nothing; when a server compares differently (a string order, a missing
 * attribute), the wrong rows are left out rather than shown, a WARNING at
 * the end of the scan says how many, and EXPLAIN ANALYZE counts them. Rows are never wrong;
 * at worst, with a LIMIT sent, fewer.
 *
 * A rescan evaluates the inputs again when its parameters changed (a
 * nested loop's outer row, LATERAL); a search whose requests are those of
 * the scan's last search is answered from its rows, without a request.
 *
 *-------------------------------------------------------------------------
 */
#include "vs_fdw.h"

#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/ruleutils.h"

#include <math.h>

/* searches of one scan in flight at once (query = ANY(...)) */
#define VSFD_CONCURRENCY 8

typedef struct VsfdRow
{
	const cJSON *item;			/* the result as sent */
	double		score;
	int			query;			/* index into queries */
	int			pos;			/* position in its response */
	int			rank;			/* 1.. within its query */
} VsfdRow;

typedef struct VsfdValueSlot
{
	Expr	   *expr;
	ExprState  *state;
} VsfdValueSlot;

/* One search: what was asked and what came back, in its own memory. */
typedef struct VsfdSearch
{
	MemoryContext cxt;
	char	   *signature;		/* the requests, to know the same search again */
	char	  **queries;
	int			nqueries;
	int64		max_shown;		/* the max_num_results column */
	int			asked;			/* max_num_results sent */
	int			rewrite;		/* -1 not sent */
	char	   *ranker;			/* NULL: not sent */
	double		threshold;		/* < 0: not sent */
	int64		limit;			/* -1: none */
	int64		offset;
	VsfdRow    *rows;
	int			nrows;
} VsfdSearch;

typedef struct VsfdScan
{
	VsfdTable  *table;
	VsfdContext ctx;
	char	  **keys;			/* attribute keys in UTF-8, by attno - 1 */
	List	   *filters;
	Expr	   *inputs[VSFD_X_COUNT];
	int			flags;
	VsCredential *cred;
	List	   *values;			/* VsfdValueSlot: value expressions */

	/* the current search, and where the scan is in its rows */
	VsfdSearch *cur;
	bool		searched;
	int			next;
	int64		skipped;
	int64		returned;

	/* totals for EXPLAIN ANALYZE */
	int64		total_requests;
	int64		total_results;
	int64		total_rejected;
} VsfdScan;

static const char *const vsfd_rankers[] = {"none", "auto", "default-2024-11-15", NULL};

/* ---------------------------------------------------------------------
 * Values of the plan's expressions
 * ---------------------------------------------------------------------
 */
static VsfdValueState
vsfd_eval(Expr *expr, void *arg, Datum *value, bool *isnull, char **shown)
{
	ForeignScanState *node = (ForeignScanState *) arg;
	VsfdScan   *st = (VsfdScan *) node->fdw_state;
	ExprState  *state = NULL;
	ListCell   *lc;

	foreach(lc, st->values)
	{
		VsfdValueSlot *s = (VsfdValueSlot *) lfirst(lc);

		if (s->expr == expr)
			state = s->state;
	}
	if (state == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(node->ss.ps.state->es_query_cxt);
		VsfdValueSlot *s = palloc(sizeof(VsfdValueSlot));

		s->expr = expr;
		s->state = state = ExecInitExpr(expr, (PlanState *) node);
		st->values = lappend(st->values, s);
		MemoryContextSwitchTo(old);
	}
	*value = ExecEvalExpr(state, node->ss.ps.ps_ExprContext, isnull);
	return VSFD_VALUE_KNOWN;
}

/* The value of input i: false when absent, *isnull when NULL. */
static bool
vsfd_input_value(ForeignScanState *node, int i, Datum *value, bool *isnull)
{
	VsfdScan   *st = (VsfdScan *) node->fdw_state;

	if (st->inputs[i] == NULL)
		return false;
	(void) vsfd_eval(st->inputs[i], node, value, isnull, NULL);
	return true;
}

static int64
vsfd_int_datum(Datum d, Oid type)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

/*
 * Evaluate the inputs of a search. False when the conditions hold for no
 * row at all (a NULL compared, an empty query list, LIMIT 0): no request.
 */
static bool
vsfd_inputs(ForeignScanState *node, VsfdSearch *s)
{
	VsfdScan   *st = (VsfdScan *) node->fdw_state;
	Datum		d;
	bool		isnull;
	int64		max;
	bool		has_max = false;

	/* query = v, or query = ANY(v): distinct, non-null */
	(void) vsfd_input_value(node, VSFD_X_QUERY, &d, &isnull);
	if (isnull)
		return false;
	if (st->flags & VSFD_F_QUERY_ANY)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		VsStrSet   *seen;

		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		s->queries = palloc(sizeof(char *) * Max(n, 1));
		s->nqueries = 0;
		/* the array is the caller's, of any size: hashed, and cancellable */
		seen = vs_strset_create("vectorstore query = ANY", n);
		for (int i = 0; i < n; i++)
		{
			char	   *q;
			bool		found;

			CHECK_FOR_INTERRUPTS();
			if (nulls[i])
				continue;
			q = TextDatumGetCString(elems[i]);
			(void) vs_strset_enter(seen, q, &found);
			if (!found)
				s->queries[s->nqueries++] = q;
		}
		vs_strset_free(seen);
	}
	else
	{
		s->queries = palloc(sizeof(char *));
		s->queries[0] = TextDatumGetCString(d);
		s->nqueries = 1;
	}
	if (s->nqueries == 0)
		return false;
	for (int i = 0; i < s->nqueries; i++)
		if (s->queries[i][0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("query must not be empty")));

	max = st->table->max_num_results;
	if (vsfd_input_value(node, VSFD_X_MAX, &d, &isnull))
	{
		if (isnull)
			return false;
		max = vsfd_int_datum(d, exprType((Node *) st->inputs[VSFD_X_MAX]));
		if (max < 1 || max > VSFD_MAX_RESULTS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_num_results must be between 1 and 50, not " INT64_FORMAT, max)));
		has_max = true;
	}

	s->rewrite = st->table->rewrite_query;
	if (vsfd_input_value(node, VSFD_X_REWRITE, &d, &isnull))
	{
		if (isnull)
			return false;
		s->rewrite = DatumGetBool(d) ? 1 : 0;
	}

	s->ranker = st->table->ranker;
	if (vsfd_input_value(node, VSFD_X_RANKER, &d, &isnull))
	{
		bool		ok = false;

		if (isnull)
			return false;
		s->ranker = TextDatumGetCString(d);
		for (int i = 0; vsfd_rankers[i]; i++)
			ok |= strcmp(s->ranker, vsfd_rankers[i]) == 0;
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ranker must be one of none, auto, default-2024-11-15, not \"%s\"",
							s->ranker)));
	}

	/*
	 * score >= v: the API's scores are 0..1, so v above 1 holds for no
	 * result and v at or below 0 for every one.
	 */
	s->threshold = st->table->score_threshold;
	if (vsfd_input_value(node, VSFD_X_SCORE, &d, &isnull))
	{
		double		v;

		if (isnull)
			return false;
		v = exprType((Node *) st->inputs[VSFD_X_SCORE]) == FLOAT4OID ?
			(double) DatumGetFloat4(d) : DatumGetFloat8(d);
		if (isnan(v) || v > 1)
			return false;
		if (v > 0 && v > s->threshold)
			s->threshold = v;
	}

	/* LIMIT / OFFSET of an upper path: max_num_results is LIMIT + OFFSET */
	s->limit = -1;
	s->offset = 0;
	if (st->flags & VSFD_F_LIMIT)
	{
		if (vsfd_input_value(node, VSFD_X_LIMIT, &d, &isnull) && !isnull)
		{
			s->limit = DatumGetInt64(d);
			if (s->limit < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_ROW_COUNT_IN_LIMIT_CLAUSE),
						 errmsg("LIMIT must not be negative")));
		}
		if (vsfd_input_value(node, VSFD_X_OFFSET, &d, &isnull) && !isnull)
		{
			s->offset = DatumGetInt64(d);
			if (s->offset < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE),
						 errmsg("OFFSET must not be negative")));
		}
	}
	if (s->limit == 0)
		return false;
	s->asked = (int) max;
	if (s->limit > 0)
	{
		int64		want = s->offset >= VSFD_MAX_RESULTS ? VSFD_MAX_RESULTS
			: Min(s->limit, VSFD_MAX_RESULTS) + s->offset;

		want = Min(want, VSFD_MAX_RESULTS);
		s->asked = has_max ? (int) Min(max, want) : (int) want;
	}
	s->max_shown = has_max ? max : s->asked;
	return true;
}

/* ---------------------------------------------------------------------
 * Searching
 * ---------------------------------------------------------------------
 */
typedef struct VsfdRead
{
	VsfdScan   *scan;
	VsfdSearch *search;
	const VsRequest *reqs;
	MemoryContext tmp;			/* one page's parse, reset after its rows */
	List	   *rows;			/* VsfdRow *, in the search's context */
	bool	   *read;			/* page i's rows are made */
	char	  **errors;			/* page i is not a JSON object: why */
	ErrorData **failed;			/* page i is not a results page: its error */
} VsfdRead;

static void vsfd_page_rows(VsfdScan *st, VsfdSearch *s, const VsRequest *req,
						   const cJSON *page, int query, List **rows);

/*
 * A search finished: read its page now, make its rows (copies of the results
 * kept, at most max_num_results), and release the body and the parsed page,
 * so what a scan holds while other queries are still out is rows, not pages.
 * Errors wait for their turn (vsfd_search reports them in query order): a
 * page that is not JSON leaves errors[i], one that is not a results page
 * leaves its ERROR in failed[i]; nothing else is caught.
 */
static void
vsfd_read_page(int i, VsResponse *resp, void *arg)
{
	VsfdRead   *rd = (VsfdRead *) arg;
	MemoryContext keep = rd->search->cxt;
	MemoryContext old;
	cJSON	   *page;
	char	   *why;

	if (!VS_HTTP_OK(resp) || resp->invalid)
		return;					/* kept for vs_report_error */
	old = MemoryContextSwitchTo(rd->tmp);
	page = vs_json_try_parse_response(&rd->reqs[i], resp, &why);
	vs_response_release(resp);
	if (page == NULL)
		rd->errors[i] = MemoryContextStrdup(keep, why ? why : "");
	else
	{
		PG_TRY();
		{
			vsfd_page_rows(rd->scan, rd->search, &rd->reqs[i], page, i, &rd->rows);
			rd->read[i] = true;
		}
		PG_CATCH();
		{
			ErrorData  *e;

			MemoryContextSwitchTo(keep);
			e = CopyErrorData();
			if (e->sqlerrcode != ERRCODE_PROTOCOL_VIOLATION)
				PG_RE_THROW();
			FlushErrorState();
			rd->failed[i] = e;
		}
		PG_END_TRY();
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(rd->tmp);
}

static void
vsfd_invalid(const VsRequest *req, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("invalid response from the vector store API"),
			 errdetail_internal("%s", detail),
			 errcontext("vectorstore request: %s %s", req->method, req->path)));
}

static int
vsfd_row_cmp(const void *a, const void *b)
{
	const VsfdRow *x = (const VsfdRow *) a;
	const VsfdRow *y = (const VsfdRow *) b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->query != y->query)
		return x->query - y->query;
	return x->pos - y->pos;
}

/* errcontext of a page being read: the request it answers */
static void
vsfd_page_context(void *arg)
{
	const VsRequest *req = (const VsRequest *) arg;

	errcontext("vectorstore request: %s %s", req->method, req->path);
}

/*
 * The rows of one results page in score order with ranks: vs_search_hits
 * (search.c, shared with vs_search and vs_search_many) checks the page and
 * orders it; what a search table needs besides is checked here.
 */
static void
vsfd_page_rows(VsfdScan *st, VsfdSearch *s, const VsRequest *req, const cJSON *page,
			   int query, List **rows)
{
	ErrorContextCallback errcb;
	VsSearchHit *sh;
	VsfdRow    *hits;
	cJSON	   *kept;
	MemoryContext old;
	int			n;

	errcb.callback = vsfd_page_context;
	errcb.arg = (void *) req;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	/* at most the max_num_results sent, the best */
	sh = vs_search_hits(page, s->asked, &n);
	error_context_stack = errcb.previous;

	for (int i = 0; i < n; i++)
	{
		const cJSON *item = sh[i].item;
		const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(item, "attributes");
		const cJSON *file_id = cJSON_GetObjectItemCaseSensitive(item, "file_id");

		if (!cJSON_IsString(file_id))
			vsfd_invalid(req, "A search result has no file_id.");
		if (attrs != NULL && !cJSON_IsNull(attrs) && !cJSON_IsObject(attrs))
			vsfd_invalid(req, "Field \"attributes\" of a search result must be an object.");
	}

	/* the rows outlive the page: copies of the kept results, one tree */
	old = MemoryContextSwitchTo(s->cxt);
	hits = palloc(sizeof(VsfdRow) * Max(n, 1));
	kept = vs_json_new_array();
	for (int i = 0; i < n; i++)
	{
		cJSON	   *copy = cJSON_Duplicate(sh[i].item, true);

		if (copy == NULL || !cJSON_AddItemToArray(kept, copy))
		{
			cJSON_Delete(copy);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory building JSON")));
		}
		hits[i].item = copy;
		hits[i].score = sh[i].score;
		hits[i].query = query;
		hits[i].pos = sh[i].pos;
		hits[i].rank = i + 1;
		*rows = lappend(*rows, &hits[i]);
	}
	MemoryContextSwitchTo(old);
	st->total_results += n;
}

/*
 * Evaluate the plan's inputs and filter and search, in a memory context of
 * the search's own. The same requests as the last search's (a rescan whose
 * parameters changed back, a nested loop's outer rows asking the same) are
 * answered from its rows without sending anything.
 */
static void
vsfd_search(ForeignScanState *node)
{
	VsfdScan   *st = (VsfdScan *) node->fdw_state;
	MemoryContext cxt = AllocSetContextCreate(node->ss.ps.state->es_query_cxt,
											  "vectorstore search", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	VsfdSearch *s = palloc0(sizeof(VsfdSearch));
	VsfdContext ctx = st->ctx;
	VsfdNode   *filter;
	cJSON	   *filter_json = NULL;
	cJSON	   *ranking = NULL;
	VsRequest  *reqs;
	VsResponse *resps;
	VsfdRead	rd;
	char	   *path;
	StringInfoData sig;
	List	   *rows = NIL;
	ListCell   *lc;
	int			n;

	s->cxt = cxt;
	s->signature = "";
	st->next = 0;
	st->skipped = st->returned = 0;
	st->searched = true;

	if (!vsfd_inputs(node, s))
		goto adopt;				/* true for no row: nothing to ask */
	ctx.value_fn = vsfd_eval;
	ctx.value_arg = node;
	filter = vsfd_translate_list(&ctx, st->filters);
	if (filter == NULL)
		elog(ERROR, "vectorstore: a planned filter cannot be written");
	if (filter->kind == VSFD_FALSE)
		goto adopt;
	if (filter->kind != VSFD_TRUE)
		filter_json = vsfd_node_json(filter);
	if (s->ranker || s->threshold >= 0)
	{
		ranking = vs_json_new_object();
		if (s->ranker)
			vs_json_add_string(ranking, "ranker", s->ranker);
		if (s->threshold >= 0)
			vsfd_add_number(ranking, "score_threshold", s->threshold);
	}

	n = s->nqueries;
	reqs = palloc0(sizeof(VsRequest) * n);
	resps = palloc0(sizeof(VsResponse) * n);
	path = vs_path("/vector_stores/%s/search", st->table->vector_store_id);
	initStringInfo(&sig);
	for (int i = 0; i < n; i++)
	{
		cJSON	   *body;

		CHECK_FOR_INTERRUPTS(); /* n is the caller's: query = ANY(array) */
		body = vs_json_new_object();
		vs_json_add_string(body, "query", s->queries[i]);
		vs_json_add_number(body, "max_num_results", s->asked);
		if (filter_json)
			vs_json_add_ref(body, "filters", filter_json);
		if (ranking)
			vs_json_add_ref(body, "ranking_options", ranking);
		if (s->rewrite >= 0)
			vs_json_add_bool(body, "rewrite_query", s->rewrite == 1);
		reqs[i].method = "POST";
		reqs[i].path = path;
		reqs[i].json = body;
		reqs[i].beta = true;
		reqs[i].cred = st->cred;
		appendStringInfo(&sig, "%s\n%s\n", path, vs_json_print(body));
	}
	s->signature = sig.data;
	if (st->cur && strcmp(st->cur->signature, s->signature) == 0)
	{
		/* the same search again: its rows are the answer */
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		return;
	}

	rd.scan = st;
	rd.search = s;
	rd.reqs = reqs;
	rd.tmp = AllocSetContextCreate(cxt, "vectorstore search page", ALLOCSET_DEFAULT_SIZES);
	rd.rows = NIL;
	rd.read = palloc0(sizeof(bool) * n);
	rd.errors = palloc0(sizeof(char *) * n);
	rd.failed = palloc0(sizeof(ErrorData *) * n);
	vs_http_execute_each(reqs, resps, n, Min(n, VSFD_CONCURRENCY), true,
						 vsfd_read_page, &rd, NULL);
	st->total_requests += n;
	for (int i = 0; i < n; i++)
	{
		if (resps[i].invalid)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg_internal("%s", resps[i].error),
					 errcontext("vectorstore request: %s %s", reqs[i].method, reqs[i].path)));
		if (!VS_HTTP_OK(&resps[i]))
			vs_report_error(&reqs[i], &resps[i]);
		if (rd.failed[i])
			ReThrowError(rd.failed[i]);
		if (!rd.read[i])
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("invalid response from the vector store API"),
					 errdetail_internal("%s", rd.errors[i] ? rd.errors[i] : ""),
					 errcontext("vectorstore request: %s %s", reqs[i].method, reqs[i].path)));
	}
	MemoryContextDelete(rd.tmp);
	rows = rd.rows;
	s->nrows = list_length(rows);
	s->rows = palloc(sizeof(VsfdRow) * Max(s->nrows, 1));
	n = 0;
	foreach(lc, rows)
		s->rows[n++] = *(VsfdRow *) lfirst(lc);
	/* one order for all queries: score descending (see fdw.c) */
	qsort(s->rows, s->nrows, sizeof(VsfdRow), vsfd_row_cmp);
adopt:
	if (st->cur)
		MemoryContextDelete(st->cur->cxt);
	st->cur = s;
	MemoryContextSwitchTo(old);
}

/* ---------------------------------------------------------------------
 * Rows
 * ---------------------------------------------------------------------
 */
static Datum
vsfd_int_result(Oid type, int64 v)
{
	return type == INT8OID ? Int64GetDatum(v) : Int32GetDatum((int32) v);
}

static Datum
vsfd_text(const char *utf8)
{
	return CStringGetTextDatum(pg_any_to_server(utf8, strlen(utf8), PG_UTF8));
}

/* An attribute as the column's type; NULL when missing or of another type. */
static Datum
vsfd_attribute(VsfdScan *st, const VsfdColumn *col, int attno, const cJSON *attrs,
			   const char *file_id, bool *isnull)
{
	const cJSON *v = attrs ? cJSON_GetObjectItemCaseSensitive(attrs, st->keys[attno - 1]) : NULL;
	Datum		d;

	*isnull = true;
	if (v == NULL)
		return (Datum) 0;
	switch (col->vkind)
	{
		case VSFD_VAL_TEXT:
			if (!cJSON_IsString(v))
				return (Datum) 0;
			d = vsfd_text(v->valuestring);
			*isnull = false;
			break;
		case VSFD_VAL_BOOL:
			if (!cJSON_IsBool(v))
				return (Datum) 0;
			d = BoolGetDatum(cJSON_IsTrue(v));
			*isnull = false;
			break;
		default:
			if (!cJSON_IsNumber(v))
				return (Datum) 0;
			d = vsfd_number_datum(col, v->valuedouble, isnull, file_id);
			break;
	}
	if (!*isnull && col->typmod != -1)
	{
		/* varchar(n), numeric(p,s): as the type's input would take it */
		Oid			out,
					in,
					ioparam;
		bool		varlena;
		char	   *s;

		getTypeOutputInfo(col->typid, &out, &varlena);
		s = OidOutputFunctionCall(out, d);
		getTypeInputInfo(col->typid, &in, &ioparam);
		d = OidInputFunctionCall(in, s, ioparam, col->typmod);
	}
	return d;
}

static Datum
vsfd_column(VsfdScan *st, const VsfdRow *row, int attno, bool *isnull)
{
	const VsfdColumn *col = &st->table->cols[attno - 1];
	const cJSON *it = row->item;
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(it, "attributes");
	const char *file_id = cJSON_GetObjectItemCaseSensitive(it, "file_id")->valuestring;

	*isnull = false;
	if (attrs && !cJSON_IsObject(attrs))
		attrs = NULL;
	switch (col->kind)
	{
		case VSFD_COL_QUERY:
			return CStringGetTextDatum(st->cur->queries[row->query]);
		case VSFD_COL_FILE_ID:
			return vsfd_text(file_id);
		case VSFD_COL_FILENAME:
			{
				const cJSON *f = cJSON_GetObjectItemCaseSensitive(it, "filename");

				if (!cJSON_IsString(f))
					break;
				return vsfd_text(f->valuestring);
			}
		case VSFD_COL_SCORE:
			return Float8GetDatum(row->score);
		case VSFD_COL_CONTENT:
			{
				const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
				const cJSON *part;
				StringInfoData text;
				bool		first = true;

				/* text parts in order, joined with "\n" (as vs_search) */
				initStringInfo(&text);
				if (!cJSON_IsArray(content))
					content = NULL;
				cJSON_ArrayForEach(part, content)
				{
					const cJSON *t = cJSON_IsObject(part) ?
						cJSON_GetObjectItemCaseSensitive(part, "text") : NULL;

					if (!cJSON_IsString(t))
						continue;
					if (!first)
						appendStringInfoChar(&text, '\n');
					appendStringInfoString(&text, t->valuestring);
					first = false;
				}
				return vsfd_text(text.data);
			}
		case VSFD_COL_RANK:
			return vsfd_int_result(col->typid, row->rank);
		case VSFD_COL_ATTRIBUTES:
			if (attrs == NULL)
				break;
			return vs_json_to_jsonb(attrs);
		case VSFD_COL_RAW:
			return vs_json_to_jsonb(it);
		case VSFD_COL_MAX_NUM_RESULTS:
			return vsfd_int_result(col->typid, st->cur->max_shown);
		case VSFD_COL_REWRITE_QUERY:
			return BoolGetDatum(st->cur->rewrite == 1);
		case VSFD_COL_RANKER:
			/* what was sent, else the API's default */
			return CStringGetTextDatum(st->cur->ranker ? st->cur->ranker : "auto");
		case VSFD_COL_ATTRIBUTE:
			return vsfd_attribute(st, col, attno, attrs, file_id, isnull);
		case VSFD_COL_DROPPED:
			break;
	}
	*isnull = true;
	return (Datum) 0;
}

static void
vsfd_fill(VsfdScan *st, const VsfdRow *row, TupleTableSlot *slot)
{
	int			natts = slot->tts_tupleDescriptor->natts;

	for (int i = 0; i < natts; i++)
	{
		int			attno = st->ctx.index_attno ? st->ctx.index_attno[i] : i + 1;

		slot->tts_values[i] = vsfd_column(st, row, attno, &slot->tts_isnull[i]);
	}
	ExecStoreVirtualTuple(slot);
}

/* ---------------------------------------------------------------------
 * The executor's callbacks
 * ---------------------------------------------------------------------
 */
void
vsfd_begin_scan(ForeignScanState *node, int eflags)
{
	ForeignScan *fs = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	VsfdScan   *st = palloc0(sizeof(VsfdScan));
	Oid			relid = atooid(strVal(list_nth(fs->fdw_private, VSFD_P_RELID)));
	Index		rtindex;
	RangeTblEntry *rte;
	Oid			userid;

	st->flags = intVal(list_nth(fs->fdw_private, VSFD_P_FLAGS));
	st->table = vsfd_table(relid);
	st->ctx.table = st->table;
	st->ctx.varno = fs->scan.scanrelid;
	if (fs->scan.scanrelid == 0)
	{
		/* an upper path's scan: its tuple is fdw_scan_tlist, a Var per column */
		AttrNumber *map = palloc(sizeof(AttrNumber) * Max(list_length(fs->fdw_scan_tlist), 1));
		ListCell   *lc;
		int			i = 0;

		foreach(lc, fs->fdw_scan_tlist)
			map[i++] = castNode(Var, lfirst_node(TargetEntry, lc)->expr)->varattno;
		st->ctx.index_attno = map;
		st->ctx.n_index = i;
	}
	st->filters = (List *) list_nth(fs->fdw_exprs, VSFD_X_FILTERS);
	for (int i = VSFD_X_FILTERS + 1; i < VSFD_X_COUNT; i++)
		st->inputs[i] = (Expr *) list_nth(fs->fdw_exprs, i);
	st->keys = palloc0(sizeof(char *) * Max(st->table->natts, 1));
	for (int i = 0; i < st->table->natts; i++)
		if (st->table->cols[i].kind == VSFD_COL_ATTRIBUTE)
			st->keys[i] = pg_server_to_any(st->table->cols[i].key,
										   strlen(st->table->cols[i].key), PG_UTF8);
	node->fdw_state = st;
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	/* the role whose credential is used: the view owner's through a view */
	rtindex = fs->scan.scanrelid > 0 ? fs->scan.scanrelid
		: bms_next_member(fs->fs_relids, -1);
	rte = exec_rt_fetch(rtindex, estate);
	userid = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
	st->cred = vsfd_credential(st->table->serverid, userid, st->table->relname);
}

TupleTableSlot *
vsfd_iterate(ForeignScanState *node)
{
	VsfdScan   *st = (VsfdScan *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	ExprContext *econtext = node->ss.ps.ps_ExprContext;

	VsfdSearch *s;

	if (!st->searched)
		vsfd_search(node);
	s = st->cur;
	for (;;)
	{
		const VsfdRow *row;

		ExecClearTuple(slot);
		if (st->next >= s->nrows || (s->limit >= 0 && st->returned >= s->limit))
			break;
		row = &s->rows[st->next++];
		vsfd_fill(st, row, slot);
		if (node->fdw_recheck_quals)
		{
			econtext->ecxt_scantuple = slot;
			if (!ExecQual(node->fdw_recheck_quals, econtext))
			{
				st->total_rejected++;
				continue;
			}
		}
		if (st->skipped < s->offset)
		{
			st->skipped++;
			continue;
		}
		st->returned++;
		return slot;
	}
	return slot;
}

void
vsfd_rescan(ForeignScanState *node)
{
	VsfdScan   *st = (VsfdScan *) node->fdw_state;

	/* new parameters: evaluate again (the same search keeps its rows) */
	if (node->ss.ps.chgParam != NULL)
		st->searched = false;
	st->next = 0;
	st->skipped = st->returned = 0;
}

void
vsfd_end_scan(ForeignScanState *node)
{
	VsfdScan   *st = (VsfdScan *) node->fdw_state;

	/* once per scan, however many rescans: the rows the API got wrong */
	if (st && st->total_rejected > 0)
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("the vector store API returned " INT64_FORMAT " search results that do not satisfy the conditions sent; they were left out",
						st->total_rejected),
				 errdetail("Foreign table \"%s\": the server does not compare attributes as the API documents it.",
						   st->table->relname),
				 errhint("With a LIMIT sent as max_num_results, fewer rows than asked for may come back.")));
	/* the results live in the query's memory, the credential with them */
}

/* ---------------------------------------------------------------------
 * EXPLAIN: what is sent, as postgres_fdw shows its remote SQL
 * ---------------------------------------------------------------------
 */
typedef struct VsfdShow
{
	List	   *dpcontext;
} VsfdShow;

/* Constants are known; anything else is shown as the expression it is. */
static VsfdValueState
vsfd_show_value(Expr *expr, void *arg, Datum *value, bool *isnull, char **shown)
{
	VsfdShow   *sh = (VsfdShow *) arg;

	if (IsA(expr, Const))
	{
		*value = ((Const *) expr)->constvalue;
		*isnull = ((Const *) expr)->constisnull;
		return VSFD_VALUE_KNOWN;
	}
	*shown = deparse_expression((Node *) expr, sh->dpcontext, false, false);
	return VSFD_VALUE_SHOWN;
}

static char *
vsfd_show(VsfdShow *sh, Expr *expr)
{
	return deparse_expression((Node *) expr, sh->dpcontext, false, false);
}

static bool vsfd_const_int(Expr *e, int64 *v);

/* A constant as the JSON value sent, anything else as its expression. */
static char *
vsfd_show_json(VsfdShow *sh, Expr *expr)
{
	Const	   *c = (Const *) expr;
	StringInfoData buf;

	if (!IsA(expr, Const) || c->constisnull)
		return vsfd_show(sh, expr);
	initStringInfo(&buf);
	switch (c->consttype)
	{
		case TEXTOID:
			escape_json(&buf, TextDatumGetCString(c->constvalue));
			return buf.data;
		case BOOLOID:
			return pstrdup(DatumGetBool(c->constvalue) ? "true" : "false");
		case FLOAT8OID:
			return float8out_internal(DatumGetFloat8(c->constvalue));
		case FLOAT4OID:
			return float8out_internal((double) DatumGetFloat4(c->constvalue));
		default:
			return vsfd_show(sh, expr);
	}
}

/* An integer constant as a number, anything else as its expression. */
static char *
vsfd_show_int(VsfdShow *sh, Expr *expr)
{
	int64		v;

	if (vsfd_const_int(expr, &v))
		return psprintf(INT64_FORMAT, v);
	return vsfd_show(sh, expr);
}

static bool
vsfd_const_int(Expr *e, int64 *v)
{
	if (e == NULL || !IsA(e, Const) || ((Const *) e)->constisnull)
		return false;
	*v = vsfd_int_datum(((Const *) e)->constvalue, ((Const *) e)->consttype);
	return true;
}

void
vsfd_explain(ForeignScanState *node, ExplainState *es)
{
	ForeignScan *fs = (ForeignScan *) node->ss.ps.plan;
	VsfdScan   *st = (VsfdScan *) node->fdw_state;
	VsfdContext ctx = st->ctx;
	VsfdShow	sh;
	VsfdNode   *filter;
	StringInfoData buf;
	Expr	  **in = st->inputs;
	int64		max,
				lim,
				off = 0;

	sh.dpcontext = set_deparse_context_plan(es->deparse_cxt, (Plan *) fs, NIL);
	ctx.value_fn = vsfd_show_value;
	ctx.value_arg = &sh;

	if (fs->scan.scanrelid == 0)
	{
		RangeTblEntry *rte = rt_fetch(bms_next_member(fs->fs_relids, -1), es->rtable);
		const char *rel = quote_identifier(get_rel_name(rte->relid));

		ExplainPropertyText("Relations",
							strcmp(rte->eref->aliasname, get_rel_name(rte->relid)) == 0 ? rel
							: psprintf("%s %s", rel, quote_identifier(rte->eref->aliasname)), es);
	}
	ExplainPropertyText("Vector Store", st->table->vector_store_id, es);
	ExplainPropertyText("Query",
						(st->flags & VSFD_F_QUERY_ANY) ?
						psprintf("each of %s", vsfd_show(&sh, in[VSFD_X_QUERY]))
						: vsfd_show(&sh, in[VSFD_X_QUERY]), es);

	filter = vsfd_translate_list(&ctx, st->filters);
	initStringInfo(&buf);
	if (filter == NULL || filter->kind == VSFD_TRUE)
		appendStringInfoString(&buf, "none");
	else if (filter->kind == VSFD_FALSE)
		appendStringInfoString(&buf, "never true: no request is sent");
	else
		vsfd_node_text(&buf, filter);
	ExplainPropertyText("Filters", buf.data, es);

	/* max_num_results: the condition, the table option or the default, or LIMIT */
	resetStringInfo(&buf);
	if (in[VSFD_X_MAX] && !vsfd_const_int(in[VSFD_X_MAX], &max))
		appendStringInfoString(&buf, vsfd_show(&sh, in[VSFD_X_MAX]));
	else
	{
		if (in[VSFD_X_MAX] == NULL)
			max = st->table->max_num_results;
		if ((st->flags & VSFD_F_LIMIT) && vsfd_const_int(in[VSFD_X_LIMIT], &lim) &&
			(in[VSFD_X_OFFSET] == NULL || vsfd_const_int(in[VSFD_X_OFFSET], &off)))
		{
			int64		want = Min(Min(lim, VSFD_MAX_RESULTS) + Min(off, VSFD_MAX_RESULTS),
								   VSFD_MAX_RESULTS);

			appendStringInfo(&buf, INT64_FORMAT, in[VSFD_X_MAX] ? Min(max, want) : want);
		}
		else
			appendStringInfo(&buf, INT64_FORMAT, max);
	}
	if (st->flags & VSFD_F_LIMIT)
	{
		appendStringInfo(&buf, " (LIMIT %s", in[VSFD_X_LIMIT] ? vsfd_show_int(&sh, in[VSFD_X_LIMIT]) : "ALL");
		if (in[VSFD_X_OFFSET])
			appendStringInfo(&buf, " OFFSET %s", vsfd_show_int(&sh, in[VSFD_X_OFFSET]));
		appendStringInfoString(&buf, in[VSFD_X_MAX] ? ", and max_num_results)" : ")");
	}
	else if (in[VSFD_X_MAX] == NULL)
		appendStringInfoString(&buf, st->table->max_from_option ? " (table option)" : " (default)");
	ExplainPropertyText("Max Num Results", buf.data, es);

	/* ranking options and rewrite_query, when sent */
	resetStringInfo(&buf);
	if (in[VSFD_X_RANKER])
		appendStringInfo(&buf, "\"ranker\": %s", vsfd_show_json(&sh, in[VSFD_X_RANKER]));
	else if (st->table->ranker)
		appendStringInfo(&buf, "\"ranker\": \"%s\"", st->table->ranker);
	if (in[VSFD_X_SCORE])
		appendStringInfo(&buf, "%s\"score_threshold\": %s%s", buf.len ? ", " : "",
						 st->table->score_threshold >= 0 ? "greatest of the table's and " : "",
						 vsfd_show_json(&sh, in[VSFD_X_SCORE]));
	else if (st->table->score_threshold >= 0)
		appendStringInfo(&buf, "%s\"score_threshold\": %g", buf.len ? ", " : "",
						 st->table->score_threshold);
	if (buf.len)
		ExplainPropertyText("Ranking Options", psprintf("{%s}", buf.data), es);
	if (in[VSFD_X_REWRITE])
		ExplainPropertyText("Rewrite Query", vsfd_show_json(&sh, in[VSFD_X_REWRITE]), es);
	else if (st->table->rewrite_query >= 0)
		ExplainPropertyText("Rewrite Query", st->table->rewrite_query ? "true" : "false", es);

	if (es->verbose)
	{
		Index		rti = fs->scan.scanrelid > 0 ? fs->scan.scanrelid
			: bms_next_member(fs->fs_relids, -1);
		RangeTblEntry *rte = rt_fetch(rti, es->rtable);

		ExplainPropertyText("Credential",
							vsfd_credential_name(st->table->serverid,
												 OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId()),
							es);
	}
	if (es->analyze)
	{
		ExplainPropertyInteger("Requests", NULL, st->total_requests, es);
		ExplainPropertyInteger("Results", NULL, st->total_results, es);
		if (st->total_rejected > 0)
			ExplainPropertyInteger("Results Rejected by Recheck", NULL, st->total_rejected, es);
	}
}
