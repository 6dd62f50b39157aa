/*
 * reqlog.h - the request log behind GET/DELETE /_emulator/requests: what
 * each API request put on the wire (method, path, raw query, headers, body
 * or multipart fields) and the status it got, in a bounded ring.
 */
#ifndef VSE_REQLOG_H
#define VSE_REQLOG_H

#include "common.h"

#define REQLOG_DEFAULT_CAPACITY 10000
#define REQLOG_MAX_BYTES (64u * 1024 * 1024)   /* all entries together */
#define REQLOG_BODY_CAP (64u * 1024)           /* JSON / text body */
#define REQLOG_FIELD_CAP 4096u                  /* multipart field value */
#define REQLOG_FILE_CAP 256u                    /* multipart file content */
#define REQLOG_HEADER_CAP 8192u                 /* one header value */

typedef struct ReqInfo {
	const char *method;
	const char *raw_uri;       /* path + '?' + query, as on the request line */
	const char *route_key;     /* stats key, e.g. "GET /v1/files/{file_id}" */
	const char *route_class;
	bool azure;
	const char *body;          /* NULL when discarded (413) or absent */
	size_t body_len;
	size_t received;           /* request body bytes received */
	int status;                /* 0: no response (connection reset) */
	const char *fault;         /* fault kind applied, or NULL */
	int64_t t_ms;              /* wall clock at arrival */
	int64_t duration_us;
} ReqInfo;

/* capacity in entries; 0 turns the log off. Clears the log. */
void reqlog_configure(long capacity);
long reqlog_capacity(void);
bool reqlog_enabled(void);
void reqlog_clear(void);
/* builds the entry from the request's headers and body and appends it */
void reqlog_add(struct MHD_Connection *c, const ReqInfo *ri);
/* {"requests":[entries with seq > since, oldest first],"last_seq":N,...};
 * malloc'd, length in *len */
char *reqlog_render(uint64_t since, size_t *len);

#endif
