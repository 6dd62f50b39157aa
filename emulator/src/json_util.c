/*
 * json_util.c - JSON response helpers, OpenAI-shaped errors, request body
 * validation shared by the API handlers, ids and clocks.
 *
 * Error messages mimic the real service's wording loosely; what clients can
 * rely on is the status, error.type, error.param (a path such as
 * "chunking_strategy.static.max_chunk_size_tokens") and error.code.
 */
#include "common.h"

#include <microhttpd.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* splitmix64 over an atomic counter: cheap, thread safe, good enough for ids */
uint64_t rand64(void)
{
	static uint64_t state;
	uint64_t z;

	if (__atomic_load_n(&state, __ATOMIC_RELAXED) == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t seed = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec;
		uint64_t zero = 0;

		__atomic_compare_exchange_n(&state, &zero, seed | 1, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
	z = __atomic_add_fetch(&state, 0x9E3779B97F4A7C15ULL, __ATOMIC_RELAXED);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

void make_id(char *buf, size_t bufsz, const char *prefix)
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	size_t p = strlen(prefix), n = 22;
	uint64_t r = 0;

	if (p + n + 1 > bufsz)
		n = bufsz - p - 1;
	memcpy(buf, prefix, p);
	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			r = rand64();
		buf[p + i] = al[r % 62];
		r /= 62;
	}
	buf[p + n] = 0;
}

const char *query_arg(Req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

void req_json(Req *r, int status, cJSON *obj)
{
	free(r->out);
	r->status = status;
	r->out = cJSON_PrintUnformatted(obj);
	r->out_len = strlen(r->out);
	r->out_type = NULL;
	cJSON_Delete(obj);
}

cJSON *error_body(const char *message, const char *type, const char *param,
		  const char *code)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(o, "error");

	cJSON_AddStringToObject(e, "message", message);
	cJSON_AddStringToObject(e, "type", type);
	if (param)
		cJSON_AddStringToObject(e, "param", param);
	else
		cJSON_AddNullToObject(e, "param");
	if (code)
		cJSON_AddStringToObject(e, "code", code);
	else
		cJSON_AddNullToObject(e, "code");
	return o;
}

void req_error(Req *r, int status, const char *type, const char *param,
	       const char *code, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	req_json(r, status, error_body(msg, type, param, code));
}

cJSON *parse_body_object(Req *r)
{
	cJSON *o;

	if (!r->body || r->body_len == 0) {
		bad_request(r, NULL, "We could not parse the JSON body of your "
			    "request. (HINT: the body is empty.)");
		return NULL;
	}
	o = cJSON_ParseWithLength(r->body, r->body_len);
	if (!o) {
		bad_request(r, NULL, "We could not parse the JSON body of your "
			    "request. (HINT: This likely means you aren't using "
			    "your HTTP library correctly.)");
		return NULL;
	}
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		bad_request(r, NULL, "The request body must be a JSON object.");
		return NULL;
	}
	return o;
}

static void join_param(char *buf, size_t n, const char *prefix, const char *k)
{
	if (prefix && *prefix)
		snprintf(buf, n, "%s.%s", prefix, k);
	else
		snprintf(buf, n, "%s", k);
}

int check_keys(Req *r, const cJSON *obj, const char *const *allowed,
	       const char *prefix)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj) {
		bool ok = false;

		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, it->string) == 0)
				ok = true;
		if (!ok && r->lenient && (!prefix || !*prefix))
			continue;
		if (!ok) {
			char p[256];

			join_param(p, sizeof p, prefix, it->string);
			bad_request(r, p, "Unrecognized request argument supplied: %s",
				    p);
			return -1;
		}
	}
	return 0;
}

cJSON *unknown_keys(const cJSON *obj, const char *const *allowed)
{
	const cJSON *it;
	cJSON *o = NULL;

	cJSON_ArrayForEach(it, obj) {
		bool ok = false;

		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, it->string) == 0)
				ok = true;
		if (ok)
			continue;
		if (!o)
			o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, it->string, cJSON_Duplicate(it, 1));
	}
	return o;
}

