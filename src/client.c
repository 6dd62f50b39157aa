/*-------------------------------------------------------------------------
 *
 * client.c
 *	  Requests to the API, over the transport (transport.c): the URL, the
 *	  headers and the body of each request from its credential and options;
 *	  the SDKs' retries (the decision is outcome.c's); the per-statement
 *	  request cap; and the one error reporter.
 *
 * What goes on the wire
 * ---------------------
 * URL: the credential's base URL (checked by vs_base_url_problem), the path
 * (built with vs_path, so an id is always one escaped segment), then the
 * request's own query, the credential's query (Azure's api-version) and
 * the caller's extra_query. Headers: the credential's authentication
 * (Authorization: Bearer, api-key, or none), OpenAI-Organization and
 * OpenAI-Project, the credential's default headers, the API's flags, and
 * the caller's extra_headers (replacing a default of the same name). Every
 * value that becomes a header is refused if it holds a control character
 * (CR or LF would split the request), whatever its source; headers that
 * carry credentials, identity or framing are refused from callers
 * (vs_header_forbidden). Bodies: JSON with the caller's extra_body merged
 * at the top level, or multipart/form-data with extra_body as more fields.
 * A request that cannot be built is an error before anything is sent (an
 * ERROR from vs_http_execute, a response marked invalid from the _many
 * variants, so that one bad job never stops the worker).
 *
 * Secrets
 * -------
 * Every string that comes back from a server — the error body's message,
 * type, code and param, x-request-id, transport error texts — is scrubbed
 * of every secret the request carried (the key, the credential's header
 * and query values) before it reaches an error, a detail, a context or a
 * row (vs_scrub).
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"
#include "transport.h"
#include "vs_worker.h"

#include "access/xact.h"
#include "common/pg_prng.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

bool		vs_request_cap_enabled = true;
int			vs_request_timeout_cap_ms = 0;

/* ---------------------------------------------------------------------
 * Paths and query strings
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

#define VS_MAX_ID_BYTES 256

/* Why seg cannot be a path segment (a sentence), or NULL. */
static const char *
vs_segment_problem(const char *seg)
{
	if (seg == NULL || seg[0] == '\0' || strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0)
		return "An id must not be empty, \".\" or \"..\".";
	/*
	 * "/" is escaped as %2F, but many servers and proxies decode it before
	 * routing (the emulator does), so "vs_1/files" would reach another
	 * endpoint; some treat "\" as "/". No API id contains either.
	 */
	if (strchr(seg, '/') != NULL || strchr(seg, '\\') != NULL)
		return "An id must not contain \"/\" or \"\\\".";
	/* the API's ids are short; a long one is escaped into every path it names */
	if (strlen(seg) > VS_MAX_ID_BYTES)
		return "An id must not be longer than 256 bytes.";
	return NULL;
}

/* Build a path; on a bad segment return NULL with it (cut to 64 bytes) and why. */
static char *
vs_vpath(const char **bad, const char **why, const char *fmt, va_list ap)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const char *p = fmt; *p; p++)
	{
		if (p[0] == '%' && p[1] == 's')
		{
			const char *seg = va_arg(ap, const char *);

			if ((*why = vs_segment_problem(seg)) != NULL)
			{
				*bad = seg == NULL ? "" : strlen(seg) <= 64 ? seg
					: psprintf("%.*s...", pg_mbcliplen(seg, strlen(seg), 64), seg);
				return NULL;
			}
			vs_append_escaped(&buf, pg_server_to_any(seg, strlen(seg), PG_UTF8));
			p++;
		}
		else
			appendStringInfoChar(&buf, *p);
	}
	return buf.data;
}

/* See vectorstore.h: every %s is one escaped path segment. */
char *
vs_path(const char *fmt,...)
{
	va_list		ap;
	const char *bad;
	const char *why;
	char	   *path;

	va_start(ap, fmt);
	path = vs_vpath(&bad, &why, fmt, ap);
	va_end(ap);
	if (path == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid object id \"%s\"", bad),
				 errdetail_internal("%s", why)));
	return path;
}

