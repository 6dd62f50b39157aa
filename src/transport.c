/*-------------------------------------------------------------------------
 *
 * transport.c
 *	  Every libcurl call of the extension: one or many HTTP requests over a
 *	  per-process pool of keep-alive connections, with timeouts, a memory
 *	  budget, cancellation, and retries when the caller asks for them.
 *
 * Design
 * ------
 * A process owns one curl multi handle and a small pool of easy handles,
 * created on first use and kept for the life of the process. The multi
 * handle holds the connection cache, so consecutive calls reuse one
 * keep-alive connection (and its TLS session); a share handle lets the
 * pooled easy handles share DNS and TLS session caches.
 *
 * The loop never blocks for long inside libcurl: curl_multi_poll() waits at
 * most VS_POLL_MS, and between waits we look at the interrupt flags. When a
 * cancel, statement_timeout or termination is pending we release every
 * transfer (PG_FINALLY) and let CHECK_FOR_INTERRUPTS() raise the ordinary
 * error (57014 for cancel and statement_timeout). Waits between retries are
 * WaitLatch() calls, which the same signals wake at once. The progress
 * callback also aborts a transfer as soon as an interrupt is pending; it,
 * like the write and header callbacks, never raises an error itself.
 *
 * Ownership: everything libcurl mallocs for a request — its header list —
 * belongs to one attempt of one transfer: built when the attempt starts and
 * freed when the handle is detached from the multi handle, so no list can be
 * freed while a transfer still uses it, at any concurrency.
 *
 * Memory: response bodies are palloc'd in the caller's context; the bytes
 * allocated for them (decompressed, capacity not length) count against the
 * run's budget while they are alive, across every transfer of the run. A
 * buffer grows only when the new one fits beside the old one (both are alive
 * while it is copied), so the bodies of a call never hold more than the
 * budget at any instant, whatever many large or compressed-bomb responses
 * answer it; a body of known length that is not compressed is allocated
 * once at its size. A response whose body would go over the budget fails
 * with too_large. Callers release bodies as soon as they have parsed them
 * (vs_response_release).
 *
 * Where a transfer connects: the client says (VsWire.no_proxy, .resolve)
 * that plain http to loopback never goes through a proxy from the
 * environment and that the name localhost is pinned to loopback addresses,
 * so the address libcurl connects to is the one the client's check judged.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"
#include "transport.h"

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include <curl/curl.h>
#include <math.h>

#define VS_POLL_MS			100		/* longest wait inside libcurl */
#define VS_MAX_SERVER_DELAY_MS 60000	/* as openai-node */

uint64		vs_transport_attempts = 0;

typedef enum VsTransferState
{
	VS_T_PENDING,				/* not started yet */
	VS_T_RUNNING,				/* in the multi handle */
	VS_T_WAITING,				/* waiting to retry */
	VS_T_DONE
} VsTransferState;

typedef struct VsTransfer
{
	int			index;
	const VsWire *wire;
	VsResponse *resp;
	VsBudget   *budget;
	CURLM	   *multi;			/* the multi handle it runs in */
	const char *group;			/* flights: whose server (fair starts) */
	VsDoneFn	done;			/* flights: told when it ends */
	void	   *done_arg;
	VsTransferState state;
	CURL	   *easy;			/* from the pool while running */
	struct curl_slist *headers; /* this attempt's, malloc'd by libcurl */
	struct curl_slist *resolve; /* this attempt's CURLOPT_RESOLVE, or NULL */
	int			retries_done;
	TimestampTz retry_at;
	TimestampTz started;		/* when this attempt started (flights: slow servers) */
	/* response accumulation (callbacks: no ERROR, no palloc that raises) */
	MemoryContext cxt;
	char	   *buf;
	size_t		len;
	size_t		cap;			/* allocated, and counted against the budget */
	int64		content_length; /* Content-Length of this attempt, -1: none */
	bool		encoded;		/* Content-Encoding other than identity */
	bool		too_large;
	bool		oom;
	char		errbuf[CURL_ERROR_SIZE];
} VsTransfer;

static CURLM *vs_multi = NULL;
static CURLSH *vs_share = NULL;
/* easy handles: for the calls of a statement and for flights, side by side */
#define VS_POOL_SIZE (2 * VS_MAX_CONCURRENCY)
static CURL *vs_pool[VS_POOL_SIZE];
static bool vs_pool_busy[VS_POOL_SIZE];
static char vs_user_agent[128];

/* ---------------------------------------------------------------------
 * Process-lifetime handles
 * ---------------------------------------------------------------------
 */
