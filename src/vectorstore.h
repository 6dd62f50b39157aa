/*-------------------------------------------------------------------------
 *
 * vectorstore.h
 *	  Declarations shared by every module of the vectorstore extension.
 *
 * The extension is split by concern (see STYLE.md):
 *	  vectorstore.c  _PG_init and the settings (GUCs)
 *	  credential.c   which API key / base URL a request uses, and who may use it
 *	  transport.c    every libcurl call: connections, timeouts, cancel, memory
 *	  client.c       requests: URL, headers, bodies, retries, error reporting
 *	  outcome.c      what an HTTP outcome means (the one retry classifier)
 *	  paginate.c     following list pages (the one paginator)
 *	  api.c          the SQL functions' toolkit: arguments, options, rows, polling
 *	  json.c         every cJSON call: owned trees, typed fields, jsonb
 *	  validate.c     request validation done before anything is sent
 *	  strset.c       hash sets of strings for duplicate checks over input of any size
 *	  stores.c, files.c, store_files.c, batches.c, search.c: one API resource each
 *	  worker.c, step.c, jobs.c, reconcile.c, queue.c, sync.c: the background
 *	  worker and the queue (vs_worker.h)
 *
 *-------------------------------------------------------------------------
 */
#ifndef VECTORSTORE_H
#define VECTORSTORE_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include <cjson/cJSON.h>

#define VS_EXTENSION_NAME "vectorstore"
/* VS_VERSION is passed by the Makefile (-DVS_VERSION=...) from EXTVERSION */
#ifndef VS_VERSION
#error "VS_VERSION must be defined by the build"
#endif

/* ---------------------------------------------------------------------
 * Settings (vectorstore.c)
 * ---------------------------------------------------------------------
 */
extern char *vs_api_key;			/* vectorstore.api_key (superuser only) */
extern char *vs_api_key_file;		/* vectorstore.api_key_file (superuser only) */
extern int	vs_auth;				/* vectorstore.auth (a VsAuthStyle) */
extern char *vs_base_url;			/* vectorstore.base_url (superuser only) */
extern char *vs_organization;		/* vectorstore.organization */
extern char *vs_project;			/* vectorstore.project */
extern char *vs_credential_name;	/* vectorstore.credential */
extern int	vs_connect_timeout_ms;	/* vectorstore.connect_timeout */
extern int	vs_request_timeout_ms;	/* vectorstore.timeout (per attempt) */
extern int	vs_max_retries;			/* vectorstore.max_retries */
extern int	vs_max_response_kb;		/* vectorstore.max_response_size */
extern int	vs_max_requests_per_statement;	/* vectorstore.max_requests_per_statement */
extern bool vs_allow_insecure_http; /* vectorstore.allow_insecure_http */

/* ---------------------------------------------------------------------
 * Credentials (credential.c)
 * ---------------------------------------------------------------------
 */

/* A header or query parameter: name and value (UTF-8, as sent). */
typedef struct VsHeader
{
	const char *name;
	const char *value;
} VsHeader;

/*
 * At most this many headers, or query parameters, in one list: a
 * credential's (vectorstore.headers, vectorstore.query, a named
 * credential's) and a call's request_options.extra_headers / extra_query.
 * Every request merges the lists by name, so their length is bounded.
 */
#define VS_MAX_PAIRS 256

typedef enum VsAuthStyle
{
	VS_AUTH_BEARER,				/* Authorization: Bearer <key> (OpenAI) */
	VS_AUTH_API_KEY,			/* api-key: <key> (Azure OpenAI) */
	VS_AUTH_NONE				/* no key sent */
} VsAuthStyle;

typedef struct VsCredential
{
	char	   *name;			/* credential name, or NULL for the settings */
	char	   *api_key;		/* may be NULL/empty: no key sent */
	char	   *base_url;		/* never NULL */
	char	   *organization;	/* NULL when unset */
	char	   *project;		/* NULL when unset */
	VsAuthStyle auth;
	VsHeader   *headers;		/* default headers; values are secrets */
	int			nheaders;
	VsHeader   *query;			/* default query parameters (Azure's api-version) */
	int			nquery;
	char	   *key_file;		/* where api_key was read from, or NULL */
	char	   *problem;		/* why no request can be sent with it (a key
								 * file that cannot be used, a key lost in a
								 * dump), or NULL; the client refuses to build
								 * a request then, with this text */
	Oid			user;			/* the role whose right to use it was checked
								 * when it was resolved, checked again before
								 * each send (vs_credential_recheck); InvalidOid:
								 * none to check */
} VsCredential;

