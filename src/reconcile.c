/*-------------------------------------------------------------------------
 *
 * reconcile.c
 *	  The sweep: the worker's step that brings the queue in line with the
 *	  files a server holds, for uploads whose answer was lost.
 *
 * Every upload is named "vsjob-<token>-<job id>-<secret>_<filename>": the
 * token is tied to this database's identity (worker_state: the cluster's
 * system identifier, the database's oid and a random nonce, so a copy of
 * the database never takes the original's files for its own), and the
 * secret is random per job and shown to no role (so no one can plant a file
 * a job would adopt). An upload whose answer was lost stays 'uploading'
 * without a file id for the reconcile delay (the claim's lease); then the
 * sweep of its (owner, credential) lists /files through that credential and
 * _sweep_page() decides, in SQL:
 *	  - a lost upload adopts the file that carries its id and secret, listed
 *		through its own owner and credential at the server it was sent to,
 *		whose size is the content's;
 *	  - a marked file is deleted only when its marker names a job of this
 *		database (id and secret), no job owns the file, and that job already
 *		has another file or has finished: a late duplicate, or the late
 *		landing of a failed or cancelled job. Never a file a live job owns,
 *		whichever credential listed it (credentials on one account list each
 *		other's files).
 * When the listing reaches its end, the lost uploads it covered that found
 * no file go back to the queue (_sweep_progress), and a follow-up sweep a
 * reconcile delay later catches uploads that land later still.
 *
 * A listing is bounded per pass (pages and time) and resumes from its cursor
 * the next pass, so a server that lists for ever cannot hold up the other
 * credentials or the heartbeat; one that never ends fails the listing.
 *
 *-------------------------------------------------------------------------
 */
#include "vs_worker.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#define VQ_SWEEPS_PER_PASS	8
#define VQ_SWEEP_PAGES_PER_PASS 4
#define VQ_SWEEP_BUDGET_MS	2000
#define VQ_SWEEP_MAX_PAGES	1000
#define VQ_SECRET_LEN		32

typedef struct VqMarked
{
	const char *prefix;
	size_t		plen;
	int			n;
	int			cap;
	char	  **fids;
	int64	   *jids;
	char	  **secrets;
	int64	   *bytes;
	int			skipped;		/* marked, but an id unusable in a path */
} VqMarked;