static void
vs_transport_setup(void)
{
	if (vs_multi != NULL)
		return;
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialize libcurl")));
	vs_share = curl_share_init();
	if (vs_share == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl share handle")));
	curl_share_setopt(vs_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(vs_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	vs_multi = curl_multi_init();
	if (vs_multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl multi handle")));
	curl_multi_setopt(vs_multi, CURLMOPT_MAXCONNECTS, (long) VS_MAX_CONCURRENCY);
	snprintf(vs_user_agent, sizeof(vs_user_agent),
			 "vectorstore/%s (PostgreSQL %s; %s)", VS_VERSION, PG_VERSION,
			 curl_version_info(CURLVERSION_NOW)->version
			 ? curl_version_info(CURLVERSION_NOW)->version : "libcurl");
}

static size_t vs_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata);
static size_t vs_header_cb(char *ptr, size_t size, size_t nitems, void *userdata);
static int	vs_progress_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
						   curl_off_t ultotal, curl_off_t ulnow);

/* Take an easy handle from the pool (created lazily, kept for reuse). */
static CURL *
vs_pool_take(void)
{
	for (int i = 0; i < VS_POOL_SIZE; i++)
	{
		if (vs_pool_busy[i])
			continue;
		if (vs_pool[i] == NULL)
		{
			CURL	   *e = curl_easy_init();

			if (e == NULL)
				return NULL;
			/* what never changes between requests is set once per handle */
			curl_easy_setopt(e, CURLOPT_USERAGENT, vs_user_agent);
			curl_easy_setopt(e, CURLOPT_SHARE, vs_share);
			curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
			curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
			curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
			curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
			curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
			curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
			curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, vs_write_cb);
			curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, vs_header_cb);
			curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
			curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, vs_progress_cb);
			curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
			vs_pool[i] = e;
		}
		vs_pool_busy[i] = true;
		return vs_pool[i];
	}
	return NULL;
}

static void
vs_pool_give(CURL *easy)
{
	for (int i = 0; i < VS_POOL_SIZE; i++)
		if (vs_pool[i] == easy)
			vs_pool_busy[i] = false;
}

/* ---------------------------------------------------------------------
 * Callbacks: trivial, never raise
 * ---------------------------------------------------------------------
 */
static size_t
vs_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	VsTransfer *t = (VsTransfer *) userdata;
	VsBudget   *b = t->budget;
	size_t		n = size * nmemb;
	size_t		need = t->len + n + 1;

	if (need > t->cap)
	{
		/* the new buffer must fit beside the old one, which is counted */
		size_t		avail = b->cap > b->live ? b->cap - b->live : 0;
		size_t		newcap;
		char	   *nb;

		if (t->cap == 0 && !t->encoded && t->content_length > 0 &&
			(size_t) t->content_length + 1 >= need)
			newcap = (size_t) t->content_length + 1;	/* once, at its size */
		else
			newcap = Max(Max(t->cap * 2, need), 8192);
		if (newcap > avail)
			newcap = avail;
		if (need > newcap)
		{
			t->too_large = true;
			return 0;			/* aborts with CURLE_WRITE_ERROR */
		}
		nb = MemoryContextAllocExtended(t->cxt, newcap,
										MCXT_ALLOC_NO_OOM | MCXT_ALLOC_HUGE);
		if (nb == NULL)
		{
			t->oom = true;
			return 0;
		}
		b->live += newcap;
		if (t->buf)
		{
			memcpy(nb, t->buf, t->len);
			pfree(t->buf);
			b->live -= Min(b->live, t->cap);
		}
		t->buf = nb;
		t->cap = newcap;
	}
	memcpy(t->buf + t->len, ptr, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return n;
}

/* Case-insensitive "Name:" match; returns the trimmed value or NULL. */
static const char *
vs_header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
	size_t		nlen = strlen(name);
	const char *v;
	const char *end = line + len;

	if (len <= nlen || pg_strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
		return NULL;
	v = line + nlen + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	*vlen = end - v;
	return v;
}

