/*
 * faults.c - fault injection rules and request counters.
 *
 * Rules are checked in the order they were added; the first rule whose
 * method and route substring match and whose budget fires (count > 0, or a
 * draw of the seeded xorshift PRNG < rate) is applied to the request.  A
 * count rule is removed when its count reaches 0.  The PRNG is seeded with
 * --seed (default 1) and reseeded on POST /_emulator/reset, so a given
 * sequence of requests sees the same faults on every run.
 */
#include "faults.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_RULES 64

static pthread_mutex_t f_lock = PTHREAD_MUTEX_INITIALIZER;
static Fault rules[MAX_RULES];
static int nrules;
static uint64_t prng = 1, seed0 = 1;

static const char *const kind_names[] = {
	"none", "429", "500", "502", "503", "reset", "stall", "slow_body",
	"malformed_json", "should_retry_false", "echo_secrets"};

const char *fault_kind_name(int kind)
{
	return kind_names[kind];
}

int fault_from_json(const cJSON *o, Fault *f, char *err, size_t errsz)
{
	const cJSON *it;
	char kind[64] = "";

	memset(f, 0, sizeof *f);
	f->count = -1;
	f->rate = -1;
	f->retry_after_ms = -1;
	f->stall_ms = 30000;
	f->chunk_bytes = 16;
	f->interval_ms = 100;
	if (!cJSON_IsObject(o)) {
		snprintf(err, errsz, "fault rule must be a JSON object");
		return -1;
	}
	cJSON_ArrayForEach(it, o) {
		const char *k = it->string;
		bool num = cJSON_IsNumber(it), str = cJSON_IsString(it);
		double d = num ? it->valuedouble : str ? atof(it->valuestring) : 0;

		if (strcmp(k, "kind") == 0 && (num || str)) {
			if (num)
				snprintf(kind, sizeof kind, "%d", (int)d);
			else
				snprintf(kind, sizeof kind, "%s", it->valuestring);
		} else if (strcmp(k, "count") == 0 && (num || str))
			f->count = (long)d;
		else if (strcmp(k, "rate") == 0 && (num || str))
			f->rate = d;
		else if (strcmp(k, "route") == 0 && str)
			snprintf(f->route, sizeof f->route, "%s", it->valuestring);
		else if (strcmp(k, "method") == 0 && str)
			snprintf(f->method, sizeof f->method, "%s", it->valuestring);
		else if (strcmp(k, "retry_after") == 0 && (num || str)) {
			if (num)
				snprintf(f->retry_after, sizeof f->retry_after, "%g", d);
			else
				snprintf(f->retry_after, sizeof f->retry_after, "%s",
					 it->valuestring);
		} else if (strcmp(k, "retry_after_ms") == 0 && (num || str))
			f->retry_after_ms = (long)d;
		else if (strcmp(k, "stall_ms") == 0 && (num || str))
			f->stall_ms = (long)d;
		else if (strcmp(k, "status") == 0 && (num || str))
			f->status = (int)d;
		else if (strcmp(k, "chunk_bytes") == 0 && (num || str))
			f->chunk_bytes = (int)d;
		else if (strcmp(k, "interval_ms") == 0 && (num || str))
			f->interval_ms = (int)d;
		else {
			snprintf(err, errsz, "unknown or mistyped fault field '%s'", k);
			return -1;
		}
	}
	for (int i = 1; i < (int)(sizeof kind_names / sizeof *kind_names); i++)
		if (strcmp(kind, kind_names[i]) == 0)
			f->kind = i;
	if (f->kind == F_NONE) {
		snprintf(err, errsz, "missing or unknown 'kind' (one of 429, 500, "
			 "502, 503, reset, stall, slow_body, malformed_json, "
			 "should_retry_false, echo_secrets)");
		return -1;
	}
	if (f->count < 0 && f->rate < 0)
		f->count = 1;   /* neither given: fire once */
	if (f->count >= 0 && f->rate >= 0) {
		snprintf(err, errsz, "give either 'count' or 'rate', not both");
		return -1;
	}
	if (f->rate > 1 || (f->count == 0 && f->rate < 0)) {
		snprintf(err, errsz, "'rate' must be within 0..1, 'count' >= 1");
		return -1;
	}
	if (f->status && (f->status < 100 || f->status > 599)) {
		snprintf(err, errsz, "'status' must be an HTTP status 100..599");
		return -1;
	}
	if (f->chunk_bytes < 1)
		f->chunk_bytes = 1;
	if (f->interval_ms < 0)
		f->interval_ms = 0;
	if (f->stall_ms < 0)
		f->stall_ms = 0;
	return 0;
}

/* "kind=503,rate=0.2,route=/search" -> JSON object -> fault_from_json */
int fault_from_spec(const char *spec, Fault *f, char *err, size_t errsz)
{
	cJSON *o = cJSON_CreateObject();
	char *copy = strdup(spec), *save = NULL, *tok;
	int rc;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			snprintf(err, errsz, "bad fault spec item '%s' (want key=value)",
				 tok);
			free(copy);
			cJSON_Delete(o);
			return -1;
		}
		*eq = 0;
		cJSON_AddStringToObject(o, tok, eq + 1);
	}
	rc = fault_from_json(o, f, err, errsz);
	free(copy);
	cJSON_Delete(o);
	return rc;
}

