/*-------------------------------------------------------------------------
 *
 * api.c
 *	  The toolkit every SQL-callable API function is written with, so that
 *	  each resource file (stores.c, files.c, store_files.c, batches.c,
 *	  search.c) holds only what is particular to its resource:
 *	  - arguments: required ones, intervals, poll intervals, request_options;
 *	  - the shapes of API objects: their "object" values and the column
 *		aliases that turn nested fields into columns;
 *	  - checking a response is the object expected, and making it a row;
 *	  - lists as set-returning functions, through the one paginator;
 *	  - polling a vector store file or a file batch until it is done.
 *
 * request_options
 * ---------------
 * The SDKs' per-request options, as a jsonb argument every network function
 * takes last: {"extra_headers": {...}, "extra_query": {...}, "extra_body":
 * {...}, "timeout": ms, "max_retries": n}. extra_body is sent as given,
 * unvalidated, so a field the API (or a compatible server) adds tomorrow
 * works today; the typed arguments stay validated. Refused with 22023: a
 * header that carries credentials, identity or framing, or any control
 * character (client.c's vs_extra_header_problem is the one rule), and —
 * when the request is built — a query parameter the credential or the
 * function sets, or a body field the function sets.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "common/int.h"
#include <math.h>
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

/* ---------------------------------------------------------------------
 * The shapes of API objects
 * ---------------------------------------------------------------------
 */
const char *const vs_store_kinds[] = {"vector_store", NULL};
const char *const vs_file_kinds[] = {"file", NULL};
const char *const vs_store_file_kinds[] = {"vector_store.file", NULL};

/* the schema and SDKs say files_batch; the spec's description file_batch */
const char *const vs_batch_kinds[] = {
	"vector_store.files_batch", "vector_store.file_batch", NULL
};

/* file_counts expanded into columns */
const VsFieldAlias vs_store_aliases[] = {
	{"files_in_progress", "file_counts.in_progress"},
	{"files_completed", "file_counts.completed"},
	{"files_failed", "file_counts.failed"},
	{"files_cancelled", "file_counts.cancelled"},
	{"files_total", "file_counts.total"},
	{NULL, NULL}
};

const VsFieldAlias vs_batch_aliases[] = {
	{"files_in_progress", "file_counts.in_progress"},
	{"files_completed", "file_counts.completed"},
	{"files_failed", "file_counts.failed"},
	{"files_cancelled", "file_counts.cancelled"},
	{"files_total", "file_counts.total"},
	{NULL, NULL}
};

/* last_error expanded */
const VsFieldAlias vs_store_file_aliases[] = {
	{"last_error_code", "last_error.code"},
	{"last_error_message", "last_error.message"},
	{NULL, NULL}
};

/* ---------------------------------------------------------------------
 * Arguments
 * ---------------------------------------------------------------------
 */
void
vs_require_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", argname)));
}

char *
vs_arg_cstring(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	vs_require_arg(fcinfo, argno, argname);
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

bool
vs_arg_given(FunctionCallInfo fcinfo, int argno)
{
	return PG_NARGS() > argno && !PG_ARGISNULL(argno);
}

bool
vs_arg_bool(FunctionCallInfo fcinfo, int argno, bool dflt)
{
	return vs_arg_given(fcinfo, argno) ? PG_GETARG_BOOL(argno) : dflt;
}

/* Longest interval argument: a year (longer is surely a mistake). */
#define VS_MAX_INTERVAL_MS ((int64) 366 * 24 * 3600 * 1000)

/*
 * Timeout argument in ms (-1: SQL NULL, no limit). Converted without
 * overflow: months count as 30 days, as everywhere in PostgreSQL.
 */
int64
vs_arg_interval_ms(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	Interval   *iv;
	int64		days_us,
				us;

	if (!vs_arg_given(fcinfo, argno))
		return -1;
	iv = PG_GETARG_INTERVAL_P(argno);
	if (pg_mul_s64_overflow(((int64) iv->day + (int64) iv->month * DAYS_PER_MONTH),
							USECS_PER_DAY, &days_us) ||
		pg_add_s64_overflow(days_us, iv->time, &us) ||
		us / 1000 > VS_MAX_INTERVAL_MS || us / 1000 < -VS_MAX_INTERVAL_MS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be at most one year", argname)));
	if (us < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", argname)));
	return us / 1000;
}

/* A waiting call's timeout: dflt_ms when the argument is not passed at all. */
int64
vs_arg_timeout_ms(FunctionCallInfo fcinfo, int argno, int64 dflt_ms)
{
	if (PG_NARGS() <= argno)
		return dflt_ms;
	return vs_arg_interval_ms(fcinfo, argno, "timeout");
}

int
vs_arg_poll_interval(FunctionCallInfo fcinfo, int argno)
{
	int32		ms;

	if (!vs_arg_given(fcinfo, argno))
		return -1;
	ms = PG_GETARG_INT32(argno);
	if (ms < 1 || ms > 3600000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("poll_interval_ms must be between 1 and 3600000, not %d", ms)));
	return ms;
}

int64
vs_arg_max_items(FunctionCallInfo fcinfo, int argno)
{
	int64		n;

	if (!vs_arg_given(fcinfo, argno))
		return 0;
	n = PG_GETARG_INT64(argno);
	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_items must be at least 1, not " INT64_FORMAT, n),
				 errhint("Leave it NULL to list every item.")));
	return n;
}