/* A listed file: keep it if its name carries this database's marker. */
static void
vq_marked_item(const cJSON *it, void *arg)
{
	VqMarked   *m = (VqMarked *) arg;
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(it, "filename");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
	const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(it, "bytes");
	const char *p;
	char	   *end;
	long long	jid;
	char	   *err;
	MemoryContext old;

	if (!cJSON_IsString(fn) || !cJSON_IsString(id) ||
		strncmp(fn->valuestring, m->prefix, m->plen) != 0)
		return;
	p = fn->valuestring + m->plen;
	jid = strtoll(p, &end, 10);
	if (end == p || *end != '-' || jid <= 0)
		return;
	p = end + 1;
	for (int i = 0; i < VQ_SECRET_LEN; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return;
	if (p[VQ_SECRET_LEN] != '_')
		return;
	/* a hostile server's id ("x/file-1") is never stored nor sent back */
	if (vs_path_try(&err, "/files/%s", id->valuestring) == NULL)
	{
		m->skipped++;
		return;
	}
	/* the page's context goes after the page: keep copies in the loop's */
	old = MemoryContextSwitchTo(vq_cxt);
	if (m->n == m->cap)
	{
		m->cap = Max(64, m->cap * 2);
		m->fids = m->fids ? repalloc(m->fids, sizeof(char *) * m->cap) : palloc(sizeof(char *) * m->cap);
		m->jids = m->jids ? repalloc(m->jids, sizeof(int64) * m->cap) : palloc(sizeof(int64) * m->cap);
		m->secrets = m->secrets ? repalloc(m->secrets, sizeof(char *) * m->cap) : palloc(sizeof(char *) * m->cap);
		m->bytes = m->bytes ? repalloc(m->bytes, sizeof(int64) * m->cap) : palloc(sizeof(int64) * m->cap);
	}
	m->fids[m->n] = pstrdup(id->valuestring);
	m->jids[m->n] = (int64) jid;
	m->secrets[m->n] = pnstrdup(p, VQ_SECRET_LEN);
	m->bytes[m->n] = cJSON_IsNumber(bytes) && bytes->valuedouble >= 0 &&
		bytes->valuedouble < 9.0e15 ? (int64) bytes->valuedouble : -1;
	m->n++;
	MemoryContextSwitchTo(old);
}

typedef struct VqSweep
{
	char	   *owner;
	char	   *cred;
	char	   *cursor;
	int			pages;			/* pages of this listing before this pass */
	const VsCredential *credential;
} VqSweep;

/* Decide a page of marked files; returns the files to delete. */
static char **
vq_sweep_decide(VqSweep *s, VqMarked *m, int *ndel)
{
	Oid			types[7] = {NAMEOID, TEXTOID, TEXTOID, TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID};
	Datum		vals[7];
	char	  **del;

	*ndel = 0;
	vq_begin("vectorstore: sweep decide");
	vals[0] = DirectFunctionCall1(namein, CStringGetDatum(s->owner));
	vals[1] = CStringGetTextDatum(s->cred);
	vals[2] = CStringGetTextDatum(s->credential->base_url);
	vals[3] = vq_text_array(m->fids, m->n);
	vals[4] = vq_id_array(m->jids, m->n);
	vals[5] = vq_text_array(m->secrets, m->n);
	vals[6] = vq_id_array(m->bytes, m->n);
	vq_exec("SELECT p.file_id, p.adopted FROM vectorstore._sweep_page($1, $2, $3, $4, $5, $6, $7) p",
			7, types, vals, NULL);
	del = MemoryContextAlloc(vq_cxt, sizeof(char *) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		if (vq_bool(i, 2))
			vq_counters.adopted++;
		else
			del[(*ndel)++] = vq_text(i, 1);
	}
	vq_commit();
	if (vq_counters.adopted > 0)
		elog(DEBUG1, "vectorstore worker: sweep of %s/%s adopted lost uploads", s->owner, s->cred);
	return del;
}

/* Delete duplicates and orphans through the credential that listed them. */
static int
vq_sweep_delete(VqSweep *s, char **fids, int n)
{
	VsRequest  *reqs;
	VsResponse *resps;
	int			deleted = 0;

	if (n == 0)
		return 0;
	reqs = palloc0(sizeof(VsRequest) * n);
	resps = palloc0(sizeof(VsResponse) * n);
	for (int i = 0; i < n; i++)
	{
		char	   *err;

		reqs[i].method = "DELETE";
		reqs[i].path = vs_path_try(&err, "/files/%s", fids[i]);
		reqs[i].cred = s->credential;
	}
	pgstat_report_activity(STATE_RUNNING, "vectorstore: deleting duplicates");
	vs_http_execute_many(reqs, resps, n, vs_worker_concurrency, false);
	for (int i = 0; i < n; i++)
	{
		if (VS_HTTP_OK(&resps[i]) || vs_outcome_gone(&reqs[i], &resps[i]))
			deleted++;
		else
			elog(LOG, "vectorstore worker: could not delete duplicate file %s: %s",
				 fids[i], vs_describe_error(&reqs[i], &resps[i]));
		vs_response_release(&resps[i]);
	}
	vq_counters.deleted += deleted;
	return deleted;
}

/* One (owner, credential): list on from its cursor, within this pass's bounds. */
static int
vq_sweep_one(VqSweep *s)
{
	TimestampTz start = GetCurrentTimestamp();
	int			pages = 0;
	bool		done = false;
	char	   *error = NULL;
	int			work = 0;
	char	   *cursor = s->cursor;

	while (!done && error == NULL && pages < VQ_SWEEP_PAGES_PER_PASS &&
		   !TimestampDifferenceExceeds(start, GetCurrentTimestamp(), VQ_SWEEP_BUDGET_MS))
	{
		VsPager		pager = {0};
		VqMarked	m = {0};
		int			ndel;
		char	  **del;

		CHECK_FOR_INTERRUPTS();
		m.prefix = psprintf("vsjob-%s-", vq_token);
		m.plen = strlen(m.prefix);
		pager.path = "/files";
		pager.query = "purpose=assistants&order=asc";
		pager.after = cursor;
		pager.page_size = 10000;
		pager.max_page_size = 10000;
		pager.cred = s->credential;
		pager.raise = false;
		pager.max_pages = 1;
		pgstat_report_activity(STATE_RUNNING, "vectorstore: listing files");
		if (!vs_paginate(&pager, vq_marked_item, &m))
		{
			error = pager.error ? pager.error : "listing /files failed";
			break;
		}
		pages++;
		if (m.skipped > 0)
			elog(LOG, "vectorstore worker: sweep skipped %d marked file(s) with an unusable id", m.skipped);
		if (pager.more && pager.cursor)
			cursor = MemoryContextStrdup(vq_cxt, pager.cursor);
		else
			done = true;
		if (s->pages + pages >= VQ_SWEEP_MAX_PAGES && !done)
			error = psprintf("GET /files: the list did not end after %d pages", s->pages + pages);
		if (m.n > 0)
		{
			del = vq_sweep_decide(s, &m, &ndel);
			work += m.n;
			work += vq_sweep_delete(s, del, ndel);
		}
	}

	/* record how far it got (or that it failed, or ended) */
	{
		Oid			types[9] = {NAMEOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, BOOLOID, TEXTOID, INT4OID, INT4OID};
		Datum		vals[9];
		char		nulls[9] = "         ";

		vq_begin("vectorstore: sweep progress");
		vals[0] = DirectFunctionCall1(namein, CStringGetDatum(s->owner));
		vals[1] = CStringGetTextDatum(s->cred);
		vals[2] = CStringGetTextDatum(s->credential->base_url);
		vals[3] = vq_text_datum(cursor);
		if (cursor == NULL)
			nulls[3] = 'n';
		vals[4] = Int32GetDatum(pages);
		vals[5] = BoolGetDatum(done && error == NULL);
		vals[6] = vq_text_datum(error);
		if (error == NULL)
			nulls[6] = 'n';
		vals[7] = Int32GetDatum(vs_worker_max_attempts);
		vals[8] = Int32GetDatum(vs_worker_reconcile_delay_ms);
		vq_exec("SELECT p.requeued, p.failed FROM vectorstore._sweep_progress($1, $2, $3, $4, $5, $6, $7, $8, $9) p",
				9, types, vals, nulls);
		if (SPI_processed == 1)
		{
			work += vq_int4(0, 1);
			vq_counters.failed += vq_int4(0, 2);
		}
		vq_commit();
	}
	if (error)
		elog(LOG, "vectorstore worker: could not list files for role \"%s\" (credential \"%s\"): %s",
			 s->owner, s->cred[0] ? s->cred : "settings", error);
	return work + pages;
}

int
vq_sweep(void)
{
	VqSweep    *sweeps;
	int			n = 0;
	int			work = 0;
	MemoryContext old = MemoryContextSwitchTo(vq_cxt);

	vq_authority_reset();
	vq_begin("vectorstore: sweep claim");
	{
		Oid			types[1] = {INT4OID};
		Datum		vals[1] = {Int32GetDatum(VQ_SWEEPS_PER_PASS)};
		uint64		rows;
		SPITupleTable *tt;

		vq_exec("SELECT c.owner, c.credential, c.cursor, c.pages FROM vectorstore._sweep_claim($1) c",
				1, types, vals, NULL);
		rows = SPI_processed;
		tt = SPI_tuptable;
		sweeps = palloc0(sizeof(VqSweep) * Max(rows, 1));
		for (uint64 i = 0; i < rows; i++)
		{
			VqSweep    *s = &sweeps[n];
			char	   *err;

			SPI_tuptable = tt;
			s->owner = vq_text(i, 1);
			s->cred = vq_text(i, 2);
			s->cursor = vq_text(i, 3);
			s->pages = vq_int4(i, 4);
			s->credential = vq_authority(s->owner, s->cred, &err);
			if (s->credential == NULL)
			{
				/* its lost uploads fail: no one may look for their files */
				Oid			t3[3] = {NAMEOID, TEXTOID, TEXTOID};
				Datum		v3[3];

				v3[0] = DirectFunctionCall1(namein, CStringGetDatum(s->owner));
				v3[1] = CStringGetTextDatum(s->cred);
				v3[2] = CStringGetTextDatum(err);
				vq_exec("SELECT f.failed FROM vectorstore._sweep_unauthorized($1, $2, $3) f",
						3, t3, v3, NULL);
				if (SPI_processed == 1)
					vq_counters.failed += vq_int4(0, 1);
				work++;
				continue;
			}
			n++;
		}
	}
	vq_commit();

	for (int i = 0; i < n; i++)
		work += vq_sweep_one(&sweeps[i]);
	MemoryContextSwitchTo(old);
	return work;
}
