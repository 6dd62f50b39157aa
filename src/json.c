/*-------------------------------------------------------------------------
 *
 * json.c
 *	  Every use of cJSON: parsing API responses, typed field access, turning
 *	  response objects into rows, and converting between cJSON and jsonb.
 *
 * Memory: vs_json_init() points cJSON's allocator at palloc in the current
 * memory context. A cJSON tree therefore lives in the memory context that was
 * current when it was built and is released with it — including when an ERROR
 * unwinds the call — so no ERROR path can leak a tree. (STYLE.md suggests a
 * reset callback per tree; the allocator hook gives the same guarantee for
 * every tree without anyone having to remember to register one.) cJSON keeps
 * no other resources, so a longjmp out of it on out-of-memory is harmless.
 *
 * Responses are untrusted input: the body is validated as UTF-8 (NUL bytes
 * rejected) before parsing, cJSON limits nesting depth, and every field is
 * type-checked before use, so a hostile server gets a clear 08P01 error,
 * never a crash.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include <math.h>

static void *
vs_cjson_malloc(size_t size)
{
	/* NO_OOM: cJSON handles NULL itself; HUGE: big responses are capped by
	 * vectorstore.max_response_size, not by palloc's 1 GB chunk limit. */
	return MemoryContextAllocExtended(CurrentMemoryContext, size,
									  MCXT_ALLOC_NO_OOM | MCXT_ALLOC_HUGE);
}

static void
vs_cjson_free(void *ptr)
{
	if (ptr != NULL)
		pfree(ptr);
}

/* Route cJSON's allocations through palloc (see the file header). */
void
vs_json_init(void)
{
	cJSON_Hooks hooks;

	hooks.malloc_fn = vs_cjson_malloc;
	hooks.free_fn = vs_cjson_free;
	cJSON_InitHooks(&hooks);
}

static const char *
vs_json_type_name(const cJSON *item)
{
	if (item == NULL)
		return "missing";
	if (cJSON_IsNull(item))
		return "null";
	if (cJSON_IsBool(item))
		return "boolean";
	if (cJSON_IsNumber(item))
		return "number";
	if (cJSON_IsString(item))
		return "string";
	if (cJSON_IsArray(item))
		return "array";
	if (cJSON_IsObject(item))
		return "object";
	return "invalid";
}

/* Raise the error for a response that is not what the API promises. */
static void
vs_bad_response(const char *field, const char *expected, const cJSON *got)
	pg_attribute_noreturn();

static void
vs_bad_response(const char *field, const char *expected, const cJSON *got)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("invalid response from the vector store API"),
			 errdetail("Field \"%s\" must be %s, but it is %s.",
					   field, expected, vs_json_type_name(got))));
}

/* Parse an API response body into a JSON object. */
cJSON *
vs_json_parse_response(const VsRequest *req, const VsResponse *resp)
{
	cJSON	   *root;
	const char *end = NULL;

	if (resp->body_len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("invalid response from the vector store API"),
				 errdetail("The response body is empty."),
				 errcontext("vectorstore request: %s %s", req->method, req->path)));

	/* Validates UTF-8 and rejects NUL bytes before any parsing. */
	if (!pg_verify_mbstr(PG_UTF8, resp->body, (int) resp->body_len, true))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("invalid response from the vector store API"),
				 errdetail("The response body is not valid UTF-8 text (or contains NUL bytes)."),
				 errcontext("vectorstore request: %s %s", req->method, req->path)));

	/* the body is NUL-terminated: require the value to end there, so
	 * trailing garbage after a valid object is not accepted */
	root = cJSON_ParseWithLengthOpts(resp->body, resp->body_len + 1, &end, true);
	if (root == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("invalid response from the vector store API"),
				 errdetail("The response body is not valid JSON (or nests deeper than %d levels), near byte %ld.",
						   CJSON_NESTING_LIMIT,
						   end ? (long) (end - resp->body) : 0L),
				 errcontext("vectorstore request: %s %s", req->method, req->path)));
	if (!cJSON_IsObject(root))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("invalid response from the vector store API"),
				 errdetail("The response body is a JSON %s, not an object.",
						   vs_json_type_name(root)),
				 errcontext("vectorstore request: %s %s", req->method, req->path)));
	return root;
}