static void
vs_copy_header(char *dst, size_t dstsize, const char *v, size_t vlen)
{
	size_t		n = Min(vlen, dstsize - 1);

	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t
vs_header_cb(char *ptr, size_t size, size_t nitems, void *userdata)
{
	VsTransfer *t = (VsTransfer *) userdata;
	VsResponse *r = t->resp;
	size_t		len = size * nitems;
	size_t		vlen;
	const char *v;
	char		tmp[128];

	/* a new status line starts a new response (e.g. after 100 Continue) */
	if (len > 5 && strncmp(ptr, "HTTP/", 5) == 0)
	{
		r->poll_after_ms = -1;
		r->retry_after_ms = -1;
		r->should_retry = -1;
		r->request_id[0] = '\0';
		t->content_length = -1;
		t->encoded = false;
		return len;
	}
	if ((v = vs_header_value(ptr, len, "content-length", &vlen)) != NULL)
	{
		char	   *endp;
		long long	cl;

		vs_copy_header(tmp, sizeof(tmp), v, vlen);
		errno = 0;
		cl = strtoll(tmp, &endp, 10);
		t->content_length = (errno == 0 && endp != tmp && *endp == '\0' && cl >= 0) ? cl : -1;
	}
	else if ((v = vs_header_value(ptr, len, "content-encoding", &vlen)) != NULL)
		t->encoded = !(vlen == 8 && pg_strncasecmp(v, "identity", 8) == 0);
	if ((v = vs_header_value(ptr, len, "openai-poll-after-ms", &vlen)) != NULL)
	{
		vs_copy_header(tmp, sizeof(tmp), v, vlen);
		r->poll_after_ms = (int) Min(Max(strtol(tmp, NULL, 10), 0), 3600000);
	}
	else if ((v = vs_header_value(ptr, len, "retry-after-ms", &vlen)) != NULL)
	{
		double		d;
		char	   *endp;

		vs_copy_header(tmp, sizeof(tmp), v, vlen);
		d = strtod(tmp, &endp);
		if (endp != tmp && isfinite(d) && d >= 0 && d <= VS_MAX_SERVER_DELAY_MS)
			r->retry_after_ms = (int) d;
	}
	else if ((v = vs_header_value(ptr, len, "retry-after", &vlen)) != NULL)
	{
		double		d;
		char	   *endp;

		/* retry-after-ms wins when both are present */
		vs_copy_header(tmp, sizeof(tmp), v, vlen);
		d = strtod(tmp, &endp);
		if (endp != tmp && *endp == '\0')
			d = d * 1000.0;
		else
		{
			time_t		when = curl_getdate(tmp, NULL);

			d = (when < 0) ? -1 : ((double) when - (double) time(NULL)) * 1000.0;
			if (when >= 0 && d < 0)
				d = 0;
		}
		if (r->retry_after_ms < 0 && isfinite(d) && d >= 0 &&
			d <= VS_MAX_SERVER_DELAY_MS)
			r->retry_after_ms = (int) d;
	}
	else if ((v = vs_header_value(ptr, len, "x-should-retry", &vlen)) != NULL)
	{
		if (vlen == 4 && pg_strncasecmp(v, "true", 4) == 0)
			r->should_retry = 1;
		else if (vlen == 5 && pg_strncasecmp(v, "false", 5) == 0)
			r->should_retry = 0;
	}
	else if ((v = vs_header_value(ptr, len, "x-request-id", &vlen)) != NULL)
	{
		/*
		 * printable ASCII only; the client scrubs secrets before showing
		 * it. One too long to keep whole is not kept: a cut copy could hold
		 * the start of a secret, which scrubbing (whole secrets only) misses.
		 */
		size_t		n = vlen < sizeof(r->request_id) ? vlen : 0;

		for (size_t i = 0; i < n; i++)
			r->request_id[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
		r->request_id[n] = '\0';
	}
	return len;
}

static int
vs_progress_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
			   curl_off_t ultotal, curl_off_t ulnow)
{
	/* a pending cancel/terminate aborts the transfer; raised after curl */
	return (QueryCancelPending || ProcDiePending) ? 1 : 0;
}

/* ---------------------------------------------------------------------
 * Attempts
 * ---------------------------------------------------------------------
 */

/* Forget the body of an attempt (a retry, or the caller is done with it). */
static void
vs_transfer_drop_body(VsTransfer *t)
{
	if (t->buf)
	{
		pfree(t->buf);
		t->budget->live -= Min(t->budget->live, t->cap);
	}
	t->buf = NULL;
	t->len = t->cap = 0;
}

/* Start (or restart) one attempt of t on a pooled easy handle. */
static bool
vs_transfer_start(VsTransfer *t)
{
	const VsWire *w = t->wire;
	CURL	   *e;
	struct curl_slist *h = NULL;

	e = vs_pool_take();
	if (e == NULL)
		return false;

	/* fresh response state for this attempt */
	vs_transfer_drop_body(t);
	t->too_large = t->oom = false;
	t->content_length = -1;
	t->encoded = false;
	t->errbuf[0] = '\0';
	t->resp->poll_after_ms = t->resp->retry_after_ms = t->resp->should_retry = -1;
	t->resp->request_id[0] = '\0';

	/* this attempt's header list: built here, freed in vs_transfer_release */
	for (int i = 0; i < w->nheaders; i++)
	{
		struct curl_slist *n = curl_slist_append(h, w->headers[i]);

		if (n == NULL)
			goto oom;
		h = n;
	}
	if (t->retries_done > 0)
	{
		char		line[64];
		struct curl_slist *n;

		snprintf(line, sizeof(line), "X-Stainless-Retry-Count: %d", t->retries_done);
		n = curl_slist_append(h, line);
		if (n == NULL)
			goto oom;
		h = n;
	}

	/* a loopback name pinned to loopback addresses (freed with the headers) */
	if (w->resolve)
	{
		t->resolve = curl_slist_append(NULL, w->resolve);
		if (t->resolve == NULL)
			goto oom;
	}

	/* everything that may differ from the handle's previous request */
	curl_easy_setopt(e, CURLOPT_URL, w->url);
	curl_easy_setopt(e, CURLOPT_RESOLVE, t->resolve);
	curl_easy_setopt(e, CURLOPT_NOPROXY, w->no_proxy ? "*" : NULL);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, w->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, w->timeout_ms);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
	if (strcmp(w->method, "POST") == 0 || w->body)
	{
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) (w->body ? w->body_len : 0));
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, w->body ? w->body : "");
	}
	else
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	if (strcmp(w->method, "GET") != 0 && strcmp(w->method, "POST") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, w->method);

	if (curl_multi_add_handle(t->multi, e) != CURLM_OK)
	{
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(e, CURLOPT_RESOLVE, NULL);
		curl_slist_free_all(h);
		curl_slist_free_all(t->resolve);
		t->resolve = NULL;
		vs_pool_give(e);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not start a libcurl transfer")));
	}
	t->easy = e;
	t->headers = h;
	t->state = VS_T_RUNNING;
	t->started = GetCurrentTimestamp();
	t->resp->attempts++;
	vs_transport_attempts++;
	return true;

