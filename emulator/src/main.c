/*
 * main.c - vectorstore-emulator: command line, the libmicrohttpd HTTP
 * layer, routing, authentication, fault application and the
 * /_emulator control surface.
 *
 * Threading: MHD runs one thread per connection (plus its listening
 * thread).  That keeps the fault kinds simple - a stalled or trickled
 * response only blocks its own connection - and still serves >20k small
 * requests/s on 2 cores with keep-alive.  API handlers run under the store
 * lock (store.h); counters and fault rules have their own small locks.
 *
 * Request flow (on_request): the URI log callback keeps the raw request
 * URI (for the request log); first call -> route (an Azure path
 * /openai/... is routed as its /v1 twin), pick a fault; body calls ->
 * accumulate up to --max-body-bytes; final call -> fault response |
 * Azure api-version check | 401 | rate limit 429 | 413 | handler, then the
 * class's added latency, then the response.  Non-control requests are
 * counted in the stats under "<METHOD> <templated /v1 path>" with the
 * status sent (or the fault name for reset/stall, counted when the fault
 * is applied) and recorded in the request log (reqlog.c).
 *
 * Modes (command line, POST /_emulator/config): --azure serves the Azure
 * OpenAI paths; --lenient accepts unknown request fields.  Both are read
 * once per request, so a change applies to requests that start after it.
 */
#include "common.h"
#include "faults.h"
#include "limits.h"
#include "reqlog.h"
#include "store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

volatile int g_processing_delay_ms = 50;
static int g_initial_delay_ms = 50;   /* restored by /_emulator/reset */
static const char *g_api_key;
static size_t g_max_body = 64u * 1024 * 1024;
static bool g_quiet;
/* modes: read and written with __atomic (requests read them once) */
static bool g_azure, g_azure_init;
static bool g_lenient, g_lenient_init;
static long g_reqlog_init = REQLOG_DEFAULT_CAPACITY;
static bool g_shutdown;         /* under g_sleep_lock */
static pthread_mutex_t g_sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_sleep_cond = PTHREAD_COND_INITIALIZER;
static unsigned g_sleep_epoch;   /* bumped to wake stalled requests */

/* ---- routing ---- */

typedef void (*Handler)(Req *r);
typedef struct Route {
	const char *method;
	const char *tmpl;
	Handler h;
	int rc;                 /* route class (limits.h) */
} Route;

static const Route routes[] = {
	{"GET", "/v1/files", api_files_list, RC_LIST},
	{"POST", "/v1/files", api_files_create, RC_UPLOAD},
	{"GET", "/v1/files/{file_id}", api_files_get, RC_RETRIEVE},
	{"DELETE", "/v1/files/{file_id}", api_files_delete, RC_DELETE},
	{"GET", "/v1/files/{file_id}/content", api_files_content, RC_CONTENT},
	{"GET", "/v1/vector_stores", api_vs_list, RC_LIST},
	{"POST", "/v1/vector_stores", api_vs_create, RC_CREATE},
	{"GET", "/v1/vector_stores/{id}", api_vs_get, RC_RETRIEVE},
	{"POST", "/v1/vector_stores/{id}", api_vs_update, RC_UPDATE},
	{"DELETE", "/v1/vector_stores/{id}", api_vs_delete, RC_DELETE},
	{"POST", "/v1/vector_stores/{id}/search", api_vs_search, RC_SEARCH},
	{"GET", "/v1/vector_stores/{id}/files", api_vsf_list, RC_LIST},
	{"POST", "/v1/vector_stores/{id}/files", api_vsf_create, RC_CREATE},
	{"GET", "/v1/vector_stores/{id}/files/{file_id}", api_vsf_get,
	 RC_RETRIEVE},
	{"POST", "/v1/vector_stores/{id}/files/{file_id}", api_vsf_update,
	 RC_UPDATE},
	{"DELETE", "/v1/vector_stores/{id}/files/{file_id}", api_vsf_delete,
	 RC_DELETE},
	{"GET", "/v1/vector_stores/{id}/files/{file_id}/content", api_vsf_content,
	 RC_CONTENT},
	{"POST", "/v1/vector_stores/{id}/file_batches", api_batch_create,
	 RC_FILE_BATCHES},
	{"GET", "/v1/vector_stores/{id}/file_batches/{batch_id}", api_batch_get,
	 RC_FILE_BATCHES},
	{"POST", "/v1/vector_stores/{id}/file_batches/{batch_id}/cancel",
	 api_batch_cancel, RC_FILE_BATCHES},
	{"GET", "/v1/vector_stores/{id}/file_batches/{batch_id}/files",
	 api_batch_files, RC_FILE_BATCHES},
};
#define NROUTES ((int)(sizeof routes / sizeof *routes))

