/*
 * fuzz_filters.c
 *	  libFuzzer target: the validation of user-supplied JSON done before a
 *	  request is sent (src/filters.c, src/validate.c).
 *
 * The input is a JSON text; like a jsonb argument, only valid UTF-8 JSON
 * reaches the validators. It is given, as is and wrapped in the places the
 * validators recurse into, to vs_validate_filters, vs_validate_attributes,
 * vs_validate_metadata, vs_validate_chunking_strategy and
 * vs_validate_expires_after. Properties checked: no crash or sanitizer
 * report; each either accepts or raises 22023 with a message (or 54001 when
 * nested too deep), never XX000.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "vectorstore.h"

#include "pg_shim.h"

typedef void (*Validator) (const cJSON *, const char *);

typedef struct Call
{
	Validator	fn;
	const cJSON *json;
} Call;

static void
run(void *arg)
{
	Call	   *c = arg;

	c->fn(c->json, "arg");
}

static void
check(Validator fn, const cJSON *json)
{
	Call		c = {fn, json};

	if (!shim_try(run, &c))
	{
		int			code = shim_error.sqlerrcode;

		if ((code != ERRCODE_INVALID_PARAMETER_VALUE &&
			 code != ERRCODE_STATEMENT_TOO_COMPLEX) ||
			shim_error.message[0] == '\0')
		{
			fprintf(stderr, "unexpected error %s: %s\n",
					shim_sqlstate(code), shim_error.message);
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const Validator validators[] = {
		vs_validate_filters, vs_validate_attributes, vs_validate_metadata,
		vs_validate_chunking_strategy, vs_validate_expires_after
	};
	cJSON	   *json;

	shim_set_stack_base();
	if (size > 1 << 20 || pg_encoding_verifymbstr(PG_UTF8, (const char *) data, size) != (int) size)
		return 0;
	json = cJSON_ParseWithLength((const char *) data, size);
	if (json)
		vs_json_own(json);		/* deleted at shim_reset() */
	if (json == NULL)
		return 0;
	for (int i = 0; i < lengthof(validators); i++)
		check(validators[i], json);

	/* the same value as a member of a compound filter */
	{
		cJSON	   *and = vs_json_new_object();
		cJSON	   *list = cJSON_AddArrayToObject(and, "filters");

		cJSON_AddStringToObject(and, "type", "and");
		cJSON_AddItemReferenceToArray(list, json);
		check(vs_validate_filters, and);
	}
	shim_reset();
	return 0;
}