oom:
	curl_slist_free_all(h);
	curl_slist_free_all(t->resolve);
	t->resolve = NULL;
	vs_pool_give(e);
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("out of memory building request headers")));
	return false;				/* keep compiler quiet */
}

/*
 * Detach t's easy handle, then free the attempt's header list (safe to call
 * twice). The handle is out of the multi handle before the list goes.
 */
static void
vs_transfer_release(VsTransfer *t)
{
	if (t->easy)
	{
		curl_multi_remove_handle(t->multi, t->easy);
		/* drop pointers into memory we may free, before reuse */
		curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(t->easy, CURLOPT_RESOLVE, NULL);
		curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, NULL);
		curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, NULL);
		vs_pool_give(t->easy);
		t->easy = NULL;
	}
	if (t->headers)
	{
		/* the values held the key: wipe them before libcurl frees them */
		for (struct curl_slist *l = t->headers; l; l = l->next)
			explicit_bzero(l->data, strlen(l->data));
		curl_slist_free_all(t->headers);
		t->headers = NULL;
	}
	if (t->resolve)
	{
		curl_slist_free_all(t->resolve);
		t->resolve = NULL;
	}
}

/* An attempt finished: record its outcome; ask the caller about a retry. */
static void
vs_transfer_finish(VsTransportRun *run, VsTransfer *t, CURLcode code)
{
	VsResponse *r = t->resp;
	long		status = 0;
	long		sent = 0;
	int			delay = -1;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &sent);
	r->curl_code = (int) code;
	r->too_large = t->too_large;
	/* did any byte of the request leave? (else it cannot have taken effect) */
	r->sent = sent > 0;
	if (code != CURLE_OK)
	{
		r->status = 0;
		if (t->too_large)
			snprintf(r->error, sizeof(r->error),
					 "response larger than vectorstore.max_response_size (%d kB) allows",
					 vs_max_response_kb);
		else if (t->oom)
			snprintf(r->error, sizeof(r->error), "out of memory receiving the response");
		else
			snprintf(r->error, sizeof(r->error), "%s",
					 t->errbuf[0] ? t->errbuf : curl_easy_strerror(code));
	}
	else
	{
		r->status = status;
		r->error[0] = '\0';
	}
	vs_transfer_release(t);
	if (run->attempt)
		run->attempt(t->index, r, GetCurrentTimestamp(), run->pace_arg);

	if (run->retry && !VS_HTTP_OK(r))
	{
		/* the retry rule may look at this attempt's body, not keep it */
		r->body = t->buf;
		r->body_len = t->len;
		delay = run->retry(t->index, r, t->retries_done, run->retry_arg);
		r->body = NULL;
		r->body_len = 0;
	}
	if (delay >= 0)
	{
		t->retries_done++;
		t->state = VS_T_WAITING;
		t->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay);
		vs_transfer_drop_body(t);
		return;
	}
	/* final: the body goes to the response, with the budget it counts in */
	r->body = t->buf ? t->buf : MemoryContextStrdup(t->cxt, "");
	r->body_len = t->len;
	r->budget = t->budget;
	r->charged = t->buf ? t->cap : 0;
	t->buf = NULL;
	t->len = t->cap = 0;
	t->state = VS_T_DONE;
	if (run->done)
		run->done(t->index, r, run->done_arg);
}