/* ---------------------------------------------------------------------
 * request_options (see the file header)
 * ---------------------------------------------------------------------
 */
static void
vs_options_error(const char *msg, const char *detail) pg_attribute_noreturn();

static void
vs_options_error(const char *msg, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg_internal("%s", msg),
			 detail ? errdetail_internal("%s", detail) : 0,
			 errhint("request_options takes extra_headers, extra_query and extra_body (objects), timeout (milliseconds) and max_retries.")));
}

/*
 * How much request_options may add to a request: extra_headers and
 * extra_query, names and values together, 64 kB each (servers refuse far
 * less); extra_body 1 MB as JSON (an upload's form fields are bounded again
 * as they are made, since each repeats its path: vs_multipart_body). A
 * request is built from its options once per send, by the worker for many
 * jobs at once: what a job's row holds must not make it hold much more.
 */
#define VS_MAX_OPTION_PAIRS_BYTES (64 * 1024)
#define VS_MAX_OPTION_BODY_BYTES (1024 * 1024)

static void
vs_options_bound(const VsHeader *pairs, int n, const char *what)
{
	size_t		total = 0;

	for (int i = 0; i < n; i++)
		total += strlen(pairs[i].name) + strlen(pairs[i].value) + 2;
	if (total > VS_MAX_OPTION_PAIRS_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("request_options.%s holds %zu bytes; at most %d kB are allowed",
						what, total, VS_MAX_OPTION_PAIRS_BYTES / 1024)));
}

/* An {"name": "value", ...} object as pairs; values may be strings, numbers, booleans. */
static VsHeader *
vs_options_pairs(const cJSON *obj, const char *what, int *n)
{
	const cJSON *kv;
	VsHeader   *pairs;
	int			i = 0;

	if (!cJSON_IsObject(obj))
		vs_options_error(psprintf("request_options.%s must be a JSON object", what), NULL);
	if (cJSON_GetArraySize(obj) > VS_MAX_PAIRS)
		vs_options_error(psprintf("request_options.%s has %d names; at most %d are allowed",
								  what, cJSON_GetArraySize(obj), VS_MAX_PAIRS), NULL);
	pairs = palloc0(sizeof(VsHeader) * Max(cJSON_GetArraySize(obj), 1));
	cJSON_ArrayForEach(kv, obj)
	{
		const char *value;

		if (cJSON_IsString(kv))
			value = kv->valuestring;
		else if (cJSON_IsNumber(kv) || cJSON_IsBool(kv))
			value = vs_json_print(kv);
		else
			vs_options_error(psprintf("request_options.%s.%s must be a string, number or boolean",
									  what, kv->string), NULL);
		pairs[i].name = kv->string;
		pairs[i].value = value;
		i++;
	}
	*n = i;
	return pairs;
}

