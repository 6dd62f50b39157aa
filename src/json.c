/*-------------------------------------------------------------------------
 *
 * json.c
 *	  Every use of cJSON: parsing API responses, typed field access, turning
 *	  response objects into rows, and converting between cJSON and jsonb.
 *
 * Memory: cJSON allocates with its own allocator (malloc). We never call
 * cJSON_InitHooks(): it is process-wide, and would change the allocator of
 * every other library in the backend that uses the shared libcjson. Instead
 * every tree this extension makes comes from a function here and is owned
 * by the memory context current when it was made (vs_json_own): when that
 * context is reset or deleted — also when an ERROR unwinds the call — the
 * trees it owns are deleted. The rules that make this safe:
 *	  - nobody calls cJSON_Delete() on an owned tree: to free one early, make
 *		it in a context of its own and reset that;
 *	  - an owned tree is never put inside another tree: vs_json_add_ref()
 *		adds it by reference (cJSON_IsReference), so each owned tree is
 *		deleted once, by its owner, and a tree that refers to it must not be
 *		used after the referenced tree's context is reset;
 *	  - items made with cJSON_Create*() and added at once to an owned tree
 *		belong to that tree.
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
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "miscadmin.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include <math.h>

/* ---------------------------------------------------------------------
 * Ownership of cJSON trees (see the file header)
 * ---------------------------------------------------------------------
 */
typedef struct VsJsonOwner
{
	MemoryContext cxt;
	MemoryContextCallback cb;
	cJSON	  **items;			/* allocated in cxt */
	int			n;
	int			cap;
	struct VsJsonOwner *next;
} VsJsonOwner;

static VsJsonOwner *vs_json_owners = NULL;

/* The context is being reset or deleted: delete its trees, forget it. */
static void
vs_json_owner_release(void *arg)
{
	VsJsonOwner *o = (VsJsonOwner *) arg;
	VsJsonOwner **pp;

	for (pp = &vs_json_owners; *pp; pp = &(*pp)->next)
	{
		if (*pp == o)
		{
			*pp = o->next;
			break;
		}
	}
	for (int i = 0; i < o->n; i++)
		cJSON_Delete(o->items[i]);
	o->n = 0;
}

/*
 * Make CurrentMemoryContext the owner of a tree just made by cJSON, and
 * return it. NULL (cJSON out of memory) raises 53200.
 */