/* A request that may not start (the run's attempts are used up). */
static void
vs_transfer_refuse(VsTransportRun *run, VsTransfer *t)
{
	VsResponse *r = t->resp;

	r->status = 0;
	r->cap_reached = true;
	snprintf(r->error, sizeof(r->error),
			 "not sent: the statement reached vectorstore.max_requests_per_statement");
	r->body = MemoryContextStrdup(t->cxt, "");
	r->body_len = 0;
	r->budget = t->budget;
	t->state = VS_T_DONE;
	if (run->done)
		run->done(t->index, r, run->done_arg);
}

/* Release a response's body and give its bytes back to its budget. */
void
vs_response_release(VsResponse *resp)
{
	if (resp->body)
	{
		if (resp->budget)
			resp->budget->live -= Min(resp->budget->live, resp->charged);
		pfree(resp->body);
	}
	resp->body = NULL;
	resp->body_len = 0;
	resp->budget = NULL;
	resp->charged = 0;
}

/* ---------------------------------------------------------------------
 * The transfer loop
 * ---------------------------------------------------------------------
 */
void
vs_transport_run(VsTransportRun *run)
{
	VsTransfer *volatile ts;
	volatile int done = 0;
	int			n = run->n;
	int			maxrun;
	int64		allowed = run->max_attempts;

	if (n <= 0)
		return;
	vs_transport_setup();
	maxrun = Max(1, Min(run->concurrency, VS_MAX_CONCURRENCY));

	ts = palloc0(sizeof(VsTransfer) * n);
	for (int i = 0; i < n; i++)
	{
		memset(&run->resps[i], 0, sizeof(VsResponse));
		run->resps[i].poll_after_ms = run->resps[i].retry_after_ms =
			run->resps[i].should_retry = -1;
		ts[i].index = i;
		ts[i].wire = &run->wires[i];
		ts[i].resp = &run->resps[i];
		ts[i].budget = run->budget;
		ts[i].multi = vs_multi;
		ts[i].cxt = CurrentMemoryContext;
		ts[i].state = VS_T_PENDING;
	}

	PG_TRY();
	{
		while (done < n)
		{
			int			running = 0;
			int			still;
			long		wait_ms = VS_POLL_MS;
			TimestampTz now = GetCurrentTimestamp();
			CURLMsg    *msg;
			int			left;
			bool		progressed = false;

			CHECK_FOR_INTERRUPTS();

			/* start what may start: due retries first, then new requests */
			for (int i = 0; i < n; i++)
				if (ts[i].state == VS_T_RUNNING)
					running++;
			for (int pass = 0; pass < 2; pass++)
			{
				for (int i = 0; i < n && running < maxrun; i++)
				{
					VsTransfer *t = &ts[i];

					if (!(pass == 0 ? (t->state == VS_T_WAITING && t->retry_at <= now)
						  : t->state == VS_T_PENDING))
						continue;
					if (allowed == 0)
					{
						vs_transfer_refuse(run, t);
						done++;
						continue;
					}
					if (run->admit)
					{
						int			a = run->admit(t->index, now, run->pace_arg);

						if (a != 0)
						{
							/* held: ask again then, or when an attempt ends */
							if (a > 0)
								wait_ms = Min(wait_ms, a);
							continue;
						}
					}
					if (vs_transfer_start(t))
					{
						running++;
						if (allowed > 0)
							allowed--;
						if (run->attempt)
							run->attempt(t->index, NULL, now, run->pace_arg);
					}
				}
			}
			if (done >= n)
				break;

			if (curl_multi_perform(vs_multi, &still) != CURLM_OK)
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("libcurl multi interface failed")));
			while ((msg = curl_multi_info_read(vs_multi, &left)) != NULL)
			{
				VsTransfer *t = NULL;

				if (msg->msg != CURLMSG_DONE)
					continue;
				curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
				if (t == NULL)
					continue;
				vs_transfer_finish(run, t, msg->data.result);
				progressed = true;
				if (t->state == VS_T_DONE)
					done++;
			}
			if (done >= n)
				break;

			/*
			 * How long may we wait: until the next retry is due or the
			 * admission asked us to look again, at most.
			 */
			running = 0;
			for (int i = 0; i < n; i++)
			{
				if (ts[i].state == VS_T_RUNNING)
					running++;
				else if (ts[i].state == VS_T_WAITING)
				{
					long		secs;
					int			usecs;

					TimestampDifference(now, ts[i].retry_at, &secs, &usecs);
					wait_ms = Min(wait_ms, secs * 1000 + usecs / 1000);
				}
			}
			/*
			 * An attempt ended, a slot is free and work is queued: go round
			 * at once to start it, do not sleep. (Without admission every
			 * free slot was filled before curl_multi_perform, so a slot is
			 * free only when something ended; with it, a held request is
			 * asked again when an attempt ends or when it said to.)
			 */
			if (progressed)
				for (int i = 0; i < n && running < maxrun; i++)
					if (ts[i].state == VS_T_PENDING || (ts[i].state == VS_T_WAITING &&
														ts[i].retry_at <= now))
					{
						wait_ms = 0;
						break;
					}
			if (running > 0)
			{
				if (wait_ms > 0)
					curl_multi_poll(vs_multi, NULL, 0, (int) wait_ms, NULL);
			}
			else if (wait_ms > 0)
			{
				/* only retry waits: sleep on the latch so cancel wakes us */
				(void) WaitLatch(MyLatch,
								 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
								 wait_ms, PG_WAIT_EXTENSION);
				ResetLatch(MyLatch);
			}
		}
	}
	PG_FINALLY();
	{
		for (int i = 0; i < n; i++)
		{
			vs_transfer_release(&ts[i]);
			if (ts[i].state != VS_T_DONE)
				vs_transfer_drop_body(&ts[i]);
		}
	}
	PG_END_TRY();

	/* an interrupt that aborted a transfer is raised now, after cleanup */
	CHECK_FOR_INTERRUPTS();
	pfree(ts);
}

