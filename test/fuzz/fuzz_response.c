/*
 * fuzz_response.c
 *	  libFuzzer target: an API response body, as src/json.c sees it.
 *
 * The input is the body of a 200 answer. It goes through what every
 * synchronous function does with one: vs_json_error_fields() (must never
 * raise, whatever the body), vs_json_parse_response(), and vs_json_to_row()
 * for the columns of a vector store, a vector store file and each search
 * result in data[]. Properties checked:
 *	  - no crash, no ASan/UBSan report, no abort from an unreachable path;
 *	  - every ERROR is a user-facing one with a message: 08P01 (the answer
 *	    is not what the API promises) or 54001 (too deep); never XX000.
 */
#include "postgres.h"

#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "vectorstore.h"

#include "pg_shim.h"

/* columns like those of vectorstore.vector_store / vector_store_file / search */
typedef struct Col
{
	const char *name;
	Oid			type;
} Col;

static const Col store_cols[] = {
	{"id", TEXTOID}, {"object", TEXTOID}, {"created_at", TIMESTAMPTZOID},
	{"name", TEXTOID}, {"usage_bytes", INT8OID}, {"completed", INT4OID},
	{"total", INT4OID}, {"status", TEXTOID}, {"expires_at", TIMESTAMPTZOID},
	{"last_active_at", TIMESTAMPTZOID}, {"deleted", BOOLOID},
	{"search_query", TEXTARRAYOID}, {NULL, 0}
};
static const Col result_cols[] = {
	{"file_id", TEXTOID}, {"filename", TEXTOID}, {"score", FLOAT8OID},
	{"last_error_code", TEXTOID}, {"usage_bytes", INT4OID}, {NULL, 0}
};
static const VsFieldAlias aliases[] = {
	{"completed", "file_counts.completed"},
	{"total", "file_counts.total"},
	{"last_error_code", "last_error.code"},
	{NULL, NULL}
};

static TupleDesc
make_tupdesc(const Col *cols)
{
	int			n = 0;
	TupleDesc	td;

	while (cols[n].name)
		n++;
	td = palloc0(offsetof(TupleDescData, attrs) + n * sizeof(FormData_pg_attribute));
	td->natts = n;
	for (int i = 0; i < n; i++)
	{
		snprintf(NameStr(td->attrs[i].attname), NAMEDATALEN, "%s", cols[i].name);
		td->attrs[i].atttypid = cols[i].type;
	}
	return td;
}

typedef struct Input
{
	const char *data;
	size_t		len;
} Input;

static void
run(void *arg)
{
	Input	   *in = arg;
	VsRequest	req = {.method = "GET", .path = "/vector_stores/vs_1"};
	VsResponse	resp = {.status = 200};
	cJSON	   *root;
	const cJSON *data;
	TupleDesc	td;
	Datum		values[16];
	bool		nulls[16];

	resp.body = palloc(in->len + 1);
	memcpy(resp.body, in->data, in->len);
	resp.body[in->len] = '\0';
	resp.body_len = in->len;

	root = vs_json_parse_response(&req, &resp);
	(void) vs_json_get_string(root, "object");
	td = make_tupdesc(store_cols);
	vs_json_to_row(root, td, aliases, values, nulls);

	data = vs_json_get_path(root, "data");
	if (cJSON_IsArray(data))
	{
		const cJSON *item;

		td = make_tupdesc(result_cols);
		cJSON_ArrayForEach(item, data)
			vs_json_to_row(item, td, aliases, values, nulls);
	}
	/* root is owned: deleted at shim_reset() */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *message, *type, *code, *param;
	Input		in = {(const char *) data, size};

	shim_set_stack_base();

	/* never raises (an ERROR here aborts in errfinish: no shim_try around) */
	(void) vs_json_error_fields((const char *) data, size, &message, &type, &code, &param, NULL, NULL);
	if (message && strlen(message) > 2003)
		abort();

	if (!shim_try(run, &in))
	{
		int			c = shim_error.sqlerrcode;

		if ((c != ERRCODE_PROTOCOL_VIOLATION && c != ERRCODE_STATEMENT_TOO_COMPLEX) ||
			shim_error.message[0] == '\0')
		{
			fprintf(stderr, "unexpected error %s: %s\n",
					shim_sqlstate(c), shim_error.message);
			abort();
		}
	}
	shim_reset();
	return 0;
}
