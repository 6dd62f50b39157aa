/*-------------------------------------------------------------------------
 *
 * jobs.c
 *	  The worker's steps over jobs, each a VqStep run by the step driver
 *	  (step.c): what to claim, how to build a request, how to read an answer
 *	  and which transition records it. The transitions and the retry policy
 *	  are SQL functions (sql/install/51_queue_functions.sql).
 *
 *	  upload   queued -> uploading; POST /files with the job's marker
 *	  attach   uploaded -> attaching; POST .../file_batches, one per
 *	           (owner, credential, store, request options)
 *	  poll     GET .../file_batches/{id} (and its file list when some files
 *	           did not complete) -> completed | deleting | uploaded | failed
 *	  remove   detach and delete the file a 'delete' or 'replace' job
 *	           removes, and the files of failed or cancelled jobs
 *
 * Every id a server sends back is checked to be a valid path segment before
 * it is stored, so a hostile answer ("x/vsfb_1") fails its own jobs, never a
 * later step for everyone.
 *
 *-------------------------------------------------------------------------
 */
#include "vs_worker.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* content the upload step holds at most per credential, and claims at once (one larger file is taken alone) */
#define VQ_MAX_CLAIM_BYTES ((int64) 64 * 1024 * 1024)

/*
 * How long a claimed attach, poll or removal waits for its record: longer
 * than a request at vectorstore.timeout (within worker_request_timeout)
 * takes, twice over for a removal's two requests. A job whose request asks
 * for longer (request_options) may outlive its lease in flight: the worker
 * does not claim a job whose unit is still open (step.c), and its record
 * still applies when it comes.
 */
static int
vq_lease_ms(void)
{
	int64		t = Min(vs_request_timeout_ms, vs_worker_request_timeout_ms);

	return (int) Min(2 * (t + vs_connect_timeout_ms) + 5000, (int64) 3600000);
}

/* Text in the server encoding as UTF-8 for a request body. */
static char *
vq_utf8(const char *s)
{
	return (char *) pg_server_to_any(s, strlen(s), PG_UTF8);
}

/* A string field of an object, or NULL (never raises). */
static const char *
vq_str(const cJSON *o, const char *key)
{
	const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/*
 * The id of an object the server created, checked to be usable in a path
 * (path_fmt's last %s): NULL and *err when there is none or it is not.
 */
static char *
vq_server_id(VqUnit *u, const char *path_fmt, const char *prefix, char **err)
{
	char	   *perr = NULL;
	cJSON	   *o = vs_json_try_parse_response(&u->req, &u->resp, &perr);
	const char *id = vq_str(o, "id");

	if (o == NULL)
	{
		*err = perr;
		return NULL;
	}
	if (id == NULL || id[0] == '\0')
	{
		*err = psprintf("%s %s: the answer has no \"id\"", u->req.method, u->req.path);
		return NULL;
	}
	if ((prefix ? vs_path_try(&perr, path_fmt, prefix, id) : vs_path_try(&perr, path_fmt, id)) == NULL)
	{
		*err = psprintf("%s %s: the server answered with an unusable id: %s",
						u->req.method, u->req.path, perr);
		return NULL;
	}
	return pstrdup(id);
}

/* units of run matching a predicate, copied into an array */
static VqUnit *
vq_select(VqUnit *units, int n, bool (*pred) (const VqUnit *u), int *nsel)
{
	VqUnit	   *out = palloc(sizeof(VqUnit) * Max(n, 1));

	*nsel = 0;
	for (int i = 0; i < n; i++)
		if (pred(&units[i]))
			out[(*nsel)++] = units[i];
	return out;
}

static bool
vq_is_done(const VqUnit *u)
{
	return u->invalid == NULL && u->outcome.kind == VS_OUTCOME_DONE;
}

static bool
vq_is_not_done(const VqUnit *u)
{
	return !vq_is_done(u);
}

/* ---------------------------------------------------------------------
 * upload: queued -> uploading -> uploaded
 * ---------------------------------------------------------------------
 */
typedef struct VqUpload
{
	char	   *filename;
	bytea	   *content;
	char	   *secret;
	char	   *options;
	VsMimePart	parts[2];
} VqUpload;

static VqPickRound up_round;

static void
up_claim(VqRun *run)
{
	Oid			types[13] = {TEXTARRAYOID, INT4OID, INT4OID, INT8OID, TEXTARRAYOID, INT8ARRAYOID,
	TEXTARRAYOID, INT4ARRAYOID, NAMEOID, TEXTOID, NAMEARRAYOID, TEXTARRAYOID, INT4ARRAYOID};
	Datum		vals[13];
	char		nulls[14] = "             ";

	vals[0] = vq_throttled();
	/* the sweep looks for it after the reconcile delay (keep it above worker_request_timeout) */
	vals[1] = Int32GetDatum(vs_worker_reconcile_delay_ms);
	vals[2] = Int32GetDatum(vs_worker_batch_size);
	/* contents held per credential and claimed at once (_job_claim_uploads) */
	vals[3] = Int64GetDatum(VQ_MAX_CLAIM_BYTES);
	vq_held_bytes(run->step, &vals[4], &vals[5]);
	vq_room(&vals[6], &vals[7]);
	vq_pick_round_args(&up_round, &vals[8], &nulls[8]);
	vq_open_by_owner(&vals[10], &vals[11], &vals[12]);
	vq_exec("SELECT c.id, c.owner, c.credential, c.filename, c.content, c.secret,"
			" c.request_options::pg_catalog.text, c.first"
			" FROM vectorstore._job_claim_uploads($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) c",
			13, types, vals, nulls);
	for (uint64 i = 0; i < SPI_processed; i++)
		vq_pick_round_set(&up_round, i, 2, 3, 8);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		VqUnit	   *u = vq_unit_add(run, vq_text(i, 2), vq_text(i, 3), 1);
		VqUpload   *d = MemoryContextAllocZero(vq_cxt, sizeof(VqUpload));
		bool		isnull;
		Datum		c = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 5, &isnull);
		MemoryContext old = MemoryContextSwitchTo(vq_cxt);

		u->ids[u->nids++] = vq_int8(i, 1);
		d->filename = vq_text(i, 4);
		d->content = isnull ? NULL : DatumGetByteaPCopy(c);
		/* what the request holds: its content and its name (223) */
		u->bytes = (d->content ? VARSIZE_ANY_EXHDR(d->content) : 0) +
			(d->filename ? strlen(d->filename) : 0);
		if (u->invalid == NULL)
			u->invalid = vs_job_names_problem(NULL, d->filename);
		d->secret = vq_text(i, 6);
		d->options = vq_text(i, 7);
		u->data = d;
		if (d->content == NULL || d->filename == NULL)
			u->invalid = pstrdup("the job has no content (purged)");
		MemoryContextSwitchTo(old);
		run->claimed++;
	}
}

