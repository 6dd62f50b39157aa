/*-------------------------------------------------------------------------
 *
 * http.c
 *	  Every libcurl call of the extension: requests to the OpenAI API with
 *	  retries, timeouts, cancellation, keep-alive and error reporting.
 *
 * Design
 * ------
 * A backend owns one curl multi handle and a small pool of easy handles,
 * created on first use and kept for the life of the process. The multi
 * handle holds the connection cache, so consecutive calls in a session reuse
 * one keep-alive connection (and its TLS session); a share handle lets the
 * pooled easy handles share DNS and TLS session caches. Single requests and
 * concurrent batches (vs_http_execute_many) run through the same loop.
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
 * Memory: per-request objects that libcurl mallocs (the header list) are
 * freed in PG_FINALLY; response bodies are palloc'd (with MCXT_ALLOC_NO_OOM
 * inside callbacks) so they go with the caller's memory context.
 *
 * Retries follow the official SDKs (SDK-BEHAVIOUR.md): connection errors,
 * timeouts, 408, 409, 429 and 5xx are retried, x-should-retry overrides,
 * the delay comes from retry-after-ms, then Retry-After (seconds or an HTTP
 * date) when between 0 and 60 s, else exponential backoff with jitter.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "common/pg_prng.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include <curl/curl.h>
#include <math.h>

#define VS_POLL_MS			100		/* longest wait inside libcurl */
#define VS_MAX_CONCURRENCY	64
#define VS_MAX_SERVER_DELAY_MS 60000	/* as openai-node */

typedef enum VsTransferState
{
	VS_T_PENDING,				/* not started yet */
	VS_T_RUNNING,				/* in the multi handle */
	VS_T_WAITING,				/* waiting to retry */
	VS_T_DONE
} VsTransferState;

typedef struct VsTransfer
{
	const VsRequest *req;
	VsResponse *resp;
	const VsCredential *cred;
	VsTransferState state;
	CURL	   *easy;			/* from the pool while running */
	struct curl_slist *headers; /* malloc'd by libcurl */
	bool		headers_owned;	/* else it belongs to the header cache */
	char	   *url;
	StringInfo	mime;			/* multipart body, built once */
	char	   *content_type;
	int			retries_done;
	TimestampTz retry_at;
	/* response accumulation (callbacks: no ERROR, no palloc that raises) */
	char	   *buf;
	size_t		len;
	size_t		cap;
	size_t		cap_limit;
	bool		too_large;
	bool		oom;
	char		errbuf[CURL_ERROR_SIZE];
} VsTransfer;

static CURLM *vs_multi = NULL;
static CURLSH *vs_share = NULL;
static CURL *vs_pool[VS_MAX_CONCURRENCY];
static bool vs_pool_busy[VS_MAX_CONCURRENCY];
static char vs_user_agent[128];

/* ---------------------------------------------------------------------
 * Process-lifetime handles
 * ---------------------------------------------------------------------
 */
static void
vs_http_setup(void)
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
	for (int i = 0; i < VS_MAX_CONCURRENCY; i++)
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
	for (int i = 0; i < VS_MAX_CONCURRENCY; i++)
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
	size_t		n = size * nmemb;

	if (t->len + n > t->cap_limit)
	{
		t->too_large = true;
		return 0;				/* aborts with CURLE_WRITE_ERROR */
	}
	if (t->len + n + 1 > t->cap)
	{
		size_t		newcap = Max(t->cap * 2, t->len + n + 1);
		char	   *nb;

		newcap = Max(newcap, 8192);
		nb = MemoryContextAllocExtended(CurrentMemoryContext, newcap,
										MCXT_ALLOC_NO_OOM | MCXT_ALLOC_HUGE);
		if (nb == NULL)
		{
			t->oom = true;
			return 0;
		}
		if (t->buf)
		{
			memcpy(nb, t->buf, t->len);
			pfree(t->buf);
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
		return len;
	}
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
		size_t		n = Min(vlen, sizeof(r->request_id) - 1);

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
 * Building requests
 * ---------------------------------------------------------------------
 */
static bool
vs_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

static void
vs_append_escaped(StringInfo buf, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (vs_unreserved(*p))
			appendStringInfoChar(buf, (char) *p);
		else
		{
			appendStringInfoChar(buf, '%');
			appendStringInfoChar(buf, hex[*p >> 4]);
			appendStringInfoChar(buf, hex[*p & 15]);
		}
	}
}