/* ---------------------------------------------------------------------
 * Flights: transfers that outlive a call (the background worker's)
 * ---------------------------------------------------------------------
 * The worker sends its requests without waiting for them: each is added to
 * the flights and runs in a multi handle of its own (so a statement-style
 * call in between, like the sweep's, never reads their completions), while
 * the worker claims and records other work; vs_flights_pump() drives them
 * for a while and hands each finished one to its done callback. There are
 * no retries (the worker's policy decides, in SQL), no admission and no
 * statement cap.
 *
 * Starts are fair between groups (a group is whose server a request goes
 * to): a pending transfer starts when fewer than `concurrency` run and its
 * group has fewer than its share running; and a group with nothing running
 * may always start one, even when every slot is held (by servers that do not
 * answer), so no group waits behind another's silence. A transfer its server
 * has kept longer than held_ms (vs_flights_set_held) takes no slot and no
 * share: it waits on its socket, and its group goes on with its other work;
 * but a group runs at most concurrency transfers, held ones included, so
 * what a server can hold is bounded whatever its group's callers queue
 * (vs_flights_start). The time of any one
 * transfer is bounded by its wire's timeout.
 */
struct VsFlights
{
	CURLM	   *multi;
	MemoryContext cxt;			/* the array of transfers */
	VsTransfer **ts;			/* pending or running */
	int			n;
	int			cap;
	VsTransportRun run;			/* done callbacks: per transfer (no retry, no pacing) */
	/* response bytes alive at once: a budget per group, each of max_response_size */
	VsBudget  **budgets;
	char	  **budget_groups;
	int			nbudgets;
	int			capbudgets;
	int			held_ms;		/* a transfer running longer is held: it takes no slot (0: off) */
};

static void
vs_flight_done(int i, VsResponse *resp, void *arg)
{
	/* never called: flights call each transfer's own callback */
}

VsFlights *
vs_flights_create(MemoryContext cxt)
{
	VsFlights  *f;

	vs_transport_setup();
	f = MemoryContextAllocZero(cxt, sizeof(VsFlights));
	f->cxt = cxt;
	f->multi = curl_multi_init();
	if (f->multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl multi handle")));
	curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, (long) VS_MAX_CONCURRENCY);
	f->run.done = vs_flight_done;
	return f;
}

/*
 * The budget of a group's response bytes alive at once, in flight or not yet
 * released. One per group, not one for all: a group's server (a hostile one
 * declaring a huge length, or sending most of max_response_size and then
 * holding the rest) can fill its own budget only, never make another
 * group's responses fail as too large. So the flights hold at most
 * max_response_size per group with responses alive. Budgets live as long as
 * the flights (responses point to theirs); there is one per group ever used
 * (the worker's groups are credentials, which a superuser makes).
 */