static void
up_build(VqRun *run, VqUnit *u)
{
	VqUpload   *d = u->data;
	char	   *err;

	u->req.opts = vq_options(d->options, &err);
	if (err)
	{
		u->invalid = err;
		return;
	}
	d->parts[0].name = "purpose";
	d->parts[0].data = "assistants";
	d->parts[0].len = strlen("assistants");
	d->parts[1].name = "file";
	d->parts[1].filename = vq_utf8(psprintf("vsjob-%s-" INT64_FORMAT "-%s_%s",
											vq_token, u->ids[0], d->secret, d->filename));
	d->parts[1].data = VARDATA_ANY(d->content);
	d->parts[1].len = VARSIZE_ANY_EXHDR(d->content);
	u->req.method = "POST";
	u->req.path = "/files";
	u->req.parts = d->parts;
	u->req.nparts = 2;
}

/*
 * A 2xx to POST /files that does not say which file was made (not JSON, no
 * id, an id unusable in a path) is an answer lost: the sweep decides.
 */
static void
up_digest(VqRun *run, VqUnit *u)
{
	char	   *err = NULL;

	u->result = vq_server_id(u, "/files/%s", NULL, &err);
	if (u->result == NULL)
	{
		u->outcome.kind = VS_OUTCOME_UNKNOWN;
		u->outcome.delay_ms = -1;
		u->error = err;
	}
}

static void
up_record(VqRun *run, VqUnit *units, int n)
{
	int			nok,
				nbad;
	VqUnit	   *ok = vq_select(units, n, vq_is_done, &nok);
	VqUnit	   *bad = vq_select(units, n, vq_is_not_done, &nbad);

	if (nok > 0)
	{
		int64	   *ids = palloc(sizeof(int64) * nok);
		char	  **fids = palloc(sizeof(char *) * nok);
		Oid			types[2] = {INT8ARRAYOID, TEXTARRAYOID};
		Datum		vals[2];

		for (int i = 0; i < nok; i++)
		{
			ids[i] = ok[i].ids[0];
			fids[i] = ok[i].result;
		}
		vals[0] = vq_id_array(ids, nok);
		vals[1] = vq_text_array(fids, nok);
		vq_exec("SELECT recorded FROM vectorstore._job_record_uploaded($1, $2)", 2, types, vals, NULL);
		vq_counters.uploaded += nok;
		for (int i = 0; i < nok; i++)
			vq_gather_count(ok[i].cred, 1);	/* to be attached (step.c) */
	}
	vq_record_failures(bad, nbad, "queued");
}

