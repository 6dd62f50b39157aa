/*
 * limits.c - route classes, added latency and token-bucket rate limits.
 *
 * Two tables (latency in ms, rate in requests/second) map each route class
 * to a value; a class that is not named takes the table's "default" (and 0
 * = none when that is not set either).  Rate limits are token buckets, one
 * per class: capacity = one second's worth (at least 1), refilled
 * continuously from a monotonic clock, full when the limit is (re)set.
 * All of it is protected by one mutex; the latency itself is slept by the
 * caller (main.c) outside any lock.
 */
#include "limits.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const rc_names[RC_N] = {
	"search", "upload", "list", "create", "retrieve", "update", "delete",
	"content", "file_batches", "other"};

#define DEFAULT_IDX RC_N    /* slot of "default" in a table */
#define MAX_LATENCY_MS 600000.0

typedef struct Bucket {
	double tokens;
	int64_t last_ns;
} Bucket;

static pthread_mutex_t l_lock = PTHREAD_MUTEX_INITIALIZER;
/* -1 = not set */
static double cur[2][RC_N + 1] = {
	{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1},
	{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}};
static double initial[2][RC_N + 1] = {
	{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1},
	{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}};
static Bucket buckets[RC_N];

const char *rc_name(int rc)
{
	return rc >= 0 && rc < RC_N ? rc_names[rc] : "other";
}

static int slot_of(const char *name)
{
	if (strcmp(name, "default") == 0)
		return DEFAULT_IDX;
	for (int i = 0; i < RC_N; i++)
		if (strcmp(name, rc_names[i]) == 0)
			return i;
	return -1;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double effective(int table, int rc)
{
	double v = cur[table][rc];

	if (v < 0)
		v = cur[table][DEFAULT_IDX];
	return v < 0 ? 0 : v;
}

/* lock held: every bucket full at the current limits */
static void refill_all(void)
{
	int64_t now = mono_ns();

	for (int i = 0; i < RC_N; i++) {
		double rate = effective(LT_RATE, i);

		buckets[i].tokens = rate > 1 ? rate : 1;
		buckets[i].last_ns = now;
	}
}

static bool value_ok(int table, double v)
{
	return isfinite(v) && v >= 0 &&
	       (table != LT_LATENCY || v <= MAX_LATENCY_MS);
}

static const char *value_rule(int table)
{
	return table == LT_LATENCY ? "an integer number of milliseconds "
				     "0..600000"
				   : "a number of requests per second >= 0 "
				     "(0 = no limit)";
}

int limits_parse_spec(int table, const char *spec, char *err, size_t errsz)
{
	double t[RC_N + 1];
	char *copy = strdup(spec), *save = NULL, *tok;
	int rc = 0;

	for (int i = 0; i <= RC_N; i++)
		t[i] = -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		double v;
		int s;

		if (!eq) {
			snprintf(err, errsz, "bad item '%s' (want class=value)", tok);
			rc = -1;
			break;
		}
		*eq = 0;
		s = slot_of(tok);
		v = strtod(eq + 1, &end);
		if (s < 0) {
			snprintf(err, errsz, "unknown route class '%s' (one of search, "
				 "upload, list, create, retrieve, update, delete, "
				 "content, file_batches, other, default)", tok);
			rc = -1;
			break;
		}
		if (!eq[1] || *end || !value_ok(table, v) ||
		    (table == LT_LATENCY && v != floor(v))) {
			snprintf(err, errsz, "bad value for '%s': expected %s", tok,
				 value_rule(table));
			rc = -1;
			break;
		}
		t[s] = v;
	}
	free(copy);
	if (rc == 0) {
		pthread_mutex_lock(&l_lock);
		memcpy(cur[table], t, sizeof t);
		memcpy(initial[table], t, sizeof t);
		refill_all();
		pthread_mutex_unlock(&l_lock);
	}
	return rc;
}

int limits_set_json(Req *r, int table, const cJSON *o, const char *param,
		    bool apply)
{
	double t[RC_N + 1];
	const cJSON *it;

	if (!cJSON_IsObject(o)) {
		bad_request(r, param, "Invalid type for '%s': expected an object "
			    "mapping route classes to values.", param);
		return -1;
	}
	for (int i = 0; i <= RC_N; i++)
		t[i] = -1;
	cJSON_ArrayForEach(it, o) {
		int s = slot_of(it->string);
		char p[256];

		snprintf(p, sizeof p, "%s.%s", param, it->string);
		if (s < 0) {
			bad_request(r, p, "Unknown route class '%s' (one of search, "
				    "upload, list, create, retrieve, update, delete, "
				    "content, file_batches, other, default).",
				    it->string);
			return -1;
		}
		if (cJSON_IsNull(it))
			continue;
		if (!cJSON_IsNumber(it) || !value_ok(table, it->valuedouble) ||
		    (table == LT_LATENCY &&
		     it->valuedouble != floor(it->valuedouble))) {
			bad_request(r, p, "Invalid value for '%s': expected %s.", p,
				    value_rule(table));
			return -1;
		}
		t[s] = it->valuedouble;
	}
	if (!apply)
		return 0;
	pthread_mutex_lock(&l_lock);
	memcpy(cur[table], t, sizeof t);
	if (table == LT_RATE)
		refill_all();
	pthread_mutex_unlock(&l_lock);
	return 0;
}

cJSON *limits_json(int table)
{
	cJSON *o = cJSON_CreateObject();

	pthread_mutex_lock(&l_lock);
	cJSON_AddNumberToObject(o, "default", cur[table][DEFAULT_IDX] < 0
					      ? 0 : cur[table][DEFAULT_IDX]);
	for (int i = 0; i < RC_N; i++)
		cJSON_AddNumberToObject(o, rc_names[i], effective(table, i));
	pthread_mutex_unlock(&l_lock);
	return o;
}

void limits_reset(void)
{
	pthread_mutex_lock(&l_lock);
	memcpy(cur, initial, sizeof cur);
	refill_all();
	pthread_mutex_unlock(&l_lock);
}

long latency_ms(int rc)
{
	double v;

	pthread_mutex_lock(&l_lock);
	v = effective(LT_LATENCY, rc < 0 || rc >= RC_N ? RC_OTHER : rc);
	pthread_mutex_unlock(&l_lock);
	return (long)v;
}

void rate_take(int rc, RateResult *out)
{
	double rate, cap;
	Bucket *b;
	int64_t now;

	memset(out, 0, sizeof *out);
	out->allowed = true;
	if (rc < 0 || rc >= RC_N)
		rc = RC_OTHER;
	pthread_mutex_lock(&l_lock);
	rate = effective(LT_RATE, rc);
	if (rate <= 0) {
		pthread_mutex_unlock(&l_lock);
		return;
	}
	cap = rate > 1 ? rate : 1;
	b = &buckets[rc];
	now = mono_ns();
	b->tokens += (double)(now - b->last_ns) / 1e9 * rate;
	if (b->tokens > cap)
		b->tokens = cap;
	b->last_ns = now;
	out->limited = true;
	out->limit = rate;
	if (b->tokens >= 1) {
		b->tokens -= 1;
	} else {
		out->allowed = false;
		out->retry_ms = (long)ceil((1 - b->tokens) / rate * 1000);
		if (out->retry_ms < 1)
			out->retry_ms = 1;
	}
	out->remaining = (long)floor(b->tokens);
	out->reset_ms = (long)ceil((cap - b->tokens) / rate * 1000);
	pthread_mutex_unlock(&l_lock);
}
