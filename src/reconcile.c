/*-------------------------------------------------------------------------
 *
 * reconcile.c
 *	  The worker's steps that bring the queue in line with what the server
 *	  says: polling file batches until their files are searchable, and the
 *	  sweep that finds uploads whose answer was lost and deletes duplicate
 *	  and orphaned files (the design is at the top of worker.c).
 *
 * Same shape as the steps in queue.c: short transactions around requests
 * sent with none open, outcomes recorded as row values.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"
#include "vs_worker.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* ---------------------------------------------------------------------
 * Step 3: poll file batches at the interval the server suggests
 * ---------------------------------------------------------------------
 */

/*
 * Follow a list endpoint through every page (the paginator, recording
 * rather than raising a failure). Returns false with *err set when a page
 * fails, is not JSON, or does not advance.
 */
typedef void (*VqItemFn) (const cJSON *item, void *arg);

static bool
vq_list_pages(const VsCredential *cred, const char *path, const char *query,
			  int page_size, bool beta, VqItemFn cb, void *arg, char **err)
{
	VsPager		pager = {0};
	bool		ok;

	pager.path = path;
	pager.query = query;
	pager.page_size = page_size;
	pager.beta = beta;
	pager.cred = cred;
	pager.raise = false;
	ok = vs_paginate(&pager, cb, arg);
	*err = pager.error;
	return ok;
}

typedef struct VqBatchFiles
{
	List	  **fids;
	List	  **statuses;
	List	  **errors;
} VqBatchFiles;

static void
vq_batch_file_item(const cJSON *it, void *arg)
{
	VqBatchFiles *bf = (VqBatchFiles *) arg;
	const cJSON *le = cJSON_GetObjectItemCaseSensitive(it, "last_error");
	/* the page's context goes after the page: keep copies in the loop's */
	MemoryContext old = MemoryContextSwitchTo(vq_cxt);

	*bf->fids = lappend(*bf->fids, pstrdup(vq_str(it, "id")));
	*bf->statuses = lappend(*bf->statuses, pstrdup(vq_str(it, "status") ? vq_str(it, "status") : ""));
	*bf->errors = lappend(*bf->errors,
						  cJSON_IsObject(le) ?
						  psprintf("file processing failed: %s: %s",
								   vq_str(le, "code") ? vq_str(le, "code") : "error",
								   vq_str(le, "message") ? vq_str(le, "message") : "")
						  : NULL);
	MemoryContextSwitchTo(old);
}

/* List a batch's files (every page); returns false on a failure. */
static bool
vq_batch_files(const VsCredential *cred, const char *store, const char *bid,
			   List **fids, List **statuses, List **errors, char **err)
{
	VqBatchFiles bf = {fids, statuses, errors};

	return vq_list_pages(cred,
						 vs_path("/vector_stores/%s/file_batches/%s/files", store, bid),
						 NULL, 100, true, vq_batch_file_item, &bf, err);
}