#define MAX_SEGS 8
typedef struct Ctx {
	bool started;           /* the access handler has seen the request */
	char *raw_uri;          /* request-line URI, query string included */
	int route;              /* index into routes, -1 none */
	int rc;                 /* route class */
	bool path_known;        /* path matched some route (for 405) */
	bool control;
	bool azure;             /* an Azure path (/openai/...) in Azure mode */
	bool lenient;
	bool counted;           /* already in the stats (stall) */
	char key[200];          /* stats key */
	char segbuf[1024];
	const char *params[4];
	char *body;
	size_t len, cap;
	size_t received;        /* body bytes received (also when too big) */
	bool too_big;
	bool has_fault;
	Fault fault;
	RateResult rate;        /* rate-limit state of this request */
	char *echo;             /* echo_secrets: header value */
	int64_t t0;             /* monotonic us */
	int64_t t_ms;           /* wall clock ms */
} Ctx;

/* match path against a template; fills params (pointers into buf) */
static bool match_tmpl(const char *tmpl, const char *path, char *buf,
		       size_t bufsz, const char **params)
{
	size_t o = 0;
	int np = 0;

	while (*tmpl || *path) {
		if (*tmpl != '/' || *path != '/')
			return false;
		tmpl++;
		path++;
		if (*tmpl == '{') {
			const char *e = strchr(path, '/');
			size_t l = e ? (size_t)(e - path) : strlen(path);

			if (l == 0 || o + l + 1 > bufsz || np >= 4)
				return false;
			memcpy(buf + o, path, l);
			buf[o + l] = 0;
			params[np++] = buf + o;
			o += l + 1;
			path += l;
			tmpl = strchr(tmpl, '}') + 1;
		} else {
			while (*tmpl && *tmpl != '/') {
				if (*tmpl != *path)
					return false;
				tmpl++;
				path++;
			}
			if (*path && *path != '/')
				return false;
		}
	}
	return true;
}

/* An Azure path /openai/X is routed (and counted) as /v1/X. */
static void route_request(Ctx *x, const char *method, const char *url,
			  bool azure_mode)
{
	char path[1024];
	size_t l;

	if (azure_mode && strncmp(url, "/openai/", 8) == 0) {
		snprintf(path, sizeof path, "/v1%s", url + 7);
		x->azure = true;
	} else
		snprintf(path, sizeof path, "%s", url);
	l = strlen(path);
	if (l > 1 && l < sizeof path - 1 && path[l - 1] == '/')
		path[l - 1] = 0;
	x->route = -1;
	x->rc = RC_OTHER;
	for (int i = 0; i < NROUTES; i++) {
		const char *params[4];

		if (!match_tmpl(routes[i].tmpl, path, x->segbuf, sizeof x->segbuf,
				params))
			continue;
		x->path_known = true;
		snprintf(x->key, sizeof x->key, "%s %s", method, routes[i].tmpl);
		if (strcmp(routes[i].method, method) == 0) {
			x->route = i;
			x->rc = routes[i].rc;
			memcpy(x->params, params, sizeof params);
			return;
		}
	}
	if (!x->path_known)
		snprintf(x->key, sizeof x->key, "%s (unknown route)", method);
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- responses ---- */

static void add_common_headers(struct MHD_Response *resp, const char *ctype,
			       const char *rid)
{
	char buf[40];

	if (!rid) {
		snprintf(buf, sizeof buf, "req_%016llx%08llx",
			 (unsigned long long)rand64(),
			 (unsigned long long)(rand64() & 0xffffffffULL));
		rid = buf;
	}
	MHD_add_response_header(resp, "x-request-id", rid);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				ctype ? ctype : "application/json");
}

/* "850ms", "1s", "1.5s", "2m3s" (the style of x-ratelimit-reset-*) */
static void fmt_duration(char *buf, size_t n, long ms)
{
	if (ms < 1000)
		snprintf(buf, n, "%ldms", ms);
	else if (ms < 60000) {
		if (ms % 1000)
			snprintf(buf, n, "%ld.%03lds", ms / 1000, ms % 1000);
		else
			snprintf(buf, n, "%lds", ms / 1000);
		/* trim trailing zeros of the fraction: 1.500s -> 1.5s */
		if (strchr(buf, '.')) {
			size_t l = strlen(buf) - 1;   /* at the 's' */

			while (buf[l - 1] == '0')
				memmove(buf + l - 1, buf + l, 2), l--;
		}
	} else
		snprintf(buf, n, "%ldm%lds", ms / 60000, (ms % 60000 + 999) / 1000);
}