/* See vectorstore.h: every %s is one escaped path segment. */
char *
vs_path(const char *fmt,...)
{
	StringInfoData buf;
	va_list		ap;

	initStringInfo(&buf);
	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++)
	{
		if (p[0] == '%' && p[1] == 's')
		{
			const char *seg = va_arg(ap, const char *);
			char	   *utf8;

			if (seg == NULL || seg[0] == '\0' ||
				strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid object id \"%s\"", seg ? seg : ""),
						 errdetail("An id must not be empty, \".\" or \"..\".")));
			/*
			 * "/" is escaped as %2F, but many servers and proxies decode it
			 * before routing (the emulator does), so "vs_1/files" would
			 * reach another endpoint; some treat "\" as "/". No API id
			 * contains either: refuse them before anything is sent.
			 */
			if (strchr(seg, '/') != NULL || strchr(seg, '\\') != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid object id \"%s\"", seg),
						 errdetail("An id must not contain \"/\" or \"\\\".")));
			utf8 = (char *) pg_server_to_any(seg, strlen(seg), PG_UTF8);
			vs_append_escaped(&buf, utf8);
			p++;
		}
		else
			appendStringInfoChar(&buf, *p);
	}
	va_end(ap);
	return buf.data;
}

void
vs_query_add(StringInfo q, const char *name, const char *value)
{
	if (q->len > 0)
		appendStringInfoChar(q, '&');
	vs_append_escaped(q, name);
	appendStringInfoChar(q, '=');
	vs_append_escaped(q, pg_server_to_any(value, strlen(value), PG_UTF8));
}

/* Build a multipart/form-data body; the boundary never occurs in the data. */
static void
vs_build_multipart(VsTransfer *t)
{
	const VsRequest *req = t->req;
	char		boundary[64];
	StringInfo	b = makeStringInfo();

	for (;;)
	{
		bool		clash = false;

		snprintf(boundary, sizeof(boundary), "vectorstore-%016llx%08x",
				 (unsigned long long) pg_prng_uint64(&pg_global_prng_state),
				 (unsigned) MyProcPid);
		for (int i = 0; i < req->nparts && !clash; i++)
			clash = memmem(req->parts[i].data, req->parts[i].len,
						   boundary, strlen(boundary)) != NULL;
		if (!clash)
			break;
	}
	for (int i = 0; i < req->nparts; i++)
	{
		const VsMimePart *p = &req->parts[i];

		appendStringInfo(b, "--%s\r\nContent-Disposition: form-data; name=\"%s\"",
						 boundary, p->name);
		if (p->filename)
		{
			appendStringInfoString(b, "; filename=\"");
			/* quotes, backslashes and line breaks cannot appear raw here */
			for (const char *c = p->filename; *c; c++)
			{
				if (*c == '"' || *c == '\\' || *c == '\r' || *c == '\n')
					appendStringInfo(b, "%%%02X", (unsigned char) *c);
				else
					appendStringInfoChar(b, *c);
			}
			appendStringInfo(b, "\"\r\nContent-Type: %s",
							 p->content_type ? p->content_type : "application/octet-stream");
		}
		else if (p->content_type)
			appendStringInfo(b, "\r\nContent-Type: %s", p->content_type);
		appendStringInfoString(b, "\r\n\r\n");
		appendBinaryStringInfo(b, p->data, (int) p->len);
		appendStringInfoString(b, "\r\n");
	}
	appendStringInfo(b, "--%s--\r\n", boundary);
	t->mime = b;
	t->content_type = psprintf("Content-Type: multipart/form-data; boundary=%s", boundary);
}

static struct curl_slist *
vs_append_header(struct curl_slist *list, const char *h)
{
	struct curl_slist *n = curl_slist_append(list, h);

	if (n == NULL)
	{
		curl_slist_free_all(list);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory building request headers")));
	}
	return n;
}

/*
 * The headers of a request: credential, API flags, Accept, Expect, and the
 * JSON Content-Type when there is a JSON body. Appended to `h`.
 */