cJSON *
vs_json_own(cJSON *item)
{
	MemoryContext cxt = CurrentMemoryContext;
	VsJsonOwner *o;

	if (item == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory building JSON")));
	for (o = vs_json_owners; o; o = o->next)
		if (o->cxt == cxt)
			break;
	if (o == NULL)
	{
		o = MemoryContextAllocExtended(cxt, sizeof(VsJsonOwner),
									   MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
		if (o)
			o->items = MemoryContextAllocExtended(cxt, sizeof(cJSON *) * 8,
												  MCXT_ALLOC_NO_OOM);
		if (o == NULL || o->items == NULL)
		{
			cJSON_Delete(item);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory building JSON")));
		}
		o->cxt = cxt;
		o->cap = 8;
		o->cb.func = vs_json_owner_release;
		o->cb.arg = o;
		MemoryContextRegisterResetCallback(cxt, &o->cb);
		o->next = vs_json_owners;
		vs_json_owners = o;
	}
	if (o->n == o->cap)
	{
		cJSON	  **bigger = MemoryContextAllocExtended(cxt, sizeof(cJSON *) * o->cap * 2,
														MCXT_ALLOC_NO_OOM);

		if (bigger == NULL)
		{
			cJSON_Delete(item);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory building JSON")));
		}
		memcpy(bigger, o->items, sizeof(cJSON *) * o->n);
		pfree(o->items);
		o->items = bigger;
		o->cap *= 2;
	}
	o->items[o->n++] = item;
	return item;
}

cJSON *
vs_json_new_object(void)
{
	return vs_json_own(cJSON_CreateObject());
}

cJSON *
vs_json_new_array(void)
{
	return vs_json_own(cJSON_CreateArray());
}

/* Put an owned tree into an object (key) or array (key NULL) by reference. */
void
vs_json_add_ref(cJSON *parent, const char *key, cJSON *item)
{
	bool		ok;

	if (key == NULL)
		ok = cJSON_AddItemReferenceToArray(parent, item);
	else
		ok = cJSON_AddItemReferenceToObject(parent, key, item);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory building JSON")));
}

/* Add a string in the server encoding (sent as UTF-8) to an object. */
void
vs_json_add_string(cJSON *obj, const char *key, const char *server_str)
{
	const char *utf8 = pg_server_to_any(server_str, strlen(server_str), PG_UTF8);

	if (cJSON_AddStringToObject(obj, key, utf8) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory building JSON")));
}

/* Add a number, boolean or null to an object (53200 when out of memory). */
void
vs_json_add_number(cJSON *obj, const char *key, double v)
{
	if (cJSON_AddNumberToObject(obj, key, v) == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory building JSON")));
}

void
vs_json_add_bool(cJSON *obj, const char *key, bool v)
{
	if (cJSON_AddBoolToObject(obj, key, v) == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory building JSON")));
}

void
vs_json_add_null(cJSON *obj, const char *key)
{
	if (cJSON_AddNullToObject(obj, key) == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory building JSON")));
}

/* Parse JSON text (UTF-8) into an owned tree; NULL when it is not JSON. */
cJSON *
vs_json_parse_text(const char *text, size_t len, const char **end)
{
	cJSON	   *root = cJSON_ParseWithLengthOpts(text, len, end, true);

	return root ? vs_json_own(root) : NULL;
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

/*
 * Is there an escaped NUL (\u0000) in a JSON string of this text? cJSON
 * would decode it and cut the string short there ("file-abc\u0000/../x"
 * would read as "file-abc"), so such a body is refused like a raw NUL.
 */
static bool
vs_json_has_escaped_nul(const char *text, size_t len)
{
	for (size_t i = 0; i + 6 <= len; i++)
	{
		size_t		bs = 0;
		const char *next;

		/* jump to the next backslash (most bodies have few or none) */
		if (text[i] != '\\')
		{
			next = memchr(text + i, '\\', len - i);
			if (next == NULL)
				return false;
			i = next - text;
			if (i + 6 > len)
				return false;
		}
		/* count the backslashes of this run: an odd run escapes the next char */
		while (i + bs < len && text[i + bs] == '\\')
			bs++;
		i += bs - 1;
		if (bs % 2 == 1 && i + 6 <= len && text[i + 1] == 'u' &&
			strncmp(text + i + 2, "0000", 4) == 0)
			return true;
	}
	return false;
}

/*
 * See vectorstore.h. Uses only malloc (cJSON's allocator and one block for
 * the result) and never raises, so GUC check hooks may call it in any
 * process. The tree is deleted before returning.
 */
VsPairs *
vs_json_pairs_parse(const char *text, char *why, size_t whylen)
{
	cJSON	   *root;
	const cJSON *kv;
	size_t		size;
	int			n = 0;
	VsPairs    *pairs;
	char	   *strings;

	why[0] = '\0';
	if (text == NULL)
		text = "";
	if (vs_json_has_escaped_nul(text, strlen(text)))
	{
		snprintf(why, whylen, "It must not contain an escaped NUL character (\\u0000).");
		return NULL;
	}
	root = cJSON_ParseWithOpts(text, NULL, 1);	/* nothing may follow the object */
	if (root == NULL || !cJSON_IsObject(root))
	{
		snprintf(why, whylen, "It must be a JSON object, such as {\"name\": \"value\"}.");
		cJSON_Delete(root);
		return NULL;
	}
	size = offsetof(VsPairs, pair);
	cJSON_ArrayForEach(kv, root)
	{
		char		num[64];
		const char *v = NULL;

		if (cJSON_IsString(kv))
			v = kv->valuestring;
		else if (cJSON_IsNumber(kv) || cJSON_IsBool(kv))
		{
			if (cJSON_IsBool(kv))
				v = cJSON_IsTrue(kv) ? "true" : "false";
			else
			{
				snprintf(num, sizeof(num), "%.17g", kv->valuedouble);
				v = num;
			}
		}
		else
		{
			snprintf(why, whylen, "The value of \"%.100s\" must be a string, number or boolean.",
					 kv->string);
			cJSON_Delete(root);
			return NULL;
		}
		size += sizeof(VsHeader) + strlen(kv->string) + 1 + strlen(v) + 1;
		n++;
	}
	pairs = malloc(size);
	if (pairs == NULL)
	{
		snprintf(why, whylen, "Out of memory.");
		cJSON_Delete(root);
		return NULL;
	}
	pairs->n = n;
	strings = (char *) &pairs->pair[n];
	n = 0;
	cJSON_ArrayForEach(kv, root)
	{
		char		num[64];
		const char *v;
		size_t		l;

		if (cJSON_IsString(kv))
			v = kv->valuestring;
		else if (cJSON_IsBool(kv))
			v = cJSON_IsTrue(kv) ? "true" : "false";
		else
		{
			snprintf(num, sizeof(num), "%.17g", kv->valuedouble);
			v = num;
		}
		l = strlen(kv->string) + 1;
		memcpy(strings, kv->string, l);
		pairs->pair[n].name = strings;
		strings += l;
		l = strlen(v) + 1;
		memcpy(strings, v, l);
		pairs->pair[n].value = strings;
		strings += l;
		n++;
	}
	cJSON_Delete(root);
	return pairs;
}

/*
 * How many JSON values (objects, arrays, strings, numbers, literals) may one
 * response hold. vectorstore.max_response_size bounds a body's bytes, not
 * what parsing them costs: every value becomes a cJSON node (about 100 bytes
 * with its key, malloc'd) and often a row or a jsonb value, so a body of
 * tiny values ({"a":1,...} or [0,0,...]) would take 50-100 times its size.
 * The largest page the API documents is a file list of 10,000 files
 * (GET /files, limit up to 10,000): 80,006 values (1.9 MB) measured against
 * the emulator, 8 a file; the API's file object has up to 10 (100,000).
 * 250,000 leaves room for that and for fields the API may add, and keeps
 * one parsed response near 25 MB, whatever the body's size.
 */
#define VS_JSON_MAX_VALUES 250000

/*
 * The number of JSON values in a text, counted without parsing: each value
 * but the first follows a comma or the opening bracket of a non-empty array
 * or object (outside strings), so the count is 1 + commas + non-empty
 * containers (exact for valid JSON). Stops counting past limit. The text is
 * valid UTF-8 (checked before), so a string's multibyte characters never
 * look like quotes or backslashes.
 */
static long
vs_json_count_values(const char *text, size_t len, long limit)
{
	long		n = 1;
	bool		in_string = false;
	bool		opened = false; /* a bracket was opened: is it empty? */

	for (size_t i = 0; i < len && n <= limit; i++)
	{
		char		c = text[i];

		if (in_string)
		{
			if (c == '\\')
				i++;			/* the escaped character is part of the string */
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (opened && (c == ']' || c == '}'))
			n--;				/* empty: it holds no value */
		opened = false;
		if (c == '"')
			in_string = true;
		else if (c == '[' || c == '{')
		{
			n++;
			opened = true;
		}
		else if (c == ',')
			n++;
	}
	return n;
}

/*
 * Parse an API response body into an owned JSON object; on failure return
 * NULL and a description of what is wrong (never raises for bad input).
 */
static cJSON *
vs_json_parse_body(const VsResponse *resp, char **why)
{
	cJSON	   *root;
	const char *end = NULL;

	*why = NULL;
	if (resp->body_len == 0)
	{
		*why = pstrdup("The response body is empty.");
		return NULL;
	}
	/* UTF-8 and no NUL bytes, raw or escaped, before any parsing */
	if (!pg_verify_mbstr(PG_UTF8, resp->body, (int) resp->body_len, true))
	{
		*why = pstrdup("The response body is not valid UTF-8 text (or contains NUL bytes).");
		return NULL;
	}
	if (vs_json_has_escaped_nul(resp->body, resp->body_len))
	{
		*why = pstrdup("The response body contains an escaped NUL character (\\u0000).");
		return NULL;
	}
	/* what parsing costs is bounded by the number of values, not bytes */
	if (vs_json_count_values(resp->body, resp->body_len, VS_JSON_MAX_VALUES) > VS_JSON_MAX_VALUES)
	{
		*why = psprintf("The response body holds more than %d JSON values, more than any API response needs.",
						VS_JSON_MAX_VALUES);
		return NULL;
	}
	/* the body is NUL-terminated: require the value to end there, so
	 * trailing garbage after a valid object is not accepted */
	root = vs_json_parse_text(resp->body, resp->body_len + 1, &end);
	if (root == NULL)
	{
		*why = psprintf("The response body is not valid JSON (or nests deeper than %d levels), near byte %ld.",
						CJSON_NESTING_LIMIT, end ? (long) (end - resp->body) : 0L);
		return NULL;
	}
	if (!cJSON_IsObject(root))
	{
		*why = psprintf("The response body is a JSON %s, not an object.",
						vs_json_type_name(root));
		return NULL;
	}
	return root;
}

/* Parse an API response body into a JSON object (08P01 when it is not one). */
cJSON *
vs_json_parse_response(const VsRequest *req, const VsResponse *resp)
{
	char	   *why;
	cJSON	   *root = vs_json_parse_body(resp, &why);

	if (root == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("invalid response from the vector store API"),
				 errdetail_internal("%s", why),
				 errcontext("vectorstore request: %s %s", req->method, req->path)));
	return root;
}

/* The same without raising: NULL and *err ("METHOD PATH: why") on failure. */
cJSON *
vs_json_try_parse_response(const VsRequest *req, const VsResponse *resp, char **err)
{
	char	   *why;
	cJSON	   *root = vs_json_parse_body(resp, &why);

	*err = root ? NULL : psprintf("%s %s: invalid response: %s", req->method, req->path, why);
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
	item = vs_json_parse_text(utf8, strlen(utf8) + 1, NULL);
	if (item == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while converting jsonb")));
	return item;
}

/*
 * Printing. cJSON's own printer keeps 15 significant digits whenever they
 * read back within a relative epsilon, so 9007199254740992 went out as
 * 9007199254740990 and 0.30000000000000004 as 0.3. Ours prints the shortest
 * form that reads back as exactly the same double.
 */
static void
vs_json_write_string(StringInfo b, const char *s)
{
	appendStringInfoChar(b, '"');
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		switch (*p)
		{
			case '"':
				appendStringInfoString(b, "\\\"");
				break;
			case '\\':
				appendStringInfoString(b, "\\\\");
				break;
			case '\n':
				appendStringInfoString(b, "\\n");
				break;
			case '\r':
				appendStringInfoString(b, "\\r");
				break;
			case '\t':
				appendStringInfoString(b, "\\t");
				break;
			case '\b':
				appendStringInfoString(b, "\\b");
				break;
			case '\f':
				appendStringInfoString(b, "\\f");
				break;
			default:
				if (*p < 0x20)
					appendStringInfo(b, "\\u%04x", *p);
				else
					appendStringInfoChar(b, (char) *p);
		}
	}
	appendStringInfoChar(b, '"');
}

/*
 * A number as JSON text: the shortest of 15, 16 or 17 significant digits
 * that reads back as exactly the same double (cJSON's own printer stopped
 * at 15 digits whenever they read back within an epsilon). False for NaN
 * and infinities, which JSON cannot hold.
 */
static bool
vs_json_number_text(double d, char *buf, size_t size)
{
	if (!isfinite(d))
		return false;
	for (int prec = 15; prec <= 17; prec++)
	{
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return true;
}

static void
vs_json_write_number(StringInfo b, double d)
{
	char		buf[64];

	if (!vs_json_number_text(d, buf, sizeof(buf)))
	{
		appendStringInfoString(b, "null");	/* JSON has no NaN or infinity */
		return;
	}
	appendStringInfoString(b, buf);
}

static void
vs_json_write(StringInfo b, const cJSON *item)
{
	const cJSON *c;
	bool		first = true;

	check_stack_depth();
	switch (item->type & 0xFF)
	{
		case cJSON_False:
			appendStringInfoString(b, "false");
			break;
		case cJSON_True:
			appendStringInfoString(b, "true");
			break;
		case cJSON_NULL:
			appendStringInfoString(b, "null");
			break;
		case cJSON_Number:
			vs_json_write_number(b, item->valuedouble);
			break;
		case cJSON_String:
			vs_json_write_string(b, item->valuestring ? item->valuestring : "");
			break;
		case cJSON_Raw:
			appendStringInfoString(b, item->valuestring ? item->valuestring : "null");
			break;
		case cJSON_Array:
			appendStringInfoChar(b, '[');
			for (c = item->child; c; c = c->next)
			{
				if (!first)
					appendStringInfoChar(b, ',');
				vs_json_write(b, c);
				first = false;
			}
			appendStringInfoChar(b, ']');
			break;
		case cJSON_Object:
			appendStringInfoChar(b, '{');
			for (c = item->child; c; c = c->next)
			{
				if (!first)
					appendStringInfoChar(b, ',');
				vs_json_write_string(b, c->string ? c->string : "");
				appendStringInfoChar(b, ':');
				vs_json_write(b, c);
				first = false;
			}
			appendStringInfoChar(b, '}');
			break;
		default:
			elog(ERROR, "vectorstore: invalid JSON item of type %d", item->type);
	}
}

/* Unformatted JSON text of a tree (UTF-8), palloc'd. */
char *
vs_json_print(const cJSON *item)
{
	StringInfoData b;

	initStringInfo(&b);
	vs_json_write(&b, item);
	return b.data;
}

/* A cJSON value as jsonb (text in UTF-8 converted to the server encoding). */
/*
 * A cJSON number as the numeric jsonb holds it: the digits vs_json_print
 * writes, so a value reads the same from a jsonb column as on the wire.
 * False (JSON null) for NaN and infinities.
 */
static bool
vs_json_number(const cJSON *item, JsonbValue *v)
{
	char		buf[64];

	if (!vs_json_number_text(item->valuedouble, buf, sizeof(buf)))
		return false;
	v->type = jbvNumeric;
	v->val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
														 ObjectIdGetDatum(InvalidOid),
														 Int32GetDatum(-1)));
	return true;
}

/* A UTF-8 string from a response as a jsonb string (server encoding). */
static void
vs_json_string_value(JsonbValue *v, const char *utf8)
{
	size_t		len = strlen(utf8);

	v->type = jbvString;
	v->val.string.val = pg_any_to_server(utf8, (int) len, PG_UTF8);
	v->val.string.len = (v->val.string.val == utf8) ? (int) len : (int) strlen(v->val.string.val);
}

/* Push item (tok: WJB_VALUE in an object, WJB_ELEM in an array). */
static JsonbValue *
vs_json_push(JsonbParseState **st, const cJSON *item, JsonbIteratorToken tok)
{
	JsonbValue	v;
	const cJSON *el;

	check_stack_depth();
	if (cJSON_IsObject(item))
	{
		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		cJSON_ArrayForEach(el, item)
		{
			vs_json_string_value(&v, el->string ? el->string : "");
			pushJsonbValue(st, WJB_KEY, &v);
			(void) vs_json_push(st, el, WJB_VALUE);
		}
		return pushJsonbValue(st, WJB_END_OBJECT, NULL);
	}
	if (cJSON_IsArray(item))
	{
		pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
		cJSON_ArrayForEach(el, item)
			(void) vs_json_push(st, el, WJB_ELEM);
		return pushJsonbValue(st, WJB_END_ARRAY, NULL);
	}
	if (cJSON_IsString(item))
		vs_json_string_value(&v, item->valuestring);
	else if (cJSON_IsBool(item))
	{
		v.type = jbvBool;
		v.val.boolean = cJSON_IsTrue(item);
	}
	else if (!cJSON_IsNumber(item) || !vs_json_number(item, &v))
		v.type = jbvNull;
	return pushJsonbValue(st, tok, &v);
}

/*
 * A cJSON value as jsonb, built directly (no text in between: this runs
 * for every search result's attributes). The same value vs_json_print and
 * jsonb_in would give.
 */
Datum
vs_json_to_jsonb(const cJSON *item)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;

	if (cJSON_IsObject(item) || cJSON_IsArray(item))
		res = vs_json_push(&st, item, WJB_ELEM);
	else
	{
		/* a scalar: jsonb keeps it in a one-element "raw scalar" array */
		JsonbValue	arr;

		arr.type = jbvArray;
		arr.val.array.rawScalar = true;
		arr.val.array.nElems = 1;
		arr.val.array.elems = NULL;
		pushJsonbValue(&st, WJB_BEGIN_ARRAY, &arr);
		(void) vs_json_push(&st, item, WJB_ELEM);
		res = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	}
	PG_RETURN_POINTER(JsonbValueToJsonb(res));
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

/* Add a text value (sent as UTF-8) to an object under key. */
void
vs_json_add_text(cJSON *obj, const char *key, text *t)
{
	if (cJSON_AddStringToObject(obj, key, vs_text_to_utf8(t, NULL)) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory building JSON")));
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

/* A decoded field: cleaned whole (secrets scrubbed) before it is cut. */
static char *
vs_clean_excerpt(const char *value, VsCleanFn clean, void *clean_arg)
{
	char	   *v = pstrdup(value);

	if (clean)
		v = clean(v, clean_arg);
	return vs_excerpt(v, strlen(v));
}

/*
 * See vectorstore.h. Never raises on bad input: the tree lives in a context
 * of its own, deleted before returning; what is kept is copied out first.
 */
bool
vs_json_error_fields(const char *body, size_t len, char **message, char **type,
					 char **code, char **param, VsCleanFn clean, void *clean_arg)
{
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext tmp;
	cJSON	   *root;
	cJSON	   *err;
	const cJSON *f;
	bool		ok = false;

	*message = *type = *code = *param = NULL;
	if (body == NULL || len == 0)
		return false;
	if (!pg_verify_mbstr(PG_UTF8, body, (int) len, true) ||
		vs_json_has_escaped_nul(body, len))
	{
		*message = vs_excerpt(body, len);
		return false;
	}
	if (vs_json_count_values(body, len, VS_JSON_MAX_VALUES) > VS_JSON_MAX_VALUES)
	{
		*message = vs_excerpt(body, len);	/* not parsed: too many values */
		return false;
	}
	tmp = AllocSetContextCreate(outer, "vectorstore error body", ALLOCSET_SMALL_SIZES);
	MemoryContextSwitchTo(tmp);
	root = cJSON_ParseWithLength(body, len);
	if (root)
		vs_json_own(root);		/* deleted with tmp */
	err = root ? cJSON_GetObjectItemCaseSensitive(root, "error") : NULL;
	MemoryContextSwitchTo(outer);
	if (cJSON_IsObject(err))
	{
		ok = true;
		if ((f = cJSON_GetObjectItemCaseSensitive(err, "message")) && cJSON_IsString(f))
		{
			/* a copy (the tree goes below), cleaned whole, then cut */
			char	   *m = pstrdup(pg_any_to_server(f->valuestring, strlen(f->valuestring), PG_UTF8));
			int			mlen;

			if (clean)
				m = clean(m, clean_arg);
			mlen = pg_mbcliplen(m, strlen(m), 2000);
			*message = pnstrdup(m, mlen);
		}
		if ((f = cJSON_GetObjectItemCaseSensitive(err, "type")) && cJSON_IsString(f))
			*type = vs_clean_excerpt(f->valuestring, clean, clean_arg);
		if ((f = cJSON_GetObjectItemCaseSensitive(err, "code")) && cJSON_IsString(f))
			*code = vs_clean_excerpt(f->valuestring, clean, clean_arg);
		if ((f = cJSON_GetObjectItemCaseSensitive(err, "param")) && cJSON_IsString(f))
			*param = vs_clean_excerpt(f->valuestring, clean, clean_arg);
	}
	else
		*message = vs_excerpt(body, len);
	MemoryContextDelete(tmp);
	return ok;
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
	cJSON	   *out = vs_json_new_array();

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
		if (!cJSON_AddItemToArray(out, cJSON_CreateString(vs_text_to_utf8(DatumGetTextPP(elems[i]), NULL))))
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory building JSON")));
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