static void add_rate_headers(struct MHD_Response *resp, const RateResult *rr)
{
	char v[64];

	if (rr->limit == (double)(long)rr->limit)
		snprintf(v, sizeof v, "%ld", (long)rr->limit);
	else
		snprintf(v, sizeof v, "%g", rr->limit);
	MHD_add_response_header(resp, "x-ratelimit-limit-requests", v);
	snprintf(v, sizeof v, "%ld", rr->remaining);
	MHD_add_response_header(resp, "x-ratelimit-remaining-requests", v);
	fmt_duration(v, sizeof v, rr->reset_ms);
	MHD_add_response_header(resp, "x-ratelimit-reset-requests", v);
	if (!rr->allowed) {
		snprintf(v, sizeof v, "%ld", rr->retry_ms);
		MHD_add_response_header(resp, "retry-after-ms", v);
		snprintf(v, sizeof v, "%ld", (rr->retry_ms + 999) / 1000);
		MHD_add_response_header(resp, "retry-after", v);
	}
}

static void log_request(struct MHD_Connection *c, const Ctx *x,
			const char *method, int status)
{
	ReqInfo ri;

	if (!reqlog_enabled())
		return;
	memset(&ri, 0, sizeof ri);
	ri.method = method;
	ri.raw_uri = x->raw_uri ? x->raw_uri : "";
	ri.route_key = x->key;
	ri.route_class = rc_name(x->rc);
	ri.azure = x->azure;
	ri.body = x->too_big ? NULL : x->body;
	ri.body_len = x->too_big ? 0 : x->len;
	ri.received = x->received;
	ri.status = status;
	ri.fault = x->has_fault ? fault_kind_name(x->fault.kind) : NULL;
	ri.t_ms = x->t_ms;
	ri.duration_us = mono_us() - x->t0;
	reqlog_add(c, &ri);
}

typedef struct Slow {
	char *data;
	size_t len;
	int chunk, interval_ms;
} Slow;

/* waits ms, or less when shutting down / reset; returns false on shutdown */
static bool nap(long ms)
{
	struct timespec ts;
	unsigned epoch;
	bool alive;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&g_sleep_lock);
	epoch = g_sleep_epoch;
	while (!g_shutdown && epoch == g_sleep_epoch)
		if (pthread_cond_timedwait(&g_sleep_cond, &g_sleep_lock, &ts) ==
		    ETIMEDOUT)
			break;
	alive = !g_shutdown;
	pthread_mutex_unlock(&g_sleep_lock);
	return alive;
}

static void wake_sleepers(void)
{
	pthread_mutex_lock(&g_sleep_lock);
	g_sleep_epoch++;
	pthread_cond_broadcast(&g_sleep_cond);
	pthread_mutex_unlock(&g_sleep_lock);
}

static ssize_t slow_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	Slow *s = cls;
	size_t n;

	if (pos >= s->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (pos > 0 && !nap(s->interval_ms))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = s->len - (size_t)pos;
	if (n > (size_t)s->chunk)
		n = (size_t)s->chunk;
	if (n > max)
		n = max;
	memcpy(buf, s->data + pos, n);
	return (ssize_t)n;
}

static void slow_free(void *cls)
{
	Slow *s = cls;

	free(s->data);
	free(s);
}

static enum MHD_Result send_req(struct MHD_Connection *c, Ctx *x, Req *r,
				const Fault *slow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (slow) {
		Slow *s = malloc(sizeof *s);

		s->data = r->out;
		s->len = r->out_len;
		s->chunk = slow->chunk_bytes;
		s->interval_ms = slow->interval_ms;
		r->out = NULL;
		resp = MHD_create_response_from_callback(s->len, (size_t)s->chunk,
							 slow_reader, s, slow_free);
	} else {
		resp = MHD_create_response_from_buffer(r->out_len, r->out,
						       MHD_RESPMEM_MUST_FREE);
		r->out = NULL;
	}
	add_common_headers(resp, r->out_type, x->echo);
	if (x->echo) {
		MHD_add_response_header(resp, "openai-organization", x->echo);
		MHD_add_response_header(resp, "x-echo", x->echo);
	}
	if (x->azure) {
		char v[48];
		uint64_t a = rand64(), b = rand64();

		/* Azure's API gateway sends one on every response */
		snprintf(v, sizeof v, "%08llx-%04llx-4%03llx-a%03llx-%012llx",
			 (unsigned long long)(a >> 32),
			 (unsigned long long)((a >> 16) & 0xffff),
			 (unsigned long long)(a & 0xfff),
			 (unsigned long long)(b >> 52),
			 (unsigned long long)(b & 0xffffffffffffULL));
		MHD_add_response_header(resp, "apim-request-id", v);
	}
	if (x->rate.limited)
		add_rate_headers(resp, &x->rate);
	if (r->poll_after_ms > 0) {
		char v[24];

		snprintf(v, sizeof v, "%d", r->poll_after_ms);
		MHD_add_response_header(resp, "openai-poll-after-ms", v);
	}
	if (x->has_fault) {
		const Fault *f = &x->fault;

		if (f->kind == F_429 && !f->retry_after[0] && f->retry_after_ms < 0)
			MHD_add_response_header(resp, "Retry-After", "1");
		if (f->retry_after[0])
			MHD_add_response_header(resp, "Retry-After", f->retry_after);
		if (f->retry_after_ms >= 0) {
			char v[24];

			snprintf(v, sizeof v, "%ld", f->retry_after_ms);
			MHD_add_response_header(resp, "retry-after-ms", v);
		}
		if (f->kind == F_SHOULD_RETRY_FALSE)
			MHD_add_response_header(resp, "x-should-retry", "false");
	}
	ret = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	if (!x->control && !x->counted) {
		char st[16];

		snprintf(st, sizeof st, "%d", r->status);
		stats_request(x->key, st);
	}
	if (!x->control)
		log_request(c, x, r->method, r->status);
	if (!g_quiet)
		fprintf(stderr, "%s %s -> %d (%lld us)%s%s\n", r->method, r->path,
			r->status, (long long)(mono_us() - x->t0),
			x->has_fault ? " fault=" : "",
			x->has_fault ? fault_kind_name(x->fault.kind) : "");
	return ret;
}

