/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  Checks on vector store arguments made before any request is sent:
 *	  metadata, expiration policies and chunking strategies, with the limits
 *	  of CONTRACT.md (several are prose-only in the spec, so the API — not a
 *	  schema validator — would be the first to notice). Errors name the
 *	  argument and the bad part.
 *
 *	  Attribute and search-filter validation lives in filters.c.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "mb/pg_wchar.h"

#include <math.h>

/* Characters (not bytes) in a UTF-8 string. */
static int
vs_utf8_chars(const char *s)
{
	int			n = 0;

	for (; *s; s++)
		if ((*s & 0xC0) != 0x80)
			n++;
	return n;
}

static bool
vs_is_integer(const cJSON *v)
{
	return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
		v->valuedouble == floor(v->valuedouble);
}

/* metadata: object of at most 16 string values, keys <= 64, values <= 512 */
void
vs_validate_metadata(const cJSON *metadata, const char *argname)
{
	const cJSON *kv;
	int			n = 0;

	if (metadata == NULL || cJSON_IsNull(metadata))
		return;
	if (!cJSON_IsObject(metadata))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object of string values", argname)));
	cJSON_ArrayForEach(kv, metadata)
	{
		n++;
		if (vs_utf8_chars(kv->string) > 64)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s key \"%s\" is longer than 64 characters", argname, kv->string)));
		if (!cJSON_IsString(kv))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s value for key \"%s\" must be a string", argname, kv->string)));
		if (vs_utf8_chars(kv->valuestring) > 512)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s value for key \"%s\" is longer than 512 characters",
							argname, kv->string)));
	}
	if (n > 16)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has %d keys; at most 16 are allowed", argname, n)));
}

/* expires_after: {"anchor":"last_active_at","days":1..365} */
void
vs_validate_expires_after(const cJSON *ea, const char *argname)
{
	const cJSON *kv;
	const cJSON *anchor;
	const cJSON *days;

	if (ea == NULL || cJSON_IsNull(ea))
		return;
	if (!cJSON_IsObject(ea))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object like {\"anchor\": \"last_active_at\", \"days\": 7}",
						argname)));
	cJSON_ArrayForEach(kv, ea)
	{
		if (strcmp(kv->string, "anchor") != 0 && strcmp(kv->string, "days") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s has unknown key \"%s\"", argname, kv->string),
					 errdetail("Allowed keys are \"anchor\" and \"days\".")));
	}
	anchor = cJSON_GetObjectItemCaseSensitive(ea, "anchor");
	days = cJSON_GetObjectItemCaseSensitive(ea, "days");
	if (!cJSON_IsString(anchor) || strcmp(anchor->valuestring, "last_active_at") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s.anchor must be \"last_active_at\"", argname)));
	if (!vs_is_integer(days) || days->valuedouble < 1 || days->valuedouble > 365)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s.days must be an integer from 1 to 365", argname)));
}

/* chunking_strategy: {"type":"auto"} or {"type":"static","static":{...}} */
void
vs_validate_chunking_strategy(const cJSON *cs, const char *argname)
{
	const cJSON *type;
	const cJSON *kv;

	if (cs == NULL || cJSON_IsNull(cs))
		return;
	if (!cJSON_IsObject(cs))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", argname),
				 errhint("Use {\"type\": \"auto\"} or {\"type\": \"static\", \"static\": {\"max_chunk_size_tokens\": 800, \"chunk_overlap_tokens\": 400}}.")));
	type = cJSON_GetObjectItemCaseSensitive(cs, "type");
	if (!cJSON_IsString(type) ||
		(strcmp(type->valuestring, "auto") != 0 && strcmp(type->valuestring, "static") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s.type must be \"auto\" or \"static\"", argname)));
	cJSON_ArrayForEach(kv, cs)
	{
		if (strcmp(kv->string, "type") != 0 &&
			!(strcmp(kv->string, "static") == 0 && strcmp(type->valuestring, "static") == 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s has unknown key \"%s\" for type \"%s\"",
							argname, kv->string, type->valuestring)));
	}
	if (strcmp(type->valuestring, "static") == 0)
	{
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(cs, "static");
		const cJSON *max;
		const cJSON *overlap;

		if (!cJSON_IsObject(st))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.static must be an object with max_chunk_size_tokens and chunk_overlap_tokens",
							argname)));
		cJSON_ArrayForEach(kv, st)
		{
			if (strcmp(kv->string, "max_chunk_size_tokens") != 0 &&
				strcmp(kv->string, "chunk_overlap_tokens") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s.static has unknown key \"%s\"", argname, kv->string)));
		}
		max = cJSON_GetObjectItemCaseSensitive(st, "max_chunk_size_tokens");
		overlap = cJSON_GetObjectItemCaseSensitive(st, "chunk_overlap_tokens");
		if (!vs_is_integer(max) || max->valuedouble < 100 || max->valuedouble > 4096)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.static.max_chunk_size_tokens must be an integer from 100 to 4096",
							argname)));
		if (!vs_is_integer(overlap) || overlap->valuedouble < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.static.chunk_overlap_tokens must be a non-negative integer",
							argname)));
		if (overlap->valuedouble > max->valuedouble / 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.static.chunk_overlap_tokens (%.0f) must not exceed half of max_chunk_size_tokens (%.0f)",
							argname, overlap->valuedouble, max->valuedouble)));
	}
}
