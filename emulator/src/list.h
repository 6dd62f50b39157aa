/*
 * list.h - cursor pagination shared by every list endpoint.
 */
#ifndef VSE_LIST_H
#define VSE_LIST_H

#include "common.h"

typedef struct ListItem {
	const char *id;
	uint64_t seq;      /* creation order; items are passed in ascending seq */
	bool keep;         /* passes the endpoint's filter */
	cJSON *(*render)(const void *ctx, const void *item);
	const void *ctx, *item;
} ListItem;

/* Builds the list envelope into r (or a 400).  default_limit/max_limit per
 * endpoint; allow_before is false for GET /files. */
void list_respond(Req *r, ListItem *items, size_t n, int default_limit,
		  int max_limit, bool allow_before);

#endif
