/*-------------------------------------------------------------------------
 *
 * vectorstore.h
 *	  Declarations shared by every module of the vectorstore extension.
 *
 * The extension is split by concern (see STYLE.md):
 *	  vectorstore.c  _PG_init and the settings (GUCs)
 *	  credential.c   which API key / base URL a request uses, and who may use it
 *	  http.c         every libcurl call: retries, timeouts, cancel, keep-alive
 *	  json.c         every cJSON call: parsing responses, typed fields, jsonb
 *	  validate.c     request validation done before anything is sent
 *	  stores.c       /vector_stores
 *	  (further resources: files, vector store files, batches, search, queue,
 *	   worker — one file each)
 *
 *-------------------------------------------------------------------------
 */
#ifndef VECTORSTORE_H
#define VECTORSTORE_H

#include "postgres.h"

#include "access/tupdesc.h"
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
extern char *vs_base_url;			/* vectorstore.base_url (superuser only) */
extern char *vs_organization;		/* vectorstore.organization */
extern char *vs_project;			/* vectorstore.project */
extern char *vs_credential_name;	/* vectorstore.credential */
extern int	vs_connect_timeout_ms;	/* vectorstore.connect_timeout */
extern int	vs_request_timeout_ms;	/* vectorstore.timeout (per attempt) */
extern int	vs_max_retries;			/* vectorstore.max_retries */
extern int	vs_max_response_kb;		/* vectorstore.max_response_size */
extern bool vs_allow_insecure_http; /* vectorstore.allow_insecure_http */

/* ---------------------------------------------------------------------
 * Credentials (credential.c)
 * ---------------------------------------------------------------------
 */
typedef struct VsCredential
{
	char	   *name;			/* credential name, or NULL for the settings */
	char	   *api_key;		/* may be NULL/empty: no Authorization sent */
	char	   *base_url;		/* never NULL */
	char	   *organization;	/* NULL when unset */
	char	   *project;		/* NULL when unset */
} VsCredential;

/*
 * The credential the current user's requests use: the one named by
 * vectorstore.credential, else the role's granted one, else the settings.
 * ERRORs (42501) when the role may not use the named credential.
 */
extern VsCredential *vs_credential_current(void);

/* Credential by name, with no privilege check (the worker's use). */
extern VsCredential *vs_credential_by_name(const char *name, bool missing_ok);

/* Validate a base URL against the transport rules (https, or loopback). */
extern void vs_check_base_url(const char *url);

/* ---------------------------------------------------------------------
 * HTTP (http.c): the only module that calls libcurl
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

typedef struct VsRequest
{
	const char *method;			/* "GET", "POST" or "DELETE" */
	const char *path;			/* "/vector_stores/vs_1"; build with vs_path() */
	const char *query;			/* "limit=100&after=x" or NULL */
	const char *body;			/* JSON text (UTF-8) or NULL */
	const VsMimePart *parts;	/* multipart/form-data body, or NULL */
	int			nparts;
	bool		beta;			/* send OpenAI-Beta: assistants=v2 */
	bool		binary;			/* Accept: application/binary (raw body) */
	bool		poll;			/* a poll helper GET (X-Stainless-Poll-Helper) */
	const VsCredential *cred;	/* NULL: vs_credential_current() */
} VsRequest;

typedef struct VsResponse
{
	long		status;			/* HTTP status, 0 on a transport failure */
	char	   *body;			/* palloc'd, NUL-terminated, may hold NULs */
	size_t		body_len;
	int			poll_after_ms;	/* openai-poll-after-ms, -1 when absent */
	int			retry_after_ms; /* from retry-after-ms / Retry-After, -1 */
	int			should_retry;	/* x-should-retry: -1 absent, 0, 1 */
	char		request_id[96]; /* x-request-id, "" when absent */
	int			attempts;		/* attempts made (1 + retries) */
	int			curl_code;		/* CURLcode of the last attempt */
	bool		too_large;		/* body exceeded vectorstore.max_response_size */
	char		error[256];		/* transport error text when status == 0 */
} VsResponse;

/*
 * Send one request, retrying as the official SDKs do, and return the 2xx
 * response. Any other outcome is raised through vs_report_error().
 * Cancel, statement_timeout and termination interrupt it promptly.
 */
extern VsResponse *vs_http_execute(const VsRequest *req);

/*
 * Send n requests over up to `concurrency` connections at once (libcurl's
 * multi interface). Never raises for HTTP or transport failures: each
 * resps[i] tells what happened (status 0 = transport failure). With `retry`
 * each request is retried like vs_http_execute does. Interrupts still raise
 * (after every handle is released).
 */
extern void vs_http_execute_many(const VsRequest *reqs, VsResponse *resps,
								 int n, int concurrency, bool retry);

/* True when a response is a success (2xx). */
#define VS_HTTP_OK(resp) ((resp)->status >= 200 && (resp)->status < 300)

/* Would the SDKs retry this response?  And after how long (attempt >= 0)? */
extern bool vs_http_retryable(const VsResponse *resp);
extern int	vs_http_retry_delay_ms(const VsResponse *resp, int retries_done);

/*
 * The one place that turns a failed response into an ERROR: maps HTTP status
 * and error.type/code to a SQLSTATE, puts the API's message in the detail and
 * "vectorstore request: METHOD PATH" in the context.
 */
extern void vs_report_error(const VsRequest *req, const VsResponse *resp) pg_attribute_noreturn();

/* The same diagnosis as text, for rows that record a failure (worker). */
extern char *vs_describe_error(const VsRequest *req, const VsResponse *resp);