VsRequestOptions *
vs_request_options(const cJSON *opts)
{
	VsRequestOptions *o;
	const cJSON *kv;

	if (opts == NULL || cJSON_IsNull(opts))
		return NULL;
	if (!cJSON_IsObject(opts))
		vs_options_error("request_options must be a JSON object", NULL);
	if (cJSON_GetArraySize(opts) == 0)
		return NULL;
	o = palloc0(sizeof(VsRequestOptions));
	o->timeout_ms = -1;
	o->max_retries = -1;
	cJSON_ArrayForEach(kv, opts)
	{
		if (strcmp(kv->string, "extra_headers") == 0)
		{
			o->headers = vs_options_pairs(kv, "extra_headers", &o->nheaders);
			vs_options_bound(o->headers, o->nheaders, "extra_headers");
			for (int i = 0; i < o->nheaders; i++)
			{
				char	   *why = vs_extra_header_problem(o->headers[i].name, o->headers[i].value);

				if (why)
					vs_options_error(why, "Headers that carry credentials or identity (Authorization, api-key, OpenAI-Organization, OpenAI-Project, Cookie), or that frame or route the request (Host, Content-Length, Content-Type, Transfer-Encoding, Connection, Proxy-*, ...), cannot be set.");
			}
		}
		else if (strcmp(kv->string, "extra_query") == 0)
		{
			o->query = vs_options_pairs(kv, "extra_query", &o->nquery);
			vs_options_bound(o->query, o->nquery, "extra_query");
			for (int i = 0; i < o->nquery; i++)
				if (o->query[i].name[0] == '\0')
					vs_options_error("request_options.extra_query has an empty parameter name", NULL);
		}
		else if (strcmp(kv->string, "extra_body") == 0)
		{
			char	   *text;
			size_t		len;

			if (!cJSON_IsObject(kv))
				vs_options_error("request_options.extra_body must be a JSON object", NULL);
			text = vs_json_print(kv);
			len = strlen(text);
			pfree(text);
			if (len > VS_MAX_OPTION_BODY_BYTES)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("request_options.extra_body is %zu bytes as JSON; at most %d kB are allowed",
								len, VS_MAX_OPTION_BODY_BYTES / 1024)));
			/* kv is part of opts, an owned tree that lives as long as o */
			o->body = (cJSON *) kv;
		}
		else if (strcmp(kv->string, "timeout") == 0)
		{
			if (!cJSON_IsNumber(kv) || kv->valuedouble < 1 || kv->valuedouble > 3600000 ||
				kv->valuedouble != floor(kv->valuedouble))
				vs_options_error("request_options.timeout must be a whole number of milliseconds from 1 to 3600000", NULL);
			o->timeout_ms = (int) kv->valuedouble;
		}
		else if (strcmp(kv->string, "max_retries") == 0)
		{
			if (!cJSON_IsNumber(kv) || kv->valuedouble < 0 || kv->valuedouble > 10 ||
				kv->valuedouble != floor(kv->valuedouble))
				vs_options_error("request_options.max_retries must be a whole number from 0 to 10", NULL);
			o->max_retries = (int) kv->valuedouble;
		}
		else
			vs_options_error(psprintf("request_options has unknown key \"%s\"", kv->string), NULL);
	}
	return o;
}

VsRequestOptions *
vs_arg_request_options(FunctionCallInfo fcinfo, int argno)
{
	/* a database still at an older version calls with fewer arguments */
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	return vs_request_options(vs_arg_json(fcinfo, argno));
}

VsRequestOptions *
vs_arg_request_options_nobody(FunctionCallInfo fcinfo, int argno)
{
	VsRequestOptions *o = vs_arg_request_options(fcinfo, argno);

	if (o && o->body)
	{
		char	   *fname = fcinfo->flinfo ? get_func_name(fcinfo->flinfo->fn_oid) : NULL;

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("request_options.extra_body does not apply to %s()",
						fname ? fname : "this function"),
				 errdetail("It sends only GET or DELETE requests, which have no body."),
				 errhint("Use extra_query or extra_headers to send more with these requests.")));
	}
	return o;
}

const VsRequestOptions *
vs_options_without_body(const VsRequestOptions *opts)
{
	VsRequestOptions *o;

	if (opts == NULL || opts->body == NULL)
		return opts;
	o = palloc(sizeof(VsRequestOptions));
	*o = *opts;
	o->body = NULL;
	return o;
}

/* ---------------------------------------------------------------------
 * Requests with options
 * ---------------------------------------------------------------------
 */
cJSON *
vs_api_request(const char *method, const char *path, const char *query,
			   const cJSON *body, bool beta, const VsRequestOptions *opts)
{
	VsRequest	req = {0};

	req.method = method;
	req.path = path;
	req.query = query;
	req.json = body;
	req.beta = beta;
	req.opts = opts;
	return vs_api_call(&req);
}