void faults_add(const Fault *f)
{
	pthread_mutex_lock(&f_lock);
	if (nrules < MAX_RULES)
		rules[nrules++] = *f;
	pthread_mutex_unlock(&f_lock);
}

void faults_clear(void)
{
	pthread_mutex_lock(&f_lock);
	nrules = 0;
	prng = seed0 ? seed0 : 1;
	pthread_mutex_unlock(&f_lock);
}

void faults_seed(uint64_t seed)
{
	pthread_mutex_lock(&f_lock);
	seed0 = seed ? seed : 1;
	prng = seed0;
	pthread_mutex_unlock(&f_lock);
}

/* xorshift64*, uniform in [0, 1) */
static double draw(void)
{
	prng ^= prng >> 12;
	prng ^= prng << 25;
	prng ^= prng >> 27;
	return (double)((prng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

bool faults_match(const char *method, const char *path, Fault *out)
{
	bool hit = false;

	pthread_mutex_lock(&f_lock);
	for (int i = 0; i < nrules && !hit; i++) {
		Fault *f = &rules[i];

		if (f->method[0] && strcasecmp(f->method, method) != 0)
			continue;
		if (f->route[0] && !strstr(path, f->route))
			continue;
		if (f->count > 0) {
			f->count--;
			hit = true;
		} else if (f->rate >= 0 && draw() < f->rate)
			hit = true;
		if (hit) {
			f->matched++;
			*out = *f;
			if (f->count == 0) {
				memmove(&rules[i], &rules[i + 1],
					(size_t)(nrules - i - 1) * sizeof *f);
				nrules--;
			}
		}
	}
	pthread_mutex_unlock(&f_lock);
	return hit;
}

cJSON *faults_json(void)
{
	cJSON *a = cJSON_CreateArray();

	pthread_mutex_lock(&f_lock);
	for (int i = 0; i < nrules; i++) {
		cJSON *o = cJSON_CreateObject();
		Fault *f = &rules[i];

		cJSON_AddStringToObject(o, "kind", kind_names[f->kind]);
		if (f->count >= 0)
			cJSON_AddNumberToObject(o, "count", (double)f->count);
		else
			cJSON_AddNumberToObject(o, "rate", f->rate);
		cJSON_AddStringToObject(o, "route", f->route);
		cJSON_AddStringToObject(o, "method", f->method);
		cJSON_AddNumberToObject(o, "matched", (double)f->matched);
		cJSON_AddItemToArray(a, o);
	}
	pthread_mutex_unlock(&f_lock);
	return a;
}

/* ---- counters ---- */

typedef struct RouteStat {
	char key[160];
	char status[16][24];
	long count[16];
	int n;
} RouteStat;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static RouteStat *routes;
static int nroutes, caproutes;
static long conns, reqs_total, bytes_in;

void stats_connection(void)
{
	pthread_mutex_lock(&s_lock);
	conns++;
	pthread_mutex_unlock(&s_lock);
}

void stats_bytes(size_t n)
{
	pthread_mutex_lock(&s_lock);
	bytes_in += (long)n;
	pthread_mutex_unlock(&s_lock);
}

void stats_request(const char *key, const char *status)
{
	RouteStat *rs = NULL;

	pthread_mutex_lock(&s_lock);
	reqs_total++;
	for (int i = 0; i < nroutes; i++)
		if (strcmp(routes[i].key, key) == 0)
			rs = &routes[i];
	if (!rs) {
		if (nroutes == caproutes) {
			caproutes = caproutes ? caproutes * 2 : 32;
			routes = realloc(routes, (size_t)caproutes * sizeof *routes);
		}
		rs = &routes[nroutes++];
		memset(rs, 0, sizeof *rs);
		snprintf(rs->key, sizeof rs->key, "%s", key);
	}
	for (int i = 0; i < rs->n; i++)
		if (strcmp(rs->status[i], status) == 0) {
			rs->count[i]++;
			goto done;
		}
	if (rs->n < 16) {
		snprintf(rs->status[rs->n], sizeof rs->status[0], "%s", status);
		rs->count[rs->n++] = 1;
	}
done:
	pthread_mutex_unlock(&s_lock);
}

cJSON *stats_json(void)
{
	cJSON *o = cJSON_CreateObject(), *rq;

	pthread_mutex_lock(&s_lock);
	cJSON_AddNumberToObject(o, "connections_accepted", (double)conns);
	cJSON_AddNumberToObject(o, "requests_total", (double)reqs_total);
	cJSON_AddNumberToObject(o, "bytes_in", (double)bytes_in);
	rq = cJSON_AddObjectToObject(o, "requests");
	for (int i = 0; i < nroutes; i++) {
		cJSON *r = cJSON_AddObjectToObject(rq, routes[i].key);

		for (int k = 0; k < routes[i].n; k++)
			cJSON_AddNumberToObject(r, routes[i].status[k],
						(double)routes[i].count[k]);
	}
	pthread_mutex_unlock(&s_lock);
	return o;
}

void stats_reset(void)
{
	pthread_mutex_lock(&s_lock);
	free(routes);
	routes = NULL;
	nroutes = caproutes = 0;
	conns = reqs_total = bytes_in = 0;
	pthread_mutex_unlock(&s_lock);
}