const VqStep vq_step_upload = {
	.name = "uploads",
	.claim = up_claim,
	.build = up_build,
	.digest = up_digest,
	.record = up_record,
	.withdraw = true,
};

/* ---------------------------------------------------------------------
 * attach: uploaded -> attaching, with one file batch per group
 * ---------------------------------------------------------------------
 */
typedef struct VqAttach
{
	char	   *store;
	char	   *options;
	cJSON	   *files;			/* [{file_id, attributes, chunking_strategy}] */
	bool		solo;			/* a batch of this one job */
} VqAttach;

/* a job's attributes and chunking strategy as the API would check them */
typedef struct VqCheckArg
{
	const char *attributes;
	const char *chunking;
	cJSON	   *file;
} VqCheckArg;

static void
at_check(void *arg)
{
	VqCheckArg *c = (VqCheckArg *) arg;

	if (c->attributes)
	{
		const char *t = vq_utf8(c->attributes);
		cJSON	   *a = vs_json_parse_text(t, strlen(t) + 1, NULL);

		if (a == NULL)
			elog(ERROR, "attributes are not JSON");
		vs_validate_attributes(a, "attributes");
		vs_json_add_ref(c->file, "attributes", a);
	}
	if (c->chunking)
	{
		const char *t = vq_utf8(c->chunking);
		cJSON	   *s = vs_json_parse_text(t, strlen(t) + 1, NULL);

		if (s == NULL)
			elog(ERROR, "chunking_strategy is not JSON");
		vs_validate_chunking_strategy(s, "chunking_strategy");
		vs_json_add_ref(c->file, "chunking_strategy", s);
	}
}

static VqPickRound at_round;

static void
at_claim(VqRun *run)
{
	Oid			types[10] = {TEXTARRAYOID, INT4OID, INT4OID, TEXTARRAYOID, INT4ARRAYOID,
	NAMEOID, TEXTOID, NAMEARRAYOID, TEXTARRAYOID, INT4ARRAYOID};
	Datum		vals[10];
	char		nulls[11] = "          ";
	int			first = run->n;

	vals[0] = vq_throttled();
	vals[1] = Int32GetDatum(vq_lease_ms());
	vals[2] = Int32GetDatum(vs_worker_batch_size * 4);
	/*
	 * a credential's room, in jobs: each unit holds one job or more (a file
	 * batch per store), so a slow credential is not claimed for units it
	 * would only give back (209)
	 */
	vq_room(&vals[3], &vals[4]);
	vq_pick_round_args(&at_round, &vals[5], &nulls[5]);
	vq_open_by_owner(&vals[7], &vals[8], &vals[9]);
	vq_exec("SELECT c.id, c.owner, c.credential, c.vector_store_id, c.file_id,"
			" c.attributes::pg_catalog.text, c.chunking_strategy::pg_catalog.text,"
			" c.request_options::pg_catalog.text, c.solo, c.first"
			" FROM vectorstore._job_claim_attaches($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) c",
			10, types, vals, nulls);
	{
		uint64		rows = SPI_processed;
		SPITupleTable *tt = SPI_tuptable;

		for (uint64 i = 0; i < rows; i++)
			vq_pick_round_set(&at_round, i, 2, 3, 10);

		for (uint64 i = 0; i < rows; i++)
		{
			char	   *owner,
					   *cred,
					   *store,
					   *options;
			char	   *fid;
			bool		solo;
			int64		id;
			VqUnit	   *u = NULL;
			VqCheckArg	chk;
			char	   *err;
			MemoryContext old;

			SPI_tuptable = tt;
			id = vq_int8(i, 1);
			owner = vq_text(i, 2);
			cred = vq_text(i, 3);
			store = vq_text(i, 4);
			fid = vq_text(i, 5);
			chk.attributes = vq_text(i, 6);
			chk.chunking = vq_text(i, 7);
			options = vq_text(i, 8);
			solo = vq_bool(i, 9);
			cred = cred ? cred : "";
			run->claimed++;
			vq_gather_count(cred, -1);

			old = MemoryContextSwitchTo(vq_cxt);
			chk.file = vs_json_new_object();
			vs_json_add_string(chk.file, "file_id", fid ? fid : "");
			/* a job whose data the API would refuse fails alone, unsent */
			if (fid == NULL || (err = vs_job_names_problem(store, NULL)) != NULL ||
				((chk.attributes || chk.chunking) && !vq_try(at_check, &chk, &err)))
			{
				u = vq_unit_add(run, owner, cred, 1);
				u->ids[u->nids++] = id;
				u->invalid = fid ? err : pstrdup("the job has no file");
				MemoryContextSwitchTo(old);
				continue;
			}
			/* one batch per (owner, credential, store, options), batch_size at most */
			if (!solo)
				for (int k = first; k < run->n; k++)
				{
					VqUnit	   *g = &run->units[k];
					VqAttach   *a = g->data;

					if (a && !a->solo && g->invalid == NULL && g->nids < vs_worker_batch_size &&
						strcmp(g->owner, owner) == 0 && strcmp(g->cred, cred) == 0 &&
						strcmp(a->store, store) == 0 &&
						((a->options == NULL && options == NULL) ||
						 (a->options && options && strcmp(a->options, options) == 0)))
					{
						u = g;
						break;
					}
				}
			if (u == NULL)
			{
				VqAttach   *a = palloc0(sizeof(VqAttach));

				u = vq_unit_add(run, owner, cred, solo ? 1 : vs_worker_batch_size);
				a->store = store;
				a->options = options;
				a->files = vs_json_new_array();
				a->solo = solo;
				u->data = a;
			}
			u->ids[u->nids++] = id;
			vs_json_add_ref(((VqAttach *) u->data)->files, NULL, chk.file);
			MemoryContextSwitchTo(old);
		}
	}
}

