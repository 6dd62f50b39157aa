/*
 * common.h - shared types and helpers of the vectorstore emulator.
 *
 * The emulator is a small in-memory imitation of the OpenAI Files + Vector
 * Stores HTTP API (see emulator/README.md).  This header defines the request
 * object that the HTTP layer (main.c) hands to the API handlers, and the
 * helpers every module uses to build JSON responses and OpenAI-style errors.
 */
#ifndef VSE_COMMON_H
#define VSE_COMMON_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <cjson/cJSON.h>

struct MHD_Connection;

/* One HTTP request as seen by an API handler, plus the response it builds. */
typedef struct Req {
	const char *method;
	const char *path;
	struct MHD_Connection *conn;
	const char *body;          /* request body (NUL terminated), may be NULL */
	size_t body_len;
	const char *content_type;  /* request Content-Type header or NULL */
	const char **params;       /* path parameters captured by the router */
	bool lenient;              /* accept (and keep) unknown top-level fields */

	/* response */
	int status;
	char *out;                 /* malloc'd response body */
	size_t out_len;
	const char *out_type;      /* Content-Type; NULL = application/json */
	int poll_after_ms;         /* >0: send openai-poll-after-ms */
} Req;

/* time */
int64_t now_s(void);
int64_t now_ms(void);

/* response helpers (json_util.c) */
void req_json(Req *r, int status, cJSON *obj);   /* takes ownership of obj */
void req_error(Req *r, int status, const char *type, const char *param,
	       const char *code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
#define bad_request(r, param, ...) \
	req_error((r), 400, "invalid_request_error", (param), NULL, __VA_ARGS__)
#define not_found(r, param, ...) \
	req_error((r), 404, "invalid_request_error", (param), NULL, __VA_ARGS__)
cJSON *error_body(const char *message, const char *type, const char *param,
		  const char *code);

/* JSON request validation helpers (json_util.c); each returns 0 when valid,
 * otherwise it has already filled in a 400 response and returns -1. */
cJSON *parse_body_object(Req *r);                 /* NULL + 400 on error */
/* unknown keys -> 400; at the top level (prefix NULL) in lenient mode they
 * are accepted */
int check_keys(Req *r, const cJSON *obj, const char *const *allowed,
	       const char *prefix);
/* lenient mode: the keys of obj not in allowed (a new object), else NULL */
cJSON *unknown_keys(const cJSON *obj, const char *const *allowed);
int get_int(const cJSON *v, long long *out);      /* 1 if integral number */
int validate_metadata(Req *r, const cJSON *v, const char *param);
int validate_attributes(Req *r, const cJSON *v, const char *param);
int parse_chunking(Req *r, const cJSON *v, const char *param,
		   int *max_tokens, int *overlap);
int parse_vs_expires(Req *r, const cJSON *v, const char *param, int *days);
int validate_id_array(Req *r, const cJSON *v, const char *param, int min,
		      int max);

/* query string helper */
const char *query_arg(Req *r, const char *name);

/* random ids */
void make_id(char *buf, size_t bufsz, const char *prefix);
uint64_t rand64(void);

/* API entry points (api_*.c); "params" hold path ids */
void api_files_create(Req *r);
void api_files_list(Req *r);
void api_files_get(Req *r);
void api_files_delete(Req *r);
void api_files_content(Req *r);
void api_vs_create(Req *r);
void api_vs_list(Req *r);
void api_vs_get(Req *r);
void api_vs_update(Req *r);
void api_vs_delete(Req *r);
void api_vs_search(Req *r);
void api_vsf_create(Req *r);
void api_vsf_list(Req *r);
void api_vsf_get(Req *r);
void api_vsf_update(Req *r);
void api_vsf_delete(Req *r);
void api_vsf_content(Req *r);
void api_batch_create(Req *r);
void api_batch_get(Req *r);
void api_batch_cancel(Req *r);
void api_batch_files(Req *r);

/* runtime settings shared between modules */
extern volatile int g_processing_delay_ms;

#endif