/* A jsonb argument as a cJSON tree (jsonb is valid JSON, so this can't fail). */
cJSON *
vs_json_from_jsonb(Jsonb *jb)
{
	char	   *txt;
	char	   *utf8;
	cJSON	   *item;

	txt = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	utf8 = (char *) pg_server_to_any(txt, strlen(txt), PG_UTF8);
	item = cJSON_Parse(utf8);
	if (item == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while converting jsonb")));
	return item;
}

char *
vs_json_print(const cJSON *item)
{
	char	   *out = cJSON_PrintUnformatted(item);

	if (out == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while printing JSON")));
	return out;
}

/* A cJSON value as jsonb (text in UTF-8 converted to the server encoding). */
Datum
vs_json_to_jsonb(const cJSON *item)
{
	char	   *utf8 = vs_json_print(item);
	char	   *server = pg_any_to_server(utf8, strlen(utf8), PG_UTF8);

	return DirectFunctionCall1(jsonb_in, CStringGetDatum(server));
}

/* A text argument in UTF-8 (what the API speaks). */
char *
vs_text_to_utf8(text *t, int *len)
{
	int			n = VARSIZE_ANY_EXHDR(t);
	char	   *s = (char *) pg_server_to_any(VARDATA_ANY(t), n, PG_UTF8);

	if (s == VARDATA_ANY(t))
		s = pnstrdup(s, n);
	if (len)
		*len = strlen(s);
	return s;
}

cJSON *
vs_json_string_from_text(text *t)
{
	cJSON	   *s = cJSON_CreateString(vs_text_to_utf8(t, NULL));

	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	return s;
}

/* A string field: NULL when missing or null; 08P01 when of another type. */
const char *
vs_json_get_string(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (item == NULL || cJSON_IsNull(item))
		return NULL;
	if (!cJSON_IsString(item))
		vs_bad_response(key, "a string", item);
	return item->valuestring;
}

/* Follow a dotted path ("file_counts.completed"); NULL when absent. */
const cJSON *
vs_json_get_path(const cJSON *obj, const char *path)
{
	const cJSON *cur = obj;
	const char *p = path;

	while (cur != NULL && *p)
	{
		const char *dot = strchr(p, '.');
		char		key[128];
		size_t		n = dot ? (size_t) (dot - p) : strlen(p);

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (cJSON_IsNull(cur))
			return NULL;
		/* "file_counts": [1,2] must not read as counts of NULL */
		if (!cJSON_IsObject(cur))
			vs_bad_response(p == path ? "(response)" : pnstrdup(path, p - path - 1),
							"an object", cur);
		cur = cJSON_GetObjectItemCaseSensitive(cur, key);
		p += n;
		if (*p == '.')
			p++;
	}
	return cur;
}

/* Convert one JSON value to a Datum of the given column type. */
static Datum
vs_json_to_datum(const cJSON *item, Oid typid, const char *field)
{
	switch (typid)
	{
		case TEXTOID:
		case VARCHAROID:
			if (!cJSON_IsString(item))
				vs_bad_response(field, "a string", item);
			return CStringGetTextDatum(pg_any_to_server(item->valuestring,
														strlen(item->valuestring),
														PG_UTF8));
		case INT4OID:
		case INT8OID:
			{
				double		d;

				if (!cJSON_IsNumber(item))
					vs_bad_response(field, "an integer", item);
				d = item->valuedouble;
				if (!isfinite(d) || d != floor(d) ||
					(typid == INT4OID && (d < PG_INT32_MIN || d > PG_INT32_MAX)) ||
					d < -9.2e18 || d > 9.2e18)
					ereport(ERROR,
							(errcode(ERRCODE_PROTOCOL_VIOLATION),
							 errmsg("invalid response from the vector store API"),
							 errdetail("Field \"%s\" must be an integer in range, but it is %g.",
									   field, d)));
				if (typid == INT4OID)
					return Int32GetDatum((int32) d);
				return Int64GetDatum((int64) d);
			}
		case FLOAT8OID:
			if (!cJSON_IsNumber(item))
				vs_bad_response(field, "a number", item);
			return Float8GetDatum(item->valuedouble);
		case BOOLOID:
			if (!cJSON_IsBool(item))
				vs_bad_response(field, "a boolean", item);
			return BoolGetDatum(cJSON_IsTrue(item));
		case TIMESTAMPTZOID:
			{
				double		d;

				if (!cJSON_IsNumber(item))
					vs_bad_response(field, "a Unix timestamp", item);
				d = item->valuedouble;
				/* years 1..9999 are plenty; reject what timestamptz can't hold */
				if (!isfinite(d) || d < -62135596800.0 || d > 253402300799.0)
					ereport(ERROR,
							(errcode(ERRCODE_PROTOCOL_VIOLATION),
							 errmsg("invalid response from the vector store API"),
							 errdetail("Field \"%s\" is not a valid Unix timestamp: %g.",
									   field, d)));
				return TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) d));
			}
		case JSONBOID:
			return vs_json_to_jsonb(item);
		case TEXTARRAYOID:
			{
				ArrayBuildState *astate = NULL;
				const cJSON *el;

				/* the spec says array of strings; its own example a string */
				if (cJSON_IsString(item))
					return PointerGetDatum(construct_array(
														   (Datum[]) {vs_json_to_datum(item, TEXTOID, field)}, 1,
														   TEXTOID, -1, false, TYPALIGN_INT));
				if (!cJSON_IsArray(item))
					vs_bad_response(field, "an array of strings", item);
				astate = initArrayResult(TEXTOID, CurrentMemoryContext, false);
				cJSON_ArrayForEach(el, item)
					astate = accumArrayResult(astate,
											  vs_json_to_datum(el, TEXTOID, field),
											  false, TEXTOID, CurrentMemoryContext);
				return makeArrayResult(astate, CurrentMemoryContext);
			}
		default:
			elog(ERROR, "vectorstore: unsupported column type %u for field \"%s\"",
				 typid, field);
	}
	return (Datum) 0;			/* keep compiler quiet */
}