/* A list of name/value pairs in one malloc'd block (GUC "extra" data). */
typedef struct VsPairs
{
	int			n;
	VsHeader	pair[FLEXIBLE_ARRAY_MEMBER];
} VsPairs;

/* The parsed vectorstore.headers and vectorstore.query (NULL: none). */
extern VsPairs *vs_settings_headers;
extern VsPairs *vs_settings_query;

/*
 * The one check of every name/value pair that becomes a header or a query
 * parameter of a credential (settings or named): NULL when acceptable, else
 * why not (a sentence naming the header, never its value).
 */
extern char *vs_credential_headers_problem(const VsHeader *h, int n);
extern char *vs_credential_query_problem(const VsHeader *q, int n);

/*
 * The credential the current user's requests use: the one named by
 * vectorstore.credential, else the role's granted one, else the settings.
 * ERRORs (42501) when the role may not use the named credential.
 */
extern VsCredential *vs_credential_current(void);

/* Credential by name, with no privilege check. */
extern VsCredential *vs_credential_by_name(const char *name, bool missing_ok);

/* A deep copy in the current memory context. */
extern VsCredential *vs_credential_copy(const VsCredential *c);

/*
 * The credential role_name may use under cred_name (NULL: the settings),
 * checked now: NULL and *err when the role is gone or may not use it. The
 * worker's check of authority at send time; never raises for those.
 */
/*
 * Before a request goes: may the role that resolved c still use it? A
 * revoke committed by another session takes effect at the next request,
 * also inside an open transaction or a cursor that resolved c earlier.
 */
extern void vs_credential_recheck(const VsCredential *c);
extern VsCredential *vs_credential_for_role(const char *role_name, const char *cred_name,
											char **err);

/* Validate a base URL against the transport rules (https, or loopback). */
extern void vs_check_base_url(const char *url);

/* The same without raising: NULL when acceptable, else why not. */
extern char *vs_base_url_problem(const char *url);

/*
 * The one check of a base URL's form, for the setting and credentials
 * alike: http(s), a host, no user name or password, query, fragment,
 * whitespace or control characters. NULL when fine, else a static sentence.
 * Allocates nothing that outlives the call (usable in GUC check hooks).
 */
extern const char *vs_base_url_form_problem(const char *url);

/*
 * Where a request to url may go (vs_base_url_problem's verdict) and how the
 * transport must reach it: for plain http to loopback, never through a
 * proxy, and a loopback name pinned to loopback addresses.
 */
typedef struct VsUrlTarget
{
	bool		no_proxy;		/* connect directly, whatever the environment says */
	char	   *resolve;		/* "host:port:addr,addr" for CURLOPT_RESOLVE, or NULL */
} VsUrlTarget;
extern char *vs_base_url_target(const char *url, VsUrlTarget *target);

/* ---------------------------------------------------------------------
 * Secrets and the server log (secret_log.c)
 * ---------------------------------------------------------------------
 */
/* Install the emit_log_hook that keeps secrets out of the server log. */
extern void vs_secret_log_init(void);

/* A secret this process sends: the log hook scrubs it from every message. */
extern void vs_secret_remember(const char *secret);

/* Set while a function stores a secret: errors then never log the statement. */
extern bool vs_storing_secret;

/* Does a statement's text name something that carries a secret? */
extern bool vs_statement_has_secret(const char *query);

/* The statement with every quoted literal replaced by '***' (palloc'd). */
extern char *vs_mask_literals(const char *query);

/* ---------------------------------------------------------------------
 * Requests (client.c over transport.c; outcome.c decides retries)
 * ---------------------------------------------------------------------
 */
typedef struct VsMimePart
{
	const char *name;			/* form field name */
	const char *filename;		/* NULL for plain fields */
	const char *content_type;	/* NULL: application/octet-stream for files */
	const char *data;
	size_t		len;
} VsMimePart;

/*
 * The SDKs' per-request options (request_options jsonb, parsed by
 * vs_request_options() in api.c): extra headers and query parameters,
 * extra_body merged into a JSON body (extra form fields for an upload),
 * and per-request timeout and retries.
 */
typedef struct VsRequestOptions
{
	VsHeader   *headers;		/* extra_headers (checked: see api.c) */
	int			nheaders;
	VsHeader   *query;			/* extra_query */
	int			nquery;
	cJSON	   *body;			/* extra_body: an object, or NULL */
	int			timeout_ms;		/* -1: vectorstore.timeout */
	int			max_retries;	/* -1: vectorstore.max_retries */
} VsRequestOptions;