static struct curl_slist *
vs_build_headers(struct curl_slist *h, const VsCredential *cred, bool beta,
				 bool binary, bool poll, bool json_body)
{
	char		line[1024];

	if (cred->api_key && cred->api_key[0])
	{
		char	   *auth = psprintf("Authorization: Bearer %s", cred->api_key);

		h = vs_append_header(h, auth);
		/* wipe our copy; libcurl keeps its own until the list is freed */
		explicit_bzero(auth, strlen(auth));
		pfree(auth);
	}
	if (cred->organization && cred->organization[0])
	{
		snprintf(line, sizeof(line), "OpenAI-Organization: %s", cred->organization);
		h = vs_append_header(h, line);
	}
	if (cred->project && cred->project[0])
	{
		snprintf(line, sizeof(line), "OpenAI-Project: %s", cred->project);
		h = vs_append_header(h, line);
	}
	if (beta)
		h = vs_append_header(h, "OpenAI-Beta: assistants=v2");
	h = vs_append_header(h, binary ? "Accept: application/binary"
						 : "Accept: application/json");
	if (poll)
		h = vs_append_header(h, "X-Stainless-Poll-Helper: true");
	h = vs_append_header(h, "Expect:");	/* no 100-continue round trip */
	if (json_body)
		h = vs_append_header(h, "Content-Type: application/json");
	return h;
}

/*
 * A few header lists kept for the life of the backend, keyed by what goes
 * into them; the least recently used is replaced (and its copy of the key
 * wiped) when a new combination comes along.
 */
#define VS_HEADER_CACHE 8
typedef struct VsHeaderCacheEntry
{
	char	   *key;			/* TopMemoryContext; holds the API key */
	struct curl_slist *list;
	uint64		used;
} VsHeaderCacheEntry;

static VsHeaderCacheEntry vs_header_cache[VS_HEADER_CACHE];
static uint64 vs_header_clock = 0;

static struct curl_slist *
vs_cached_headers(const VsCredential *cred, bool beta, bool binary, bool poll,
				  bool json_body)
{
	StringInfoData key;
	int			victim = 0;

	initStringInfo(&key);
	appendStringInfo(&key, "%s\x1f%s\x1f%s\x1f%d%d%d%d",
					 cred->api_key ? cred->api_key : "",
					 cred->organization ? cred->organization : "",
					 cred->project ? cred->project : "",
					 beta, binary, poll, json_body);
	for (int i = 0; i < VS_HEADER_CACHE; i++)
	{
		VsHeaderCacheEntry *c = &vs_header_cache[i];

		if (c->key && strcmp(c->key, key.data) == 0)
		{
			c->used = ++vs_header_clock;
			explicit_bzero(key.data, key.len);
			pfree(key.data);
			return c->list;
		}
		if (c->used < vs_header_cache[victim].used)
			victim = i;
	}
	{
		VsHeaderCacheEntry *c = &vs_header_cache[victim];
		struct curl_slist *list = vs_build_headers(NULL, cred, beta, binary,
												   poll, json_body);

		/* a list still in use by a running transfer is never evicted: the
		 * cache is larger than the combinations one call can use */
		if (c->key)
		{
			explicit_bzero(c->key, strlen(c->key));
			pfree(c->key);
			curl_slist_free_all(c->list);
		}
		c->key = MemoryContextAlloc(TopMemoryContext, key.len + 1);
		memcpy(c->key, key.data, key.len + 1);
		c->list = list;
		c->used = ++vs_header_clock;
		explicit_bzero(key.data, key.len);
		pfree(key.data);
		return list;
	}
}

/* Prepare a transfer: URL, body; done once per request (not per attempt). */
static void
vs_transfer_prepare(VsTransfer *t)
{
	const VsRequest *req = t->req;
	const char *base;
	size_t		blen;

	t->cred = req->cred ? req->cred : vs_credential_current();
	base = t->cred->base_url;
	vs_check_base_url(base);
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	t->url = psprintf("%.*s%s%s%s", (int) blen, base, req->path,
					  req->query && req->query[0] ? "?" : "",
					  req->query && req->query[0] ? req->query : "");
	if (req->parts)
		vs_build_multipart(t);
	t->cap_limit = (size_t) vs_max_response_kb * 1024;
}