static void
at_build(VqRun *run, VqUnit *u)
{
	VqAttach   *a = u->data;
	cJSON	   *body = vs_json_new_object();
	char	   *err = NULL;

	u->req.opts = vq_options(a->options, &err);
	if (err)
	{
		u->invalid = err;
		return;
	}
	u->req.path = vs_path_try(&err, "/vector_stores/%s/file_batches", a->store);
	if (u->req.path == NULL)
	{
		u->invalid = err;
		return;
	}
	vs_json_add_ref(body, "files", a->files);
	u->req.method = "POST";
	u->req.json = body;
	u->req.beta = true;
}

static void
at_digest(VqRun *run, VqUnit *u)
{
	VqAttach   *a = u->data;
	char	   *err = NULL;

	u->result = vq_server_id(u, "/vector_stores/%s/file_batches/%s", a->store, &err);
	if (u->result == NULL)
	{
		/* attaching is idempotent: a useless answer costs an attempt */
		u->outcome.kind = VS_OUTCOME_RETRY;
		u->outcome.delay_ms = -1;
		u->error = err;
		return;
	}
	/*
	 * First poll when the server says, else after the poll floor (the
	 * SDK's createAndPoll asks at once; a batch just made is all but never
	 * done yet, and that answer would cost a record of every job of it);
	 * later ones never more often than the floor.
	 */
	u->delay_ms = u->resp.poll_after_ms >= 0 ? Min(u->resp.poll_after_ms, 600000)
		: VQ_POLL_FLOOR_MS;
}

static bool
at_refused_group(const VqUnit *u)
{
	return u->invalid == NULL && u->outcome.kind == VS_OUTCOME_PERMANENT && u->nids > 1;
}

static bool
at_other_failure(const VqUnit *u)
{
	return !vq_is_done(u) && !at_refused_group(u);
}

static void
at_record(VqRun *run, VqUnit *units, int n)
{
	int			nbad;
	VqUnit	   *bad;

	for (int i = 0; i < n; i++)
	{
		VqUnit	   *u = &units[i];
		Oid			types[3] = {INT8ARRAYOID, TEXTOID, INT4OID};
		Datum		vals[3];

		if (vq_is_done(u))
		{
			vals[0] = vq_id_array(u->ids, u->nids);
			vals[1] = CStringGetTextDatum(u->result);
			vals[2] = Int32GetDatum(u->delay_ms);
			vq_exec("SELECT recorded FROM vectorstore._job_record_batch($1, $2, $3)",
					3, types, vals, NULL);
		}
		else if (at_refused_group(u))
		{
			/* which job's fault? only a batch of one can tell */
			vals[0] = vq_id_array(u->ids, u->nids);
			vals[1] = CStringGetTextDatum(u->error ? u->error : "file batch refused");
			vq_exec("SELECT vectorstore._job_attach_alone($1, $2)", 2, types, vals, NULL);
		}
		else if (u->outcome.kind == VS_OUTCOME_UNKNOWN)
			u->outcome.kind = VS_OUTCOME_RETRY; /* attaching again is harmless */
	}
	bad = vq_select(units, n, at_other_failure, &nbad);
	vq_record_failures(bad, nbad, "uploaded");
}

const VqStep vq_step_attach = {
	.name = "attaches",
	.claim = at_claim,
	.build = at_build,
	.digest = at_digest,
	.record = at_record,
	.withdraw = true,
	.claim_no_wait = true,		/* attaching a file again is harmless */
};

/* ---------------------------------------------------------------------
 * poll: a file batch's status (and its file list when some files failed)
 * ---------------------------------------------------------------------
 */
