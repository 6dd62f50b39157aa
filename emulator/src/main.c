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
 * Request flow (on_request): first call -> route, pick a fault;
 * body calls -> accumulate up to --max-body-bytes; final call -> fault
 * response | 401 | 413 | handler.  Non-control requests are counted in the
 * stats under "<METHOD> <templated path>" with the status sent (or the
 * fault name for reset/stall, counted when the fault is applied).
 */
#include "common.h"
#include "faults.h"
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

volatile int g_processing_delay_ms = 50;
static int g_initial_delay_ms = 50;   /* restored by /_emulator/reset */
static const char *g_api_key;
static size_t g_max_body = 64u * 1024 * 1024;
static bool g_quiet;
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
} Route;

static const Route routes[] = {
	{"GET", "/v1/files", api_files_list},
	{"POST", "/v1/files", api_files_create},
	{"GET", "/v1/files/{file_id}", api_files_get},
	{"DELETE", "/v1/files/{file_id}", api_files_delete},
	{"GET", "/v1/files/{file_id}/content", api_files_content},
	{"GET", "/v1/vector_stores", api_vs_list},
	{"POST", "/v1/vector_stores", api_vs_create},
	{"GET", "/v1/vector_stores/{id}", api_vs_get},
	{"POST", "/v1/vector_stores/{id}", api_vs_update},
	{"DELETE", "/v1/vector_stores/{id}", api_vs_delete},
	{"POST", "/v1/vector_stores/{id}/search", api_vs_search},
	{"GET", "/v1/vector_stores/{id}/files", api_vsf_list},
	{"POST", "/v1/vector_stores/{id}/files", api_vsf_create},
	{"GET", "/v1/vector_stores/{id}/files/{file_id}", api_vsf_get},
	{"POST", "/v1/vector_stores/{id}/files/{file_id}", api_vsf_update},
	{"DELETE", "/v1/vector_stores/{id}/files/{file_id}", api_vsf_delete},
	{"GET", "/v1/vector_stores/{id}/files/{file_id}/content", api_vsf_content},
	{"POST", "/v1/vector_stores/{id}/file_batches", api_batch_create},
	{"GET", "/v1/vector_stores/{id}/file_batches/{batch_id}", api_batch_get},
	{"POST", "/v1/vector_stores/{id}/file_batches/{batch_id}/cancel",
	 api_batch_cancel},
	{"GET", "/v1/vector_stores/{id}/file_batches/{batch_id}/files",
	 api_batch_files},
};
#define NROUTES ((int)(sizeof routes / sizeof *routes))