bool
vs_api_delete_object(const char *path, bool beta, bool missing_ok,
					 const VsRequestOptions *opts)
{
	VsRequest	req = {0};
	VsResponse	resp;
	cJSON	   *res;

	req.method = "DELETE";
	req.path = path;
	req.beta = beta;
	req.opts = opts;
	vs_http_execute_each(&req, &resp, 1, 1, true, NULL, NULL, NULL);
	if (resp.invalid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg_internal("%s", resp.error),
				 errcontext("vectorstore request: DELETE %s", path)));
	/* the idempotent form: already gone (or never there) is not an error */
	if (missing_ok && resp.status == 404)
	{
		vs_response_release(&resp);
		return false;
	}
	if (!VS_HTTP_OK(&resp))
		vs_report_error(&req, &resp);
	res = vs_json_parse_response(&req, &resp);
	vs_response_release(&resp);
	return vs_json_deleted(res);
}

/* ---------------------------------------------------------------------
 * Responses as rows
 * ---------------------------------------------------------------------
 */
char *
vs_kind_problem(const cJSON *obj, const char *const *expected)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(obj, "object");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, "id");
	const char *object = cJSON_IsString(o) ? o->valuestring : NULL;
	bool		ok = false;

	for (int i = 0; object && expected[i]; i++)
		if (strcmp(object, expected[i]) == 0)
			ok = true;
	if (ok && id != NULL && !cJSON_IsString(id) && !cJSON_IsNull(id))
		return psprintf("Field \"id\" must be a string, but it is %s.",
						cJSON_IsNumber(id) ? "number" : cJSON_IsBool(id) ? "boolean" :
						cJSON_IsArray(id) ? "array" : cJSON_IsObject(id) ? "object" : "invalid");
	if (ok && cJSON_IsString(id) && id->valuestring[0])
		return NULL;
	return psprintf("Expected an object of type \"%s\" with an id, got \"%s\".",
					expected[0], object ? object : "(none)");
}

void
vs_expect_kind(const cJSON *obj, const char *const *expected)
{
	char	   *why = vs_kind_problem(obj, expected);

	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("invalid response from the vector store API"),
				 errdetail_internal("%s", why)));
}

Datum
vs_object_result(FunctionCallInfo fcinfo, const cJSON *obj, const char *const *kinds,
				 const VsFieldAlias *aliases)
{
	if (kinds)
		vs_expect_kind(obj, kinds);
	return vs_json_to_composite(obj, fcinfo, aliases);
}

const char *
vs_file_check(const cJSON *file)
{
	vs_expect_kind(file, vs_file_kinds);
	return vs_json_get_string(file, "id");
}

/*
 * A File's expiration policy (POST /files): {"anchor": "created_at",
 * "seconds": 3600..2592000}, nothing else (CONTRACT.md 3.2).
 */
void
vs_validate_file_expires_after(const cJSON *ea, const char *argname)
{
	const cJSON *kv;
	const cJSON *anchor;
	const cJSON *seconds;

	if (ea == NULL || cJSON_IsNull(ea))
		return;
	if (!cJSON_IsObject(ea))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", argname),
				 errhint("For example {\"anchor\": \"created_at\", \"seconds\": 86400}.")));
	cJSON_ArrayForEach(kv, ea)
	{
		if (strcmp(kv->string, "anchor") != 0 && strcmp(kv->string, "seconds") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s has unknown key \"%s\"", argname, kv->string),
					 errdetail("Allowed keys are \"anchor\" and \"seconds\".")));
	}
	anchor = cJSON_GetObjectItemCaseSensitive(ea, "anchor");
	seconds = cJSON_GetObjectItemCaseSensitive(ea, "seconds");
	if (!cJSON_IsString(anchor) || strcmp(anchor->valuestring, "created_at") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s.anchor must be \"created_at\"", argname)));
	if (!cJSON_IsNumber(seconds) || seconds->valuedouble != floor(seconds->valuedouble) ||
		seconds->valuedouble < 3600 || seconds->valuedouble > 2592000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s.seconds must be a whole number from 3600 (1 hour) to 2592000 (30 days)",
						argname)));
}

/*
 * Build a POST /files request. The parts array and every string it points at
 * are palloc'd in the current context, so they live as long as the request.
 */
void
vs_file_upload_request(VsRequest *req, const char *filename, const char *data,
					   size_t len, const char *purpose)
{
	vs_file_upload_request_ex(req, filename, data, len, purpose, NULL);
}