/* ---- control surface (/_emulator/...) ---- */

static bool mode_get(const bool *m)
{
	return __atomic_load_n(m, __ATOMIC_RELAXED);
}

static void mode_set(bool *m, bool v)
{
	__atomic_store_n(m, v, __ATOMIC_RELAXED);
}

static cJSON *ok_json(void)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", 1);
	return o;
}

static cJSON *config_json(void)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "processing_delay_ms", g_processing_delay_ms);
	cJSON_AddNumberToObject(o, "max_body_bytes", (double)g_max_body);
	cJSON_AddBoolToObject(o, "api_key_required", g_api_key != NULL);
	cJSON_AddBoolToObject(o, "azure", mode_get(&g_azure));
	cJSON_AddBoolToObject(o, "lenient", mode_get(&g_lenient));
	cJSON_AddItemToObject(o, "latency", limits_json(LT_LATENCY));
	cJSON_AddItemToObject(o, "rate_limit", limits_json(LT_RATE));
	cJSON_AddNumberToObject(o, "request_log", (double)reqlog_capacity());
	return o;
}

/* POST /_emulator/config: every field is checked before any is applied */
static void config_post(Req *r)
{
	static const char *const keys[] = {"processing_delay_ms", "azure",
					   "lenient", "latency", "rate_limit",
					   "request_log", NULL};
	cJSON *b = parse_body_object(r), *d, *az, *le, *lat, *rl, *log;
	long long v = 0, logn = 0;

	if (!b)
		return;
	if (check_keys(r, b, keys, NULL))
		goto out;
	d = cJSON_GetObjectItemCaseSensitive(b, "processing_delay_ms");
	az = cJSON_GetObjectItemCaseSensitive(b, "azure");
	le = cJSON_GetObjectItemCaseSensitive(b, "lenient");
	lat = cJSON_GetObjectItemCaseSensitive(b, "latency");
	rl = cJSON_GetObjectItemCaseSensitive(b, "rate_limit");
	log = cJSON_GetObjectItemCaseSensitive(b, "request_log");
	if (d && (!get_int(d, &v) || v < 0 || v > 86400000)) {
		bad_request(r, "processing_delay_ms", "expected an integer >= 0");
		goto out;
	}
	if (az && !cJSON_IsBool(az)) {
		bad_request(r, "azure", "expected a boolean");
		goto out;
	}
	if (le && !cJSON_IsBool(le)) {
		bad_request(r, "lenient", "expected a boolean");
		goto out;
	}
	if (log && (!get_int(log, &logn) || logn < 0 || logn > 10000000)) {
		bad_request(r, "request_log", "expected an integer 0..10000000 "
			    "(0 = off)");
		goto out;
	}
	if ((lat && limits_set_json(r, LT_LATENCY, lat, "latency", false)) ||
	    (rl && limits_set_json(r, LT_RATE, rl, "rate_limit", false)))
		goto out;
	/* all valid: apply */
	if (d)
		g_processing_delay_ms = (int)v;
	if (az)
		mode_set(&g_azure, cJSON_IsTrue(az));
	if (le)
		mode_set(&g_lenient, cJSON_IsTrue(le));
	if (lat)
		limits_set_json(r, LT_LATENCY, lat, "latency", true);
	if (rl)
		limits_set_json(r, LT_RATE, rl, "rate_limit", true);
	if (log)
		reqlog_configure((long)logn);
	req_json(r, 200, config_json());
out:
	cJSON_Delete(b);
}

static void requests_get(Req *r)
{
	const char *s = query_arg(r, "since");
	unsigned long long since = 0;

	if (s) {
		char *end;

		since = strtoull(s, &end, 10);
		if (!*s || *end || *s == '-') {
			bad_request(r, "since", "Invalid 'since': expected a sequence "
				    "number >= 0, got '%s'.", s);
			return;
		}
	}
	r->status = 200;
	r->out = reqlog_render(since, &r->out_len);
	r->out_type = NULL;
}