/* Start (or restart) one attempt of t on a pooled easy handle. */
static bool
vs_transfer_start(VsTransfer *t)
{
	const VsRequest *req = t->req;
	CURL	   *e;
	struct curl_slist *h = NULL;
	char		line[1024];

	e = vs_pool_take();
	if (e == NULL)
		return false;
	t->easy = e;

	/* fresh response state for this attempt */
	if (t->buf)
		pfree(t->buf);
	t->buf = NULL;
	t->len = t->cap = 0;
	t->too_large = t->oom = false;
	t->errbuf[0] = '\0';
	t->resp->poll_after_ms = t->resp->retry_after_ms = t->resp->should_retry = -1;
	t->resp->request_id[0] = '\0';

	/*
	 * Headers. A first attempt of a JSON or bodiless request uses a list
	 * cached per credential and flags (built once, kept by this module); a
	 * retry (X-Stainless-Retry-Count) or a multipart body (its boundary)
	 * gets a list of its own, freed in vs_transfer_release.
	 */
	if (t->retries_done == 0 && t->mime == NULL)
	{
		h = vs_cached_headers(t->cred, req->beta, req->binary, req->poll,
							  req->body != NULL);
		t->headers_owned = false;
	}
	else
	{
		h = vs_build_headers(NULL, t->cred, req->beta, req->binary, req->poll,
							 req->body != NULL && t->mime == NULL);
		snprintf(line, sizeof(line), "X-Stainless-Retry-Count: %d", t->retries_done);
		h = vs_append_header(h, line);
		if (t->mime)
			h = vs_append_header(h, t->content_type);
		t->headers_owned = true;
	}
	t->headers = h;

	/* everything that may differ from the handle's previous request */
	curl_easy_setopt(e, CURLOPT_URL, t->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) vs_connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) vs_request_timeout_ms);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);

	if (strcmp(req->method, "POST") == 0 || req->body || t->mime)
	{
		const char *data = t->mime ? t->mime->data : (req->body ? req->body : "");
		size_t		dlen = t->mime ? (size_t) t->mime->len : strlen(data);

		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) dlen);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, data);
	}
	else
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);

	if (curl_multi_add_handle(vs_multi, e) != CURLM_OK)
	{
		if (t->headers_owned)
			curl_slist_free_all(t->headers);
		t->headers = NULL;
		vs_pool_give(e);
		t->easy = NULL;
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not start a libcurl transfer")));
	}
	t->state = VS_T_RUNNING;
	t->resp->attempts++;
	return true;
}

/* Detach t's easy handle and free its header list (safe to call twice). */
static void
vs_transfer_release(VsTransfer *t)
{
	if (t->easy)
	{
		curl_multi_remove_handle(vs_multi, t->easy);
		/* drop pointers into memory we may free, before reuse */
		curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, NULL);
		vs_pool_give(t->easy);
		t->easy = NULL;
	}
	if (t->headers)
	{
		if (t->headers_owned)
			curl_slist_free_all(t->headers);
		t->headers = NULL;
	}
}

/* ---------------------------------------------------------------------
 * Retry policy
 * ---------------------------------------------------------------------
 */
bool
vs_http_retryable(const VsResponse *resp)
{
	if (resp->too_large)
		return false;
	if (resp->status == 0)
		return resp->curl_code != CURLE_ABORTED_BY_CALLBACK &&
			resp->curl_code != CURLE_URL_MALFORMAT &&
			resp->curl_code != CURLE_UNSUPPORTED_PROTOCOL &&
			resp->curl_code != CURLE_OUT_OF_MEMORY;
	if (resp->should_retry == 1)
		return true;
	if (resp->should_retry == 0)
		return false;
	return resp->status == 408 || resp->status == 409 ||
		resp->status == 429 || resp->status >= 500;
}

int
vs_http_retry_delay_ms(const VsResponse *resp, int retries_done)
{
	double		base;

	if (resp->retry_after_ms >= 0 && resp->retry_after_ms <= VS_MAX_SERVER_DELAY_MS)
		return resp->retry_after_ms;
	base = Min(500.0 * pow(2.0, retries_done), 8000.0);
	return (int) (base * (1.0 - pg_prng_double(&pg_global_prng_state) * 0.25));
}