void
vs_file_upload_request_ex(VsRequest *req, const char *filename, const char *data,
						  size_t len, const char *purpose, const cJSON *expires_after)
{
	VsMimePart *parts = palloc0(sizeof(VsMimePart) * 4);
	int			n = 2;

	parts[0].name = "purpose";
	parts[0].data = purpose;
	parts[0].len = strlen(purpose);
	parts[1].name = "file";
	parts[1].filename = filename;
	parts[1].content_type = NULL;	/* application/octet-stream */
	parts[1].data = data;
	parts[1].len = len;
	/* the bracket encoding of the spec's example and the SDKs */
	if (expires_after && cJSON_IsObject(expires_after))
	{
		const cJSON *seconds = cJSON_GetObjectItemCaseSensitive(expires_after, "seconds");

		parts[n].name = "expires_after[anchor]";
		parts[n].data = "created_at";
		parts[n].len = strlen(parts[n].data);
		n++;
		parts[n].name = "expires_after[seconds]";
		parts[n].data = psprintf("%.0f", seconds->valuedouble);
		parts[n].len = strlen(parts[n].data);
		n++;
	}

	memset(req, 0, sizeof(*req));
	req->method = "POST";
	req->path = "/files";
	req->parts = parts;
	req->nparts = n;
	req->beta = false;
}

/* ---------------------------------------------------------------------
 * Lists as set-returning functions
 * ---------------------------------------------------------------------
 */

/*
 * A list function's arguments (see VsListArgs; -1: the function has none):
 * "order" goes into the query q; the page size ("limit", 1..max_limit), the
 * starting cursor (after, or before to page backwards) and max_items into
 * the pager, which owns the paging parameters; request_options too. With
 * both after and before, the list runs forwards from after and before
 * stays in the query as the far bound (the items strictly between).
 */
void
vs_list_args(FunctionCallInfo fcinfo, VsPager *pager, StringInfo q, const VsListArgs *a)
{
	pager->max_page_size = a->max_limit;
	if (a->order >= 0 && vs_arg_given(fcinfo, a->order))
	{
		char	   *order = text_to_cstring(PG_GETARG_TEXT_PP(a->order));

		if (strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("order must be \"asc\" or \"desc\", not \"%s\"", order)));
		vs_query_add(q, "order", order);
	}
	if (a->limit >= 0 && vs_arg_given(fcinfo, a->limit))
	{
		int32		limit = PG_GETARG_INT32(a->limit);

		if (limit < 1 || limit > a->max_limit)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("limit (the page size) must be between 1 and %d, not %d",
							a->max_limit, limit)));
		pager->page_size = limit;
	}
	if (a->after >= 0 && vs_arg_given(fcinfo, a->after))
		pager->after = text_to_cstring(PG_GETARG_TEXT_PP(a->after));
	if (a->before >= 0 && vs_arg_given(fcinfo, a->before))
	{
		char	   *before = text_to_cstring(PG_GETARG_TEXT_PP(a->before));

		if (pager->after)
			vs_query_add(q, "before", before);
		else
			pager->before = before;
	}
	if (a->max_items >= 0)
		pager->max_items = vs_arg_max_items(fcinfo, a->max_items);
	if (a->request_options >= 0)
		pager->opts = vs_arg_request_options_nobody(fcinfo, a->request_options);
	/*
	 * The paginator sets these on some pages and not others (after from the
	 * second page on): refused on every page alike, before anything is sent.
	 */
	for (int i = 0; pager->opts && i < pager->opts->nquery; i++)
	{
		const char *name = pager->opts->query[i].name;

		if (strcmp(name, "order") == 0 || strcmp(name, "limit") == 0 ||
			strcmp(name, "after") == 0 || strcmp(name, "before") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("extra_query parameter \"%s\" is set by the function; use its argument", name),
					 errdetail("The list functions set order, limit, after and before themselves.")));
	}
	pager->query = q->data;
}

typedef struct VsSrfState
{
	ReturnSetInfo *rsinfo;
	const VsFieldAlias *aliases;
	const char *const *kinds;
	Datum	   *values;
	bool	   *nulls;
} VsSrfState;

static void
vs_put_row(const cJSON *item, void *arg)
{
	VsSrfState *st = (VsSrfState *) arg;
	TupleDesc	td = st->rsinfo->setDesc;

	if (st->kinds)
		vs_expect_kind(item, st->kinds);
	vs_json_to_row(item, td, st->aliases, st->values, st->nulls);
	tuplestore_putvalues(st->rsinfo->setResult, td, st->values, st->nulls);
}