static void control(Req *r)
{
	const char *p = r->path + strlen("/_emulator");
	bool get = strcmp(r->method, "GET") == 0;
	bool post = strcmp(r->method, "POST") == 0;
	bool del = strcmp(r->method, "DELETE") == 0;
	cJSON *o;

	if (strcmp(p, "/health") == 0 && get) {
		req_json(r, 200, ok_json());
	} else if (strcmp(p, "/reset") == 0 && post) {
		store_lock();
		store_reset();
		store_unlock();
		faults_clear();
		stats_reset();
		reqlog_clear();
		limits_reset();
		mode_set(&g_azure, g_azure_init);
		mode_set(&g_lenient, g_lenient_init);
		g_processing_delay_ms = g_initial_delay_ms;
		wake_sleepers();
		req_json(r, 200, ok_json());
	} else if (strcmp(p, "/stats") == 0 && get) {
		req_json(r, 200, stats_json());
	} else if (strcmp(p, "/requests") == 0 && get) {
		requests_get(r);
	} else if (strcmp(p, "/requests") == 0 && del) {
		reqlog_clear();
		req_json(r, 200, ok_json());
	} else if (strcmp(p, "/faults") == 0 && get) {
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "faults", faults_json());
		req_json(r, 200, o);
	} else if (strcmp(p, "/faults") == 0 && del) {
		faults_clear();
		wake_sleepers();
		req_json(r, 200, ok_json());
	} else if (strcmp(p, "/faults") == 0 && post) {
		cJSON *b = parse_body_object(r), *arr;
		char err[256];
		Fault f;

		if (!b)
			return;
		/* one rule object, or {"faults":[rule, ...]} */
		arr = cJSON_GetObjectItemCaseSensitive(b, "faults");
		if (cJSON_IsArray(arr)) {
			cJSON *it;

			cJSON_ArrayForEach(it, arr)
				if (fault_from_json(it, &f, err, sizeof err)) {
					bad_request(r, "faults", "%s", err);
					cJSON_Delete(b);
					return;
				}
			cJSON_ArrayForEach(it, arr) {
				fault_from_json(it, &f, err, sizeof err);
				faults_add(&f);
			}
		} else if (fault_from_json(b, &f, err, sizeof err)) {
			bad_request(r, NULL, "%s", err);
			cJSON_Delete(b);
			return;
		} else
			faults_add(&f);
		cJSON_Delete(b);
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "faults", faults_json());
		req_json(r, 200, o);
	} else if (strcmp(p, "/config") == 0 && get) {
		req_json(r, 200, config_json());
	} else if (strcmp(p, "/config") == 0 && post) {
		config_post(r);
	} else
		not_found(r, NULL, "Unknown control endpoint: %s %s", r->method,
			  r->path);
}

/* ---- faults, authentication, rate limits ---- */