char *
vs_path_try(char **err, const char *fmt,...)
{
	va_list		ap;
	const char *bad;
	const char *why;
	char	   *path;

	va_start(ap, fmt);
	path = vs_vpath(&bad, &why, fmt, ap);
	va_end(ap);
	*err = path ? NULL : psprintf("invalid object id \"%s\": %s", bad, why);
	return path;
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

/* Does query string q (name=value&...) set parameter name? */
static bool
vs_query_has(const char *q, const char *name)
{
	size_t		n = strlen(name);

	for (const char *p = q; p && *p;)
	{
		if (strncmp(p, name, n) == 0 && (p[n] == '=' || p[n] == '&' || p[n] == '\0'))
			return true;
		p = strchr(p, '&');
		if (p)
			p++;
	}
	return false;
}

/* ---------------------------------------------------------------------
 * Headers: the one check of every value, the one list of forbidden names
 * ---------------------------------------------------------------------
 */

/* Why a header value cannot be sent (control characters), or NULL. */
char *
vs_header_value_problem(const char *what, const char *value)
{
	for (const unsigned char *p = (const unsigned char *) value; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return psprintf("%s must not contain control characters (such as CR or LF)", what);
	return NULL;
}

/* Why a name cannot be a header name (an HTTP token), or NULL. */
char *
vs_header_name_problem(const char *name)
{
	if (name[0] == '\0')
		return pstrdup("a header name must not be empty");
	for (const char *p = name; *p; p++)
		if (!(isalnum((unsigned char) *p) || strchr("!#$%&'*+-.^_`|~", *p)))
		{
			StringInfoData shown;

			/* the name is shown with its control characters escaped */
			initStringInfo(&shown);
			for (const unsigned char *c = (const unsigned char *) name; *c; c++)
			{
				if (*c < 0x20 || *c == 0x7f)
					appendStringInfo(&shown, "\\x%02X", *c);
				else
					appendStringInfoChar(&shown, (char) *c);
			}
			return psprintf("header name \"%s\" is not a valid HTTP token", shown.data);
		}
	return NULL;
}

/*
 * Headers a caller may not set: they carry credentials or identity (a role
 * granted a credential must not bill it to another project), or framing and
 * routing that the transport owns.
 */
bool
vs_header_forbidden(const char *name)
{
	static const char *const forbidden[] = {
		"authorization", "api-key", "openai-organization", "openai-project",
		"cookie", "host", "content-length", "transfer-encoding", "connection",
		"keep-alive", "te", "trailer", "upgrade", "expect", "content-type",
		"x-http-method-override", "x-http-method", "x-method-override",
		"x-original-url", "x-rewrite-url", "forwarded", NULL
	};

	if (pg_strncasecmp(name, "proxy-", 6) == 0 ||
		pg_strncasecmp(name, "x-forwarded-", 12) == 0)
		return true;
	for (int i = 0; forbidden[i]; i++)
		if (pg_strcasecmp(name, forbidden[i]) == 0)
			return true;
	return false;
}

/* Why an extra header cannot be sent, or NULL (api.c checks options with it). */
char *
vs_extra_header_problem(const char *name, const char *value)
{
	char	   *why = vs_header_name_problem(name);

	if (why)
		return why;
	if (vs_header_forbidden(name))
		return psprintf("header \"%s\" cannot be set in request_options", name);
	return vs_header_value_problem(psprintf("header \"%s\"", name), value);
}

/*
 * Default headers of a credential (vectorstore.headers, or a named
 * credential's headers): HTTP tokens, none of the headers a caller may not
 * set (the key goes through auth, identity through organization and
 * project), no control characters, no name twice, at most VS_MAX_PAIRS (so
 * the check for a name given twice, pair by pair, stays small). Never names
 * a value.
 */
char *
vs_credential_headers_problem(const VsHeader *h, int n)
{
	if (n > VS_MAX_PAIRS)
		return psprintf("%d headers are given; at most %d are allowed", n, VS_MAX_PAIRS);
	for (int i = 0; i < n; i++)
	{
		char	   *why;

		if ((why = vs_header_name_problem(h[i].name)) != NULL)
			return why;
		if (vs_header_forbidden(h[i].name))
			return psprintf("header \"%s\" cannot be a default header (the key is sent by auth, identity by organization and project, and the transport sets framing headers)",
							h[i].name);
		if ((why = vs_header_value_problem(psprintf("the value of header \"%s\"", h[i].name),
										   h[i].value)) != NULL)
			return why;
		if (strlen(h[i].value) > 8192)
			return psprintf("the value of header \"%s\" is longer than 8192 bytes", h[i].name);
		for (int j = 0; j < i; j++)
			if (pg_strcasecmp(h[i].name, h[j].name) == 0)
				return psprintf("header \"%s\" is given twice", h[i].name);
	}
	return NULL;
}

/* Default query parameters of a credential (Azure's api-version). */
char *
vs_credential_query_problem(const VsHeader *q, int n)
{
	if (n > VS_MAX_PAIRS)
		return psprintf("%d query parameters are given; at most %d are allowed", n, VS_MAX_PAIRS);
	for (int i = 0; i < n; i++)
	{
		char	   *why;

		if (q[i].name[0] == '\0')
			return pstrdup("a query parameter name must not be empty");
		if ((why = vs_header_value_problem(psprintf("query parameter \"%s\"", q[i].name),
										   q[i].value)) != NULL)
			return why;
		for (int j = 0; j < i; j++)
			if (strcmp(q[i].name, q[j].name) == 0)
				return psprintf("query parameter \"%s\" is given twice", q[i].name);
	}
	return NULL;
}

typedef struct VsHeaderList
{
	List	   *names;
	List	   *values;
} VsHeaderList;

/* Set a header, replacing one of the same name. */
static void
vs_headers_set(VsHeaderList *h, const char *name, const char *value)
{
	ListCell   *a,
			   *b;

	forboth(a, h->names, b, h->values)
	{
		if (pg_strcasecmp(lfirst(a), name) == 0)
		{
			lfirst(b) = (void *) value;
			return;
		}
	}
	h->names = lappend(h->names, (void *) name);
	h->values = lappend(h->values, (void *) value);
}

/*
 * "Name: value"; "Name;" for an empty value (libcurl sends it empty) and
 * "Name:" for NULL (libcurl sends no such header). Concatenated, not
 * formatted: every request builds several.
 */
static char *
vs_header_line(const char *name, const char *value)
{
	size_t		nl = strlen(name);
	size_t		vl = value ? strlen(value) : 0;
	char	   *line = palloc(nl + vl + 3);
	char	   *p = line;

	/* libcurl: "Name:" removes a header, "Name;" sends it empty */
	memcpy(p, name, nl);
	p += nl;
	if (value == NULL)
		*p++ = ':';
	else if (vl == 0)
		*p++ = ';';
	else
	{
		*p++ = ':';
		*p++ = ' ';
		memcpy(p, value, vl);
		p += vl;
	}
	*p = '\0';
	return line;
}

/* ---------------------------------------------------------------------
 * Bodies
 * ---------------------------------------------------------------------
 */

/* The request's JSON body with extra_body merged at the top level. */
static char *
vs_json_body(const VsRequest *req, char **err)
{
	const cJSON *base = req->json;
	const cJSON *extra = req->opts ? req->opts->body : NULL;
	cJSON	   *merged;
	const cJSON *kv;

	*err = NULL;
	if (extra == NULL)
		return base ? vs_json_print(base) : (req->body ? pstrdup(req->body) : NULL);
	/* a GET or DELETE has no body: extra_body would make one */
	if (base == NULL && req->body == NULL &&
		(strcmp(req->method, "GET") == 0 || strcmp(req->method, "DELETE") == 0))
	{
		*err = psprintf("extra_body cannot be sent with a %s request, which has no body",
						req->method);
		return NULL;
	}
	if (base == NULL && req->body)
	{
		base = vs_json_parse_text(req->body, strlen(req->body) + 1, NULL);
		if (!cJSON_IsObject(base))
		{
			*err = pstrdup("extra_body cannot be merged into a body that is not a JSON object");
			return NULL;
		}
	}
	merged = vs_json_new_object();
	if (base)
	{
		cJSON_ArrayForEach(kv, base)
		{
			if (cJSON_GetObjectItemCaseSensitive(extra, kv->string))
			{
				*err = psprintf("extra_body sets \"%s\", which the function sets itself; use its argument",
								kv->string);
				return NULL;
			}
			vs_json_add_ref(merged, kv->string, (cJSON *) kv);
		}
	}
	cJSON_ArrayForEach(kv, extra)
		vs_json_add_ref(merged, kv->string, (cJSON *) kv);
	return vs_json_print(merged);
}

/* Form fields of an extra_body value: nested objects in bracket notation. */
static void
vs_form_fields(List **names, List **values, const char *name, const cJSON *v, size_t *room)
{
	char	   *value;
	size_t		len;

	if (cJSON_IsObject(v))
	{
		const cJSON *kv;

		cJSON_ArrayForEach(kv, v)
		{
			/*
			 * each level repeats its whole path: a name is counted before it
			 * is made, whether it ends in a value or in an object (empty
			 * ones too: 217), and stays counted
			 */
			len = strlen(name) + strlen(kv->string) + 2;
			if (len >= *room)
			{
				*room = 0;
				return;
			}
			*room -= len;
			vs_form_fields(names, values, psprintf("%s[%s]", name, kv->string), kv, room);
			if (*room == 0)
				return;
		}
		return;
	}
	value = cJSON_IsString(v) ? pstrdup(v->valuestring) : vs_json_print(v);
	len = strlen(name) + strlen(value) + 64;	/* and the part's own lines */
	if (len > *room)
	{
		*room = 0;
		return;
	}
	*room -= len;
	*names = lappend(*names, (void *) name);
	*values = lappend(*values, value);
}

/*
 * A multipart/form-data body; the boundary never occurs in the data. The
 * form fields extra_body adds are bounded (VS_MAX_FORM_FIELDS_BYTES, names
 * and values: a leaf's name repeats its whole path, so a small object can
 * name gigabytes), and so is the whole body, which is one allocation.
 */
#define VS_MAX_FORM_FIELDS_BYTES (1024 * 1024)
static bool
vs_multipart_body(const VsRequest *req, StringInfo b, char **content_type, char **err)
{
	char		boundary[64];
	List	   *xnames = NIL,
			   *xvalues = NIL;
	ListCell   *a,
			   *c;
	size_t		room = VS_MAX_FORM_FIELDS_BYTES;
	size_t		total = 0;

	*err = NULL;
	if (req->opts && req->opts->body)
	{
		const cJSON *kv;

		cJSON_ArrayForEach(kv, req->opts->body)
		{
			size_t		klen = strlen(kv->string);

			/* "expires_after" also sets "expires_after[anchor]" and the like */
			for (int i = 0; i < req->nparts; i++)
				if (strncmp(req->parts[i].name, kv->string, klen) == 0 &&
					(req->parts[i].name[klen] == '\0' || req->parts[i].name[klen] == '['))
				{
					*err = psprintf("extra_body sets form field \"%s\", which the function sets itself",
									kv->string);
					return false;
				}
			vs_form_fields(&xnames, &xvalues, kv->string, kv, &room);
			if (room == 0)
			{
				*err = psprintf("extra_body's form fields exceed %d kB, names and values together",
								VS_MAX_FORM_FIELDS_BYTES / 1024);
				return false;
			}
		}
	}
	/* the body is one allocation: say so rather than fail building it */
	for (int i = 0; i < req->nparts; i++)
		total += req->parts[i].len + strlen(req->parts[i].name) +
			(req->parts[i].filename ? strlen(req->parts[i].filename) : 0) + 256;
	total += VS_MAX_FORM_FIELDS_BYTES - room;
	if (total >= MaxAllocSize)
	{
		*err = psprintf("the request's body (about %zu MB) is larger than a request may be (1 GB)",
						total / (1024 * 1024));
		return false;
	}
	for (;;)
	{
		bool		clash = false;

		snprintf(boundary, sizeof(boundary), "vectorstore-%016llx%08x",
				 (unsigned long long) pg_prng_uint64(&pg_global_prng_state),
				 (unsigned) MyProcPid);
		for (int i = 0; i < req->nparts && !clash; i++)
			clash = memmem(req->parts[i].data, req->parts[i].len,
						   boundary, strlen(boundary)) != NULL;
		forboth(a, xnames, c, xvalues)
			clash |= strstr(lfirst(c), boundary) != NULL;
		if (!clash)
			break;
	}
	for (int i = 0; i < req->nparts + list_length(xnames); i++)
	{
		VsMimePart	extra = {0};
		const VsMimePart *p;

		if (i < req->nparts)
			p = &req->parts[i];
		else
		{
			extra.name = list_nth(xnames, i - req->nparts);
			extra.data = list_nth(xvalues, i - req->nparts);
			extra.len = strlen(extra.data);
			p = &extra;
		}
		appendStringInfo(b, "--%s\r\nContent-Disposition: form-data; name=\"", boundary);
		/* quotes, backslashes and line breaks cannot appear raw here */
		for (const char *ch = p->name; *ch; ch++)
		{
			if (*ch == '"' || *ch == '\\' || *ch == '\r' || *ch == '\n')
				appendStringInfo(b, "%%%02X", (unsigned char) *ch);
			else
				appendStringInfoChar(b, *ch);
		}
		appendStringInfoChar(b, '"');
		if (p->filename)
		{
			appendStringInfoString(b, "; filename=\"");
			for (const char *ch = p->filename; *ch; ch++)
			{
				if (*ch == '"' || *ch == '\\' || *ch == '\r' || *ch == '\n')
					appendStringInfo(b, "%%%02X", (unsigned char) *ch);
				else
					appendStringInfoChar(b, *ch);
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
	*content_type = psprintf("multipart/form-data; boundary=%s", boundary);
	return true;
}

/* ---------------------------------------------------------------------
 * Building a request
 * ---------------------------------------------------------------------
 */

/*
 * Turn req (with its resolved credential) into what goes on the wire.
 * Returns false and *err when it cannot be sent. Raises only when out of
 * memory.
 */
static bool
vs_wire_build(const VsRequest *req, const VsCredential *cred, VsWire *w, char **err)
{
	const VsRequestOptions *o = req->opts;
	StringInfoData url;
	StringInfoData q;
	VsHeaderList h = {NIL, NIL};
	const char **lines;
	ListCell   *a,
			   *b;
	size_t		blen;
	char	   *body = NULL;
	size_t		body_len = 0;
	char	   *content_type = NULL;
	char	   *bearer = NULL;
	int			k;
	VsUrlTarget target;

	memset(w, 0, sizeof(*w));
	if (cred->problem)
	{
		*err = pstrdup(cred->problem);
		return false;
	}
	if ((*err = vs_base_url_target(cred->base_url, &target)) != NULL)
		return false;

	/* query: the request's, the credential's, the caller's */
	initStringInfo(&q);
	if (req->query && req->query[0])
		appendStringInfoString(&q, req->query);
	for (int i = 0; i < cred->nquery; i++)
		vs_query_add(&q, cred->query[i].name, cred->query[i].value);
	for (int i = 0; o && i < o->nquery; i++)
	{
		for (int j = 0; j < cred->nquery; j++)
			if (strcmp(o->query[i].name, cred->query[j].name) == 0)
			{
				*err = psprintf("extra_query parameter \"%s\" is set by the credential",
								o->query[i].name);
				return false;
			}
		if (req->query && vs_query_has(req->query, o->query[i].name))
		{
			*err = psprintf("extra_query parameter \"%s\" is set by the function; use its argument",
							o->query[i].name);
			return false;
		}
		vs_query_add(&q, o->query[i].name, o->query[i].value);
	}
	initStringInfo(&url);
	blen = strlen(cred->base_url);
	while (blen > 0 && cred->base_url[blen - 1] == '/')
		blen--;
	appendBinaryStringInfo(&url, cred->base_url, (int) blen);
	appendStringInfoString(&url, req->path);
	if (q.len > 0)
	{
		appendStringInfoChar(&url, '?');
		appendStringInfoString(&url, q.data);
	}

	/* body */
	if (req->parts)
	{
		StringInfoData mb;

		initStringInfo(&mb);
		if (!vs_multipart_body(req, &mb, &content_type, err))
			return false;
		body = mb.data;
		body_len = mb.len;
	}
	else
	{
		body = vs_json_body(req, err);
		if (*err)
			return false;
		if (body)
		{
			body_len = strlen(body);
			content_type = "application/json";
		}
	}

	/* headers: credential first, caller's last */
	if (cred->api_key && cred->api_key[0] && cred->auth != VS_AUTH_NONE)
	{
		vs_secret_remember(cred->api_key);
		if ((*err = vs_header_value_problem("the API key", cred->api_key)) != NULL)
			return false;
		if (cred->auth == VS_AUTH_API_KEY)
			vs_headers_set(&h, "api-key", cred->api_key);
		else
			vs_headers_set(&h, "Authorization", bearer = psprintf("Bearer %s", cred->api_key));
	}
	if (cred->organization && cred->organization[0])
	{
		if ((*err = vs_header_value_problem("organization", cred->organization)) != NULL)
			return false;
		vs_headers_set(&h, "OpenAI-Organization", cred->organization);
	}
	if (cred->project && cred->project[0])
	{
		if ((*err = vs_header_value_problem("project", cred->project)) != NULL)
			return false;
		vs_headers_set(&h, "OpenAI-Project", cred->project);
	}
	for (int i = 0; i < cred->nheaders; i++)
	{
		if ((*err = vs_header_name_problem(cred->headers[i].name)) != NULL ||
			(*err = vs_header_value_problem(psprintf("credential header \"%s\"", cred->headers[i].name),
											cred->headers[i].value)) != NULL)
			return false;
		vs_secret_remember(cred->headers[i].value);
		vs_headers_set(&h, cred->headers[i].name, cred->headers[i].value);
	}
	if (req->beta)
		vs_headers_set(&h, "OpenAI-Beta", "assistants=v2");
	vs_headers_set(&h, "Accept", req->binary ? "application/binary" : "application/json");
	if (req->poll)
		vs_headers_set(&h, "X-Stainless-Poll-Helper", "true");
	vs_headers_set(&h, "Expect", NULL); /* removed: no 100-continue round trip */
	if (content_type)
		vs_headers_set(&h, "Content-Type", content_type);
	for (int i = 0; o && i < o->nheaders; i++)
	{
		if ((*err = vs_extra_header_problem(o->headers[i].name, o->headers[i].value)) != NULL)
			return false;
		vs_headers_set(&h, o->headers[i].name, o->headers[i].value);
	}
	lines = palloc(sizeof(char *) * Max(list_length(h.names), 1));
	k = 0;
	forboth(a, h.names, b, h.values)
		lines[k++] = vs_header_line(lfirst(a), lfirst(b));
	if (bearer)
		explicit_bzero(bearer, strlen(bearer));

	w->method = req->method;
	w->url = url.data;
	w->headers = lines;
	w->nheaders = k;
	w->body = body;
	w->body_len = body_len;
	w->no_proxy = target.no_proxy;
	w->resolve = target.resolve;
	w->timeout_ms = (o && o->timeout_ms >= 0) ? o->timeout_ms : vs_request_timeout_ms;
	/* the worker bounds every request, whatever a job's options ask */
	if (vs_request_timeout_cap_ms > 0 && (w->timeout_ms <= 0 || w->timeout_ms > vs_request_timeout_cap_ms))
		w->timeout_ms = vs_request_timeout_cap_ms;
	w->connect_timeout_ms = Min((long) vs_connect_timeout_ms, w->timeout_ms);
	return true;
}

/* ---------------------------------------------------------------------
 * The per-statement request cap
 * ---------------------------------------------------------------------
 */
/*
 * A statement is what the client sent: its start timestamp is set once per
 * client message and stays the same across the COMMITs of a DO block or a
 * procedure (which start new transactions: counting per transaction let a
 * loop with COMMIT send without limit, 185_redteam_cap_commit).
 */
static TimestampTz vs_cap_stmt = 0;
static uint64 vs_cap_start = 0;

/* Attempts this statement may still start; -1: no limit. */
static int64
vs_cap_remaining(void)
{
	int64		used;

	if (!vs_request_cap_enabled || vs_max_requests_per_statement <= 0 || MyProc == NULL)
		return -1;
	if (GetCurrentStatementStartTimestamp() != vs_cap_stmt)
	{
		vs_cap_stmt = GetCurrentStatementStartTimestamp();
		vs_cap_start = vs_transport_attempts;
	}
	used = (int64) (vs_transport_attempts - vs_cap_start);
	return Max(vs_max_requests_per_statement - used, 0);
}

static void
vs_cap_raise(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("this statement has sent vectorstore.max_requests_per_statement (%d) requests",
					vs_max_requests_per_statement),
			 errdetail("The limit guards against a query that calls the API once per row of a large table."),
			 errhint("Filter the rows first, or raise vectorstore.max_requests_per_statement for this session.")));
}

/* ---------------------------------------------------------------------
 * Sending
 * ---------------------------------------------------------------------
 */
static void vs_scrub_response(const VsRequest *req, VsResponse *resp);

typedef struct VsSendState
{
	const VsRequest *reqs;		/* the requests the transport sees */
	const VsCredential **creds; /* the credential of each, by caller's index */
	int		   *map;			/* their index in the caller's arrays */
	VsResponse *resps;			/* the caller's responses */
	VsDoneFn	done;
	void	   *done_arg;
	int			nfinished;		/* for progress reports */
	int			n;
	VsPaceRun  *pace;			/* paced (vs_http_execute_paced), else NULL */
	int		   *throttled;		/* paced: 429s each request has had */
} VsSendState;

/*
 * A 429 that says the account's quota is used up (error.code
 * insufficient_quota), not that it goes too fast: waiting will not help.
 */
static bool
vs_quota_exhausted(const VsResponse *resp)
{
	char	   *msg,
			   *type,
			   *code = NULL,
			   *param;

	if (resp->status != 429 || resp->body == NULL)
		return false;
	(void) vs_json_error_fields(resp->body, resp->body_len, &msg, &type, &code, &param, NULL, NULL);
	return code != NULL && strcmp(code, "insufficient_quota") == 0;
}

/*
 * Retry as the SDKs do, with the delay the classifier gives. Paced, a 429
 * that asks us to slow down costs no attempt (at most VS_PACE_MAX_THROTTLES
 * times) and waits at least as long as its credential is held; one that
 * says the quota is used up counts as any failure.
 */
static int
vs_retry_decision(int k, const VsResponse *resp, int retries_done, void *arg)
{
	VsSendState *st = (VsSendState *) arg;
	const VsRequest *req = &st->reqs[k];
	int			max = (req->opts && req->opts->max_retries >= 0) ? req->opts->max_retries
		: vs_max_retries;
	VsOutcome	o;

	if (st->pace)
	{
		int			attempts_retried = retries_done - st->throttled[k];

		o = vs_outcome(req, resp, attempts_retried);
		if (o.kind == VS_OUTCOME_THROTTLE && !vs_quota_exhausted(resp))
		{
			if (st->throttled[k] >= VS_PACE_MAX_THROTTLES)
				return -1;
			st->throttled[k]++;
			return Max(o.delay_ms, vs_pace_run_hold_ms(st->pace, k));
		}
		if (attempts_retried >= max)
			return -1;
		return vs_outcome_retryable(o.kind) ? o.delay_ms : -1;
	}
	if (retries_done >= max)
		return -1;
	o = vs_outcome(req, resp, retries_done);
	return vs_outcome_retryable(o.kind) ? o.delay_ms : -1;
}

/* Paced runs: the pacer admits each attempt and learns from its answer. */
static int
vs_pace_admit_cb(int k, TimestampTz now, void *arg)
{
	return vs_pace_run_admit(((VsSendState *) arg)->pace, k, now);
}

static void
vs_pace_attempt_cb(int k, const VsResponse *resp, TimestampTz now, void *arg)
{
	VsSendState *st = (VsSendState *) arg;
	VsOutcome	o = {VS_OUTCOME_DONE, -1};

	if (resp)
		o = vs_outcome(&st->reqs[k], resp, 0);
	vs_pace_run_attempt(st->pace, k, resp, o.kind, o.delay_ms, now);
}

/* A request finished: give it to the caller under the caller's index. */
static void
vs_send_done(int k, VsResponse *resp, void *arg)
{
	VsSendState *st = (VsSendState *) arg;
	int			i = st->map[k];

	st->resps[i] = *resp;
	st->resps[i].cred = st->creds[i];
	vs_scrub_response(&st->reqs[k], &st->resps[i]);
	st->nfinished++;
	if (st->n > 1)
		vs_progress_requests(st->nfinished, st->n);
	if (st->done)
		st->done(i, &st->resps[i], st->done_arg);
}

/* Wipe the header lines of a run (they held the key). */
static void
vs_wipe_wires(VsTransportRun *run)
{
	for (int i = 0; i < run->n; i++)
		for (int j = 0; j < run->wires[i].nheaders; j++)
			explicit_bzero((char *) run->wires[i].headers[j], strlen(run->wires[i].headers[j]));
}

/* Run the transfers, then wipe the header lines, on ERROR too. */
static void
vs_run_and_wipe(VsTransportRun *run)
{
	PG_TRY();
	{
		vs_transport_run(run);
	}
	PG_CATCH();
	{
		vs_wipe_wires(run);
		PG_RE_THROW();
	}
	PG_END_TRY();
	vs_wipe_wires(run);
}

/*
 * Build every request of a send; one that cannot be built is answered at
 * once. The caller decides n: cancellable, and the header lines built so
 * far (they hold the key) wiped on ERROR. wires comes zeroed.
 */
static void
vs_build_wires_loop(const VsRequest *reqs, VsResponse *resps, int n,
					const VsCredential **creds, VsWire *wires, VsRequest *sreqs,
					const VsCredential **wcreds, int *map, int *nw,
					VsDoneFn done, void *arg)
{
	for (int i = 0; i < n; i++)
	{
		const VsCredential *cred = reqs[i].cred ? reqs[i].cred : vs_credential_current();
		char	   *err;

		CHECK_FOR_INTERRUPTS();

		/*
		 * A session's right to the credential, again now (a revoke since a
		 * cursor or a search table resolved it); the worker checks its
		 * roles' authority each pass itself and must not fail a whole step.
		 */
		if (!vs_am_worker && (i == 0 || cred != creds[i - 1]))
			vs_credential_recheck(cred);
		memset(&resps[i], 0, sizeof(VsResponse));
		resps[i].poll_after_ms = resps[i].retry_after_ms = resps[i].should_retry = -1;
		resps[i].cred = creds[i] = cred;
		if (vs_wire_build(&reqs[i], cred, &wires[*nw], &err))
		{
			sreqs[*nw] = reqs[i];
			if (wcreds)
				wcreds[*nw] = cred;
			map[(*nw)++] = i;
		}
		else
		{
			resps[i].invalid = true;
			strlcpy(resps[i].error, err, sizeof(resps[i].error));
			resps[i].body = pstrdup("");
			if (done)
				done(i, &resps[i], arg);
		}
	}
}

static void
vs_build_wires(const VsRequest *reqs, VsResponse *resps, int n,
			   const VsCredential **creds, VsWire *wires, VsRequest *sreqs,
			   const VsCredential **wcreds, int *map, int *nw,
			   VsDoneFn done, void *arg)
{
	PG_TRY();
	{
		vs_build_wires_loop(reqs, resps, n, creds, wires, sreqs, wcreds, map, nw, done, arg);
	}
	PG_CATCH();
	{
		VsTransportRun built = {0};

		built.wires = wires;
		built.n = n;
		vs_wipe_wires(&built);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

static void
vs_http_send(const VsRequest *reqs, VsResponse *resps, int n, int concurrency,
			 bool retry, bool paced, VsDoneFn done, void *arg, VsBudget *budget)
{
	VsWire	   *wires;
	const VsCredential **creds;
	const VsCredential **wcreds = NULL;	/* paced: by the transport's index */
	VsResponse *wresps;
	VsRequest  *sreqs;
	int		   *map;
	int			nw = 0;
	VsTransportRun run = {0};
	VsSendState st;
	VsBudget	local = {0};
	bool		capped = false;

	if (n <= 0)
		return;
	wires = palloc0(sizeof(VsWire) * n);
	creds = palloc0(sizeof(VsCredential *) * n);
	wresps = palloc0(sizeof(VsResponse) * n);
	sreqs = palloc0(sizeof(VsRequest) * n);
	map = palloc(sizeof(int) * n);
	if (paced)
		wcreds = palloc(sizeof(VsCredential *) * n);

	vs_build_wires(reqs, resps, n, creds, wires, sreqs, wcreds, map, &nw, done, arg);

	/* the call's budget of response bytes held at once */
	if (budget == NULL)
	{
		local.cap = (size_t) vs_max_response_kb * 1024;
		budget = &local;
	}
	st.reqs = sreqs;
	st.creds = creds;
	st.map = map;
	st.resps = resps;
	st.done = done;
	st.done_arg = arg;
	st.nfinished = n - nw;		/* the invalid ones are done */
	st.n = n;
	st.pace = NULL;
	st.throttled = NULL;
	if (paced)
	{
		st.pace = vs_pace_run_begin(wcreds, nw, concurrency);
		st.throttled = palloc0(sizeof(int) * Max(nw, 1));
		run.admit = vs_pace_admit_cb;
		run.attempt = vs_pace_attempt_cb;
		run.pace_arg = &st;
		concurrency = VS_MAX_CONCURRENCY;	/* the pacer decides, up to its ceiling */
	}
	run.wires = wires;
	run.resps = wresps;
	run.n = nw;
	run.concurrency = concurrency;
	run.retry = retry ? vs_retry_decision : NULL;
	run.retry_arg = &st;
	run.done = vs_send_done;
	run.done_arg = &st;
	run.budget = budget;
	run.max_attempts = vs_cap_remaining();
	vs_run_and_wipe(&run);

	for (int i = 0; i < n; i++)
	{
		capped |= resps[i].cap_reached;
		/* a budget on this stack frame ends here: stop counting against it */
		if (resps[i].budget == &local)
			resps[i].budget = NULL;
	}
	if (capped)
		vs_cap_raise();
}

void
vs_http_execute_each(const VsRequest *reqs, VsResponse *resps, int n, int concurrency,
					 bool retry, VsDoneFn done, void *arg, VsBudget *budget)
{
	vs_http_send(reqs, resps, n, concurrency, retry, false, done, arg, budget);
}

void
vs_http_execute_paced(const VsRequest *reqs, VsResponse *resps, int n, int max_concurrency,
					  VsDoneFn done, void *arg, VsBudget *budget)
{
	vs_http_send(reqs, resps, n, max_concurrency, true, true, done, arg, budget);
}

void
vs_http_execute_many(const VsRequest *reqs, VsResponse *resps, int n, int concurrency,
					 bool retry)
{
	vs_http_execute_each(reqs, resps, n, concurrency, retry, NULL, NULL, NULL);
}

VsResponse *
vs_http_execute(const VsRequest *req)
{
	VsResponse *resp = palloc0(sizeof(VsResponse));

	vs_http_execute_each(req, resp, 1, 1, true, NULL, NULL, NULL);
	if (resp->invalid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg_internal("%s", resp->error),
				 errcontext("vectorstore request: %s %s", req->method, req->path)));
	if (!VS_HTTP_OK(resp))
		vs_report_error(req, resp);
	return resp;
}

/* ---------------------------------------------------------------------
 * Error reporting: the one place
 * ---------------------------------------------------------------------
 */

/* Secrets shorter than this are not looked for (they would redact words). */
#define VS_SCRUB_MIN 4

/* Replace every occurrence of secret in buf[0..*len) by "[redacted]". */
static char *
vs_scrub_bytes(char *buf, size_t *len, const char *secret)
{
	size_t		slen;
	const char *hit;

	if (buf == NULL || secret == NULL || (slen = strlen(secret)) < VS_SCRUB_MIN)
		return buf;
	while ((hit = memmem(buf, *len, secret, slen)) != NULL)
	{
		StringInfoData b;

		initStringInfo(&b);
		appendBinaryStringInfo(&b, buf, hit - buf);
		appendStringInfoString(&b, "[redacted]");
		appendBinaryStringInfo(&b, hit + slen, *len - (hit - buf) - slen);
		buf = b.data;
		*len = b.len;
	}
	return buf;
}

/* secret percent-encoded (as in a URL a server echoes), or NULL if the same */
static char *
vs_percent_encoded(const char *secret)
{
	StringInfoData b;

	initStringInfo(&b);
	vs_append_escaped(&b, secret);
	if (strcmp(b.data, secret) == 0)
		return NULL;
	return b.data;
}

/*
 * Scrub one secret from a NUL-terminated string: every occurrence, and its
 * percent-encoded form. Nothing less than the whole secret is looked for:
 * a caller controls the end of many strings a server echoes ("No such File
 * object: <id>"), so redacting a start of a secret would tell the caller,
 * one character at a time, whether a guess was right (red team, rounds
 * three and four: also when half the secret is known). Our own cuts come
 * after scrubbing (bodies before excerpts, error fields whole before they
 * are cut), so they cannot split a secret; a server that cuts its own echo
 * of a key leaks the part before its cut (threat model).
 */
static char *
vs_scrub_one(char *msg, const char *secret)
{
	size_t		len;
	char	   *enc;

	if (msg == NULL || secret == NULL || strlen(secret) < VS_SCRUB_MIN)
		return msg;
	len = strlen(msg);
	msg = vs_scrub_bytes(msg, &len, secret);
	if ((enc = vs_percent_encoded(secret)) != NULL)
		msg = vs_scrub_bytes(msg, &len, enc);
	msg[len] = '\0';
	return msg;
}

/* The credential a response was sent with (the one to scrub for). */
static const VsCredential *
vs_scrub_cred(const VsRequest *req, const VsResponse *resp)
{
	if (resp && resp->cred)
		return resp->cred;
	if (req->cred)
		return req->cred;
	return vs_credential_current();
}

/*
 * Scrub a string that came from a server of every secret the request
 * carried: the key and the credential's header and query values.
 */
static char *
vs_scrub(char *msg, const VsRequest *req, const VsResponse *resp)
{
	const VsCredential *cred;

	if (msg == NULL)
		return NULL;
	cred = vs_scrub_cred(req, resp);
	if (cred == NULL)
		return msg;
	msg = vs_scrub_one(msg, cred->api_key);
	for (int i = 0; i < cred->nheaders; i++)
		msg = vs_scrub_one(msg, cred->headers[i].value);
	for (int i = 0; i < cred->nquery; i++)
		msg = vs_scrub_one(msg, cred->query[i].value);
	return msg;
}

/*
 * The body of an error response with every secret replaced, before any of
 * it is parsed or cut into excerpts (a cut could split a secret).
 */
static char *
vs_scrub_body(const VsRequest *req, const VsResponse *resp, size_t *len)
{
	const VsCredential *cred = vs_scrub_cred(req, resp);
	char	   *body = resp->body;

	*len = resp->body_len;
	if (body == NULL || cred == NULL)
		return body;
	body = vs_scrub_bytes(body, len, cred->api_key);
	for (int i = 0; i < cred->nheaders; i++)
		body = vs_scrub_bytes(body, len, cred->headers[i].value);
	for (int i = 0; i < cred->nquery; i++)
		body = vs_scrub_bytes(body, len, cred->query[i].value);
	return body;
}

/*
 * Every response body, success or error, is scrubbed of the secrets its
 * request carried before anything reads it: a server that echoes the key
 * inside a 200 (a file's last_error, a batch's message, a search result)
 * must not hand it to a role that may use the key but not read it, through
 * a row, a job's error or vs_upload_many's error column. Only downloads of
 * a file's bytes (Accept: application/binary) are left as they are: they
 * are the user's data, not the server's words.
 */
static void
vs_scrub_response(const VsRequest *req, VsResponse *resp)
{
	char	   *body = resp->body;
	size_t		len;

	if (body == NULL || req->binary)
		return;
	body = vs_scrub_body(req, resp, &len);
	if (body != resp->body)
	{
		pfree(resp->body);
		resp->body = body;
		resp->body_len = len;
	}
}

/* vs_json_error_fields' clean callback: vs_scrub with the request's secrets */
typedef struct VsScrubCtx
{
	const VsRequest *req;
	const VsResponse *resp;
} VsScrubCtx;

static char *
vs_scrub_clean(char *s, void *arg)
{
	VsScrubCtx *sc = (VsScrubCtx *) arg;

	return vs_scrub(s, sc->req, sc->resp);
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
	char	   *body;
	size_t		body_len;
	VsScrubCtx	sc;

	memset(info, 0, sizeof(*info));
	if (resp->status == 0)
	{
		char	   *err = vs_scrub(pstrdup(resp->error), req, resp);

		if (resp->invalid)
		{
			info->sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
			info->message = err;
		}
		else if (resp->too_large)
		{
			info->sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			info->message = psprintf("vector store API response exceeds vectorstore.max_response_size (%d kB)",
									 vs_max_response_kb);
			info->hint = pstrdup("The limit counts every response one call holds at once. Raise vectorstore.max_response_size if the responses are legitimate.");
		}
		else if (resp->cap_reached)
		{
			info->sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			info->message = err;
		}
		else if (resp->curl_code == 28)	/* CURLE_OPERATION_TIMEDOUT */
		{
			info->sqlstate = ERRCODE_CONNECTION_FAILURE;
			info->message = psprintf("vector store API request timed out after %d attempt%s",
									 resp->attempts, resp->attempts == 1 ? "" : "s");
			info->detail = err;
			info->hint = pstrdup("vectorstore.timeout limits each attempt; vectorstore.connect_timeout the connection.");
		}
		else if (resp->curl_code == 7 || resp->curl_code == 6)	/* COULDNT_CONNECT, COULDNT_RESOLVE_HOST */
		{
			info->sqlstate = ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
			info->message = psprintf("could not connect to the vector store API after %d attempt%s",
									 resp->attempts, resp->attempts == 1 ? "" : "s");
			info->detail = err;
		}
		else
		{
			info->sqlstate = ERRCODE_CONNECTION_FAILURE;
			info->message = psprintf("vector store API request failed after %d attempt%s",
									 resp->attempts, resp->attempts == 1 ? "" : "s");
			info->detail = err;
		}
		return;
	}

	body = vs_scrub_body(req, resp, &body_len);
	/* every field scrubbed whole once decoded (a key written with JSON escapes), then cut */
	sc.req = req;
	sc.resp = resp;
	(void) vs_json_error_fields(body, body_len, &amsg, &atype, &acode, &aparam, vs_scrub_clean, &sc);
	info->detail = amsg;
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
	{
		StringInfoData m;

		initStringInfo(&m);
		appendStringInfo(&m, "vector store API returned HTTP %ld", resp->status);
		if (atype || acode)
			appendStringInfo(&m, " (%s%s%s)", atype ? atype : "",
							 (atype && acode) ? ", " : "", acode ? acode : "");
		appendStringInfo(&m, " after %d attempt%s", resp->attempts,
						 resp->attempts == 1 ? "" : "s");
		info->message = m.data;
	}
	if (aparam && info->detail)
		info->detail = psprintf("%s (param: %s)", info->detail, aparam);
}

/* "METHOD PATH (x-request-id ...)", the request id scrubbed. */
static char *
vs_error_context(const VsRequest *req, const VsResponse *resp)
{
	if (resp->request_id[0])
		return psprintf("%s %s (x-request-id %s)", req->method, req->path,
						vs_scrub(pstrdup(resp->request_id), req, resp));
	return psprintf("%s %s", req->method, req->path);
}

void
vs_report_error(const VsRequest *req, const VsResponse *resp)
{
	VsErrorInfo info;
	char	   *context;

	vs_diagnose(req, resp, &info);
	context = vs_error_context(req, resp);
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
	cJSON	   *obj = vs_json_parse_response(req, resp);

	vs_response_release(resp);
	return obj;
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
	req.json = body;
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

/* ---------------------------------------------------------------------
 * Flights: a request sent without waiting (the background worker's)
 * ---------------------------------------------------------------------
 */
typedef struct VsFlightReq
{
	VsWire		wire;
	VsRequest	req;			/* what scrubbing its answer needs: the
								 * credential, and whether it is a download */
	const VsCredential *cred;
	VsDoneFn	done;
	void	   *arg;
} VsFlightReq;

static void
vs_flight_req_done(int i, VsResponse *resp, void *arg)
{
	VsFlightReq *fr = (VsFlightReq *) arg;

	/* the header lines held the key */
	for (int j = 0; j < fr->wire.nheaders; j++)
		explicit_bzero((char *) fr->wire.headers[j], strlen(fr->wire.headers[j]));
	resp->cred = fr->cred;
	/* as every answer of vs_http_send: scrubbed before anyone reads it */
	vs_scrub_response(&fr->req, resp);
	fr->done(i, resp, fr->arg);
}

/*
 * Send req without waiting: done(index, resp, arg) is called from
 * vs_flights_pump() when it ends, or at once when it cannot be built (resp
 * invalid). No retries: the caller's policy decides. Everything is
 * allocated in the current memory context, which must outlive the request.
 */
void *
vs_flight_send(VsFlights *f, const VsRequest *req, VsResponse *resp, const char *group,
			   VsDoneFn done, void *arg, int index)
{
	const VsCredential *cred = req->cred ? req->cred : vs_credential_current();
	VsFlightReq *fr = palloc0(sizeof(VsFlightReq));
	char	   *err;

	MemoryContext cxt = CurrentMemoryContext;
	bool		built;

	memset(resp, 0, sizeof(VsResponse));
	resp->poll_after_ms = resp->retry_after_ms = resp->should_retry = -1;
	resp->cred = cred;
	/*
	 * A request that cannot be built (out of memory, an ERROR in encoding
	 * it) is this request's failure, answered like any invalid one: never
	 * an ERROR in the caller's loop, which drives every other flight too.
	 * (Building touches memory only: nothing to undo but the error.)
	 */
	PG_TRY();
	{
		built = vs_wire_build(req, cred, &fr->wire, &err);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		FlushErrorState();
		err = psprintf("the request could not be built: %s", e->message);
		FreeErrorData(e);
		built = false;
	}
	PG_END_TRY();
	if (!built)
	{
		resp->invalid = true;
		strlcpy(resp->error, err, sizeof(resp->error));
		resp->body = pstrdup("");
		done(index, resp, arg);
		return NULL;
	}
	fr->req.cred = cred;
	fr->req.binary = req->binary;
	fr->cred = cred;
	fr->done = done;
	fr->arg = arg;
	return vs_flights_add(f, &fr->wire, resp, group, vs_flight_req_done, fr, index, CurrentMemoryContext);
}