typedef struct VsRequest
{
	const char *method;			/* "GET", "POST" or "DELETE" */
	const char *path;			/* "/vector_stores/vs_1"; build with vs_path() */
	const char *query;			/* "limit=100&after=x" or NULL */
	const cJSON *json;			/* JSON body, or NULL */
	const char *body;			/* JSON body as text (UTF-8), or NULL */
	const VsMimePart *parts;	/* multipart/form-data body, or NULL */
	int			nparts;
	bool		beta;			/* send OpenAI-Beta: assistants=v2 */
	bool		binary;			/* Accept: application/binary (raw body) */
	bool		poll;			/* a poll helper GET (X-Stainless-Poll-Helper) */
	const VsCredential *cred;	/* NULL: vs_credential_current() */
	const VsRequestOptions *opts;	/* NULL: none */
} VsRequest;

/* Bytes of response bodies a call holds at once (transport.c). */
typedef struct VsBudget
{
	size_t		cap;
	size_t		live;
} VsBudget;

typedef struct VsResponse
{
	long		status;			/* HTTP status, 0 when there is none */
	char	   *body;			/* palloc'd, NUL-terminated, may hold NULs */
	size_t		body_len;
	int			poll_after_ms;	/* openai-poll-after-ms, -1 when absent */
	int			retry_after_ms; /* from retry-after-ms / Retry-After, -1 */
	int			should_retry;	/* x-should-retry: -1 absent, 0, 1 */
	char		request_id[128];	/* x-request-id (printable), "" when absent */
	int			attempts;		/* attempts made (1 + retries) */
	int			curl_code;		/* CURLcode of the last attempt */
	bool		sent;			/* did the last attempt's request leave? */
	bool		too_large;		/* over vectorstore.max_response_size */
	bool		cap_reached;	/* not sent: vectorstore.max_requests_per_statement */
	bool		invalid;		/* not sent: the request itself is invalid (error) */
	bool		withdrawn;		/* not sent: a flight taken back before it started */
	char		error[256];		/* what went wrong when status == 0 */
	VsBudget   *budget;			/* where the body's bytes are counted */
	size_t		charged;		/* bytes counted against budget (allocated) */
	const VsCredential *cred;	/* the credential it was sent with (scrubbing) */
} VsResponse;

/* True when a response is a success (2xx). */
#define VS_HTTP_OK(resp) ((resp)->status >= 200 && (resp)->status < 300)

/* Free a body as soon as it has been looked at (gives its bytes back). */
extern void vs_response_release(VsResponse *resp);

/*
 * What an outcome means (outcome.c) — the one classifier the SQL functions'
 * retries and the worker's job states both use.
 */
typedef enum VsOutcomeKind
{
	VS_OUTCOME_DONE,			/* 2xx */
	VS_OUTCOME_RETRY,			/* transient, nothing (or something idempotent) done */
	VS_OUTCOME_THROTTLE,		/* 429: hold back the credential; costs no attempt */
	VS_OUTCOME_UNKNOWN,			/* a POST that may have been carried out */
	VS_OUTCOME_PERMANENT,		/* retrying cannot help */
	VS_OUTCOME_UNSENT			/* never sent (a flight withdrawn): as if never tried */
} VsOutcomeKind;

typedef struct VsOutcome
{
	VsOutcomeKind kind;
	int			delay_ms;		/* when to try again; -1 for DONE/PERMANENT */
} VsOutcome;

extern VsOutcome vs_outcome(const VsRequest *req, const VsResponse *resp, int retries_done);
extern bool vs_outcome_retryable(VsOutcomeKind kind);
extern bool vs_outcome_gone(const VsRequest *req, const VsResponse *resp);
extern const char *vs_outcome_name(VsOutcomeKind kind);
extern int	vs_backoff_ms(int retries_done);

/*
 * Send one request, retrying as the official SDKs do, and return the 2xx
 * response. Any other outcome is raised through vs_report_error().
 * Cancel, statement_timeout and termination interrupt it promptly.
 */
extern VsResponse *vs_http_execute(const VsRequest *req);

/*
 * Send n requests over up to `concurrency` connections at once. Never
 * raises for HTTP or transport failures, nor for a request that cannot be
 * built (resps[i].invalid, with the reason in .error): each resps[i] tells
 * what happened. With `retry` each request is retried like vs_http_execute
 * does. `done`, when given, is called as each request finishes, and may
 * release its body at once. Interrupts and the statement's request cap
 * still raise (after every handle is released). `budget` NULL: a budget of
 * vectorstore.max_response_size for this call.
 */
