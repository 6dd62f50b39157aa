/*
 * list.c - cursor pagination shared by every list endpoint.
 *
 * Semantics (mirroring the real service as far as it is documented):
 *   limit  integer 1..max (vector stores and their files: 1..100, default
 *          20; files: 1..10000, default 10000); anything else -> 400.
 *   order  asc | desc (default desc) by creation; ties inside one second are
 *          broken by a global monotonically increasing sequence number.
 *   after  id of an object in the (unfiltered) collection; the page starts
 *          right after it in the requested order.
 *   before id likewise; the page is the `limit` objects immediately
 *          preceding it, still in the requested order.
 *   An after/before id that is not in the collection -> 400 (param
 *   "after"/"before"), a deliberate, documented choice.
 *   Envelope: {object:"list", data, first_id, last_id, has_more}; on an
 *   empty page first_id/last_id are null as the real service sends them.
 */
#include "list.h"

#include <stdlib.h>
#include <string.h>

static int parse_limit(Req *r, int def, int max, int *out)
{
	const char *s = query_arg(r, "limit");
	char *end;
	long v;

	*out = def;
	if (!s)
		return 0;
	v = strtol(s, &end, 10);
	if (*s == 0 || *end != 0 || v < 1 || v > max) {
		bad_request(r, "limit", "Invalid 'limit': integer must be between "
			    "1 and %d, got '%s'.", max, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int find_cursor(Req *r, ListItem *items, size_t n, const char *name,
		       uint64_t *seq)
{
	const char *id = query_arg(r, name);

	*seq = 0;
	if (!id)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i].id, id) == 0) {
			*seq = items[i].seq;
			return 0;
		}
	bad_request(r, name, "Invalid '%s': no object with id '%s' exists in "
		    "this list.", name, id);
	return -1;
}

void list_respond(Req *r, ListItem *items, size_t n, int default_limit,
		  int max_limit, bool allow_before)
{
	const char *order = query_arg(r, "order");
	bool desc = true;
	int limit;
	uint64_t after = 0, before = 0;
	ListItem **cand;
	size_t nc = 0, from, to;
	cJSON *o, *data;

	if (parse_limit(r, default_limit, max_limit, &limit))
		return;
	if (order && strcmp(order, "asc") == 0)
		desc = false;
	else if (order && strcmp(order, "desc") != 0) {
		bad_request(r, "order", "Invalid value for 'order': expected 'asc' "
			    "or 'desc', got '%s'.", order);
		return;
	}
	if (find_cursor(r, items, n, "after", &after))
		return;
	if (allow_before && find_cursor(r, items, n, "before", &before))
		return;
	cand = malloc((n ? n : 1) * sizeof *cand);
	for (size_t k = 0; k < n; k++) {
		ListItem *it = &items[desc ? n - 1 - k : k];

		if (!it->keep)
			continue;
		if (after && (desc ? it->seq >= after : it->seq <= after))
			continue;
		if (before && (desc ? it->seq <= before : it->seq >= before))
			continue;
		cand[nc++] = it;
	}
	if (before && !after) {
		from = nc > (size_t)limit ? nc - (size_t)limit : 0;
		to = nc;
	} else {
		from = 0;
		to = nc > (size_t)limit ? (size_t)limit : nc;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "object", "list");
	data = cJSON_AddArrayToObject(o, "data");
	for (size_t k = from; k < to; k++)
		cJSON_AddItemToArray(data, cand[k]->render(cand[k]->ctx,
							   cand[k]->item));
	if (to > from) {
		cJSON_AddStringToObject(o, "first_id", cand[from]->id);
		cJSON_AddStringToObject(o, "last_id", cand[to - 1]->id);
	} else {
		cJSON_AddNullToObject(o, "first_id");
		cJSON_AddNullToObject(o, "last_id");
	}
	cJSON_AddBoolToObject(o, "has_more", nc > to - from);
	free(cand);
	req_json(r, 200, o);
}