static VsBudget *
vs_flights_budget(VsFlights *f, const char *group)
{
	int			i;

	for (i = 0; i < f->nbudgets; i++)
		if (strcmp(f->budget_groups[i], group) == 0)
			break;
	if (i == f->nbudgets)
	{
		if (f->nbudgets == f->capbudgets)
		{
			int			cap = Max(8, f->capbudgets * 2);

			f->budgets = f->budgets ? repalloc(f->budgets, sizeof(VsBudget *) * cap)
				: MemoryContextAlloc(f->cxt, sizeof(VsBudget *) * cap);
			f->budget_groups = f->budget_groups ? repalloc(f->budget_groups, sizeof(char *) * cap)
				: MemoryContextAlloc(f->cxt, sizeof(char *) * cap);
			f->capbudgets = cap;
		}
		f->budgets[i] = MemoryContextAllocZero(f->cxt, sizeof(VsBudget));
		f->budget_groups[i] = MemoryContextStrdup(f->cxt, group);
		f->nbudgets++;
	}
	f->budgets[i]->cap = (size_t) vs_max_response_kb * 1024;
	return f->budgets[i];
}

/*
 * Add a transfer: wire and resp must live until it is done; done(index, resp,
 * arg) is called from vs_flights_pump (or vs_flights_abort: status 0).
 */
void *
vs_flights_add(VsFlights *f, const VsWire *wire, VsResponse *resp, const char *group,
			   VsDoneFn done, void *arg, int index, MemoryContext cxt)
{
	VsTransfer *t;

	if (f->n == f->cap)
	{
		int			cap = Max(16, f->cap * 2);

		f->ts = f->ts ? repalloc(f->ts, sizeof(VsTransfer *) * cap)
			: MemoryContextAlloc(f->cxt, sizeof(VsTransfer *) * cap);
		f->cap = cap;
	}
	t = MemoryContextAllocZero(f->cxt, sizeof(VsTransfer));
	memset(resp, 0, sizeof(VsResponse));
	resp->poll_after_ms = resp->retry_after_ms = resp->should_retry = -1;
	t->index = index;
	t->wire = wire;
	t->resp = resp;
	t->group = group ? group : "";
	/*
	 * one budget per group for every response of it in flight or not yet
	 * released: a hostile server cannot make the worker hold more than
	 * max_response_size for its group at once, however many requests are in
	 * flight, nor take another group's
	 */
	t->budget = vs_flights_budget(f, t->group);
	t->multi = f->multi;
	t->done = done;
	t->done_arg = arg;
	t->cxt = cxt;
	t->state = VS_T_PENDING;
	f->ts[f->n++] = t;
	return t;
}

int
vs_flights_count(VsFlights *f)
{
	return f ? f->n : 0;
}

/*
 * When the oldest running transfer of a group started (0: none runs): how
 * long its server has kept a request without answering.
 */
TimestampTz
vs_flights_running_since(VsFlights *f, const char *group)
{
	TimestampTz since = 0;

	for (int i = 0; f && i < f->n; i++)
	{
		VsTransfer *t = f->ts[i];

		if (t->state == VS_T_RUNNING && strcmp(t->group, group) == 0 &&
			(since == 0 || t->started < since))
			since = t->started;
	}
	return since;
}

/*
 * Take back a transfer that has not started (flight, from vs_flights_add's
 * caller): its callback is told now, with a response that says it was never
 * sent (withdrawn), and it is forgotten. Returns false, doing nothing, when
 * it has started (or ended: a caller asks only for what it has not been
 * told about).
 */
bool
vs_flights_withdraw(VsFlights *f, void *flight)
{
	VsTransfer *t = (VsTransfer *) flight;
	VsResponse *r;
	int			k = -1;

	for (int i = 0; i < f->n && k < 0; i++)
		if (f->ts[i] == t)
			k = i;
	if (k < 0 || t->state != VS_T_PENDING)
		return false;
	memmove(&f->ts[k], &f->ts[k + 1], sizeof(VsTransfer *) * (f->n - k - 1));
	f->n--;
	r = t->resp;
	r->status = 0;
	r->sent = false;
	r->withdrawn = true;
	snprintf(r->error, sizeof(r->error), "not sent: withdrawn before it started");
	r->body = MemoryContextStrdup(t->cxt, "");
	r->body_len = 0;
	t->state = VS_T_DONE;
	t->done(t->index, r, t->done_arg);
	pfree(t);
	return true;
}

void
vs_flights_set_held(VsFlights *f, int held_ms)
{
	f->held_ms = held_ms;
}

/*
 * Start what may start: the slots divided between the groups with work,
 * and a group with nothing running may always start one (held transfers do
 * not count). But a group never has more than concurrency transfers
 * running, held ones included: a server that holds every request it gets
 * holds at most that many of the worker's sockets and bodies, however many
 * units its group's steps have claimed. One walk to count (groups are few:
 * linear in transfers times groups), one to start.
 */