typedef void (*VsDoneFn) (int i, VsResponse *resp, void *arg);

/* The background worker's bound on any one request (0: none). */
extern int	vs_request_timeout_cap_ms;

/*
 * A request sent without waiting (the worker's): see transport.c's flights.
 * done is called from vs_flights_pump() when it ends (or at once when the
 * request cannot be built, or from vs_flights_withdraw()). vs_flight_send
 * returns the flight (NULL when done was called at once).
 */
typedef struct VsFlights VsFlights;
extern VsFlights *vs_flights_create(MemoryContext cxt);
extern void vs_flights_set_held(VsFlights *f, int held_ms);
extern int	vs_flights_pump(VsFlights *f, int concurrency, long wait_ms);
extern int	vs_flights_count(VsFlights *f);
extern void vs_flights_abort(VsFlights *f);
extern void *vs_flight_send(VsFlights *f, const VsRequest *req, VsResponse *resp,
							const char *group, VsDoneFn done, void *arg, int index);
/* a flight not started yet, taken back (done is told: resp->withdrawn) */
extern bool vs_flights_withdraw(VsFlights *f, void *flight);
/* when the oldest running flight of a group started (0: none) */
extern TimestampTz vs_flights_running_since(VsFlights *f, const char *group);
extern void vs_http_execute_many(const VsRequest *reqs, VsResponse *resps,
								 int n, int concurrency, bool retry);
extern void vs_http_execute_each(const VsRequest *reqs, VsResponse *resps,
								 int n, int concurrency, bool retry,
								 VsDoneFn done, void *arg, VsBudget *budget);

/*
 * The same with retries, each credential's requests paced by what the
 * server accepts (pacing.c): at most max_concurrency in flight, starting at
 * VS_PACE_START, growing while the server keeps up, held back after a 429,
 * which costs no attempt (at most VS_PACE_MAX_THROTTLES times per request).
 * For bulk work: vs_upload_many, the worker.
 */
extern void vs_http_execute_paced(const VsRequest *reqs, VsResponse *resps, int n,
								  int max_concurrency, VsDoneFn done, void *arg,
								  VsBudget *budget);

/* ---------------------------------------------------------------------
 * Adaptive concurrency per credential (pacing.c)
 * ---------------------------------------------------------------------
 */
#define VS_PACE_START			5	/* the SDKs' upload concurrency */
#define VS_PACE_MAX_THROTTLES	50	/* free 429s per request, then it fails */

typedef struct VsPace VsPace;
typedef struct VsPaceRun VsPaceRun;

/* What this process has learned about cred (created on first use). */
extern VsPace *vs_pace_for(const VsCredential *cred);

/* For the worker: ms cred is still held after a 429 (0: not held)... */
extern int	vs_pace_hold_ms(const VsCredential *cred);

/* ...and how many of its requests may be in flight now. */
extern int	vs_pace_concurrency(const VsCredential *cred);

/* client.c's side: one paced call (in flight counted per call). */
extern VsPaceRun *vs_pace_run_begin(const VsCredential *const *creds, int n, int ceiling);
extern int	vs_pace_run_admit(VsPaceRun *pr, int i, TimestampTz now);
extern int	vs_pace_run_hold_ms(VsPaceRun *pr, int i);
extern void vs_pace_run_attempt(VsPaceRun *pr, int i, const VsResponse *resp,
								VsOutcomeKind kind, int delay_ms, TimestampTz now);

/*
 * The one rule for header values and caller-set headers (client.c): why a
 * value holding control characters, or a header a caller may not set
 * (credentials, identity, framing, routing), cannot be sent; NULL when fine.
 */
extern char *vs_header_value_problem(const char *what, const char *value);
extern char *vs_header_name_problem(const char *name);
extern bool vs_header_forbidden(const char *name);
extern char *vs_extra_header_problem(const char *name, const char *value);

/* The worker sends without the per-statement request cap. */
extern bool vs_request_cap_enabled;

/*
 * The one place that turns a failed response into an ERROR: maps HTTP status
 * and error.type/code to a SQLSTATE, puts the API's message in the detail and
 * "vectorstore request: METHOD PATH" in the context. Every string that came
 * from the server is scrubbed of every secret the request carried.
 */
extern void vs_report_error(const VsRequest *req, const VsResponse *resp) pg_attribute_noreturn();

/* The same diagnosis as text, for rows that record a failure (worker). */
extern char *vs_describe_error(const VsRequest *req, const VsResponse *resp);