/* An attempt finished: record its outcome, decide whether to retry. */
static void
vs_transfer_finish(VsTransfer *t, CURLcode code, bool retry)
{
	VsResponse *r = t->resp;
	long		status = 0;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	r->curl_code = (int) code;
	r->too_large = t->too_large;
	if (code != CURLE_OK)
	{
		r->status = 0;
		if (t->too_large)
			snprintf(r->error, sizeof(r->error),
					 "response larger than vectorstore.max_response_size (%d kB)",
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
	r->body = t->buf ? t->buf : pstrdup("");
	r->body_len = t->len;
	t->buf = NULL;
	t->len = t->cap = 0;
	vs_transfer_release(t);

	if (retry && !VS_HTTP_OK(r) && t->retries_done < vs_max_retries &&
		vs_http_retryable(r))
	{
		int			delay = vs_http_retry_delay_ms(r, t->retries_done);

		t->retries_done++;
		t->state = VS_T_WAITING;
		t->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay);
		pfree(r->body);
		r->body = NULL;
		r->body_len = 0;
	}
	else
		t->state = VS_T_DONE;
}

/* ---------------------------------------------------------------------
 * The transfer loop
 * ---------------------------------------------------------------------
 */
void
vs_http_execute_many(const VsRequest *reqs, VsResponse *resps, int n,
					 int concurrency, bool retry)
{
	VsTransfer *volatile ts;
	volatile int done = 0;
	volatile int maxrun;

	if (n <= 0)
		return;
	vs_http_setup();
	maxrun = Max(1, Min(concurrency, VS_MAX_CONCURRENCY));

	ts = palloc0(sizeof(VsTransfer) * n);
	for (int i = 0; i < n; i++)
	{
		memset(&resps[i], 0, sizeof(VsResponse));
		resps[i].poll_after_ms = resps[i].retry_after_ms = resps[i].should_retry = -1;
		ts[i].req = &reqs[i];
		ts[i].resp = &resps[i];
		ts[i].state = VS_T_PENDING;
		vs_transfer_prepare(&ts[i]);
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

			CHECK_FOR_INTERRUPTS();

			/* start what may start: due retries first, then new requests */
			for (int i = 0; i < n; i++)
				if (ts[i].state == VS_T_RUNNING)
					running++;
			for (int i = 0; i < n && running < maxrun; i++)
			{
				if (ts[i].state == VS_T_WAITING && ts[i].retry_at <= now)
				{
					if (vs_transfer_start(&ts[i]))
						running++;
				}
			}
			for (int i = 0; i < n && running < maxrun; i++)
			{
				if (ts[i].state == VS_T_PENDING)
				{
					if (vs_transfer_start(&ts[i]))
						running++;
				}
			}

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
				vs_transfer_finish(t, msg->data.result, retry);
				if (t->state == VS_T_DONE)
					done++;
			}
			if (done >= n)
				break;

			/* how long may we wait: until the next retry is due, at most */
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
			for (int i = 0; i < n && running < maxrun; i++) if (ts[i].state == VS_T_PENDING) wait_ms = 0;	/* a free slot and work queued: start it now, do not sleep */
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
			vs_transfer_release(&ts[i]);
	}
	PG_END_TRY();

	/* an interrupt that aborted a transfer is raised now, after cleanup */
	CHECK_FOR_INTERRUPTS();
	pfree(ts);
}

VsResponse *
vs_http_execute(const VsRequest *req)
{
	VsResponse *resp = palloc0(sizeof(VsResponse));

	vs_http_execute_many(req, resp, 1, 1, true);
	if (!VS_HTTP_OK(resp))
		vs_report_error(req, resp);
	return resp;
}

/* ---------------------------------------------------------------------
 * Error reporting: the one place
 * ---------------------------------------------------------------------
 */

/* Replace every occurrence of the API key in msg (defence in depth). */
static char *
vs_scrub(char *msg, const VsRequest *req)
{
	const VsCredential *cred = req->cred;
	const char *key;
	char	   *hit;

	if (msg == NULL)
		return NULL;
	if (cred == NULL)
		cred = vs_credential_current();
	key = cred ? cred->api_key : NULL;
	if (key == NULL || strlen(key) < 4)
		return msg;
	while ((hit = strstr(msg, key)) != NULL)
	{
		StringInfoData b;

		initStringInfo(&b);
		appendBinaryStringInfo(&b, msg, hit - msg);
		appendStringInfoString(&b, "[redacted]");
		appendStringInfoString(&b, hit + strlen(key));
		msg = b.data;
	}
	return msg;
}

