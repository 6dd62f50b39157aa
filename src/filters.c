/*-------------------------------------------------------------------------
 *
 * filters.c
 *	  Validation of vector-store-file attributes and of search filters,
 *	  done before anything is sent (CONTRACT.md 1.3 and 1.6).
 *
 * Filters are a tree: a comparison {type, key, value} or a compound
 * {type: and|or, filters: [...]} whose members are filters again. The API
 * answers a malformed tree with one terse 400 for the whole body; here each
 * error names the exact part with a path such as
 * filters.filters[1].value, so a user can find it in a deep tree.
 *
 * Attributes follow the schema's rules: an object of at most 16 keys, keys
 * up to 64 characters, values a string (up to 512 characters), a number or a
 * boolean.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "miscadmin.h"

#include <math.h>

/* Characters (not bytes) in a UTF-8 string. */
static int
vsf_utf8_chars(const char *s)
{
	int			n = 0;

	for (; *s; s++)
		if ((*s & 0xC0) != 0x80)
			n++;
	return n;
}

static const char *const vsf_comparisons[] = {
	"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", NULL
};

static bool
vsf_is_comparison(const char *type)
{
	for (int i = 0; vsf_comparisons[i]; i++)
		if (strcmp(type, vsf_comparisons[i]) == 0)
			return true;
	return false;
}

/* A scalar a comparison may test: string, finite number or boolean. */
static bool
vsf_is_scalar(const cJSON *v, bool allow_bool)
{
	if (cJSON_IsString(v))
		return true;
	if (cJSON_IsNumber(v))
		return isfinite(v->valuedouble);
	return allow_bool && cJSON_IsBool(v);
}

static void
vsf_validate_filter(const cJSON *f, const char *path)
{
	const cJSON *type;
	const cJSON *kv;

	check_stack_depth();

	if (!cJSON_IsObject(f))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", path),
				 errhint("A filter is {\"type\": \"eq\", \"key\": \"k\", \"value\": \"v\"} or {\"type\": \"and\", \"filters\": [...]}.")));
	type = cJSON_GetObjectItemCaseSensitive(f, "type");
	if (!cJSON_IsString(type) ||
		(!vsf_is_comparison(type->valuestring) &&
		 strcmp(type->valuestring, "and") != 0 &&
		 strcmp(type->valuestring, "or") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s.type must be one of eq, ne, gt, gte, lt, lte, in, nin, and, or", path)));

	if (vsf_is_comparison(type->valuestring))
	{
		const char *op = type->valuestring;
		const cJSON *key;
		const cJSON *value;

		cJSON_ArrayForEach(kv, f)
		{
			if (strcmp(kv->string, "type") != 0 && strcmp(kv->string, "key") != 0 &&
				strcmp(kv->string, "value") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s has unknown key \"%s\"", path, kv->string),
						 errdetail("A comparison filter has only the keys \"type\", \"key\" and \"value\".")));
		}
		key = cJSON_GetObjectItemCaseSensitive(f, "key");
		if (!cJSON_IsString(key))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.key must be a string", path)));
		value = cJSON_GetObjectItemCaseSensitive(f, "value");
		if (value == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.value is required", path)));
		if (strcmp(op, "in") == 0 || strcmp(op, "nin") == 0)
		{
			const cJSON *el;
			int			i = 0;

			if (!cJSON_IsArray(value))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s.value must be an array for \"%s\"", path, op)));
			cJSON_ArrayForEach(el, value)
			{
				if (!vsf_is_scalar(el, false))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("%s.value[%d] must be a string or a number", path, i)));
				i++;
			}
		}
		else if (!vsf_is_scalar(value, true))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.value must be a string, a number or a boolean for \"%s\"",
							path, op),
					 cJSON_IsArray(value) ?
					 errhint("Use \"in\" or \"nin\" to compare with a list of values.") : 0));
	}
	else
	{
		const cJSON *filters;
		const cJSON *el;
		int			i = 0;

		cJSON_ArrayForEach(kv, f)
		{
			if (strcmp(kv->string, "type") != 0 && strcmp(kv->string, "filters") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s has unknown key \"%s\"", path, kv->string),
						 errdetail("A compound filter has only the keys \"type\" and \"filters\".")));
		}
		filters = cJSON_GetObjectItemCaseSensitive(f, "filters");
		if (!cJSON_IsArray(filters) || cJSON_GetArraySize(filters) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.filters must be a non-empty array of filters for \"%s\"",
							path, type->valuestring)));
		cJSON_ArrayForEach(el, filters)
		{
			char	   *sub = psprintf("%s.filters[%d]", path, i);

			vsf_validate_filter(el, sub);
			pfree(sub);
			i++;
		}
	}
}

/* filters: a comparison or compound filter (see the file header) */
void
vs_validate_filters(const cJSON *filters, const char *argname)
{
	if (filters == NULL || cJSON_IsNull(filters))
		return;
	vsf_validate_filter(filters, argname);
}

/* attributes: object, <= 16 keys, key <= 64, value string(<=512)|number|bool */
void
vs_validate_attributes(const cJSON *attributes, const char *argname)
{
	const cJSON *kv;
	int			n = 0;

	if (attributes == NULL || cJSON_IsNull(attributes))
		return;
	if (!cJSON_IsObject(attributes))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", argname),
				 errhint("Attributes map up to 16 keys to strings, numbers or booleans.")));
	cJSON_ArrayForEach(kv, attributes)
	{
		n++;
		if (vsf_utf8_chars(kv->string) > 64)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s key \"%s\" is longer than 64 characters", argname, kv->string)));
		if (!vsf_is_scalar(kv, true))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.%s must be a string, a number or a boolean", argname, kv->string),
					 errdetail("Attribute values cannot be objects, arrays or null.")));
		if (cJSON_IsString(kv) && vsf_utf8_chars(kv->valuestring) > 512)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.%s is longer than 512 characters", argname, kv->string)));
	}
	if (n > 16)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has %d keys; at most 16 are allowed", argname, n)));
}