typedef struct VqPoll
{
	char	   *store;
	char	   *batch;
	char	   *options;
	char	   *state;			/* in_progress, completed, files */
	char	  **fids;
	char	  **statuses;
	char	  **errors;
	int			nfiles;
	int			cap;
	VsPager		pager;			/* the batch's file list, a page per flight */
	int			pages;
	int			max_pages;
} VqPoll;

/*
 * Batches polled lately (TopMemoryContext): a batch whose answer could not be
 * recorded (a role held one of its rows) stays due, and must not be polled
 * again before the floor.
 */
typedef struct VqPolled
{
	char		batch[128];
	TimestampTz at;
} VqPolled;
#define VQ_MAX_POLLED 256
static VqPolled vq_polled[VQ_MAX_POLLED];
static int	vq_npolled = 0;

static bool
vq_polled_lately(const char *batch)
{
	TimestampTz now = GetCurrentTimestamp();
	int			k = 0;
	bool		lately = false;

	for (int i = 0; i < vq_npolled; i++)
	{
		if (TimestampDifferenceExceeds(vq_polled[i].at, now, VQ_POLL_FLOOR_MS))
			continue;			/* forget it */
		if (strncmp(vq_polled[i].batch, batch, sizeof(vq_polled[i].batch) - 1) == 0)
			lately = true;
		vq_polled[k++] = vq_polled[i];
	}
	vq_npolled = k;
	if (!lately && vq_npolled < VQ_MAX_POLLED)
	{
		strlcpy(vq_polled[vq_npolled].batch, batch, sizeof(vq_polled[vq_npolled].batch));
		vq_polled[vq_npolled++].at = now;
	}
	return lately;
}

static void
po_claim(VqRun *run)
{
	Oid			types[3] = {TEXTARRAYOID, INT4OID, INT4OID};
	Datum		vals[3];

	vals[0] = vq_throttled();
	vals[1] = Int32GetDatum(Max(VQ_POLL_FLOOR_MS, 1000));
	vals[2] = Int32GetDatum(64);
	vq_exec("SELECT c.owner, c.credential, c.vector_store_id, c.batch_id,"
			" c.request_options::pg_catalog.text, c.ids"
			" FROM vectorstore._job_claim_polls($1, $2, $3) c", 3, types, vals, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		int			nids;
		int64	   *ids;
		VqUnit	   *u;
		VqPoll	   *p;

		if (vq_polled_lately(vq_text(i, 4)))
			continue;
		ids = vq_int8_array_elems(i, 6, &nids);
		u = vq_unit_add(run, vq_text(i, 1), vq_text(i, 2), nids);
		p = MemoryContextAllocZero(vq_cxt, sizeof(VqPoll));
		memcpy(u->ids, ids, sizeof(int64) * nids);
		u->nids = nids;
		p->store = vq_text(i, 3);
		p->batch = vq_text(i, 4);
		p->options = vq_text(i, 5);
		u->data = p;
		run->claimed += nids;
	}
}

static void
po_build(VqRun *run, VqUnit *u)
{
	VqPoll	   *p = u->data;
	char	   *err = NULL;

	u->req.opts = vq_options(p->options, &err);
	if (err)
	{
		u->invalid = err;
		return;
	}
	u->req.path = vs_path_try(&err, "/vector_stores/%s/file_batches/%s", p->store, p->batch);
	if (u->req.path == NULL)
	{
		u->invalid = err;
		return;
	}
	u->req.method = "GET";
	u->req.beta = true;
	u->req.poll = true;
}

/*
 * What a poll keeps of its batch's file list, whatever a server sends: no
 * more files than the batch holds, and short texts (a server's error message
 * is cut to VQ_FILE_ERROR_MAX bytes), so that a list's pages, each bounded
 * only while it is received, do not pile up in the worker until the poll is
 * recorded.
 */
#define VQ_FILE_ERROR_MAX 1000

static char *
po_clip(const char *s, int max)
{
	int			len = strlen(s);

	return len <= max ? pstrdup(s) : pnstrdup(s, pg_mbcliplen(s, len, max));
}

