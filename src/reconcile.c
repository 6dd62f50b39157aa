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

extern const VqStep vq_step_sweep_delete;

typedef struct VqSweep
{
	char	   *cursor;			/* where this page starts */
	int			pages;			/* pages of this listing before this one */
	VsPager		pager;
	VqMarked	m;				/* the page's marked files */
	bool		done;			/* the listing reached its end */
	char	   *next;			/* the cursor after this page */
	char	   *error;			/* the listing failed */
	char	  **del;			/* decided: files to delete */
	int			ndel;
} VqSweep;

/*
 * The sweep is a step (step.c): each claimed (owner, credential) is one
 * unit that lists one page of /files from its cursor, sent without waiting
 * like every request of the worker, so a server that does not answer holds
 * up only its own listing (for at most vectorstore.worker_request_timeout),
 * and the next page is claimed the next pass. A listing already in flight
 * is not claimed again.
 */
static void
sw_claim(VqRun *run)
{
	Oid			types[1] = {INT4OID};
	Datum		vals[1] = {Int32GetDatum(VQ_SWEEPS_PER_PASS)};
	uint64		rows;
	SPITupleTable *tt;

	vq_exec("SELECT c.owner, c.credential, c.cursor, c.pages FROM vectorstore._sweep_claim($1) c",
			1, types, vals, NULL);
	rows = SPI_processed;
	tt = SPI_tuptable;
	for (uint64 i = 0; i < rows; i++)
	{
		VqUnit	   *u;
		VqSweep    *s;
		char	   *owner,
				   *cred;

		SPI_tuptable = tt;
		owner = vq_text(i, 1);
		cred = vq_text(i, 2);
		if (vq_unit_open(&vq_step_sweep, owner, cred))
			continue;			/* its page is still in flight */
		u = vq_unit_add(run, owner, cred, 0);
		s = MemoryContextAllocZero(vq_cxt, sizeof(VqSweep));
		s->cursor = vq_text(i, 3);
		s->pages = vq_int4(i, 4);
		u->data = s;
		run->claimed++;
	}
}

static void
sw_build(VqRun *run, VqUnit *u)
{
	VqSweep    *s = u->data;

	s->m.prefix = psprintf("vsjob-%s-", vq_token);
	s->m.plen = strlen(s->m.prefix);
	s->pager.path = "/files";
	s->pager.query = "purpose=assistants&order=asc";
	s->pager.after = s->cursor;
	s->pager.page_size = 10000;
	s->pager.max_page_size = 10000;
	s->pager.cred = u->credential;
	s->pager.raise = false;
	s->pager.max_pages = 1;
	vs_pager_request(&s->pager, s->cursor, &u->req);
}

/* A page came: the paginator reads it (no request: it was sent). */
static void
sw_digest(VqRun *run, VqUnit *u)
{
	VqSweep    *s = u->data;

	s->pager.first_response = &u->resp;
	if (!vs_paginate(&s->pager, vq_marked_item, &s->m))
	{
		s->error = s->pager.error ? s->pager.error : "listing /files failed";
		return;
	}
	if (s->m.skipped > 0)
		elog(LOG, "vectorstore worker: sweep skipped %d marked file(s) with an unusable id", s->m.skipped);
	if (s->pager.more && s->pager.cursor)
		s->next = MemoryContextStrdup(vq_cxt, s->pager.cursor);
	else
		s->done = true;
	if (s->pages + 1 >= VQ_SWEEP_MAX_PAGES && !s->done)
		s->error = psprintf("GET /files: the list did not end after %d pages", s->pages + 1);
}

/* Decide a page of marked files (_sweep_page): which to delete. */
static void
sw_decide(VqUnit *u, VqSweep *s)
{
	Oid			types[7] = {NAMEOID, TEXTOID, TEXTOID, TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID};
	Datum		vals[7];
	VqMarked   *m = &s->m;

	vals[0] = DirectFunctionCall1(namein, CStringGetDatum(u->owner));
	vals[1] = CStringGetTextDatum(u->cred);
	vals[2] = CStringGetTextDatum(u->credential->base_url);
	vals[3] = vq_text_array(m->fids, m->n);
	vals[4] = vq_id_array(m->jids, m->n);
	vals[5] = vq_text_array(m->secrets, m->n);
	vals[6] = vq_id_array(m->bytes, m->n);
	vq_exec("SELECT p.file_id, p.adopted FROM vectorstore._sweep_page($1, $2, $3, $4, $5, $6, $7) p",
			7, types, vals, NULL);
	s->del = MemoryContextAlloc(vq_cxt, sizeof(char *) * Max(SPI_processed, 1));
	s->ndel = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		if (vq_bool(i, 2))
			vq_counters.adopted++;
		else
			s->del[s->ndel++] = vq_text(i, 1);
	}
}