int get_int(const cJSON *v, long long *out)
{
	if (!cJSON_IsNumber(v) || floor(v->valuedouble) != v->valuedouble ||
	    fabs(v->valuedouble) > 9e15)
		return 0;
	*out = (long long)v->valuedouble;
	return 1;
}

/* UTF-8 characters in s (the limits are stated in characters) */
static size_t u8len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

int validate_metadata(Req *r, const cJSON *v, const char *param)
{
	const cJSON *it;
	int n = 0;

	if (cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v)) {
		bad_request(r, param, "Invalid type for '%s': expected an object "
			    "or null.", param);
		return -1;
	}
	cJSON_ArrayForEach(it, v) {
		char p[256];

		snprintf(p, sizeof p, "%s.%s", param, it->string);
		if (++n > 16) {
			bad_request(r, param, "Invalid '%s': too many properties. "
				    "Expected an object with at most 16 "
				    "properties.", param);
			return -1;
		}
		if (u8len(it->string) > 64) {
			bad_request(r, param, "Invalid '%s': metadata keys must "
				    "be at most 64 characters.", param);
			return -1;
		}
		if (!cJSON_IsString(it)) {
			bad_request(r, p, "Invalid type for '%s': expected a "
				    "string.", p);
			return -1;
		}
		if (u8len(it->valuestring) > 512) {
			bad_request(r, p, "Invalid '%s': string too long. Expected "
				    "a string with maximum length 512.", p);
			return -1;
		}
	}
	return 0;
}

int validate_attributes(Req *r, const cJSON *v, const char *param)
{
	const cJSON *it;
	int n = 0;

	if (cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v)) {
		bad_request(r, param, "Invalid type for '%s': expected an object "
			    "or null.", param);
		return -1;
	}
	cJSON_ArrayForEach(it, v) {
		char p[256];

		snprintf(p, sizeof p, "%s.%s", param, it->string);
		if (++n > 16) {
			bad_request(r, param, "Invalid '%s': too many properties. "
				    "Expected an object with at most 16 "
				    "properties.", param);
			return -1;
		}
		if (u8len(it->string) > 64) {
			bad_request(r, param, "Invalid '%s': attribute keys must "
				    "be at most 64 characters.", param);
			return -1;
		}
		if (cJSON_IsString(it)) {
			if (u8len(it->valuestring) > 512) {
				bad_request(r, p, "Invalid '%s': string too long. "
					    "Expected a string with maximum "
					    "length 512.", p);
				return -1;
			}
		} else if (!cJSON_IsNumber(it) && !cJSON_IsBool(it)) {
			bad_request(r, p, "Invalid type for '%s': expected a "
				    "string, number or boolean.", p);
			return -1;
		}
	}
	return 0;
}