static void
po_file_item(const cJSON *it, void *arg)
{
	VqUnit	   *u = (VqUnit *) arg;
	VqPoll	   *p = u->data;
	const cJSON *le = cJSON_GetObjectItemCaseSensitive(it, "last_error");
	const char *id = vq_str(it, "id");
	const char *st = vq_str(it, "status");
	MemoryContext old;

	if (p->nfiles >= u->nids || id == NULL || strlen(id) > 256)
		return;					/* not one of the batch's files */
	/* the page's context goes after the page: keep copies in the loop's */
	old = MemoryContextSwitchTo(vq_cxt);
	if (p->nfiles == p->cap)
	{
		p->cap = Max(16, p->cap * 2);
		p->fids = p->fids ? repalloc(p->fids, sizeof(char *) * p->cap) : palloc(sizeof(char *) * p->cap);
		p->statuses = p->statuses ? repalloc(p->statuses, sizeof(char *) * p->cap) : palloc(sizeof(char *) * p->cap);
		p->errors = p->errors ? repalloc(p->errors, sizeof(char *) * p->cap) : palloc(sizeof(char *) * p->cap);
	}
	p->fids[p->nfiles] = pstrdup(id);
	p->statuses[p->nfiles] = po_clip(st ? st : "", 32);
	/* (its parts are cut, so the whole is at most about VQ_FILE_ERROR_MAX) */
	p->errors[p->nfiles] = cJSON_IsObject(le) ?
		psprintf("file processing failed: %s: %s",
				 vq_str(le, "code") ? po_clip(vq_str(le, "code"), 64) : "error",
				 vq_str(le, "message") ? po_clip(vq_str(le, "message"), VQ_FILE_ERROR_MAX) : "") : NULL;
	p->nfiles++;
	MemoryContextSwitchTo(old);
}

/* the batch's file list could not be read: the poll failed (po_record) */
static bool
po_files_failed(VqUnit *u, VqPoll *p, char *error)
{
	p->state = "in_progress";
	p->nfiles = 0;
	u->error = error;
	/* a page that was answered but unusable: a try like any failed request */
	if (u->outcome.kind == VS_OUTCOME_DONE)
	{
		u->outcome.kind = VS_OUTCOME_RETRY;
		u->outcome.delay_ms = -1;
	}
	return false;
}

/*
 * The batch's answer. When some of its files did not complete, which did is
 * read from the batch's file list, a page at a time, each page a request of
 * this unit like any other (sent by the flights, never waited for in the
 * worker: a server that holds the list holds only this unit). Returns true
 * to send u->req2, the next page.
 */
static bool
po_then(VqRun *run, VqUnit *u, bool second)
{
	VqPoll	   *p = u->data;
	char	   *err = NULL;

	if (!second)
	{
		cJSON	   *o;
		const char *status;
		const cJSON *fc;
		const cJSON *done;
		const cJSON *total;
		int			next = u->resp.poll_after_ms >= 0 ? u->resp.poll_after_ms : vs_worker_poll_interval_ms;

		p->state = "in_progress";
		u->delay_ms = Max(next, VQ_POLL_FLOOR_MS);
		if (u->outcome.kind != VS_OUTCOME_DONE)
			return false;		/* recorded by its outcome (po_record) */
		o = vs_json_try_parse_response(&u->req, &u->resp, &err);
		if (o == NULL)
		{
			u->error = err;
			u->delay_ms = Max(u->delay_ms, 1000);
			return false;
		}
		status = vq_str(o, "status");
		if (status == NULL || (strcmp(status, "completed") != 0 && strcmp(status, "failed") != 0 &&
							   strcmp(status, "cancelled") != 0))
			return false;		/* in_progress, or something we do not know yet */
		fc = cJSON_GetObjectItemCaseSensitive(o, "file_counts");
		done = fc ? cJSON_GetObjectItemCaseSensitive(fc, "completed") : NULL;
		total = fc ? cJSON_GetObjectItemCaseSensitive(fc, "total") : NULL;
		if (cJSON_IsNumber(done) && cJSON_IsNumber(total) && done->valuedouble == total->valuedouble &&
			total->valuedouble == (double) u->nids)
		{
			p->state = "completed";
			return false;
		}
		/* which files made it: a bounded listing (a batch holds batch_size files) */
		p->pager.path = psprintf("%s/files", u->req.path);
		p->pager.page_size = 100;
		p->pager.max_page_size = 100;
		p->pager.beta = true;
		p->pager.cred = u->req.cred;
		p->pager.opts = u->req.opts;
		p->pager.raise = false;
		p->pager.max_pages = 1;
		p->max_pages = u->nids / 100 + 2;
		vs_pager_request(&p->pager, NULL, &u->req2);
		return true;
	}

	/* a page of the file list */
	if (u->outcome.kind != VS_OUTCOME_DONE)
		return po_files_failed(u, p, u->error);
	p->pager.first_response = &u->resp2;
	p->pages++;
	if (!vs_paginate(&p->pager, po_file_item, u))
		return po_files_failed(u, p, p->pager.error ? p->pager.error : "listing the batch's files failed");
	if (!p->pager.more)
	{
		p->state = "files";
		return false;
	}
	if (p->pager.cursor == NULL || p->pages >= p->max_pages)
		return po_files_failed(u, p,
							   psprintf("GET %s: the list of the batch's files did not end after %d pages",
										p->pager.path, p->pages));
	/* the next page starts after the last file (and must not start again at it) */
	p->pager.after = p->pager.cursor;
	vs_pager_request(&p->pager, p->pager.after, &u->req2);
	return true;
}