/* Record how far a listing got (or that it failed, or ended). */
static void
sw_progress(VqUnit *u, VqSweep *s, const char *error)
{
	Oid			types[9] = {NAMEOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, BOOLOID, TEXTOID, INT4OID, INT4OID};
	Datum		vals[9];
	char		nulls[9] = "         ";
	const char *cursor = s->done ? NULL : (s->next ? s->next : s->cursor);

	vals[0] = DirectFunctionCall1(namein, CStringGetDatum(u->owner));
	vals[1] = CStringGetTextDatum(u->cred);
	vals[2] = CStringGetTextDatum(u->credential->base_url);
	vals[3] = vq_text_datum(cursor);
	if (cursor == NULL)
		nulls[3] = 'n';
	vals[4] = Int32GetDatum(error ? 0 : 1);
	vals[5] = BoolGetDatum(s->done && error == NULL);
	vals[6] = vq_text_datum(error);
	if (error == NULL)
		nulls[6] = 'n';
	vals[7] = Int32GetDatum(vs_worker_max_attempts);
	vals[8] = Int32GetDatum(vs_worker_reconcile_delay_ms);
	vq_exec("SELECT p.requeued, p.failed FROM vectorstore._sweep_progress($1, $2, $3, $4, $5, $6, $7, $8, $9) p",
			9, types, vals, nulls);
	if (SPI_processed == 1)
		vq_counters.failed += vq_int4(0, 2);
	if (error)
		elog(LOG, "vectorstore worker: could not list files for role \"%s\" (credential \"%s\"): %s",
			 u->owner, u->cred[0] ? u->cred : "settings", error);
}

static void
sw_record(VqRun *run, VqUnit *units, int n)
{
	for (int i = 0; i < n; i++)
	{
		VqUnit	   *u = &units[i];
		VqSweep    *s = u->data;
		const char *error;

		if (u->unauthorized)
		{
			/* its lost uploads fail: no one may look for their files */
			Oid			t3[3] = {NAMEOID, TEXTOID, TEXTOID};
			Datum		v3[3];

			v3[0] = DirectFunctionCall1(namein, CStringGetDatum(u->owner));
			v3[1] = CStringGetTextDatum(u->cred);
			v3[2] = CStringGetTextDatum(u->invalid);
			vq_exec("SELECT f.failed FROM vectorstore._sweep_unauthorized($1, $2, $3) f",
					3, t3, v3, NULL);
			if (SPI_processed == 1)
				vq_counters.failed += vq_int4(0, 1);
			continue;
		}
		if (u->outcome.kind != VS_OUTCOME_DONE)
			error = u->error ? u->error : "listing /files failed";
		else
			error = s->error;
		if (error == NULL && s->m.n > 0)
			sw_decide(u, s);
		sw_progress(u, s, error);
	}
}

/* After the record: delete the late duplicates decided, without waiting. */
static void
sw_after(VqRun *run, VqUnit *units, int n)
{
	for (int i = 0; i < n; i++)
	{
		VqSweep    *s = units[i].data;

		if (s && s->ndel > 0)
		{
			VqRun	   *d = vq_run_new(&vq_step_sweep_delete);

			for (int k = 0; k < s->ndel; k++)
			{
				VqUnit	   *u = vq_unit_add(d, units[i].owner, units[i].cred, 0);

				u->data = MemoryContextStrdup(d->cxt, s->del[k]);
			}
			vq_run_send(d);
		}
	}
}

const VqStep vq_step_sweep = {
	.name = "sweep",
	.claim = sw_claim,
	.build = sw_build,
	.digest = sw_digest,
	.record = sw_record,
	.after = sw_after,
};

/* ---------------------------------------------------------------------
 * Deleting duplicates: a step of its own, its units made by the sweep
 * ---------------------------------------------------------------------
 */
static void
sd_build(VqRun *run, VqUnit *u)
{
	char	   *err;

	u->req.method = "DELETE";
	u->req.path = vs_path_try(&err, "/files/%s", (char *) u->data);
	if (u->req.path == NULL)
		u->invalid = err;
}

/* Through the credential that listed them; a 404 reached the goal. */
static bool
sd_then(VqRun *run, VqUnit *u, bool second)
{
	if (u->outcome.kind != VS_OUTCOME_DONE && vs_outcome_gone(&u->req, &u->resp))
	{
		u->outcome.kind = VS_OUTCOME_DONE;
		u->error = NULL;
	}
	if (u->outcome.kind == VS_OUTCOME_DONE)
		vq_counters.deleted++;
	else
		elog(LOG, "vectorstore worker: could not delete duplicate file %s: %s",
			 (char *) u->data, u->error ? u->error : "failed");
	return false;
}

static void
sd_record(VqRun *run, VqUnit *units, int n)
{
	/* nothing to record: the next sweep finds what is left */
}

const VqStep vq_step_sweep_delete = {
	.name = "duplicate deletes",
	.build = sd_build,
	.then = sd_then,
	.record = sd_record,
};

int
vq_sweep(void)
{
	return vq_step_run(&vq_step_sweep);
}