/* chunking_strategy request param; absent/NULL v means auto (800/400) */
int parse_chunking(Req *r, const cJSON *v, const char *param, int *max_tokens,
		   int *overlap)
{
	static const char *const auto_keys[] = {"type", NULL};
	static const char *const static_keys[] = {"type", "static", NULL};
	static const char *const inner_keys[] = {"max_chunk_size_tokens",
						 "chunk_overlap_tokens", NULL};
	const cJSON *t, *st, *mx, *ov;
	char p[256];
	long long m, o;

	*max_tokens = 800;
	*overlap = 400;
	if (!v)
		return 0;
	if (!cJSON_IsObject(v)) {
		bad_request(r, param, "Invalid type for '%s': expected an object.",
			    param);
		return -1;
	}
	t = cJSON_GetObjectItemCaseSensitive(v, "type");
	snprintf(p, sizeof p, "%s.type", param);
	if (!cJSON_IsString(t)) {
		bad_request(r, p, "Missing required parameter: '%s'.", p);
		return -1;
	}
	if (strcmp(t->valuestring, "auto") == 0)
		return check_keys(r, v, auto_keys, param);
	if (strcmp(t->valuestring, "static") != 0) {
		bad_request(r, p, "Invalid value: '%s'. Supported values are: "
			    "'auto' and 'static'.", t->valuestring);
		return -1;
	}
	if (check_keys(r, v, static_keys, param))
		return -1;
	snprintf(p, sizeof p, "%s.static", param);
	st = cJSON_GetObjectItemCaseSensitive(v, "static");
	if (!cJSON_IsObject(st)) {
		bad_request(r, p, "Missing required parameter: '%s'.", p);
		return -1;
	}
	if (check_keys(r, st, inner_keys, p))
		return -1;
	mx = cJSON_GetObjectItemCaseSensitive(st, "max_chunk_size_tokens");
	ov = cJSON_GetObjectItemCaseSensitive(st, "chunk_overlap_tokens");
	snprintf(p, sizeof p, "%s.static.max_chunk_size_tokens", param);
	if (!mx || !get_int(mx, &m)) {
		bad_request(r, p, mx ? "Invalid type for '%s': expected an integer."
				     : "Missing required parameter: '%s'.", p);
		return -1;
	}
	if (m < 100 || m > 4096) {
		bad_request(r, p, "Invalid '%s': must be between 100 and 4096, "
			    "got %lld.", p, m);
		return -1;
	}
	snprintf(p, sizeof p, "%s.static.chunk_overlap_tokens", param);
	if (!ov || !get_int(ov, &o)) {
		bad_request(r, p, ov ? "Invalid type for '%s': expected an integer."
				     : "Missing required parameter: '%s'.", p);
		return -1;
	}
	if (o < 0 || o > m / 2) {
		bad_request(r, p, "Invalid '%s': chunk_overlap_tokens must be "
			    "non-negative and must not exceed half of "
			    "max_chunk_size_tokens (%lld), got %lld.", p, m / 2, o);
		return -1;
	}
	*max_tokens = (int)m;
	*overlap = (int)o;
	return 0;
}

int parse_vs_expires(Req *r, const cJSON *v, const char *param, int *days)
{
	static const char *const keys[] = {"anchor", "days", NULL};
	const cJSON *a, *d;
	char p[256];
	long long n;

	if (!cJSON_IsObject(v)) {
		bad_request(r, param, "Invalid type for '%s': expected an object.",
			    param);
		return -1;
	}
	if (check_keys(r, v, keys, param))
		return -1;
	a = cJSON_GetObjectItemCaseSensitive(v, "anchor");
	d = cJSON_GetObjectItemCaseSensitive(v, "days");
	snprintf(p, sizeof p, "%s.anchor", param);
	if (!cJSON_IsString(a) || strcmp(a->valuestring, "last_active_at") != 0) {
		bad_request(r, p, "Invalid value for '%s': expected "
			    "'last_active_at'.", p);
		return -1;
	}
	snprintf(p, sizeof p, "%s.days", param);
	if (!d || !get_int(d, &n) || n < 1 || n > 365) {
		bad_request(r, p, "Invalid '%s': must be an integer between 1 and "
			    "365.", p);
		return -1;
	}
	*days = (int)n;
	return 0;
}

int validate_id_array(Req *r, const cJSON *v, const char *param, int min,
		      int max)
{
	const cJSON *it;
	int n = 0;

	if (!cJSON_IsArray(v)) {
		bad_request(r, param, "Invalid type for '%s': expected an array "
			    "of strings.", param);
		return -1;
	}
	cJSON_ArrayForEach(it, v) {
		if (!cJSON_IsString(it)) {
			char p[256];

			snprintf(p, sizeof p, "%s[%d]", param, n);
			bad_request(r, p, "Invalid type for '%s': expected a "
				    "string.", p);
			return -1;
		}
		n++;
	}
	if (n < min) {
		bad_request(r, param, "Invalid '%s': empty array. Expected an "
			    "array with minimum length %d.", param, min);
		return -1;
	}
	if (n > max) {
		bad_request(r, param, "Invalid '%s': array too long. Expected an "
			    "array with maximum length %d, but got an array with "
			    "length %d instead.", param, max, n);
		return -1;
	}
	return 0;
}