static void
po_record(VqRun *run, VqUnit *units, int n)
{
	for (int i = 0; i < n; i++)
	{
		VqUnit	   *u = &units[i];
		VqPoll	   *p = u->data;
		Oid			types[9] = {INT8ARRAYOID, TEXTOID, TEXTOID, INT4OID, TEXTOID,
		TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT4OID};
		Datum		vals[9];
		char		nulls[9] = "         ";

		if (u->invalid || u->outcome.kind != VS_OUTCOME_DONE)
		{
			/*
			 * The poll failed: attach again (attaching is idempotent), by
			 * the one retry policy like any other request: a 429 costs a
			 * throttle, anything else an attempt, so a server that never
			 * answers a poll fails the jobs with its error in the end
			 * rather than keeping them polled for ever. The batch (or its
			 * store) gone or its id unusable: one attempt too. An owner who
			 * may no longer use the credential: the jobs fail.
			 */
			if (!u->unauthorized && (u->invalid || u->outcome.kind == VS_OUTCOME_PERMANENT))
			{
				u->invalid = NULL;
				u->outcome.kind = VS_OUTCOME_RETRY;
			}
			vq_record_failures(u, 1, "uploaded");
			continue;
		}
		vals[0] = vq_id_array(u->ids, u->nids);
		vals[1] = CStringGetTextDatum(p->batch);
		vals[2] = CStringGetTextDatum(p->state ? p->state : "in_progress");
		vals[3] = Int32GetDatum(Max(u->delay_ms, VQ_POLL_FLOOR_MS));
		vals[4] = vq_text_datum(u->error);
		if (u->error == NULL)
			nulls[4] = 'n';
		vals[5] = vq_text_array(p->fids, p->nfiles);
		vals[6] = vq_text_array(p->statuses, p->nfiles);
		vals[7] = vq_text_array(p->errors, p->nfiles);
		vals[8] = Int32GetDatum(vs_worker_max_attempts);
		vq_exec("SELECT done, failed FROM vectorstore._job_record_polled($1, $2, $3, $4, $5, $6, $7, $8, $9)",
				9, types, vals, nulls);
		if (SPI_processed == 1)
		{
			vq_counters.done += vq_int4(0, 1);
			vq_counters.failed += vq_int4(0, 2);
		}
	}
}

const VqStep vq_step_poll = {
	.name = "polls",
	.claim = po_claim,
	.build = po_build,
	.then = po_then,
	.record = po_record,
};

/* ---------------------------------------------------------------------
 * remove: detach, then delete, a file that is no longer wanted
 * ---------------------------------------------------------------------
 */
typedef struct VqRemove
{
	bool		discard;		/* a failed or cancelled job's own file */
	bool		no_detach;		/* no store it could be in: delete only */
	char	   *store;
	char	   *file;
	char	   *options;
} VqRemove;

static VqPickRound rm_round;

static void
rm_claim(VqRun *run)
{
	Oid			types[10] = {TEXTARRAYOID, INT4OID, INT4OID, TEXTARRAYOID, INT4ARRAYOID, NAMEOID, TEXTOID,
	NAMEARRAYOID, TEXTARRAYOID, INT4ARRAYOID};
	Datum		vals[10];
	char		nulls[11] = "          ";

	vals[0] = vq_throttled();
	vals[1] = Int32GetDatum(vq_lease_ms());
	vals[2] = Int32GetDatum(vs_worker_batch_size);
	vq_room(&vals[3], &vals[4]);
	vq_pick_round_args(&rm_round, &vals[5], &nulls[5]);
	vq_open_by_owner(&vals[7], &vals[8], &vals[9]);
	vq_exec("SELECT c.id, c.purpose, c.owner, c.credential, c.vector_store_id, c.file_id,"
			" c.request_options::pg_catalog.text, c.first"
			" FROM vectorstore._job_claim_removals($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) c",
			10, types, vals, nulls);
	for (uint64 i = 0; i < SPI_processed; i++)
		vq_pick_round_set(&rm_round, i, 3, 4, 8);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		VqUnit	   *u = vq_unit_add(run, vq_text(i, 3), vq_text(i, 4), 1);
		VqRemove   *r = MemoryContextAllocZero(vq_cxt, sizeof(VqRemove));
		char	   *purpose = vq_text(i, 2);

		u->ids[u->nids++] = vq_int8(i, 1);
		r->discard = strcmp(purpose, "discard") == 0;
		r->store = vq_text(i, 5);
		r->file = vq_text(i, 6);
		r->options = vq_text(i, 7);
		u->data = r;
		u->nosend = r->file == NULL;	/* nothing to remove */
		run->claimed++;
	}
}