static void fault_response(Req *r, const Fault *f)
{
	int st = f->status;
	const char *type = "server_error", *code = NULL, *msg;

	switch (f->kind) {
	case F_429:
		st = st ? st : 429;
		type = "requests";
		code = "rate_limit_exceeded";
		msg = "Rate limit reached (injected by the emulator).";
		break;
	case F_SHOULD_RETRY_FALSE:
		st = st ? st : 503;
		msg = "Service unavailable, do not retry (injected by the "
		      "emulator).";
		break;
	default:
		st = st ? st : f->kind == F_500 ? 500 : f->kind == F_502 ? 502
										: 503;
		msg = "The server had an error while processing your request "
		      "(injected by the emulator).";
	}
	req_error(r, st, type, NULL, code, "%s", msg);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* the token of "Authorization: Bearer TOKEN", else NULL */
static const char *bearer_token(struct MHD_Connection *c)
{
	const char *a = header(c, MHD_HTTP_HEADER_AUTHORIZATION);

	if (!a || strncasecmp(a, "Bearer ", 7) != 0)
		return NULL;
	a += 7;
	while (*a == ' ')
		a++;
	return a;
}

/* echo_secrets: every credential the request carried, space separated:
 * the bearer token (or the whole Authorization value), api-key,
 * OpenAI-Organization, OpenAI-Project */
static char *request_secrets(struct MHD_Connection *c)
{
	const char *vals[4];
	size_t n = 1;
	char *out;

	vals[0] = bearer_token(c);
	if (!vals[0])
		vals[0] = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
	vals[1] = header(c, "api-key");
	vals[2] = header(c, "OpenAI-Organization");
	vals[3] = header(c, "OpenAI-Project");
	for (int i = 0; i < 4; i++)
		if (vals[i] && *vals[i])
			n += strlen(vals[i]) + 1;
	out = malloc(n + 8);
	out[0] = 0;
	for (int i = 0; i < 4; i++)
		if (vals[i] && *vals[i]) {
			if (out[0])
				strcat(out, " ");
			strcat(out, vals[i]);
		}
	if (!out[0])
		strcpy(out, "(none)");
	return out;
}

static void echo_response(Req *r, Ctx *x, const Fault *f)
{
	char *s = request_secrets(r->conn), *type;
	cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
	char msg[4096];

	snprintf(msg, sizeof msg, "Request rejected (injected by the emulator); "
		 "the credentials it carried: %s", s);
	type = malloc(strlen(s) + 32);
	sprintf(type, "invalid_request_error: %s", s);
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddStringToObject(e, "type", type);
	cJSON_AddStringToObject(e, "param", s);
	cJSON_AddStringToObject(e, "code", s);
	free(type);
	req_json(r, f->status ? f->status : 400, o);
	/* a header value cannot hold control characters */
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	x->echo = s;
}

/* OpenAI paths: Authorization: Bearer KEY.  The messages are the real
 * service's, except that a wrong key is echoed whole (the service masks
 * its middle) so that clients must scrub it from what they report. */
static bool auth_openai(Req *r)
{
	const char *tok = bearer_token(r->conn);

	if (tok && strcmp(tok, g_api_key) == 0)
		return true;
	if (!tok || !*tok)
		req_error(r, 401, "invalid_request_error", NULL, NULL,
			  "You didn't provide an API key. You need to provide "
			  "your API key in an Authorization header using Bearer "
			  "auth (i.e. Authorization: Bearer YOUR_KEY), or as the "
			  "password field (with blank username) if you're "
			  "accessing the API from your browser and are prompted "
			  "for a username. You can obtain an API key from "
			  "https://platform.openai.com/account/api-keys.");
	else
		req_error(r, 401, "invalid_request_error", NULL, "invalid_api_key",
			  "Incorrect API key provided: %s. You can find your API "
			  "key at https://platform.openai.com/account/api-keys.",
			  tok);
	return false;
}

/* Azure paths: api-key: KEY; a bearer token (Entra ID) is refused.
 * Azure's messages and code "401" (Azure sends only code + message; the
 * emulator keeps the four-key OpenAI shape and echoes what was sent). */
static bool auth_azure(Req *r)
{
	const char *key = header(r->conn, "api-key");
	const char *auth = header(r->conn, MHD_HTTP_HEADER_AUTHORIZATION);

	if (key && strcmp(key, g_api_key) == 0)
		return true;
	if (key)
		req_error(r, 401, "invalid_request_error", NULL, "401",
			  "Access denied due to invalid subscription key or wrong "
			  "API endpoint. Make sure to provide a valid key for an "
			  "active subscription and use a correct regional API "
			  "endpoint for your resource. (api-key sent: %s)", key);
	else if (auth) {
		const char *tok = bearer_token(r->conn);

		req_error(r, 401, "invalid_request_error", NULL, "401",
			  "Unauthorized. Access token is missing, invalid, "
			  "audience is incorrect (https://cognitiveservices.azure"
			  ".com), or has expired. (token sent: %s)",
			  tok ? tok : auth);
	} else
		req_error(r, 401, "invalid_request_error", NULL, "401",
			  "Access denied due to missing subscription key. Make "
			  "sure to include subscription key when making requests "
			  "to an API.");
	return false;
}

static void rate_limited(Req *r, const Ctx *x)
{
	char wait[32];

	fmt_duration(wait, sizeof wait, x->rate.retry_ms);
	req_error(r, 429, "requests", NULL, "rate_limit_exceeded",
		  "Rate limit reached for requests in organization org-emulator "
		  "on requests per second (RPS) for route class '%s': Limit %g, "
		  "Used %g, Requested 1. Please try again in %s. Visit "
		  "https://platform.openai.com/account/rate-limits to learn more.",
		  rc_name(x->rc), x->rate.limit, x->rate.limit, wait);
}

/* ---- the MHD access handler ---- */

/* keeps the raw request URI (MHD unescapes the one it gives on_request) */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	Ctx *x = calloc(1, sizeof *x);

	(void)cls;
	(void)c;
	x->raw_uri = strdup(uri ? uri : "");
	return x;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	Ctx *x = *con_cls;
	Req r;
	const Fault *slow = NULL;
	long lat;

	(void)cls;
	(void)version;
	if (!x) {
		x = calloc(1, sizeof *x);
		*con_cls = x;
	}
	if (!x->started) {
		const char *cl;

		x->started = true;
		if (!x->raw_uri)
			x->raw_uri = strdup(url);
		x->t0 = mono_us();
		x->t_ms = now_ms();
		x->rc = RC_OTHER;
		x->control = strncmp(url, "/_emulator/", 11) == 0;
		if (x->control)
			return MHD_YES;
		x->lenient = mode_get(&g_lenient);
		route_request(x, method, url, mode_get(&g_azure));
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > g_max_body)
			x->too_big = true;
		x->has_fault = faults_match(method, url, &x->fault);
		if (x->has_fault && x->fault.kind == F_RESET) {
			const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
				c, MHD_CONNECTION_INFO_CONNECTION_FD);

			stats_request(x->key, "reset");
			log_request(c, x, method, 0);
			if (ci) {
				struct linger lg = {1, 0};  /* close -> RST */

				setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg,
					   sizeof lg);
			}
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		if (!x->control)
			stats_bytes(n);
		x->received += n;
		if (!x->too_big && x->len + n > g_max_body) {
			x->too_big = true;
			free(x->body);
			x->body = NULL;
			x->len = x->cap = 0;
		}
		if (!x->too_big) {
			if (x->len + n + 1 > x->cap) {
				x->cap = (x->len + n + 1) * 2;
				x->body = realloc(x->body, x->cap);
			}
			memcpy(x->body + x->len, upload_data, n);
			x->len += n;
			x->body[x->len] = 0;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	memset(&r, 0, sizeof r);
	r.method = method;
	r.path = url;
	r.conn = c;
	r.body = x->body;
	r.body_len = x->len;
	r.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	r.params = x->params;
	r.lenient = x->lenient;

	if (x->control) {
		control(&r);
		return send_req(c, x, &r, NULL);
	}
	if (x->has_fault) {
		const Fault *f = &x->fault;

		switch (f->kind) {
		case F_STALL:
			stats_request(x->key, "stall");
			x->counted = true;
			if (!nap(f->stall_ms))
				return MHD_NO;
			break;
		case F_SLOW_BODY:
			slow = f;
			break;
		case F_MALFORMED_JSON:
			break;
		case F_ECHO_SECRETS:
			echo_response(&r, x, f);
			return send_req(c, x, &r, NULL);
		default:
			fault_response(&r, f);
			return send_req(c, x, &r, NULL);
		}
	}
	if (x->azure) {
		const char *v = query_arg(&r, "api-version");

		if (!v || !*v) {
			req_error(&r, 400, "invalid_request_error", "api-version",
				  "missing_api_version", "Missing required query "
				  "parameter 'api-version'.");
			return send_req(c, x, &r, slow);
		}
	}
	if (g_api_key && (x->azure ? !auth_azure(&r)
			  : strncmp(url, "/v1/", 4) == 0 && !auth_openai(&r)))
		return send_req(c, x, &r, slow);
	rate_take(x->rc, &x->rate);
	if (!x->rate.allowed) {
		rate_limited(&r, x);
		return send_req(c, x, &r, NULL);
	}
	if (x->too_big)
		req_error(&r, 413, "invalid_request_error", NULL,
			  "request_too_large", "Request body too large: the "
			  "limit is %zu bytes.", g_max_body);
	else if (x->route >= 0) {
		store_lock();
		routes[x->route].h(&r);
		store_unlock();
	} else if (x->path_known)
		req_error(&r, 405, "invalid_request_error", NULL,
			  "method_not_allowed", "Method %s is not allowed for %s.",
			  method, url);
	else
		req_error(&r, 404, "invalid_request_error", NULL,
			  "unknown_url", "Invalid URL (%s %s)", method, url);
	if (!r.out)   /* cannot happen: every handler answers */
		req_error(&r, 500, "server_error", NULL, NULL,
			  "The emulator produced no response.");
	/* the latency model: the work is done, the answer is late */
	lat = latency_ms(x->rc);
	if (lat > 0 && !nap(lat)) {
		free(r.out);
		return MHD_NO;
	}
	if (x->has_fault && x->fault.kind == F_MALFORMED_JSON) {
		/* a 200 whose JSON body is cut in half */
		r.status = 200;
		r.out_len = r.out_len > 2 ? r.out_len / 2 : 1;
		r.out_type = NULL;
	}
	return send_req(c, x, &r, slow);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	Ctx *x = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (x) {
		free(x->body);
		free(x->raw_uri);
		free(x->echo);
		free(x);
		*con_cls = NULL;
	}
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)c;
	(void)socket_ctx;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		stats_connection();
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	if (!g_quiet)
		vfprintf(stderr, fmt, ap);
}

