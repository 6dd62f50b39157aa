/*-------------------------------------------------------------------------
 *
 * paginate.c
 *	  The one paginator: follows a list endpoint (has_more, after=<last id>,
 *	  or before=<first id> backwards) for the SQL list functions, the file
 *	  batch follow-up of vs_upload_many and the background worker alike.
 *
 * A caller says how far to go — every item, at most max_items (asking for
 * smaller pages when fewer are needed, so `max_items => 5` is one request
 * for five), at most max_pages (the worker's bound per pass, resumed from
 * the cursor next time) — and whether a failure raises (SQL functions) or
 * is recorded (the worker, where an ERROR would stop every role's work).
 * A list whose cursor does not advance (a page that repeats the last id, or
 * an item already seen as the last of a page) is a failure: a hostile or
 * broken server answering has_more for ever cannot keep a caller paging,
 * beyond max_pages, the statement's request cap and statement_timeout.
 *
 * Each page is parsed in a context of its own, reset before the next page,
 * so memory stays flat however long the list; the callback copies what it
 * keeps.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "miscadmin.h"
#include "utils/memutils.h"

/* Record or raise a failure of the paginator. */
static bool
vs_pager_fail(VsPager *p, MemoryContext outer, const char *fmt,...)
	pg_attribute_printf(3, 4);

static bool
vs_pager_fail(VsPager *p, MemoryContext outer, const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (p->raise)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("invalid response from the vector store API"),
				 errdetail_internal("%s", buf),
				 errcontext("vectorstore request: GET %s", p->path)));
	p->error = MemoryContextStrdup(outer, buf);
	return false;
}

/*
 * The request for the page after (or, backwards, before) cursor: how every
 * page of a list is asked for, by vs_paginate and by a caller that sends the
 * first page itself (the worker's sweep, which then hands the answer to
 * vs_paginate as first_response).
 */
void
vs_pager_request(const VsPager *p, const char *cursor, VsRequest *req)
{
	StringInfoData q;
	int			limit = p->page_size;
	bool		backwards = (p->before != NULL && p->after == NULL);

	/* no bigger page than the items still wanted */
	if (p->max_items > 0)
	{
		int64		want = p->max_items - p->items;

		if (limit <= 0 || want < limit)
			limit = (int) Min(want, (int64) (p->max_page_size > 0 ? p->max_page_size : 100));
	}
	initStringInfo(&q);
	if (p->query && p->query[0])
		appendStringInfoString(&q, p->query);
	if (limit > 0)
	{
		char		buf[16];

		snprintf(buf, sizeof(buf), "%d", limit);
		vs_query_add(&q, "limit", buf);
	}
	if (cursor)
		vs_query_add(&q, backwards ? "before" : "after", cursor);

	memset(req, 0, sizeof(VsRequest));
	req->method = "GET";
	req->path = p->path;
	req->query = q.data;
	req->beta = p->beta;
	req->cred = p->cred;
	req->opts = p->opts;
}

bool
vs_paginate(VsPager *p, VsItemFn fn, void *arg)
{
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext pagecxt = AllocSetContextCreate(outer, "vectorstore list page",
												  ALLOCSET_DEFAULT_SIZES);
	bool		backwards = (p->before != NULL && p->after == NULL);
	char	   *cursor = p->after ? pstrdup(p->after) : (p->before ? pstrdup(p->before) : NULL);
	bool		ok = true;
	const char *handed = NULL;	/* id of the last item given to fn (page context) */

	p->items = 0;
	p->pages = 0;
	p->more = false;
	p->error = NULL;
	p->cursor = NULL;

	for (;;)
	{
		VsRequest	req = {0};
		VsResponse	resp;
		cJSON	   *page;
		const cJSON *data;
		const cJSON *item;
		const char *first = NULL;
		const char *last = NULL;
		char	   *err;
		bool		has_more;
		bool		stop = false;

		CHECK_FOR_INTERRUPTS();
		if (p->max_pages > 0 && p->pages >= p->max_pages)
		{
			p->more = true;
			break;
		}
		MemoryContextSwitchTo(pagecxt);

		vs_pager_request(p, cursor, &req);
		if (p->raise)
			page = vs_api_call(&req);
		else
		{
			if (p->first_response && p->pages == 0)
			{
				/* sent by the caller: its body is ours now (released here) */
				resp = *p->first_response;
				p->first_response->body = NULL;
				p->first_response->body_len = 0;
				p->first_response->budget = NULL;
				p->first_response->charged = 0;
			}
			else
				vs_http_execute_each(&req, &resp, 1, 1, true, NULL, NULL, NULL);
			if (!VS_HTTP_OK(&resp))
			{
				p->error = MemoryContextStrdup(outer, vs_describe_error(&req, &resp));
				ok = false;
				break;
			}
			page = vs_json_try_parse_response(&req, &resp, &err);
			vs_response_release(&resp);
			if (page == NULL)
			{
				p->error = MemoryContextStrdup(outer, err);
				ok = false;
				break;
			}
		}
		p->pages++;

		data = cJSON_GetObjectItemCaseSensitive(page, "data");
		if (!cJSON_IsArray(data))
		{
			ok = vs_pager_fail(p, outer, "Field \"data\" of a list must be an array.");
			break;
		}
		cJSON_ArrayForEach(item, data)
		{
			const cJSON *id;

			if (!cJSON_IsObject(item))
			{
				ok = vs_pager_fail(p, outer, "Items of a list must be objects.");
				break;
			}
			id = cJSON_GetObjectItemCaseSensitive(item, "id");
			if (!cJSON_IsString(id))
			{
				ok = vs_pager_fail(p, outer, "An item of a list has no string \"id\".");
				break;
			}
			/* a page that starts again at the cursor does not advance */
			if (cursor && strcmp(id->valuestring, cursor) == 0)
			{
				ok = vs_pager_fail(p, outer, "The list did not advance past \"%s\".", cursor);
				break;
			}
			if (p->max_items > 0 && p->items >= p->max_items)
			{
				p->more = true;
				stop = true;
				break;
			}
			fn(item, arg);
			p->items++;
			handed = id->valuestring;
			if (first == NULL)
				first = id->valuestring;
			last = id->valuestring;
		}
		if (!ok || stop)
			break;
		has_more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(page, "has_more"));
		if (!has_more || last == NULL)
			break;
		if (p->max_items > 0 && p->items >= p->max_items)
		{
			p->more = true;
			break;
		}
		/* the next cursor: the last id (first, backwards), in the outer context */
		{
			const char *next = backwards ? first : last;

			if (cursor && strcmp(cursor, next) == 0)
			{
				ok = vs_pager_fail(p, outer, "The list did not advance past \"%s\".", next);
				break;
			}
			MemoryContextSwitchTo(outer);
			if (cursor)
				pfree(cursor);
			cursor = pstrdup(next);
		}
		handed = NULL;			/* == cursor now; the page goes */
		MemoryContextReset(pagecxt);
	}
	MemoryContextSwitchTo(outer);
	/* the cursor to resume from: the last item handed to fn */
	if (p->more)
		p->cursor = handed ? pstrdup(handed) : (cursor ? pstrdup(cursor) : NULL);
	MemoryContextDelete(pagecxt);
	return ok;
}