static void
rm_build(VqRun *run, VqUnit *u)
{
	VqRemove   *r = u->data;
	char	   *err = NULL;

	u->req.opts = vq_options(r->options, &err);
	if (err)
	{
		u->invalid = err;
		return;
	}
	u->req2.opts = u->req.opts;
	u->req2.method = "DELETE";
	u->req2.path = vs_path_try(&err, "/files/%s", r->file);
	if (u->req2.path == NULL)
	{
		u->invalid = err;
		return;
	}
	u->req.method = "DELETE";
	u->req.beta = true;
	u->req.path = vs_path_try(&err, "/vector_stores/%s/files/%s", r->store, r->file);
	/* a store id no path can hold: the file was never attached anywhere */
	r->no_detach = u->req.path == NULL;
	if (r->no_detach)
		u->req.method = NULL;	/* start with the delete */
}

/* A removal that finds nothing to remove has reached its goal. */
static void
rm_gone(VqUnit *u, VsRequest *req, VsResponse *resp)
{
	if (u->outcome.kind != VS_OUTCOME_DONE && vs_outcome_gone(req, resp))
	{
		u->outcome.kind = VS_OUTCOME_DONE;
		u->outcome.delay_ms = -1;
		u->error = NULL;
	}
}

/*
 * Detach, then delete what is detached (or was never attached): a removal
 * whose file cannot be in a store starts with the delete.
 */
static bool
rm_then(VqRun *run, VqUnit *u, bool second)
{
	if (second)
	{
		rm_gone(u, &u->req2, &u->resp2);
		return false;
	}
	rm_gone(u, &u->req, &u->resp);
	return u->outcome.kind == VS_OUTCOME_DONE;
}

static bool
rm_failed_delete(const VqUnit *u)
{
	return !vq_is_done(u) && !((VqRemove *) u->data)->discard;
}

static void
rm_record(VqRun *run, VqUnit *units, int n)
{
	int			nok = 0,
				nbad;
	int64	   *ids = palloc(sizeof(int64) * Max(n, 1));
	VqUnit	   *bad;
	Oid			t1[1] = {INT8ARRAYOID};
	Datum		v1[1];

	for (int i = 0; i < n; i++)
		if (vq_is_done(&units[i]))
			ids[nok++] = units[i].ids[0];
	if (nok > 0)
	{
		v1[0] = vq_id_array(ids, nok);
		vq_exec("SELECT done FROM vectorstore._job_record_removed($1)", 1, t1, v1, NULL);
		if (SPI_processed == 1)
			vq_counters.done += vq_int4(0, 1);
	}
	bad = vq_select(units, n, rm_failed_delete, &nbad);
	vq_record_failures(bad, nbad, "deleting");

	/* a failed or cancelled job's file that could not be deleted */
	{
		int			nd = 0;
		int64	   *dids = palloc(sizeof(int64) * Max(n, 1));
		char	  **outs = palloc(sizeof(char *) * Max(n, 1));
		char	  **errs = palloc(sizeof(char *) * Max(n, 1));
		int		   *delays = palloc(sizeof(int) * Max(n, 1));
		Oid			t5[5] = {INT8ARRAYOID, TEXTARRAYOID, INT4ARRAYOID, TEXTARRAYOID, INT4OID};
		Datum		v5[5];

		for (int i = 0; i < n; i++)
		{
			VqUnit	   *u = &units[i];

			if (vq_is_done(u) || !((VqRemove *) u->data)->discard)
				continue;
			dids[nd] = u->ids[0];
			outs[nd] = (char *) (u->invalid ? "permanent" : vq_outcome_sql(u));
			errs[nd] = u->invalid ? u->invalid : (u->error ? u->error : "failed");
			delays[nd++] = u->outcome.delay_ms;
		}
		if (nd > 0)
		{
			v5[0] = vq_id_array(dids, nd);
			v5[1] = vq_text_array(outs, nd);
			v5[2] = vq_int4_array(delays, nd);
			v5[3] = vq_text_array(errs, nd);
			v5[4] = Int32GetDatum(vs_worker_max_attempts);
			vq_exec("SELECT vectorstore._job_discard_failed($1, $2, $3, $4, $5)", 5, t5, v5, NULL);
		}
	}
}

const VqStep vq_step_remove = {
	.name = "removals",
	.claim = rm_claim,
	.build = rm_build,
	.then = rm_then,
	.record = rm_record,
	.withdraw = true,
	.claim_no_wait = true,		/* a detach or delete again finds it gone */
};