/* ---- command line ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vectorstore-emulator [options]\n"
		"  --port N                 TCP port on 127.0.0.1 (0 = pick a free one; default 0)\n"
		"  --port-file PATH         write the chosen port + newline to PATH (atomically)\n"
		"  --api-key KEY            require 'Authorization: Bearer KEY' on /v1 (Azure paths: 'api-key: KEY')\n"
		"  --processing-delay-ms N  time an attached file stays in_progress (default 50)\n"
		"  --max-body-bytes N       larger request bodies get 413 (default 67108864)\n"
		"  --fault SPEC             add a fault rule, e.g. kind=503,rate=0.2,route=/search\n"
		"  --seed N                 seed of the fault PRNG (default 1)\n"
		"  --azure                  also serve Azure OpenAI paths (/openai/..., api-version, api-key)\n"
		"  --lenient                accept unknown request fields (OpenAI-compatible servers)\n"
		"  --latency SPEC           added latency per route class in ms, e.g. search=150,default=0\n"
		"  --rate-limit SPEC        requests/s per route class, e.g. upload=200,search=50\n"
		"  --request-log N          keep the last N requests for /_emulator/requests (default 10000, 0 = off)\n"
		"  --quiet                  no per-request log on stderr\n"
		"  --help                   this text\n"
		"The server listens on 127.0.0.1 only. See emulator/README.md.\n");
}

static int write_port_file(const char *path, unsigned port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, 0, 'p'},
		{"host", required_argument, 0, 'H'},
		{"port-file", required_argument, 0, 'f'},
		{"api-key", required_argument, 0, 'k'},
		{"processing-delay-ms", required_argument, 0, 'd'},
		{"max-body-bytes", required_argument, 0, 'm'},
		{"fault", required_argument, 0, 'F'},
		{"seed", required_argument, 0, 's'},
		{"azure", no_argument, 0, 'A'},
		{"lenient", no_argument, 0, 'L'},
		{"latency", required_argument, 0, 'l'},
		{"rate-limit", required_argument, 0, 'r'},
		{"request-log", required_argument, 0, 'R'},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	long port = 0;
	const char *port_file = NULL;
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *di;
	socklen_t sl = sizeof sa;
	sigset_t set;
	int opt, sig;
	char err[256];
	Fault f;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			port = strtol(optarg, NULL, 10);
			if (port < 0 || port > 65535) {
				fprintf(stderr, "bad --port\n");
				return 2;
			}
			break;
		case 'H':
			if (strcmp(optarg, "127.0.0.1") != 0) {
				fprintf(stderr, "--host: only 127.0.0.1 is supported\n");
				return 2;
			}
			break;
		case 'f':
			port_file = optarg;
			break;
		case 'k':
			g_api_key = optarg;
			break;
		case 'd':
			g_processing_delay_ms = g_initial_delay_ms = atoi(optarg);
			break;
		case 'm':
			g_max_body = (size_t)strtoull(optarg, NULL, 10);
			break;
		case 'F':
			if (fault_from_spec(optarg, &f, err, sizeof err)) {
				fprintf(stderr, "--fault: %s\n", err);
				return 2;
			}
			faults_add(&f);
			break;
		case 's':
			faults_seed(strtoull(optarg, NULL, 10));
			break;
		case 'q':
			g_quiet = true;
			break;
		case 'A':
			g_azure = g_azure_init = true;
			break;
		case 'L':
			g_lenient = g_lenient_init = true;
			break;
		case 'l':
		case 'r':
			if (limits_parse_spec(opt == 'l' ? LT_LATENCY : LT_RATE, optarg,
					      err, sizeof err)) {
				fprintf(stderr, "--%s: %s\n",
					opt == 'l' ? "latency" : "rate-limit", err);
				return 2;
			}
			break;
		case 'R': {
			char *end;
			long n = strtol(optarg, &end, 10);

			if (!*optarg || *end || n < 0 || n > 10000000) {
				fprintf(stderr, "bad --request-log (0..10000000)\n");
				return 2;
			}
			g_reqlog_init = n;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	reqlog_configure(g_reqlog_init);

	/* signals are taken synchronously by the main thread */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
			     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			     MHD_USE_ERROR_LOG,
			     0, NULL, NULL, on_request, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			     MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
			     MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
			     MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1024 * 1024),
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "vectorstore-emulator: cannot listen on "
			"127.0.0.1:%ld\n", port);
		return 1;
	}
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
	if (di && getsockname(di->listen_fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (port_file && write_port_file(port_file, (unsigned)port) != 0) {
		fprintf(stderr, "vectorstore-emulator: cannot write %s\n", port_file);
		MHD_stop_daemon(d);
		return 1;
	}
	printf("vectorstore-emulator listening on http://127.0.0.1:%ld\n", port);
	fflush(stdout);

	do {
		if (sigwait(&set, &sig) != 0)
			sig = SIGTERM;
	} while (sig != SIGINT && sig != SIGTERM);

	pthread_mutex_lock(&g_sleep_lock);
	g_shutdown = true;
	pthread_mutex_unlock(&g_sleep_lock);
	wake_sleepers();
	MHD_stop_daemon(d);
	store_reset();
	stats_reset();
	reqlog_configure(0);
	if (!g_quiet)
		fprintf(stderr, "vectorstore-emulator: stopped\n");
	return 0;
}