static void
vs_flights_start(VsFlights *f, int concurrency)
{
	const char **names = palloc(sizeof(char *) * f->n);
	int		   *running = palloc0(sizeof(int) * f->n);
	int		   *open = palloc0(sizeof(int) * f->n);
	int		   *of = palloc(sizeof(int) * f->n);
	int			groups = 0;
	int			total = 0;
	int			held = 0;
	int			share;
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; i < f->n; i++)
	{
		int			g;

		for (g = 0; g < groups; g++)
			if (names[g] == f->ts[i]->group || strcmp(names[g], f->ts[i]->group) == 0)
				break;
		if (g == groups)
			names[groups++] = f->ts[i]->group;
		of[i] = g;
		if (f->ts[i]->state != VS_T_RUNNING)
			continue;
		open[g]++;
		if (!(f->held_ms > 0 && TimestampDifferenceExceeds(f->ts[i]->started, now, f->held_ms)))
		{
			running[g]++;
			total++;
		}
		else
			held++;
	}
	share = Max(1, concurrency / Max(groups, 1));
	for (int i = 0; i < f->n; i++)
	{
		int			mine = running[of[i]];

		if (f->ts[i]->state != VS_T_PENDING)
			continue;
		if (mine > 0 && (total >= concurrency || mine >= share))
			continue;
		if (open[of[i]] >= concurrency)
			continue;			/* as many held as it may run */
		/*
		 * and held ones never take the easy handles the others need: a
		 * group holding some starts more only while every open transfer
		 * leaves concurrency handles of the pool free (221)
		 */
		if (open[of[i]] > running[of[i]] && held + total >= VS_POOL_SIZE - concurrency)
			continue;
		if (vs_transfer_start(f->ts[i]))
		{
			running[of[i]]++;
			open[of[i]]++;
			total++;
		}
	}
	pfree(names);
	pfree(running);
	pfree(open);
	pfree(of);
}

/* Forget finished transfers (their callbacks have run). */
static void
vs_flights_compact(VsFlights *f)
{
	int			k = 0;

	for (int i = 0; i < f->n; i++)
	{
		if (f->ts[i]->state == VS_T_DONE)
			pfree(f->ts[i]);
		else
			f->ts[k++] = f->ts[i];
	}
	f->n = k;
}

/* Hand a transfer's final response to its callback. */
static void
vs_flight_finish(VsFlights *f, VsTransfer *t, CURLcode code)
{
	f->run.done = t->done;
	f->run.done_arg = t->done_arg;
	vs_transfer_finish(&f->run, t, code);
}

/*
 * Start what may start, drive the transfers, and wait at most wait_ms for
 * one to end (less if the latch is set). Finished transfers are handed to
 * their callbacks (which may raise: every transfer is then released by
 * vs_flights_abort, which the caller runs on ERROR). Returns how many ended.
 */
int
vs_flights_pump(VsFlights *f, int concurrency, long wait_ms)
{
	TimestampTz start = GetCurrentTimestamp();
	int			ended = 0;

	if (f == NULL || f->n == 0)
		return 0;
	concurrency = Max(1, Min(concurrency, VS_MAX_CONCURRENCY));
	for (;;)
	{
		int			still;
		CURLMsg    *msg;
		int			left;
		long		waited;

		CHECK_FOR_INTERRUPTS();
		vs_flights_start(f, concurrency);

		if (curl_multi_perform(f->multi, &still) != CURLM_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("libcurl multi interface failed")));
		while ((msg = curl_multi_info_read(f->multi, &left)) != NULL)
		{
			VsTransfer *t = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
			if (t == NULL)
				continue;
			vs_flight_finish(f, t, msg->data.result);
			ended++;
		}
		vs_flights_compact(f);
		if (ended > 0 || f->n == 0)
			break;
		waited = TimestampDifferenceMilliseconds(start, GetCurrentTimestamp());
		if (waited >= wait_ms || MyLatch->is_set)
			break;
		curl_multi_poll(f->multi, NULL, 0, (int) Min(wait_ms - waited, VS_POLL_MS), NULL);
	}
	/* an interrupt that aborted a transfer is raised now */
	CHECK_FOR_INTERRUPTS();
	return ended;
}

/*
 * Release every transfer (after an ERROR, or when leaving): their callbacks
 * are not called; what they were for is left to its lease.
 */
void
vs_flights_abort(VsFlights *f)
{
	if (f == NULL)
		return;
	for (int i = 0; i < f->n; i++)
	{
		vs_transfer_release(f->ts[i]);
		vs_transfer_drop_body(f->ts[i]);
		pfree(f->ts[i]);
	}
	f->n = 0;
	/* the responses go with the runs the caller forgets now */
	for (int i = 0; i < f->nbudgets; i++)
		f->budgets[i]->live = 0;
}