#define MAX_SEGS 8
typedef struct Ctx {
	int route;              /* index into routes, -1 none */
	bool path_known;        /* path matched some route (for 405) */
	bool control;
	char key[200];          /* stats key */
	char segbuf[1024];
	const char *params[4];
	char *body;
	size_t len, cap;
	bool too_big;
	bool has_fault;
	Fault fault;
	int64_t t0;
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

static void route_request(Ctx *x, const char *method, const char *url)
{
	char path[1024];
	size_t l = strlen(url);

	snprintf(path, sizeof path, "%s", url);
	if (l > 1 && l < sizeof path && path[l - 1] == '/')
		path[l - 1] = 0;
	x->route = -1;
	for (int i = 0; i < NROUTES; i++) {
		const char *params[4];

		if (!match_tmpl(routes[i].tmpl, path, x->segbuf, sizeof x->segbuf,
				params))
			continue;
		x->path_known = true;
		snprintf(x->key, sizeof x->key, "%s %s", method, routes[i].tmpl);
		if (strcmp(routes[i].method, method) == 0) {
			x->route = i;
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

static void add_common_headers(struct MHD_Response *resp, const char *ctype)
{
	char rid[40];

	snprintf(rid, sizeof rid, "req_%016llx%08llx",
		 (unsigned long long)rand64(),
		 (unsigned long long)(rand64() & 0xffffffffULL));
	MHD_add_response_header(resp, "x-request-id", rid);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				ctype ? ctype : "application/json");
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
	add_common_headers(resp, r->out_type);
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
	if (!x->control) {
		char st[16];

		snprintf(st, sizeof st, "%d", r->status);
		stats_request(x->key, st);
	}
	if (!g_quiet)
		fprintf(stderr, "%s %s -> %d (%lld us)%s%s\n", r->method, r->path,
			r->status, (long long)(mono_us() - x->t0),
			x->has_fault ? " fault=" : "",
			x->has_fault ? fault_kind_name(x->fault.kind) : "");
	return ret;
}

/* ---- control surface (/_emulator/...) ---- */

static void control(Req *r)
{
	const char *p = r->path + strlen("/_emulator");
	bool get = strcmp(r->method, "GET") == 0;
	bool post = strcmp(r->method, "POST") == 0;
	bool del = strcmp(r->method, "DELETE") == 0;
	cJSON *o;

	if (strcmp(p, "/health") == 0 && get) {
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", 1);
		req_json(r, 200, o);
	} else if (strcmp(p, "/reset") == 0 && post) {
		store_lock();
		store_reset();
		store_unlock();
		faults_clear();
		stats_reset();
		g_processing_delay_ms = g_initial_delay_ms;
		wake_sleepers();
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", 1);
		req_json(r, 200, o);
	} else if (strcmp(p, "/stats") == 0 && get) {
		req_json(r, 200, stats_json());
	} else if (strcmp(p, "/faults") == 0 && get) {
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "faults", faults_json());
		req_json(r, 200, o);
	} else if (strcmp(p, "/faults") == 0 && del) {
		faults_clear();
		wake_sleepers();
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", 1);
		req_json(r, 200, o);
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
	} else if (strcmp(p, "/config") == 0 && (post || get)) {
		if (post) {
			cJSON *b = parse_body_object(r), *d;
			long long v;

			if (!b)
				return;
			d = cJSON_GetObjectItemCaseSensitive(b, "processing_delay_ms");
			if (d && (!get_int(d, &v) || v < 0)) {
				bad_request(r, "processing_delay_ms", "expected an "
					    "integer >= 0");
				cJSON_Delete(b);
				return;
			}
			if (d)
				g_processing_delay_ms = (int)v;
			cJSON_Delete(b);
		}
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "processing_delay_ms",
					g_processing_delay_ms);
		cJSON_AddNumberToObject(o, "max_body_bytes", (double)g_max_body);
		req_json(r, 200, o);
	} else
		not_found(r, NULL, "Unknown control endpoint: %s %s", r->method,
			  r->path);
}

/* ---- the MHD access handler ---- */

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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	Ctx *x = *con_cls;
	Req r;
	const Fault *slow = NULL;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	if (!x) {
		const char *cl;

		x = calloc(1, sizeof *x);
		*con_cls = x;
		x->t0 = mono_us();
		x->control = strncmp(url, "/_emulator/", 11) == 0;
		if (x->control)
			return MHD_YES;
		route_request(x, method, url);
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > g_max_body)
			x->too_big = true;
		x->has_fault = faults_match(method, url, &x->fault);
		if (x->has_fault && x->fault.kind == F_RESET) {
			const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
				c, MHD_CONNECTION_INFO_CONNECTION_FD);

			stats_request(x->key, "reset");
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

	if (x->control) {
		control(&r);
		return send_req(c, x, &r, NULL);
	}
	if (x->has_fault) {
		const Fault *f = &x->fault;

		switch (f->kind) {
		case F_STALL:
			stats_request(x->key, "stall");
			x->control = true;   /* counted already */
			if (!nap(f->stall_ms))
				return MHD_NO;
			break;
		case F_SLOW_BODY:
			slow = f;
			break;
		case F_MALFORMED_JSON:
			break;
		default:
			fault_response(&r, f);
			return send_req(c, x, &r, NULL);
		}
	}
	if (g_api_key && strncmp(url, "/v1/", 4) == 0) {
		const char *auth = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

		if (!auth || strncmp(auth, "Bearer ", 7) != 0 ||
		    strcmp(auth + 7, g_api_key) != 0) {
			req_error(&r, 401, "invalid_request_error", NULL,
				  "invalid_api_key", "Incorrect API key provided. "
				  "You can find your API key at "
				  "https://platform.openai.com/account/api-keys.");
			return send_req(c, x, &r, slow);
		}
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
	if (x->has_fault && x->fault.kind == F_MALFORMED_JSON) {
		/* a 200 whose JSON body is cut in half */
		r.status = 200;
		r.out_len = r.out_len > 2 ? r.out_len / 2 : 1;
		r.out_type = NULL;
	}
	ret = send_req(c, x, &r, slow);
	return ret;
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
		"  --api-key KEY            require 'Authorization: Bearer KEY' on /v1\n"
		"  --processing-delay-ms N  time an attached file stays in_progress (default 50)\n"
		"  --max-body-bytes N       larger request bodies get 413 (default 67108864)\n"
		"  --fault SPEC             add a fault rule, e.g. kind=503,rate=0.2,route=/search\n"
		"  --seed N                 seed of the fault PRNG (default 1)\n"
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
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

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
	if (!g_quiet)
		fprintf(stderr, "vectorstore-emulator: stopped\n");
	return 0;
}