int
vs_queue_poll(void)
{
	int			n;
	char	  **creds,
			  **stores,
			  **bids;
	VsRequest  *reqs;
	VsResponse *resps;

	vq_begin("vectorstore: batches due");
	/* a batch is due when one of its jobs is (an index range of job_active_idx) */
	vq_exec("SELECT DISTINCT coalesce(credential, ''), vector_store_id, batch_id FROM vectorstore.job"
			" WHERE status = 'attaching' AND not_before <= now() AND batch_id IS NOT NULL"
			" LIMIT 64",
			0, NULL, NULL, NULL);
	n = (int) SPI_processed;
	MemoryContextSwitchTo(vq_cxt);
	creds = palloc(sizeof(char *) * Max(n, 1));
	stores = palloc(sizeof(char *) * Max(n, 1));
	bids = palloc(sizeof(char *) * Max(n, 1));
	reqs = palloc0(sizeof(VsRequest) * Max(n, 1));
	resps = palloc0(sizeof(VsResponse) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		creds[i] = vq_text(i, 1);
		stores[i] = vq_text(i, 2);
		bids[i] = vq_text(i, 3);
	}
	for (int i = 0; i < n; i++)
	{
		reqs[i].method = "GET";
		reqs[i].path = vs_path("/vector_stores/%s/file_batches/%s", stores[i], bids[i]);
		reqs[i].beta = true;
		reqs[i].poll = true;
		reqs[i].cred = vq_cred(creds[i]);
	}
	vq_commit();
	if (n == 0)
		return 0;

	pgstat_report_activity(STATE_RUNNING, "vectorstore: polling file batches");
	vq_send(reqs, resps, n);

	for (int i = 0; i < n; i++)
	{
		VsResponse *r = &resps[i];
		Oid			t4[5] = {TEXTOID, TEXTOID, TEXTOID, INT4OID, TEXTOID};
		Datum		v4[5];
		char	   *err = NULL;
		cJSON	   *o = VS_HTTP_OK(r) ? vq_parse(&reqs[i], r, &err) : NULL;
		const char *status = vq_str(o, "status");
		List	   *fids = NIL,
				   *sts = NIL,
				   *errs = NIL;

		v4[0] = CStringGetTextDatum(creds[i]);
		v4[1] = CStringGetTextDatum(stores[i]);
		v4[2] = CStringGetTextDatum(bids[i]);

		if (o == NULL || status == NULL || strcmp(status, "in_progress") == 0)
		{
			int			delay = r->poll_after_ms >= 0 ? r->poll_after_ms : vs_worker_poll_interval_ms;
			const char *e = NULL;

			if (reqs[i].cred == NULL)
			{
				e = psprintf("credential \"%s\" does not exist", creds[i]);
				delay = 10000;
			}
			else if (!VS_HTTP_OK(r))
			{
				e = vq_error(&reqs[i], r);
				if (r->status == 429)
					delay = vq_429_delay(r);
				else
					delay = Max(delay, 1000);
			}
			else if (o == NULL)
				e = err;

			if (r->status == 404)
			{
				/* the batch (or store) is gone: attach again, counting a try */
				vq_begin("vectorstore: record batch");
				vq_exec("SELECT array_agg(id) FROM vectorstore.job WHERE status = 'attaching'"
						" AND coalesce(credential, '') = $1 AND vector_store_id = $2"
						" AND batch_id = $3", 3, t4, v4, NULL);
				{
					bool		isnull;
					Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

					if (!isnull)
					{
						ArrayType  *a = DatumGetArrayTypeP(d);
						int64	   *ids = (int64 *) ARR_DATA_PTR(a);

						vq_record_failure(ids, ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)),
										  "uploaded", e, true, VQ_BACKOFF);
					}
				}
				vq_commit();
				continue;
			}
			v4[3] = Int32GetDatum(delay);
			v4[4] = vq_text_datum(e);
			vq_begin("vectorstore: record batch");
			vq_exec("UPDATE vectorstore.job SET not_before = now() + make_interval(secs => $4 / 1000.0),"
					" last_error = nullif($5, '') WHERE status = 'attaching'"
					" AND coalesce(credential, '') = $1 AND vector_store_id = $2 AND batch_id = $3",
					5, t4, v4, NULL);
			vq_commit();
			continue;
		}

		/* terminal: which files made it? */
		{
			const cJSON *fc = cJSON_GetObjectItemCaseSensitive(o, "file_counts");
			bool		all_ok = vq_int(fc, "completed") == vq_int(fc, "total") &&
				vq_int(fc, "total") > 0;
			bool		listed = false;

			if (!all_ok)
			{
				vq_begin("vectorstore: credential");
				{
					VsCredential *c = vq_cred(creds[i]);

					vq_commit();
					listed = c && vq_batch_files(c, stores[i], bids[i], &fids, &sts, &errs, &err);
				}
				if (!listed)
				{
					/* try again later */
					v4[3] = Int32GetDatum(Max(vs_worker_poll_interval_ms, 1000));
					v4[4] = vq_text_datum(err);
					vq_begin("vectorstore: record batch");
					vq_exec("UPDATE vectorstore.job SET not_before = now() + make_interval(secs => $4 / 1000.0),"
							" last_error = nullif($5, '') WHERE status = 'attaching'"
							" AND coalesce(credential, '') = $1 AND vector_store_id = $2 AND batch_id = $3",
							5, t4, v4, NULL);
					vq_commit();
					continue;
				}
			}

			vq_begin("vectorstore: record batch");
			if (all_ok)
			{
				vq_exec("WITH u AS (UPDATE vectorstore.job SET updated_at = now(), not_before = now(),"
						"  last_error = NULL,"
						"  status = CASE WHEN kind = 'replace' THEN 'deleting' ELSE 'completed' END,"
						"  finished_at = CASE WHEN kind = 'replace' THEN NULL ELSE now() END"
						" WHERE status = 'attaching' AND coalesce(credential, '') = $1"
						"  AND vector_store_id = $2 AND batch_id = $3 RETURNING status)"
						" UPDATE vectorstore.worker_state SET jobs_done = jobs_done +"
						"  (SELECT count(*) FROM u WHERE status = 'completed')",
						3, t4, v4, NULL);
			}
			else
			{
				/* per file: completed ones are done, the others try again */
				Datum	   *fd = palloc(sizeof(Datum) * Max(list_length(fids), 1));
				Datum	   *sd = palloc(sizeof(Datum) * Max(list_length(fids), 1));
				Datum	   *ed = palloc(sizeof(Datum) * Max(list_length(fids), 1));
				bool	   *en = palloc(sizeof(bool) * Max(list_length(fids), 1));
				int			k = 0;
				ListCell   *a,
						   *b,
						   *c;
				Oid			t6[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
				Datum		v6[6];
				int			dims[1];
				int			lbs[1] = {1};

				forthree(a, fids, b, sts, c, errs)
				{
					fd[k] = CStringGetTextDatum(lfirst(a));
					sd[k] = CStringGetTextDatum(lfirst(b));
					en[k] = lfirst(c) == NULL;
					ed[k] = en[k] ? (Datum) 0 : CStringGetTextDatum(lfirst(c));
					k++;
				}
				dims[0] = k;
				v6[0] = v4[0];
				v6[1] = v4[1];
				v6[2] = v4[2];
				v6[3] = PointerGetDatum(construct_array(fd, k, TEXTOID, -1, false, TYPALIGN_INT));
				v6[4] = PointerGetDatum(construct_array(sd, k, TEXTOID, -1, false, TYPALIGN_INT));
				v6[5] = PointerGetDatum(construct_md_array(ed, en, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
				vq_exec("WITH f AS (SELECT * FROM unnest($4::text[], $5::text[], $6::text[]) f(fid, st, err)),"
						" u AS (UPDATE vectorstore.job j SET updated_at = now(), not_before ="
						"   CASE WHEN f.st = 'completed' THEN now() ELSE now() + interval '1 s' END,"
						"  attempts = j.attempts + CASE WHEN f.st = 'completed' THEN 0 ELSE 1 END,"
						"  last_error = CASE WHEN f.st = 'completed' THEN NULL"
						"    ELSE coalesce(f.err, 'file ' || coalesce(f.st, 'missing') || ' in batch') END,"
						"  status = CASE WHEN f.st = 'completed' AND j.kind = 'replace' THEN 'deleting'"
						"    WHEN f.st = 'completed' THEN 'completed'"
						"    WHEN j.attempts + 1 >= " VQ_MAX " THEN 'failed' ELSE 'uploaded' END,"
						"  finished_at = CASE WHEN f.st = 'completed' AND j.kind = 'replace' THEN NULL"
						"    WHEN f.st = 'completed' OR j.attempts + 1 >= " VQ_MAX " THEN now() END"
						"  FROM vectorstore.job j2 LEFT JOIN f ON f.fid = j2.file_id"
						"  WHERE j.id = j2.id AND j.status = 'attaching' AND coalesce(j.credential, '') = $1"
						"   AND j.vector_store_id = $2 AND j.batch_id = $3 RETURNING j.status)"
						" UPDATE vectorstore.worker_state SET"
						"  jobs_done = jobs_done + (SELECT count(*) FROM u WHERE status = 'completed'),"
						"  jobs_failed = jobs_failed + (SELECT count(*) FROM u WHERE status = 'failed')",
						6, t6, v6, NULL);
			}
			vq_commit();
		}
	}
	return n;
}

/* ---------------------------------------------------------------------
 * Step 5: the sweep — reconcile lost uploads, delete duplicates and orphans
 * ---------------------------------------------------------------------
 */

typedef struct VqMarked
{
	const char *prefix;
	size_t		plen;
	List	  **fids;
	List	  **jids;
} VqMarked;

static void
vq_marked_item(const cJSON *it, void *arg)
{
	VqMarked   *m = (VqMarked *) arg;
	const char *fn = vq_str(it, "filename");
	char	   *end;
	long long	jid;

	if (fn == NULL || strncmp(fn, m->prefix, m->plen) != 0)
		return;
	jid = strtoll(fn + m->plen, &end, 10);
	if (end != fn + m->plen && *end == '_' && jid > 0)
	{
		/* the page's context goes after the page: keep copies in the loop's */
		MemoryContext old = MemoryContextSwitchTo(vq_cxt);
		int64	   *p = palloc(sizeof(int64));

		*p = (int64) jid;
		*m->fids = lappend(*m->fids, pstrdup(vq_str(it, "id")));
		*m->jids = lappend(*m->jids, p);
		MemoryContextSwitchTo(old);
	}
}

/* Files whose name carries this database's marker, through every page. */
static bool
vq_list_marked(const VsCredential *cred, List **fids, List **jids, char **err)
{
	VqMarked	m;

	m.prefix = psprintf("vsjob-%s-", vq_token);
	m.plen = strlen(m.prefix);
	m.fids = fids;
	m.jids = jids;
	return vq_list_pages(cred, "/files", "purpose=assistants", 10000, false,
						 vq_marked_item, &m, err);
}

int
vs_queue_sweep(void)
{
	bool		due = false;
	List	   *cnames = NIL;
	List	   *fids = NIL,
			   *jids = NIL,
			   *fcreds = NIL;
	List	   *failed = NIL;
	Datum		list_start;
	ListCell   *lc;
	int			nf,
				k;
	VsRequest  *dreqs;
	VsResponse *dresps;
	char	  **dfid;
	int			nd = 0,
				ndeleted = 0,
				nadopted = 0;

	vq_begin("vectorstore: sweep check");
	vq_exec("SELECT (w.sweep_due_at <= now()"
			"  OR EXISTS (SELECT 1 FROM vectorstore.job j WHERE j.status = 'uploading'"
			"             AND j.file_id IS NULL AND j.not_before <= now())"
			"  OR EXISTS (SELECT 1 FROM vectorstore.job j WHERE j.status IN ('failed', 'cancelled')"
			"             AND j.file_id IS NOT NULL AND j.kind <> 'delete'))"
			" AND (w.last_sweep_at IS NULL OR w.last_sweep_at < now() - interval '2 s')"
			" FROM vectorstore.worker_state w", 0, NULL, NULL, NULL);
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		due = !isnull && DatumGetBool(d);
	}
	if (due)
	{
		vq_exec("SELECT DISTINCT coalesce(credential, '') FROM vectorstore.job", 0, NULL, NULL, NULL);
		MemoryContextSwitchTo(vq_cxt);
		for (uint64 i = 0; i < SPI_processed; i++)
			cnames = lappend(cnames, vq_text(i, 1));
		foreach(lc, cnames)
			(void) vq_cred(lfirst(lc));
	}
	vq_commit();
	if (!due)
		return 0;

	/* every upload that may have landed before now is in the listing */
	list_start = TimestampTzGetDatum(GetCurrentTimestamp());
	pgstat_report_activity(STATE_RUNNING, "vectorstore: listing files");
	foreach(lc, cnames)
	{
		char	   *name = lfirst(lc);
		VsCredential *c = vq_cred(name);
		char	   *err = NULL;
		int			before = list_length(fids);

		if (c == NULL || !vq_list_marked(c, &fids, &jids, &err))
		{
			failed = lappend(failed, name);
			if (err)
				elog(LOG, "vectorstore worker: could not list files: %s", err);
			continue;
		}
		for (int i = before; i < list_length(fids); i++)
			fcreds = lappend(fcreds, name);
	}

	nf = list_length(fids);
	dreqs = palloc0(sizeof(VsRequest) * Max(nf, 1));
	dresps = palloc0(sizeof(VsResponse) * Max(nf, 1));
	dfid = palloc0(sizeof(char *) * Max(nf, 1));

	vq_begin("vectorstore: sweep decide");
	if (nf > 0)
	{
		Datum	   *fd = palloc(sizeof(Datum) * nf);
		Datum	   *jd = palloc(sizeof(Datum) * nf);
		Oid			t2[2] = {TEXTARRAYOID, INT8ARRAYOID};
		Datum		v2[2];
		int64		last_adopted = 0;
		ListCell   *a,
				   *b;

		k = 0;
		forboth(a, fids, b, jids)
		{
			fd[k] = CStringGetTextDatum(lfirst(a));
			jd[k] = Int64GetDatum(*(int64 *) lfirst(b));
			k++;
		}
		v2[0] = PointerGetDatum(construct_array(fd, nf, TEXTOID, -1, false, TYPALIGN_INT));
		v2[1] = PointerGetDatum(construct_array(jd, nf, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		/* one row per listed file: its job, and whether the job may adopt it */
		vq_exec("SELECT f.fid, f.jid, j.id IS NOT NULL, j.status, j.file_id, f.ord"
				" FROM unnest($1::text[], $2::int8[]) WITH ORDINALITY f(fid, jid, ord)"
				" LEFT JOIN vectorstore.job j ON j.id = f.jid"
				" ORDER BY f.jid, f.ord", 2, t2, v2, NULL);
		MemoryContextSwitchTo(vq_cxt);
		{
			uint64		rows = SPI_processed;
			SPITupleTable *tt = SPI_tuptable;
			char	  **r_fid = palloc(sizeof(char *) * rows);
			int64	   *r_jid = palloc(sizeof(int64) * rows);
			bool	   *r_exists = palloc(sizeof(bool) * rows);
			char	  **r_status = palloc(sizeof(char *) * rows);
			char	  **r_jfile = palloc(sizeof(char *) * rows);
			int		   *r_ord = palloc(sizeof(int) * rows);

			for (uint64 i = 0; i < rows; i++)
			{
				SPI_tuptable = tt;
				r_fid[i] = vq_text(i, 1);
				r_jid[i] = vq_int8(i, 2);
				r_exists[i] = strcmp(vq_text(i, 3), "t") == 0;
				r_status[i] = vq_text(i, 4);
				r_jfile[i] = vq_text(i, 5);
				r_ord[i] = (int) vq_int8(i, 6);
			}
			for (uint64 i = 0; i < rows; i++)
			{
				bool		keep = false;

				if (!r_exists[i])
					keep = true;	/* its job was purged: not ours to judge */
				else if (r_jfile[i] && strcmp(r_jfile[i], r_fid[i]) == 0)
					keep = strcmp(r_status[i], "failed") != 0 &&
						strcmp(r_status[i], "cancelled") != 0;
				else if (r_jfile[i] == NULL && r_jid[i] != last_adopted &&
						 (strcmp(r_status[i], "uploading") == 0 ||
						  strcmp(r_status[i], "queued") == 0))
				{
					/* the answer was lost, the file is there: adopt it */
					Oid			ta[2] = {INT8OID, TEXTOID};
					Datum		va[2];

					va[0] = Int64GetDatum(r_jid[i]);
					va[1] = CStringGetTextDatum(r_fid[i]);
					vq_exec("UPDATE vectorstore.job SET file_id = $2, status = 'uploaded',"
							" not_before = now(), updated_at = now(), last_error = NULL"
							" WHERE id = $1 AND file_id IS NULL AND status IN ('uploading', 'queued')",
							2, ta, va, NULL);
					if (SPI_processed == 1)
					{
						keep = true;
						last_adopted = r_jid[i];
						nadopted++;
					}
				}
				if (!keep)
				{
					/* a duplicate, or the file of a job that failed or was cancelled */
					const char *cname = list_nth(fcreds, r_ord[i] - 1);

					dfid[nd] = r_fid[i];
					dreqs[nd].method = "DELETE";
					dreqs[nd].path = vs_path("/files/%s", r_fid[i]);
					dreqs[nd].cred = vq_cred(cname);
					nd++;
				}
			}
		}
	}
	vq_commit();

	if (nd > 0)
	{
		pgstat_report_activity(STATE_RUNNING, "vectorstore: deleting orphans");
		vq_send(dreqs, dresps, nd);
	}

	vq_begin("vectorstore: sweep record");
	{
		Datum	   *gone = palloc(sizeof(Datum) * Max(nd, 1));

		for (int i = 0; i < nd; i++)
		{
			if (VS_HTTP_OK(&dresps[i]) || dresps[i].status == 404)
				gone[ndeleted++] = CStringGetTextDatum(dfid[i]);
			else
				elog(LOG, "vectorstore worker: could not delete orphan file %s: %s",
					 dfid[i], vq_error(&dreqs[i], &dresps[i]));
		}
		if (ndeleted > 0)
		{
			Oid			t1[1] = {TEXTARRAYOID};
			Datum		v1[1];

			v1[0] = PointerGetDatum(construct_array(gone, ndeleted, TEXTOID, -1, false, TYPALIGN_INT));
			vq_exec("UPDATE vectorstore.job SET file_id = NULL, updated_at = now()"
					" WHERE file_id = ANY($1) AND status IN ('failed', 'cancelled')", 1, t1, v1, NULL);
		}
	}
	{
		Datum	   *fd = palloc(sizeof(Datum) * (list_length(failed) + 1));
		Oid			t4[4] = {TIMESTAMPTZOID, TEXTARRAYOID, INT4OID, INT4OID};
		Datum		v4[4];
		int			m = 0;

		foreach(lc, failed)
			fd[m++] = CStringGetTextDatum(lfirst(lc));
		v4[0] = list_start;
		v4[1] = PointerGetDatum(construct_array(fd, m, TEXTOID, -1, false, TYPALIGN_INT));
		v4[2] = Int32GetDatum(vs_worker_reconcile_delay_ms);
		v4[3] = Int32GetDatum(nd - ndeleted + m);
		/* lost uploads that did not land: upload again (or fail) */
		vq_exec("WITH r AS (UPDATE vectorstore.job SET updated_at = now(), not_before = now(),"
				"  status = CASE WHEN attempts >= " VQ_MAX " THEN 'failed' ELSE 'queued' END,"
				"  finished_at = CASE WHEN attempts >= " VQ_MAX " THEN now() END"
				" WHERE status = 'uploading' AND file_id IS NULL AND not_before <= $1"
				"  AND coalesce(credential, '') <> ALL ($2) RETURNING status)"
				" UPDATE vectorstore.worker_state SET last_sweep_at = now(),"
				"  jobs_failed = jobs_failed + (SELECT count(*) FROM r WHERE status = 'failed'),"
				"  sweep_due_at = CASE WHEN (SELECT count(*) FROM r) > 0 OR $4 > 0"
				"   THEN now() + make_interval(secs => $3 / 1000.0) END",
				4, t4, v4, NULL);
		v4[0] = Int32GetDatum(ndeleted);
		vq_exec("UPDATE vectorstore.worker_state SET duplicates_deleted = duplicates_deleted + $1",
				1, (Oid[]) {INT4OID}, v4, NULL);
	}
	vq_commit();
	if (ndeleted > 0 || nadopted > 0)
		elog(LOG, "vectorstore worker: sweep adopted %d lost upload(s), deleted %d orphan or duplicate file(s)",
			 nadopted, ndeleted);
	return nd + nadopted + 1;
}