/*
 * Path and query building. vs_path() replaces each %s in fmt with the next
 * argument escaped as one path segment (and rejects "", "." and ".."), so an
 * id can never reach another path. vs_query_add() appends name=value escaped.
 */
extern char *vs_path(const char *fmt,...);
extern void vs_query_add(StringInfo q, const char *name, const char *value);

/* Convenience: execute and parse the JSON object the API returns. */
extern cJSON *vs_api_call(const VsRequest *req);
extern cJSON *vs_api_get(const char *path, const char *query, bool beta);
extern cJSON *vs_api_post(const char *path, const cJSON *body, bool beta);
extern cJSON *vs_api_delete(const char *path, bool beta);

/*
 * Follow a list endpoint through every page (has_more / after=<last id>),
 * calling cb for each item of data[].
 */
typedef void (*VsListCallback) (cJSON *item, void *arg);
extern void vs_api_list_all(const char *path, const char *query, bool beta,
							VsListCallback cb, void *arg);

/* ---------------------------------------------------------------------
 * JSON (json.c): the only module that parses/prints with cJSON
 * ---------------------------------------------------------------------
 * cJSON allocates with palloc in CurrentMemoryContext (see vs_json_init), so
 * a cJSON tree is freed with its memory context, also when an ERROR unwinds.
 */
extern void vs_json_init(void);

/* Parse an API response body; ERROR 08P01 naming the request if not JSON. */
extern cJSON *vs_json_parse_response(const VsRequest *req, const VsResponse *resp);

/* Parse a JSON text in server encoding from a user argument (22023/22P02). */
extern cJSON *vs_json_from_jsonb(Jsonb *jb);
extern char *vs_json_print(const cJSON *item);	/* palloc'd, unformatted */

/*
 * Pick error.{message,type,code,param} out of an error body without raising
 * (the body may be anything). Returns false when it is not OpenAI's shape;
 * *message is then a printable excerpt of the body (or NULL when empty).
 */
extern bool vs_json_error_fields(const char *body, size_t len, char **message,
								 char **type, char **code, char **param);
extern Datum vs_json_to_jsonb(const cJSON *item);

/* jsonb argument n as cJSON, or NULL when the argument is SQL NULL. */
extern cJSON *vs_arg_json(FunctionCallInfo fcinfo, int argno);

/* text[] to a JSON array of strings (NULL elements rejected with 22004). */
extern cJSON *vs_json_from_text_array(ArrayType *arr, const char *argname);

/* Text argument (server encoding) to a cJSON string in UTF-8. */
extern cJSON *vs_json_string_from_text(text *t);
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
 * Small helpers for SQL-callable functions
 * ---------------------------------------------------------------------
 */
/* Argument n as a C string in server encoding, or NULL when SQL NULL. */
#define VS_ARG_CSTRING_OR_NULL(n) \
	(PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n)))

/*
 * List endpoints as set-returning functions (stores.c): build the query from
 * the "order", "limit" (page size, 1..100) and "after" arguments (-1: none),
 * then materialize every page, each item checked to be `expected` (an
 * "object" value, or NULL for no check) and turned into a row.
 */
extern char *vs_list_query(FunctionCallInfo fcinfo, int order_arg, int limit_arg,
						   int after_arg);
extern void vs_list_to_srf(FunctionCallInfo fcinfo, const char *path,
						   const char *query, const VsFieldAlias *aliases,
						   const char *expected);

/* Raise 22004 when a required argument is NULL. */
extern void vs_require_arg(FunctionCallInfo fcinfo, int argno, const char *argname);

/* ---------------------------------------------------------------------
 * Files, vector store files and batches (files.c, store_files.c,
 * batches.c): helpers the three share
 * ---------------------------------------------------------------------
 */
/* Fill req as a POST /files multipart upload of data (filename in UTF-8). */
extern void vs_file_upload_request(VsRequest *req, const char *filename,
								   const char *data, size_t len,
								   const char *purpose);

/* Check an upload response is a File and return its id (08P01 if not). */
extern const char *vs_file_check(const cJSON *file);

/* Raise 08P01 unless obj has an id and its "object" is one of expected[]. */
extern void vs_expect_kind(const cJSON *obj, const char *const *expected);

/* A timeout interval argument in milliseconds; -1 when SQL NULL (no limit). */
extern int64 vs_arg_interval_ms(FunctionCallInfo fcinfo, int argno, const char *argname);

/*
 * Poll GET path (a vector store file or a file batch) until its status is
 * completed, failed or cancelled, waiting poll_interval_ms (> 0), else the
 * server's openai-poll-after-ms, else 1000 ms between polls. When timeout_ms
 * (>= 0) passes first: raise 55000 if raise_on_timeout, else return the last
 * object seen. The result is allocated in the caller's memory context.
 */
extern cJSON *vs_poll_status(const char *path, const char *what, const char *id,
							 int64 timeout_ms, int poll_interval_ms,
							 bool raise_on_timeout);

/*
 * Query of a vector store file list: filter (in_progress|completed|failed|
 * cancelled) at filter_arg, then "order", "limit", after from order_arg on.
 */
extern char *vs_store_files_query(FunctionCallInfo fcinfo, int filter_arg, int order_arg);

/* Column aliases of vectorstore.vector_store_file (last_error expanded). */
extern const VsFieldAlias vs_store_file_aliases[];
extern const char *const vs_store_file_kinds[];

/* ---------------------------------------------------------------------
 * Background worker (worker.c): its settings, and when loaded from
 * shared_preload_libraries the launcher, shared memory and hooks.
 * ---------------------------------------------------------------------
 */
extern void vs_worker_init(void);

#endif							/* VECTORSTORE_H */