/*
 * Path and query building. vs_path() replaces each %s in fmt with the next
 * argument escaped as one path segment (and rejects "", ".", ".." and
 * segments holding "/" or "\"), so an id can never reach another path;
 * vs_path_try() returns NULL and *err instead of raising.
 * vs_query_add() appends name=value escaped.
 */
extern char *vs_path(const char *fmt,...);
extern char *vs_path_try(char **err, const char *fmt,...);
extern void vs_query_add(StringInfo q, const char *name, const char *value);

/* Convenience: execute and parse the JSON object the API returns. */
extern cJSON *vs_api_call(const VsRequest *req);
extern cJSON *vs_api_get(const char *path, const char *query, bool beta);
extern cJSON *vs_api_post(const char *path, const cJSON *body, bool beta);
extern cJSON *vs_api_delete(const char *path, bool beta);

/* ---------------------------------------------------------------------
 * The paginator (paginate.c): the only code that follows list pages
 * ---------------------------------------------------------------------
 */
typedef void (*VsItemFn) (const cJSON *item, void *arg);

typedef struct VsPager
{
	/* what to list */
	const char *path;
	const char *query;			/* the caller's parameters (no cursor) */
	const char *after;			/* start after this id (NULL: the start) */
	const char *before;			/* or page backwards from before this id */
	bool		beta;
	const VsCredential *cred;	/* NULL: vs_credential_current() */
	const VsRequestOptions *opts;
	int			page_size;		/* "limit" per request; 0: the caller's or the API's */
	int			max_page_size;	/* the endpoint's largest page (100, or 10000) */
	/* how far to go */
	int64		max_items;		/* stop after this many items; 0: all */
	int			max_pages;		/* stop after this many pages; 0: no limit */
	bool		raise;			/* raise on a failure (SQL), or record it (worker) */
	/* !raise: the answer to the first page, sent by the caller (vs_pager_request) */
	VsResponse *first_response;
	/* results */
	int64		items;			/* items passed to the callback */
	int			pages;			/* pages fetched */
	bool		more;			/* stopped with more to come (max_items/pages) */
	char	   *cursor;			/* last id seen: resume with after = cursor */
	char	   *error;			/* !raise: why it stopped early, else NULL */
} VsPager;

/*
 * Follow a list endpoint page by page, calling fn for each item of data[]
 * (in a page context reset between pages: fn copies what it keeps). Stops
 * at the end, at max_items or max_pages (more = true), or — a hostile or
 * broken server — at a page that does not advance the cursor. Returns false
 * when it stopped on a failure (only when !raise; error says why).
 */
extern bool vs_paginate(VsPager *pager, VsItemFn fn, void *arg);
/* The request for the page after cursor (for a caller that sends it itself). */
extern void vs_pager_request(const VsPager *pager, const char *cursor, VsRequest *req);

/* ---------------------------------------------------------------------
 * JSON (json.c): the only module that parses/prints with cJSON
 * ---------------------------------------------------------------------
 * Every tree is owned by the memory context current when it was made and
 * deleted when that context is reset or deleted, on ERROR too; an owned
 * tree goes into another only by reference (vs_json_add_ref). json.c's
 * header explains the rules. Never call cJSON_Delete on an owned tree.
 */
extern cJSON *vs_json_own(cJSON *item);
extern cJSON *vs_json_new_object(void);
extern cJSON *vs_json_new_array(void);
extern void vs_json_add_ref(cJSON *parent, const char *key, cJSON *item);
extern void vs_json_add_string(cJSON *obj, const char *key, const char *server_str);
extern void vs_json_add_text(cJSON *obj, const char *key, text *t);
extern void vs_json_add_number(cJSON *obj, const char *key, double v);
extern void vs_json_add_bool(cJSON *obj, const char *key, bool v);
extern void vs_json_add_null(cJSON *obj, const char *key);
extern cJSON *vs_json_parse_text(const char *text, size_t len, const char **end);

/*
 * A JSON object whose values are strings, numbers or booleans, as pairs in
 * one malloc'd block (free() it; usable in GUC check hooks and the
 * postmaster). NULL with why (a sentence naming the key, never a value) when
 * text is not such an object.
 */
extern VsPairs *vs_json_pairs_parse(const char *text, char *why, size_t whylen);

/* Parse an API response body; ERROR 08P01 naming the request if not JSON. */
extern cJSON *vs_json_parse_response(const VsRequest *req, const VsResponse *resp);

/* The same without raising: NULL and *err on failure. */
extern cJSON *vs_json_try_parse_response(const VsRequest *req, const VsResponse *resp,
										 char **err);