/* Every page of a list into the function's tuplestore (materialize mode). */
void
vs_list_to_srf(FunctionCallInfo fcinfo, VsPager *pager, const char *const *kinds,
			   const VsFieldAlias *aliases)
{
	VsSrfState	st;

	InitMaterializedSRF(fcinfo, 0);
	st.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	st.aliases = aliases;
	st.kinds = kinds;
	st.values = palloc(sizeof(Datum) * st.rsinfo->setDesc->natts);
	st.nulls = palloc(sizeof(bool) * st.rsinfo->setDesc->natts);
	pager->raise = true;
	(void) vs_paginate(pager, vs_put_row, &st);
}

static bool
vs_status_terminal(const char *status)
{
	return strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
		strcmp(status, "cancelled") == 0;
}

/*
 * A vector store file list's "filter", then "order", "limit", after,
 * before, max_items and request_options.
 */
void
vs_store_files_args(FunctionCallInfo fcinfo, VsPager *pager, int filter_arg)
{
	StringInfoData q;
	VsListArgs	a;

	initStringInfo(&q);
	if (vs_arg_given(fcinfo, filter_arg))
	{
		char	   *filter = text_to_cstring(PG_GETARG_TEXT_PP(filter_arg));

		if (strcmp(filter, "in_progress") != 0 && !vs_status_terminal(filter))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("filter must be one of in_progress, completed, failed, cancelled, not \"%s\"",
							filter)));
		vs_query_add(&q, "filter", filter);
	}
	a.order = filter_arg + 1;
	a.limit = filter_arg + 2;
	a.after = filter_arg + 3;
	a.before = filter_arg + 4;
	a.max_items = filter_arg + 5;
	a.request_options = filter_arg + 6;
	a.max_limit = 100;
	vs_list_args(fcinfo, pager, &q, &a);
}

/* ---------------------------------------------------------------------
 * Polling
 * ---------------------------------------------------------------------
 */

/*
 * See vectorstore.h. Polls are GETs marked as such (X-Stainless-Poll-Helper),
 * as the SDKs send them. Waits are WaitLatch() calls, so cancel and
 * statement_timeout end them at once. Unlike the SDKs there is an overall
 * timeout: a file stuck in_progress raises 55000, kept apart from 57014,
 * which only a real cancel raises.
 */
cJSON *
vs_poll_status(const char *path, const char *what, const char *id,
			   int64 timeout_ms, int poll_interval_ms, bool raise_on_timeout,
			   const VsRequestOptions *opts)
{
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext loopcxt = AllocSetContextCreate(outer, "vectorstore poll",
												  ALLOCSET_SMALL_SIZES);
	TimestampTz start = GetCurrentTimestamp();
	cJSON	   *result = NULL;

	/* polls are GETs: no body; a chosen interval is told, as the SDKs do */
	opts = vs_options_without_body(opts);
	if (poll_interval_ms > 0)
	{
		VsRequestOptions *o = palloc0(sizeof(VsRequestOptions));
		int			n = opts ? opts->nheaders : 0;

		if (opts)
			*o = *opts;
		else
			o->timeout_ms = o->max_retries = -1;
		o->headers = palloc(sizeof(VsHeader) * (n + 1));
		o->headers[0].name = "X-Stainless-Custom-Poll-Interval";
		o->headers[0].value = psprintf("%d", poll_interval_ms);
		/* the caller's extra_headers come after: theirs win */
		for (int i = 0; i < n; i++)
			o->headers[i + 1] = opts->headers[i];
		o->nheaders = n + 1;
		opts = o;
	}

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
		req.opts = opts;
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
		{
			/* a batch's file counts tell a waiting caller how far it is */
			const cJSON *fc = cJSON_GetObjectItemCaseSensitive(obj, "file_counts");
			const cJSON *total = cJSON_GetObjectItemCaseSensitive(fc, "total");
			const cJSON *inprog = cJSON_GetObjectItemCaseSensitive(fc, "in_progress");

			vs_progress_phase(psprintf("waiting for %s %s", what, id));
			if (cJSON_IsNumber(total) && cJSON_IsNumber(inprog) && total->valuedouble >= inprog->valuedouble)
				vs_progress_requests((int64) (total->valuedouble - inprog->valuedouble),
									 (int64) total->valuedouble);
			else
				vs_progress_requests(0, 1);
		}

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
