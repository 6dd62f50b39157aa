/*
 * multipart.h - multipart/form-data parsing (uploads and the request log).
 */
#ifndef VSE_MULTIPART_H
#define VSE_MULTIPART_H

#include "common.h"

typedef struct Part {
	char name[128];
	char filename[512];
	bool has_filename;
	char content_type[128];   /* the part's Content-Type, "" if none */
	const char *data;         /* points into the body */
	size_t len;
} Part;

/* splits body into at most maxparts parts; returns the number of parts, or
 * -1 if the body is malformed, not multipart/form-data, or has more parts */
int multipart_parse(const char *content_type, const char *body, size_t len,
		    Part *parts, int maxparts);

#endif