/* Parse a JSON text in server encoding from a user argument (22023/22P02). */
extern cJSON *vs_json_from_jsonb(Jsonb *jb);
extern char *vs_json_print(const cJSON *item);	/* palloc'd, unformatted */

/*
 * Pick error.{message,type,code,param} out of an error body without raising
 * (the body may be anything). Returns false when it is not OpenAI's shape;
 * *message is then a printable excerpt of the body (or NULL when empty).
 * clean (may be NULL) gets each decoded field whole, before it is cut to
 * size: secrets are scrubbed there (client.c), so no cut can split one.
 */
typedef char *(*VsCleanFn) (char *s, void *arg);
extern bool vs_json_error_fields(const char *body, size_t len, char **message,
								 char **type, char **code, char **param,
								 VsCleanFn clean, void *clean_arg);
extern Datum vs_json_to_jsonb(const cJSON *item);

/* jsonb argument n as cJSON, or NULL when the argument is SQL NULL. */
extern cJSON *vs_arg_json(FunctionCallInfo fcinfo, int argno);

/* text[] to a JSON array of strings (NULL elements rejected with 22004). */
extern cJSON *vs_json_from_text_array(ArrayType *arr, const char *argname);

/* Text (server encoding) in UTF-8. */
extern char *vs_text_to_utf8(text *t, int *len);

/*
 * Typed access to response objects. Missing or null -> NULL / *isnull; a value
 * of the wrong type raises 08P01 "invalid response ...: field X must be ...".
 */
extern const char *vs_json_get_string(const cJSON *obj, const char *key);
extern const cJSON *vs_json_get_path(const cJSON *obj, const char *path);

/* The "deleted" flag of a delete response (08P01 when not a boolean). */
extern bool vs_json_deleted(const cJSON *res);

/*
 * Fill a row from a response object by column name. Each column is looked up
 * as a key of obj (or, through `aliases`, as a dotted path such as
 * "file_counts.completed"); a column named "raw" gets the whole object.
 * Column types: text, int4, int8, float8, bool, timestamptz (from Unix
 * seconds), jsonb, text[].
 */
typedef struct VsFieldAlias
{
	const char *column;
	const char *path;
} VsFieldAlias;

extern void vs_json_to_row(const cJSON *obj, TupleDesc tupdesc,
						   const VsFieldAlias *aliases,
						   Datum *values, bool *nulls);
extern Datum vs_json_to_composite(const cJSON *obj, FunctionCallInfo fcinfo,
								  const VsFieldAlias *aliases);

/* ---------------------------------------------------------------------
 * Validation done before a request is sent (validate.c)
 * ---------------------------------------------------------------------
 */
extern void vs_validate_metadata(const cJSON *metadata, const char *argname);
extern void vs_validate_expires_after(const cJSON *expires_after, const char *argname);
extern void vs_validate_chunking_strategy(const cJSON *cs, const char *argname);
extern void vs_validate_attributes(const cJSON *attributes, const char *argname);
extern void vs_validate_filters(const cJSON *filters, const char *argname);

/* ---------------------------------------------------------------------
 * The toolkit of the SQL-callable functions (api.c): arguments, request
 * options, response checks, lists as rows, polling, the shapes of objects
 * ---------------------------------------------------------------------
 */
/* Raise 22004 when a required argument is NULL. */
extern void vs_require_arg(FunctionCallInfo fcinfo, int argno, const char *argname);

/* A required text argument as a C string (22004 when NULL). */
extern char *vs_arg_cstring(FunctionCallInfo fcinfo, int argno, const char *argname);

/* Argument n as a C string in server encoding, or NULL when SQL NULL. */
#define VS_ARG_CSTRING_OR_NULL(n) \
	(PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n)))

/*
 * Was argument argno passed, and not SQL NULL? A database still at an older
 * version calls the library with the older (shorter) argument lists, so an
 * argument added since is read only when PG_NARGS() has it.
 */
extern bool vs_arg_given(FunctionCallInfo fcinfo, int argno);

/* A boolean argument; dflt when not passed (older version) or SQL NULL. */
extern bool vs_arg_bool(FunctionCallInfo fcinfo, int argno, bool dflt);

/*
 * A timeout interval argument in milliseconds; -1 when SQL NULL (no limit),
 * dflt_ms when not passed at all (a database at an older version).
 */
extern int64 vs_arg_interval_ms(FunctionCallInfo fcinfo, int argno, const char *argname);
extern int64 vs_arg_timeout_ms(FunctionCallInfo fcinfo, int argno, int64 dflt_ms);