typedef struct VsErrorInfo
{
	int			sqlstate;
	char	   *message;		/* errmsg */
	char	   *detail;			/* API's message */
	char	   *hint;
} VsErrorInfo;

static void
vs_diagnose(const VsRequest *req, const VsResponse *resp, VsErrorInfo *info)
{
	char	   *amsg,
			   *atype,
			   *acode,
			   *aparam;

	memset(info, 0, sizeof(*info));
	if (resp->status == 0)
	{
		if (resp->too_large)
		{
			info->sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			info->message = psprintf("vector store API response exceeds vectorstore.max_response_size (%d kB)",
									 vs_max_response_kb);
			info->hint = pstrdup("Raise vectorstore.max_response_size if the response is legitimate.");
		}
		else if (resp->curl_code == CURLE_OPERATION_TIMEDOUT)
		{
			info->sqlstate = ERRCODE_CONNECTION_FAILURE;
			info->message = psprintf("vector store API request timed out after %d attempt%s",
									 resp->attempts, resp->attempts == 1 ? "" : "s");
			info->detail = pstrdup(resp->error);
			info->hint = pstrdup("vectorstore.timeout limits each attempt; vectorstore.connect_timeout the connection.");
		}
		else if (resp->curl_code == CURLE_COULDNT_CONNECT ||
				 resp->curl_code == CURLE_COULDNT_RESOLVE_HOST)
		{
			info->sqlstate = ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
			info->message = psprintf("could not connect to the vector store API after %d attempt%s",
									 resp->attempts, resp->attempts == 1 ? "" : "s");
			info->detail = pstrdup(resp->error);
		}
		else
		{
			info->sqlstate = ERRCODE_CONNECTION_FAILURE;
			info->message = psprintf("vector store API request failed after %d attempt%s",
									 resp->attempts, resp->attempts == 1 ? "" : "s");
			info->detail = pstrdup(resp->error);
		}
		return;
	}

	(void) vs_json_error_fields(resp->body, resp->body_len, &amsg, &atype,
								&acode, &aparam);
	info->detail = amsg ? vs_scrub(amsg, req) : NULL;
	switch (resp->status)
	{
		case 400:
		case 422:
			info->sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
		case 401:
		case 403:
			info->sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
			info->hint = pstrdup("Check the API key of the credential in use (vectorstore.api_key, vectorstore.credential).");
			break;
		case 404:
			info->sqlstate = ERRCODE_UNDEFINED_OBJECT;
			break;
		case 408:
			info->sqlstate = ERRCODE_CONNECTION_FAILURE;
			break;
		case 409:
			info->sqlstate = ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
			break;
		case 413:
			info->sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		case 429:
			info->sqlstate = ERRCODE_INSUFFICIENT_RESOURCES;
			if (acode && strcmp(acode, "insufficient_quota") == 0)
				info->hint = pstrdup("The account's quota is exhausted; retrying will not help.");
			else
				info->hint = pstrdup("The API is rate limiting requests; raise vectorstore.max_retries or retry later.");
			break;
		default:
			if (resp->status >= 500)
				info->sqlstate = ERRCODE_SYSTEM_ERROR;
			else
				info->sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
	}
	info->message = psprintf("vector store API returned HTTP %ld%s%s%s%s after %d attempt%s",
							  resp->status,
							  atype ? " (" : "", atype ? atype : "",
							  acode ? (atype ? ", " : " (") : "",
							  acode ? acode : "",
							  resp->attempts, resp->attempts == 1 ? "" : "s");
	if (atype || acode)
	{
		/* close the parenthesis opened above */
		char	   *pos = strstr(info->message, " after ");

		if (pos)
		{
			StringInfoData b;

			initStringInfo(&b);
			appendBinaryStringInfo(&b, info->message, pos - info->message);
			appendStringInfoChar(&b, ')');
			appendStringInfoString(&b, pos);
			info->message = b.data;
		}
	}
	if (aparam && info->detail)
		info->detail = psprintf("%s (param: %s)", info->detail, aparam);
}