/* Fill values/nulls for tupdesc from obj (see vectorstore.h). */
void
vs_json_to_row(const cJSON *obj, TupleDesc tupdesc, const VsFieldAlias *aliases,
			   Datum *values, bool *nulls)
{
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		const char *col = NameStr(att->attname);
		const char *path = col;
		const cJSON *item;

		nulls[i] = true;
		values[i] = (Datum) 0;
		if (att->attisdropped)
			continue;
		if (strcmp(col, "raw") == 0)
		{
			values[i] = vs_json_to_jsonb(obj);
			nulls[i] = false;
			continue;
		}
		for (const VsFieldAlias *a = aliases; a && a->column; a++)
		{
			if (strcmp(a->column, col) == 0)
			{
				path = a->path;
				break;
			}
		}
		item = vs_json_get_path(obj, path);
		if (item == NULL || cJSON_IsNull(item))
			continue;
		values[i] = vs_json_to_datum(item, att->atttypid, path);
		nulls[i] = false;
	}
}

/* A composite Datum of the function's result type built from obj. */
Datum
vs_json_to_composite(const cJSON *obj, FunctionCallInfo fcinfo,
					 const VsFieldAlias *aliases)
{
	TupleDesc	tupdesc;
	Datum	   *values;
	bool	   *nulls;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "vectorstore: function must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	values = palloc(sizeof(Datum) * tupdesc->natts);
	nulls = palloc(sizeof(bool) * tupdesc->natts);
	vs_json_to_row(obj, tupdesc, aliases, values, nulls);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/* Copy at most 500 bytes of untrusted text, keeping it valid and printable. */
static char *
vs_excerpt(const char *s, size_t len)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (size_t i = 0; i < len && buf.len < 500; i++)
	{
		unsigned char c = (unsigned char) s[i];

		appendStringInfoChar(&buf, (c >= 0x20 && c < 0x7f) ? (char) c : '?');
	}
	if (len > 500)
		appendStringInfoString(&buf, "...");
	return buf.data;
}

/* See vectorstore.h. Never raises on bad input. */
bool
vs_json_error_fields(const char *body, size_t len, char **message, char **type,
					 char **code, char **param)
{
	cJSON	   *root;
	cJSON	   *err;
	const cJSON *f;

	*message = *type = *code = *param = NULL;
	if (body == NULL || len == 0)
		return false;
	if (!pg_verify_mbstr(PG_UTF8, body, (int) len, true) ||
		(root = cJSON_ParseWithLength(body, len)) == NULL)
	{
		*message = vs_excerpt(body, len);
		return false;
	}
	err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (!cJSON_IsObject(err))
	{
		*message = vs_excerpt(body, len);
		cJSON_Delete(root);
		return false;
	}
	if ((f = cJSON_GetObjectItemCaseSensitive(err, "message")) && cJSON_IsString(f))
	{
		const char *m = pg_any_to_server(f->valuestring, strlen(f->valuestring), PG_UTF8);
		int			mlen = pg_mbcliplen(m, strlen(m), 2000);

		*message = pnstrdup(m, mlen);	/* a copy: the tree goes below */
	}
	if ((f = cJSON_GetObjectItemCaseSensitive(err, "type")) && cJSON_IsString(f))
		*type = vs_excerpt(f->valuestring, strlen(f->valuestring));
	if ((f = cJSON_GetObjectItemCaseSensitive(err, "code")) && cJSON_IsString(f))
		*code = vs_excerpt(f->valuestring, strlen(f->valuestring));
	if ((f = cJSON_GetObjectItemCaseSensitive(err, "param")) && cJSON_IsString(f))
		*param = vs_excerpt(f->valuestring, strlen(f->valuestring));
	cJSON_Delete(root);
	return true;
}

cJSON *
vs_arg_json(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return NULL;
	return vs_json_from_jsonb(PG_GETARG_JSONB_P(argno));
}

cJSON *
vs_json_from_text_array(ArrayType *arr, const char *argname)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	cJSON	   *out = cJSON_CreateArray();

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", argname)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain nulls", argname)));
		cJSON_AddItemToArray(out, vs_json_string_from_text(DatumGetTextPP(elems[i])));
	}
	return out;
}

bool
vs_json_deleted(const cJSON *res)
{
	const cJSON *deleted = cJSON_GetObjectItemCaseSensitive(res, "deleted");

	if (!cJSON_IsBool(deleted))
		vs_bad_response("deleted", "a boolean", deleted);
	return cJSON_IsTrue(deleted);
}