/* A poll_interval_ms argument (1..3600000); -1 when SQL NULL or not passed. */
extern int	vs_arg_poll_interval(FunctionCallInfo fcinfo, int argno);

/* A max_items argument (>= 1); 0 (all) when SQL NULL or not passed. */
extern int64 vs_arg_max_items(FunctionCallInfo fcinfo, int argno);

/*
 * Parse a request_options jsonb (the SDKs' extra_headers, extra_query,
 * extra_body, timeout, max_retries), refusing what it may not carry (see
 * api.c). NULL for SQL NULL or '{}'. vs_arg_request_options() reads
 * argument argno when the function has that many arguments (a 0.1.0
 * database calls the library with the old argument lists).
 */
extern VsRequestOptions *vs_request_options(const cJSON *opts);
extern VsRequestOptions *vs_arg_request_options(FunctionCallInfo fcinfo, int argno);

/*
 * The same for a function that sends no request body (only GET or DELETE
 * requests): extra_body is refused with 22023 naming the function, rather
 * than dropped or sent on a GET.
 */
extern VsRequestOptions *vs_arg_request_options_nobody(FunctionCallInfo fcinfo, int argno);

/* opts without extra_body, for the body-less requests of a composite call. */
extern const VsRequestOptions *vs_options_without_body(const VsRequestOptions *opts);

/*
 * Send a request with the caller's options and return the parsed JSON
 * object (errors raised through vs_report_error). body NULL: no body.
 */
extern cJSON *vs_api_request(const char *method, const char *path, const char *query,
							 const cJSON *body, bool beta, const VsRequestOptions *opts);

/*
 * DELETE path: the response's "deleted" flag. With missing_ok a 404 (the
 * object is not there, or no longer) returns false instead of raising: the
 * idempotent form of a delete.
 */
extern bool vs_api_delete_object(const char *path, bool beta, bool missing_ok,
								 const VsRequestOptions *opts);

/* The shapes of API objects: "object" values and column aliases. */
extern const char *const vs_store_kinds[];
extern const char *const vs_file_kinds[];
extern const char *const vs_store_file_kinds[];
extern const char *const vs_batch_kinds[];
extern const VsFieldAlias vs_store_aliases[];
extern const VsFieldAlias vs_store_file_aliases[];
extern const VsFieldAlias vs_batch_aliases[];

/* Raise 08P01 unless obj has an id and its "object" is one of expected[]. */
extern void vs_expect_kind(const cJSON *obj, const char *const *expected);

/* The same as a test: NULL when obj is one of expected[], else why not. */
extern char *vs_kind_problem(const cJSON *obj, const char *const *expected);

/* An object response as the function's composite result, checked first. */
extern Datum vs_object_result(FunctionCallInfo fcinfo, const cJSON *obj,
							  const char *const *kinds, const VsFieldAlias *aliases);

/*
 * List endpoints as set-returning functions: vs_list_args() reads the
 * "order" (into q), "limit" (the page size, 1..max_limit) and "after"
 * arguments (-1: none) into a pager; vs_list_to_srf() then puts every item
 * (through the paginator) into the function's tuplestore, each checked to
 * be one of `kinds` (NULL: no check) and turned into a row.
 */
typedef struct VsListArgs
{
	int			order;			/* argument numbers; -1: the function has none */
	int			limit;
	int			after;
	int			before;
	int			max_items;
	int			request_options;
	int			max_limit;		/* the endpoint's largest page */
} VsListArgs;

extern void vs_list_args(FunctionCallInfo fcinfo, VsPager *pager, StringInfo q,
						 const VsListArgs *args);
extern void vs_list_to_srf(FunctionCallInfo fcinfo, VsPager *pager,
						   const char *const *kinds, const VsFieldAlias *aliases);

/*
 * A vector store file list's arguments: "filter" at filter_arg, then
 * "order", "limit", after, before, max_items, request_options.
 */
extern void vs_store_files_args(FunctionCallInfo fcinfo, VsPager *pager, int filter_arg);

/*
 * Poll GET path (a vector store file or a file batch) until its status is
 * completed, failed or cancelled, waiting poll_interval_ms (> 0), else the
 * server's openai-poll-after-ms, else 1000 ms between polls, never less than
 * VS_POLL_MIN_MS. When timeout_ms (>= 0) passes first: raise 55000 if
 * raise_on_timeout, else return the last object seen. The result is
 * allocated in the caller's memory context.
 */