void
vs_report_error(const VsRequest *req, const VsResponse *resp)
{
	VsErrorInfo info;

	char	   *context;

	vs_diagnose(req, resp, &info);
	context = resp->request_id[0]
		? psprintf("%s %s (x-request-id %s)", req->method, req->path, resp->request_id)
		: psprintf("%s %s", req->method, req->path);
	ereport(ERROR,
			(errcode(info.sqlstate),
			 errmsg_internal("%s", info.message),
			 info.detail ? errdetail_internal("%s", info.detail) : 0,
			 info.hint ? errhint("%s", info.hint) : 0,
			 errcontext("vectorstore request: %s", context)));
}

char *
vs_describe_error(const VsRequest *req, const VsResponse *resp)
{
	VsErrorInfo info;

	vs_diagnose(req, resp, &info);
	return psprintf("%s%s%s [%s %s]", info.message,
					info.detail ? ": " : "", info.detail ? info.detail : "",
					req->method, req->path);
}

/* ---------------------------------------------------------------------
 * Convenience wrappers returning parsed JSON
 * ---------------------------------------------------------------------
 */
cJSON *
vs_api_call(const VsRequest *req)
{
	VsResponse *resp = vs_http_execute(req);

	return vs_json_parse_response(req, resp);
}

cJSON *
vs_api_get(const char *path, const char *query, bool beta)
{
	VsRequest	req = {0};

	req.method = "GET";
	req.path = path;
	req.query = query;
	req.beta = beta;
	return vs_api_call(&req);
}

cJSON *
vs_api_post(const char *path, const cJSON *body, bool beta)
{
	VsRequest	req = {0};

	req.method = "POST";
	req.path = path;
	req.body = body ? vs_json_print(body) : NULL;
	req.beta = beta;
	return vs_api_call(&req);
}

cJSON *
vs_api_delete(const char *path, bool beta)
{
	VsRequest	req = {0};

	req.method = "DELETE";
	req.path = path;
	req.beta = beta;
	return vs_api_call(&req);
}

/* Follow has_more/after through every page of a list endpoint. */
void
vs_api_list_all(const char *path, const char *query, bool beta,
				VsListCallback cb, void *arg)
{
	char	   *after = NULL;
	MemoryContext pagecxt = AllocSetContextCreate(CurrentMemoryContext,
												  "vectorstore list page",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt = CurrentMemoryContext;

	for (;;)
	{
		StringInfoData q;
		cJSON	   *page;
		const cJSON *data;
		const cJSON *more;
		const cJSON *item;
		const char *last = NULL;

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(pagecxt);
		initStringInfo(&q);
		if (query && query[0] && after == NULL)
			appendStringInfoString(&q, query);
		else if (query && query[0])
		{
			/* later pages: the caller's parameters, but our own cursor */
			char	   *copy = pstrdup(query);
			char	   *save = NULL;

			for (char *p = strtok_r(copy, "&", &save); p; p = strtok_r(NULL, "&", &save))
			{
				if (strncmp(p, "after=", 6) == 0)
					continue;
				if (q.len > 0)
					appendStringInfoChar(&q, '&');
				appendStringInfoString(&q, p);
			}
		}
		if (after)
			vs_query_add(&q, "after", after);
		page = vs_api_get(path, q.data, beta);
		data = cJSON_GetObjectItemCaseSensitive(page, "data");
		if (!cJSON_IsArray(data))
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("invalid response from the vector store API"),
					 errdetail("Field \"data\" of a list must be an array."),
					 errcontext("vectorstore request: GET %s", path)));
		/* callbacks run in the page context too: they copy what they keep */
		cJSON_ArrayForEach(item, data)
		{
			if (!cJSON_IsObject(item))
				ereport(ERROR,
						(errcode(ERRCODE_PROTOCOL_VIOLATION),
						 errmsg("invalid response from the vector store API"),
						 errdetail("Items of a list must be objects.")));
			cb((cJSON *) item, arg);
			last = vs_json_get_string(item, "id");
		}
		more = cJSON_GetObjectItemCaseSensitive(page, "has_more");
		if (!cJSON_IsTrue(more) || last == NULL)
			break;
		if (after && strcmp(after, last) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("invalid response from the vector store API"),
					 errdetail("The list did not advance past \"%s\".", last)));
		if (after)
			pfree(after);
		after = MemoryContextStrdup(oldcxt, last);
		MemoryContextReset(pagecxt);
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(pagecxt);
}