#define VS_POLL_DEFAULT_MS	1000	/* openai-python's default interval */
#define VS_WAIT_DEFAULT_MS	600000	/* a waiting call's timeout: 10 minutes */
#define VS_POLL_MIN_MS		10		/* never spin, whatever the server says */
extern cJSON *vs_poll_status(const char *path, const char *what, const char *id,
							 int64 timeout_ms, int poll_interval_ms,
							 bool raise_on_timeout, const VsRequestOptions *opts);

/* Fill req as a POST /files multipart upload of data (filename in UTF-8). */
extern void vs_file_upload_request(VsRequest *req, const char *filename,
								   const char *data, size_t len,
								   const char *purpose);

/*
 * The same with a file expiration policy {"anchor": "created_at",
 * "seconds": n} (checked by vs_validate_file_expires_after, or NULL), sent
 * as the form fields expires_after[anchor] and expires_after[seconds].
 */
extern void vs_file_upload_request_ex(VsRequest *req, const char *filename,
									  const char *data, size_t len,
									  const char *purpose, const cJSON *expires_after);
extern void vs_validate_file_expires_after(const cJSON *expires_after, const char *argname);

/* Check an upload response is a File and return its id (08P01 if not). */
extern const char *vs_file_check(const cJSON *file);

/* ---------------------------------------------------------------------
 * Search (search.c), shared by vs_search and vs_search_many
 * ---------------------------------------------------------------------
 */
#define VS_SEARCH_MAX_RESULTS	50	/* max_num_results is 1..50 */
#define VS_SEARCH_DEFAULT_RESULTS 10	/* the API's default */

/* The arguments every search of a call shares, checked. */
typedef struct VsSearchParams
{
	int32		max_num_results;	/* -1: not sent (the API's default) */
	cJSON	   *ranking_options;	/* validated, or NULL */
	int			rewrite_query;	/* -1: not sent; 0 or 1 */
} VsSearchParams;

extern void vs_validate_ranking_options(const cJSON *ro);
extern void vs_search_check_query(text *query, const char *argname);
extern void vs_search_params(FunctionCallInfo fcinfo, int max_arg, int ranking_arg,
							 int rewrite_arg, VsSearchParams *p);
extern char *vs_search_body(text *query, const cJSON *query_array, const cJSON *filters,
							const VsSearchParams *p);

/* One result of a search results page (points into the page). */
typedef struct VsSearchHit
{
	const cJSON *item;			/* the result as sent */
	double		score;
	int			pos;			/* position in the response: ties keep it */
} VsSearchHit;

/* A result's columns, in the server encoding. */
typedef struct VsSearchColumns
{
	Datum		file_id;
	Datum		filename;
	bool		filename_null;
	Datum		score;
	Datum		content;		/* text parts in order, joined with "\n" */
	Datum		attributes;
	bool		attributes_null;
	Datum		raw;			/* the result as sent (jsonb); with extra only */
	Datum		content_parts;	/* text[]; with extra only */
} VsSearchColumns;

extern VsSearchHit *vs_search_hits(const cJSON *page, int max_results, int *nhits);
extern void vs_search_hit_columns(const VsSearchHit *hit, bool extra, VsSearchColumns *cols);

/* ---------------------------------------------------------------------
 * Progress of long calls (progress.c): NOTICEs to the caller, the view
 * vectorstore.progress for other sessions (shared memory when preloaded)
 * ---------------------------------------------------------------------
 */
extern void vs_progress_init(void);
extern void vs_progress_phase(const char *phase);
extern void vs_progress_requests(int64 done, int64 total);
extern void vs_progress_done(void);

/* ---------------------------------------------------------------------
 * Background worker (worker.c): its settings, and when loaded from
 * shared_preload_libraries the launcher, shared memory and hooks.
 * ---------------------------------------------------------------------
 */
extern void vs_worker_init(void);

/* ---------------------------------------------------------------------
 * Sets of strings (strset.c): duplicate checks over input whose size a role
 * or a server decides cost a hash lookup per string, never a comparison
 * with every earlier one. The set keeps pointers: strings outlive it.
 * ---------------------------------------------------------------------
 */
typedef struct VsStrSet VsStrSet;
extern VsStrSet *vs_strset_create(const char *name, long nelem);
extern int *vs_strset_enter(VsStrSet *set, const char *s, bool *found);
extern int *vs_strset_find(VsStrSet *set, const char *s);
extern long vs_strset_count(VsStrSet *set);
extern void vs_strset_free(VsStrSet *set);

#endif							/* VECTORSTORE_H */
