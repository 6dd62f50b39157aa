/*-------------------------------------------------------------------------
 *
 * queue.c
 *	  The steps the background worker runs over the durable job queue
 *	  (vectorstore.job): upload, attach in file batches, detach+delete; the
 *	  transaction/SPI helpers every step uses; and the SQL-callable helpers
 *	  of sql/install/50_queue.sql.
 *
 * Every step has the same shape (STYLE.md, "The background worker"):
 *	  1. claim rows in one short transaction (FOR UPDATE SKIP LOCKED) and move
 *		 them to an in-flight status, copying what the requests need into the
 *		 worker's loop memory context;
 *	  2. send the requests with no transaction open, concurrently through
 *		 vs_http_execute_many() without its retries (a 429 must hold back
 *		 every job of its credential, not one request);
 *	  3. record each outcome in another short transaction, as a row value —
 *		 never an ERROR.
 * A step's SQL is a handful of statements whatever the number of jobs: the
 * outcomes go in as arrays (UPDATE … FROM unnest(…)), failures gathered with
 * vq_fail_add() and written by vq_fail_flush(), and every statement is
 * prepared once per worker (vq_exec()). Per-job statements made the worker
 * spend 90% of its time in SQL (bench/README.md).
 * Polling batches and the reconciling sweep live in reconcile.c.
 * The design of exactly-once delivery is explained at the top of worker.c.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"
#include "vs_worker.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"


#include <curl/curl.h>			/* CURLcode values only: no libcurl call here */

PG_FUNCTION_INFO_V1(vs_credential_current_name);
PG_FUNCTION_INFO_V1(vs_job_validate);
PG_FUNCTION_INFO_V1(vs_current_user_is_superuser);
PG_FUNCTION_INFO_V1(vs_current_user_oid);

/* memory context the worker resets each pass; claimed data lives here */
MemoryContext vq_cxt = NULL;
char	   *vq_token = NULL;

/* credentials seen this pass (name "" = the settings) */
typedef struct VqCred
{
	char	   *name;
	VsCredential *cred;			/* NULL: the credential no longer exists */
} VqCred;
static List *vq_creds = NIL;

/* 429 back-off per credential, kept across passes (TopMemoryContext) */
typedef struct VqThrottle
{
	char		name[NAMEDATALEN + 1];
	TimestampTz until;
} VqThrottle;
#define VQ_MAX_THROTTLE 64
static VqThrottle vq_throttle[VQ_MAX_THROTTLE];
static int	vq_nthrottle = 0;

/* content claimed per upload step at most (one larger file is still taken alone) */
#define VQ_MAX_CLAIM_BYTES 67108864

/* ---------------------------------------------------------------------
 * SQL-callable helpers
 * ---------------------------------------------------------------------
 */

/* The name of the credential this session's requests would use (NULL: settings). */
Datum
vs_credential_current_name(PG_FUNCTION_ARGS)
{
	VsCredential *c = vs_credential_current();

	if (c == NULL || c->name == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(c->name));
}

/*
 * Whether the current user is a superuser: the job table's update trigger
 * asks it for every row, so a catalog cache lookup, not a query of pg_roles.
 */
Datum
vs_current_user_is_superuser(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(superuser());
}

/* The oid of current_user: the owner the insert trigger gives each job. */
Datum
vs_current_user_oid(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetUserId());
}

/* Validate a job's attributes and chunking strategy as the API would. */
Datum
vs_job_validate(PG_FUNCTION_ARGS)
{
	cJSON	   *a = vs_arg_json(fcinfo, 0);
	cJSON	   *c = vs_arg_json(fcinfo, 1);

	if (a)
		vs_validate_attributes(a, "attributes");
	if (c)
		vs_validate_chunking_strategy(c, "chunking_strategy");
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------
 * Transactions and SPI
 * ---------------------------------------------------------------------
 */
void
vq_begin(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vectorstore worker: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

void
vq_commit(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	/* CommitTransactionCommand leaves TopMemoryContext current: come back */
	MemoryContextSwitchTo(vq_cxt);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * Prepared statements. The worker runs the same few dozen statements every
 * pass; parsing and planning each call cost as much as running them. Each
 * distinct (text, argument types) is prepared once and kept (SPI_keepplan);
 * the plan cache revalidates a kept plan after DDL on what it uses. After
 * DROP EXTENSION + CREATE EXTENSION every plan is dropped all the same
 * (vq_plans_check(), keyed by the extension's oid): nothing of the old
 * objects is worth keeping.
 */
typedef struct VqPlan
{
	uint32		hash;
	char	   *sql;
	int			nargs;
	Oid			types[8];
	SPIPlanPtr	plan;
} VqPlan;
#define VQ_MAX_PLANS 64
static VqPlan vq_plans[VQ_MAX_PLANS];
static int	vq_nplans = 0;
static Oid	vq_plans_ext = InvalidOid;

/* Drop the kept plans if the extension is not the one they were made for. */
static void
vq_plans_check(void)
{
	Oid			ext = get_extension_oid(VS_EXTENSION_NAME, true);

	if (ext == vq_plans_ext)
		return;
	for (int i = 0; i < vq_nplans; i++)
	{
		SPI_freeplan(vq_plans[i].plan);
		pfree(vq_plans[i].sql);
	}
	vq_nplans = 0;
	vq_plans_ext = ext;
}

static SPIPlanPtr
vq_plan(const char *sql, int nargs, Oid *types)
{
	uint32		h = hash_bytes((const unsigned char *) sql, strlen(sql));
	SPIPlanPtr	plan;
	VqPlan	   *p;

	for (int i = 0; i < vq_nplans; i++)
	{
		p = &vq_plans[i];
		if (p->hash == h && p->nargs == nargs &&
			memcmp(p->types, types, sizeof(Oid) * nargs) == 0 && strcmp(p->sql, sql) == 0)
			return p->plan;
	}
	plan = SPI_prepare(sql, nargs, types);
	if (plan == NULL)
		elog(ERROR, "vectorstore worker: could not prepare (%d): %s", SPI_result, sql);
	if (nargs > lengthof(p->types) || vq_nplans == VQ_MAX_PLANS)
		return plan;			/* not kept: freed with the transaction's SPI memory */
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "vectorstore worker: SPI_keepplan failed");
	p = &vq_plans[vq_nplans++];
	p->hash = h;
	p->sql = MemoryContextStrdup(TopMemoryContext, sql);
	p->nargs = nargs;
	if (nargs > 0)
		memcpy(p->types, types, sizeof(Oid) * nargs);
	p->plan = plan;
	return plan;
}

void
vq_exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	int			rc = SPI_execute_plan(vq_plan(sql, nargs, types), values, nulls, false, 0);

	if (rc < 0)
		elog(ERROR, "vectorstore worker: query failed (%d): %s", rc, sql);
}

/* Column of the current SPI result as a string copied into the loop context. */
char *
vq_text(int row, int col)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	return v ? MemoryContextStrdup(vq_cxt, v) : NULL;
}

int64
vq_int8(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

Datum
vq_text_datum(const char *s)
{
	return CStringGetTextDatum(s ? s : "");
}

/* An int8[] datum of ids. */
Datum
vq_id_array(int64 *ids, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int64GetDatum(ids[i]);
	return PointerGetDatum(construct_array(d, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* Text in the server encoding as UTF-8 for a request body. */
static char *
vq_utf8(const char *s)
{
	return (char *) pg_server_to_any(s, strlen(s), PG_UTF8);
}

/* ---------------------------------------------------------------------
 * Credentials and throttling
 * ---------------------------------------------------------------------
 */

/* The credential of a job (resolved once per pass; call inside a transaction). */
VsCredential *
vq_cred(const char *name)
{
	ListCell   *lc;
	VqCred	   *c;
	MemoryContext old;
	const char *key = name ? name : "";

	foreach(lc, vq_creds)
	{
		c = lfirst(lc);
		if (strcmp(c->name, key) == 0)
			return c->cred;
	}
	old = MemoryContextSwitchTo(vq_cxt);
	c = palloc0(sizeof(VqCred));
	c->name = pstrdup(key);
	c->cred = vs_credential_by_name(key[0] ? key : NULL, true);
	vq_creds = lappend(vq_creds, c);
	MemoryContextSwitchTo(old);
	return c->cred;
}

void
vq_throttle_set(const char *name, int delay_ms)
{
	const char *key = name ? name : "";
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay_ms);
	int			i;

	for (i = 0; i < vq_nthrottle; i++)
		if (strcmp(vq_throttle[i].name, key) == 0)
			break;
	if (i == vq_nthrottle)
	{
		if (vq_nthrottle == VQ_MAX_THROTTLE)
			i = 0;
		else
			vq_nthrottle++;
		strlcpy(vq_throttle[i].name, key, sizeof(vq_throttle[i].name));
		vq_throttle[i].until = 0;
	}
	if (until > vq_throttle[i].until)
		vq_throttle[i].until = until;
}

/* The credentials held back by a 429 right now, as a text[] ("" = settings). */
static Datum
vq_throttled(void)
{
	TimestampTz now = GetCurrentTimestamp();
	Datum	   *d = palloc(sizeof(Datum) * (vq_nthrottle + 1));
	int			n = 0;

	for (int i = 0; i < vq_nthrottle; i++)
		if (vq_throttle[i].until > now)
			d[n++] = CStringGetTextDatum(vq_throttle[i].name);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Earliest end of a throttle still running, or 0. */
TimestampTz
vs_queue_throttle_end(void)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz min = 0;

	for (int i = 0; i < vq_nthrottle; i++)
		if (vq_throttle[i].until > now && (min == 0 || vq_throttle[i].until < min))
			min = vq_throttle[i].until;
	return min;
}

/* Delay a 429 asks for: Retry-After when given, else a second. */
int
vq_429_delay(const VsResponse *r)
{
	return r->retry_after_ms >= 0 ? Min(r->retry_after_ms, 600000) : 1000;
}


/* Parse a 2xx JSON body without raising; NULL (and *err) when it is not an object. */
cJSON *
vq_parse(const VsRequest *req, const VsResponse *resp, char **err)
{
	return vs_json_try_parse_response(req, resp, err);
}

/* A string field of a parsed object, or NULL (never raises). */
const char *
vq_str(const cJSON *o, const char *key)
{
	const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
vq_int(const cJSON *o, const char *key)
{
	const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

	return cJSON_IsNumber(v) ? (int) v->valuedouble : 0;
}

/* Send the requests that have a credential; the others keep status 0. */
void
vq_send(VsRequest *reqs, VsResponse *resps, int n)
{
	VsRequest  *s = palloc0(sizeof(VsRequest) * Max(n, 1));
	VsResponse *sr = palloc0(sizeof(VsResponse) * Max(n, 1));
	int		   *map = palloc(sizeof(int) * Max(n, 1));
	int			ns = 0;

	for (int i = 0; i < n; i++)
	{
		memset(&resps[i], 0, sizeof(VsResponse));
		resps[i].poll_after_ms = resps[i].retry_after_ms = resps[i].should_retry = -1;
		if (reqs[i].cred && reqs[i].method)
		{
			map[ns] = i;
			s[ns++] = reqs[i];
		}
	}
	vs_http_execute_many(s, sr, ns, vs_worker_concurrency, false);
	for (int k = 0; k < ns; k++)
		resps[map[k]] = sr[k];
}

/* Why a request failed, for last_error. */
char *
vq_error(const VsRequest *req, const VsResponse *resp)
{
	return vs_describe_error(req, resp);
}

/* Queue a failed try of jobs for vq_fail_flush(); see vq_record_failure(). */
void
vq_fail_add(VqFailures *f, int64 *ids, int n, const char *retry_status,
			const char *error, bool count_attempt, int delay_ms)
{
	MemoryContext old = MemoryContextSwitchTo(vq_cxt);

	if (f->n + n > f->cap)
	{
		int			cap = Max(f->cap * 2, f->n + n + 16);

		if (f->cap == 0)
		{
			f->ids = palloc(sizeof(int64) * cap);
			f->status = palloc(sizeof(Datum) * cap);
			f->error = palloc(sizeof(Datum) * cap);
			f->count = palloc(sizeof(Datum) * cap);
			f->delay = palloc(sizeof(Datum) * cap);
		}
		else
		{
			f->ids = repalloc(f->ids, sizeof(int64) * cap);
			f->status = repalloc(f->status, sizeof(Datum) * cap);
			f->error = repalloc(f->error, sizeof(Datum) * cap);
			f->count = repalloc(f->count, sizeof(Datum) * cap);
			f->delay = repalloc(f->delay, sizeof(Datum) * cap);
		}
		f->cap = cap;
	}
	for (int i = 0; i < n; i++)
	{
		f->ids[f->n] = ids[i];
		f->status[f->n] = vq_text_datum(retry_status);
		f->error[f->n] = vq_text_datum(error);
		f->count[f->n] = BoolGetDatum(count_attempt);
		f->delay[f->n] = Int32GetDatum(delay_ms);
		f->n++;
	}
	MemoryContextSwitchTo(old);
}

/*
 * Record the failed tries queued in f, in one statement (inside a
 * transaction): each job goes back to its retry status after a back-off
 * (delay_ms, or VQ_BACKOFF: by its attempts), or to 'failed' once it has used
 * its attempts. A job already finished (cancelled meanwhile) keeps its status.
 */
void
vq_fail_flush(VqFailures *f)
{
	Oid			types[5] = {INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, BOOLARRAYOID, INT4ARRAYOID};
	Datum		vals[5];

	if (f->n == 0)
		return;
	vals[0] = vq_id_array(f->ids, f->n);
	vals[1] = PointerGetDatum(construct_array(f->status, f->n, TEXTOID, -1, false, TYPALIGN_INT));
	vals[2] = PointerGetDatum(construct_array(f->error, f->n, TEXTOID, -1, false, TYPALIGN_INT));
	vals[3] = PointerGetDatum(construct_array(f->count, f->n, BOOLOID, 1, true, TYPALIGN_CHAR));
	vals[4] = PointerGetDatum(construct_array(f->delay, f->n, INT4OID, 4, true, TYPALIGN_INT));
	vq_exec("WITH f AS (SELECT * FROM unnest($1, $2, $3, $4, $5) f(id, st, err, cnt, delay)),"
			" u AS (UPDATE vectorstore.job j SET"
			"  attempts = j.attempts + f.cnt::int,"
			"  last_error = f.err,"
			"  status = CASE WHEN j.status IN " VQ_TERMINAL " THEN j.status"
			"           WHEN f.st = 'uploading' THEN 'uploading'"
			"           WHEN j.attempts + f.cnt::int >= " VQ_MAX " THEN 'failed' ELSE f.st END,"
			"  finished_at = CASE WHEN j.status NOT IN " VQ_TERMINAL " AND f.st <> 'uploading'"
			"           AND j.attempts + f.cnt::int >= " VQ_MAX " THEN now() ELSE j.finished_at END,"
			"  not_before = now() + make_interval(secs => CASE WHEN f.delay >= 0 THEN f.delay / 1000.0"
			"     ELSE least(0.5 * power(2, j.attempts), 60) END),"
			"  updated_at = now()"
			" FROM f WHERE j.id = f.id RETURNING j.status)"
			" UPDATE vectorstore.worker_state SET jobs_failed = jobs_failed +"
			"  (SELECT count(*) FROM u WHERE status = 'failed')",
			5, types, vals, NULL);
	f->n = 0;
}

/* Record a failed try of jobs: back to `retry_status` after a back-off, or failed. */
void
vq_record_failure(int64 *ids, int n, const char *retry_status, const char *error,
				  bool count_attempt, int delay_ms)
{
	VqFailures	f = {0};

	vq_fail_add(&f, ids, n, retry_status, error, count_attempt, delay_ms);
	vq_fail_flush(&f);
}

/* ---------------------------------------------------------------------
 * Step 0: heartbeat, marker, what is due
 * ---------------------------------------------------------------------
 */
void
vs_queue_begin_pass(MemoryContext cxt)
{
	vq_cxt = cxt;
	vq_creds = NIL;				/* freed with the loop context */
	vq_token = NULL;
	vq_begin("vectorstore: heartbeat");
	vq_plans_check();
	vq_exec("UPDATE vectorstore.worker_state SET heartbeat_at = now(), pid = pg_backend_pid()"
			" RETURNING token", 0, NULL, NULL, NULL);
	if (SPI_processed == 1)
		vq_token = vq_text(0, 1);
	vq_commit();
	if (vq_token == NULL)
		elog(ERROR, "vectorstore worker: vectorstore.worker_state has no row");
}

/* At start: claims that a dead worker left half done are made claimable again. */
void
vs_queue_recover(void)
{
	vq_begin("vectorstore: recover");
	vq_plans_check();
	/* a batch request whose answer was lost: attaching again is idempotent */
	vq_exec("UPDATE vectorstore.job SET status = 'uploaded', not_before = now(), updated_at = now()"
			" WHERE status = 'attaching' AND batch_id IS NULL", 0, NULL, NULL, NULL);
	/* uploads whose answer was lost stay 'uploading': the sweep reconciles them */
	vq_exec("UPDATE vectorstore.worker_state SET started_at = now(), pid = pg_backend_pid(),"
			" sweep_due_at = CASE WHEN EXISTS (SELECT 1 FROM vectorstore.job"
			"   WHERE status = 'uploading' AND file_id IS NULL)"
			"  THEN least(coalesce(sweep_due_at, 'infinity'),"
			"   (SELECT max(not_before) FROM vectorstore.job WHERE status = 'uploading'))"
			"  ELSE sweep_due_at END", 0, NULL, NULL, NULL);
	vq_commit();
}

/* When is the next job due (0: none), for the worker's sleep. */
TimestampTz
vs_queue_next_due(void)
{
	TimestampTz t = 0;
	bool		isnull;

	vq_begin("vectorstore: next");
	vq_exec("SELECT least((SELECT min(not_before) FROM vectorstore.job"
			"  WHERE status IN ('queued', 'uploaded', 'deleting')"
			"     OR (status = 'attaching' AND batch_id IS NOT NULL)"
			"     OR (status = 'uploading' AND file_id IS NULL)),"
			" (SELECT CASE WHEN sweep_due_at IS NOT NULL"
			"   THEN greatest(sweep_due_at, last_sweep_at + interval '2 s') END"
			"  FROM vectorstore.worker_state))", 0, NULL, NULL, NULL);
	if (SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			t = DatumGetTimestampTz(d);
	}
	vq_commit();
	return t;
}

/* ---------------------------------------------------------------------
 * Step 1: upload (POST /files)
 * ---------------------------------------------------------------------
 */
int
vs_queue_upload(void)
{
	Oid			types[3] = {TEXTARRAYOID, INT4OID, INT4OID};
	Datum		vals[3];
	int			n;
	int64	   *ids;
	char	  **creds;
	VsRequest  *reqs;
	VsResponse *resps;
	VsMimePart *parts;
	cJSON	  **parsed;
	char	  **parse_errs;

	vq_begin("vectorstore: claim uploads");
	vals[0] = vq_throttled();
	vals[1] = Int32GetDatum(vs_worker_reconcile_delay_ms);
	vals[2] = Int32GetDatum(vs_worker_batch_size);
	vq_exec("UPDATE vectorstore.job j SET status = 'uploading', updated_at = now(),"
			"  started_at = coalesce(j.started_at, now()),"
			"  not_before = now() + make_interval(secs => $2 / 1000.0)"
			" WHERE j.id IN (SELECT x.id FROM (SELECT c.id, row_number() OVER w AS n,"
			"    sum(octet_length(c.content)) OVER w AS total"
			"   FROM vectorstore.job c WHERE c.id IN (SELECT q.id FROM vectorstore.job q"
			"    WHERE q.status = 'queued' AND q.kind IN ('upload', 'replace')"
			"      AND q.not_before <= now() AND coalesce(q.credential, '') <> ALL ($1)"
			"    ORDER BY q.id LIMIT $3 FOR UPDATE SKIP LOCKED)"
			"   WINDOW w AS (ORDER BY c.id)) x"
			"  WHERE x.n = 1 OR x.total <= " CppAsString2(VQ_MAX_CLAIM_BYTES) ")"
			" RETURNING j.id, j.credential, j.filename, j.content",
			3, types, vals, NULL);
	n = (int) SPI_processed;
	MemoryContextSwitchTo(vq_cxt);
	ids = palloc0(sizeof(int64) * Max(n, 1));
	creds = palloc0(sizeof(char *) * Max(n, 1));
	reqs = palloc0(sizeof(VsRequest) * Max(n, 1));
	resps = palloc0(sizeof(VsResponse) * Max(n, 1));
	parts = palloc0(sizeof(VsMimePart) * 2 * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4, &isnull);
		bytea	   *content = DatumGetByteaPCopy(d);
		char	   *filename = vq_text(i, 3);

		ids[i] = vq_int8(i, 1);
		creds[i] = vq_text(i, 2);
		parts[2 * i].name = "purpose";
		parts[2 * i].data = "assistants";
		parts[2 * i].len = strlen("assistants");
		parts[2 * i + 1].name = "file";
		parts[2 * i + 1].filename = vq_utf8(psprintf("vsjob-%s-" INT64_FORMAT "_%s",
													 vq_token, ids[i], filename));
		parts[2 * i + 1].data = VARDATA_ANY(content);
		parts[2 * i + 1].len = VARSIZE_ANY_EXHDR(content);
		reqs[i].method = "POST";
		reqs[i].path = "/files";
		reqs[i].parts = &parts[2 * i];
		reqs[i].nparts = 2;
	}
	/* credentials are looked up in a transaction */
	for (int i = 0; i < n; i++)
		reqs[i].cred = vq_cred(creds[i]);
	vq_commit();
	if (n == 0)
		return 0;

	/* requests whose credential vanished are not sent */
	{
		VsRequest  *sreqs = palloc0(sizeof(VsRequest) * n);
		VsResponse *sresps = palloc0(sizeof(VsResponse) * n);
		int		   *map = palloc(sizeof(int) * n);
		int			ns = 0;

		for (int i = 0; i < n; i++)
			if (reqs[i].cred)
			{
				map[ns] = i;
				sreqs[ns++] = reqs[i];
			}
		pgstat_report_activity(STATE_RUNNING, "vectorstore: uploading");
		vs_http_execute_many(sreqs, sresps, ns, vs_worker_concurrency, false);
		for (int k = 0; k < ns; k++)
			resps[map[k]] = sresps[k];
	}

	/* parse before the transaction: vq_parse() catches errors, safe only outside one */
	{
		cJSON	  **objs = palloc0(sizeof(cJSON *) * n);
		char	  **perrs = palloc0(sizeof(char *) * n);

		for (int i = 0; i < n; i++)
			if (reqs[i].cred && VS_HTTP_OK(&resps[i]))
				objs[i] = vq_parse(&reqs[i], &resps[i], &perrs[i]);
		parsed = objs;
		parse_errs = perrs;
	}

	/* record every outcome in one transaction, one statement per kind of outcome */
	{
		VqFailures	fails = {0};
		int64	   *okids = palloc(sizeof(int64) * n);
		Datum	   *okfids = palloc(sizeof(Datum) * n);
		int			nok = 0;

		vq_begin("vectorstore: record uploads");
		for (int i = 0; i < n; i++)
		{
			VsResponse *r = &resps[i];

			if (reqs[i].cred == NULL)
				vq_fail_add(&fails, &ids[i], 1, "queued",
							psprintf("credential \"%s\" does not exist", creds[i]),
							true, VQ_BACKOFF);
			else if (VS_HTTP_OK(r))
			{
				const char *fid = vq_str(parsed[i], "id");

				if (fid == NULL)
				{
					/* we cannot tell which file was made: the sweep finds it */
					vq_fail_add(&fails, &ids[i], 1, "uploading",
								parse_errs[i] ? parse_errs[i] : "POST /files: response has no \"id\"",
								true, vs_worker_reconcile_delay_ms);
					continue;
				}
				okids[nok] = ids[i];
				okfids[nok++] = CStringGetTextDatum(fid);
			}
			else if (r->status == 429)
			{
				/* refused: nothing was stored. Hold back the whole credential. */
				vq_throttle_set(creds[i], vq_429_delay(r));
				vq_fail_add(&fails, &ids[i], 1, "queued", vq_error(&reqs[i], r), false,
							vq_429_delay(r));
			}
			else if (r->status == 0 &&
					 (r->curl_code == CURLE_COULDNT_CONNECT ||
					  r->curl_code == CURLE_COULDNT_RESOLVE_HOST ||
					  r->curl_code == CURLE_COULDNT_RESOLVE_PROXY))
			{
				/* nothing was sent */
				vq_fail_add(&fails, &ids[i], 1, "queued", vq_error(&reqs[i], r), true,
							VQ_BACKOFF);
			}
			else if (r->status == 0 || r->status >= 500)
			{
				/*
				 * The file may or may not exist: keep 'uploading' without a
				 * file id so that the sweep, once the reconcile delay is over,
				 * adopts it or sends the job back to the queue.
				 */
				vq_fail_add(&fails, &ids[i], 1, "uploading", vq_error(&reqs[i], r), true,
							vs_worker_reconcile_delay_ms);
			}
			else
				vq_fail_add(&fails, &ids[i], 1, "queued", vq_error(&reqs[i], r), true,
							VQ_BACKOFF);
		}
		if (nok > 0)
		{
			Oid			t2[2] = {INT8ARRAYOID, TEXTARRAYOID};
			Datum		v2[2];

			v2[0] = vq_id_array(okids, nok);
			v2[1] = PointerGetDatum(construct_array(okfids, nok, TEXTOID, -1, false, TYPALIGN_INT));
			vq_exec("WITH f AS (SELECT * FROM unnest($1, $2) f(id, fid)),"
					" u AS (UPDATE vectorstore.job j SET file_id = f.fid, last_error = NULL,"
					"  status = CASE WHEN j.status = 'uploading' THEN 'uploaded' ELSE j.status END,"
					"  not_before = now(), updated_at = now() FROM f WHERE j.id = f.id RETURNING 1)"
					" UPDATE vectorstore.worker_state SET files_uploaded = files_uploaded +"
					"  (SELECT count(*) FROM u)", 2, t2, v2, NULL);
		}
		vq_fail_flush(&fails);
		vq_commit();
	}
	return n;
}

/* ---------------------------------------------------------------------
 * Step 2: attach uploaded files with file batches
 * ---------------------------------------------------------------------
 */
typedef struct VqGroup
{
	char	   *cred;
	char	   *store;
	int64	   *ids;
	int			n;
	StringInfoData body;
} VqGroup;

int
vs_queue_attach(void)
{
	Oid			types[2] = {TEXTARRAYOID, INT4OID};
	Datum		vals[2];
	List	   *groups = NIL;
	VqGroup    *g = NULL;
	int			n,
				ng,
				i;
	VsRequest  *reqs;
	VsResponse *resps;
	ListCell   *lc;
	cJSON	  **parsed;
	char	  **parse_errs;

	vq_begin("vectorstore: claim attaches");
	vals[0] = vq_throttled();
	vals[1] = Int32GetDatum(vs_worker_batch_size * 4);
	vq_exec("UPDATE vectorstore.job j SET status = 'attaching', batch_id = NULL, updated_at = now()"
			" FROM (SELECT q.id FROM vectorstore.job q"
			"  WHERE q.status = 'uploaded' AND q.not_before <= now()"
			"    AND coalesce(q.credential, '') <> ALL ($1)"
			"  ORDER BY q.id LIMIT $2 FOR UPDATE SKIP LOCKED) c"
			" WHERE j.id = c.id"
			" RETURNING j.id, coalesce(j.credential, ''), j.vector_store_id,"
			"  (jsonb_build_object('file_id', j.file_id) || jsonb_strip_nulls(jsonb_build_object("
			"    'attributes', j.attributes, 'chunking_strategy', j.chunking_strategy)))::text",
			2, types, vals, NULL);
	n = (int) SPI_processed;
	MemoryContextSwitchTo(vq_cxt);
	for (i = 0; i < n; i++)
	{
		char	   *cred = vq_text(i, 2);
		char	   *store = vq_text(i, 3);
		ListCell   *lc2;

		g = NULL;
		foreach(lc2, groups)
		{
			VqGroup    *x = lfirst(lc2);

			if (strcmp(x->cred, cred) == 0 && strcmp(x->store, store) == 0 &&
				x->n < vs_worker_batch_size)
				g = x;
		}
		if (g == NULL)
		{
			g = palloc0(sizeof(VqGroup));
			g->cred = cred;
			g->store = store;
			g->ids = palloc(sizeof(int64) * n);
			initStringInfo(&g->body);
			appendStringInfoString(&g->body, "{\"files\":[");
			groups = lappend(groups, g);
		}
		if (g->n > 0)
			appendStringInfoChar(&g->body, ',');
		appendStringInfoString(&g->body, vq_utf8(vq_text(i, 4)));
		g->ids[g->n++] = vq_int8(i, 1);
	}
	ng = list_length(groups);
	reqs = palloc0(sizeof(VsRequest) * Max(ng, 1));
	resps = palloc0(sizeof(VsResponse) * Max(ng, 1));
	i = 0;
	foreach(lc, groups)
	{
		g = lfirst(lc);
		appendStringInfoString(&g->body, "]}");
		reqs[i].method = "POST";
		reqs[i].path = vs_path("/vector_stores/%s/file_batches", g->store);
		reqs[i].body = g->body.data;
		reqs[i].beta = true;
		reqs[i].cred = vq_cred(g->cred);
		i++;
	}
	vq_commit();
	if (ng == 0)
		return 0;

	for (i = 0; i < ng; i++)
		if (reqs[i].cred == NULL)
			reqs[i].method = NULL;
	{
		/* send the groups whose credential still exists */
		VsRequest  *s = palloc0(sizeof(VsRequest) * ng);
		VsResponse *sr = palloc0(sizeof(VsResponse) * ng);
		int		   *map = palloc(sizeof(int) * ng);
		int			ns = 0;

		for (i = 0; i < ng; i++)
			if (reqs[i].method)
			{
				map[ns] = i;
				s[ns++] = reqs[i];
			}
		pgstat_report_activity(STATE_RUNNING, "vectorstore: creating file batches");
		vs_http_execute_many(s, sr, ns, vs_worker_concurrency, false);
		for (int k = 0; k < ns; k++)
			resps[map[k]] = sr[k];
	}

	/* parse before the transaction: vq_parse() catches errors, safe only outside one */
	parsed = palloc0(sizeof(cJSON *) * ng);
	parse_errs = palloc0(sizeof(char *) * ng);
	for (i = 0; i < ng; i++)
		if (reqs[i].method && VS_HTTP_OK(&resps[i]))
			parsed[i] = vq_parse(&reqs[i], &resps[i], &parse_errs[i]);

	vq_begin("vectorstore: record attaches");
	i = 0;
	foreach(lc, groups)
	{
		VsResponse *r = &resps[i];

		g = lfirst(lc);
		if (reqs[i].method == NULL)
			vq_record_failure(g->ids, g->n, "uploaded",
							  psprintf("credential \"%s\" does not exist", g->cred),
							  true, VQ_BACKOFF);
		else if (VS_HTTP_OK(r))
		{
			char	   *err = parse_errs[i];
			cJSON	   *o = parsed[i];
			const char *bid = vq_str(o, "id");

			if (bid == NULL)
				vq_record_failure(g->ids, g->n, "uploaded",
								  err ? err : "file batch response has no \"id\"",
								  true, VQ_BACKOFF);
			else
			{
				Oid			t3[3] = {INT8ARRAYOID, TEXTOID, INT4OID};
				Datum		v3[3];

				v3[0] = vq_id_array(g->ids, g->n);
				v3[1] = CStringGetTextDatum(bid);
				/*
				 * First poll when the server says, else at once (as the SDK's
				 * createAndPoll does): a batch of small files is often done
				 * before a whole poll interval has passed. Later polls follow
				 * the server's openai-poll-after-ms, else the poll interval.
				 */
				v3[2] = Int32GetDatum(r->poll_after_ms >= 0 ? r->poll_after_ms : 0);
				vq_exec("UPDATE vectorstore.job SET batch_id = $2, updated_at = now(),"
						" not_before = now() + make_interval(secs => $3 / 1000.0)"
						" WHERE id = ANY($1) AND status = 'attaching'", 3, t3, v3, NULL);
			}
		}
		else if (r->status == 429)
		{
			vq_throttle_set(g->cred, vq_429_delay(r));
			vq_record_failure(g->ids, g->n, "uploaded", vq_error(&reqs[i], r), false,
							  vq_429_delay(r));
		}
		else
		{
			/* attaching is idempotent: a lost answer costs nothing but a retry */
			vq_record_failure(g->ids, g->n, "uploaded", vq_error(&reqs[i], r), true,
							  VQ_BACKOFF);
		}
		i++;
	}
	vq_commit();
	return n;
}

/* ---------------------------------------------------------------------
 * Step 4: detach and delete the files of replaced and deleted rows
 * ---------------------------------------------------------------------
 */
int
vs_queue_delete(void)
{
	Oid			types[2] = {TEXTARRAYOID, INT4OID};
	Datum		vals[2];
	int			n,
				ns = 0;
	int64	   *ids;
	char	  **creds,
			  **fids;
	VsRequest  *reqs;
	VsResponse *resps;
	int		   *map;

	vq_begin("vectorstore: claim deletes");
	vals[0] = vq_throttled();
	vals[1] = Int32GetDatum(vs_worker_batch_size);
	/*
	 * The file to remove is that of the last job before this one, for the
	 * same row, that completed: walk replaces_job back over jobs that failed
	 * or were cancelled, and wait while one on the way has not finished.
	 */
	vq_exec("WITH RECURSIVE chain AS ("
			"  SELECT j.id AS root, t.id, t.status, t.file_id, t.vector_store_id,"
			"         t.credential, t.replaces_job, 1 AS depth"
			"  FROM vectorstore.job j JOIN vectorstore.job t ON t.id = j.replaces_job"
			"  WHERE j.status = 'deleting' AND j.not_before <= now()"
			" UNION ALL"
			"  SELECT c.root, t.id, t.status, t.file_id, t.vector_store_id,"
			"         t.credential, t.replaces_job, c.depth + 1"
			"  FROM chain c JOIN vectorstore.job t ON t.id = c.replaces_job"
			"  WHERE c.status IN ('failed', 'cancelled') AND c.depth < 1000)"
			" SELECT j.id, coalesce(e.credential, j.credential, ''), e.vector_store_id,"
			"  CASE WHEN e.status = 'completed' THEN e.file_id END"
			" FROM vectorstore.job j LEFT JOIN LATERAL (SELECT * FROM chain c WHERE c.root = j.id"
			"   ORDER BY c.depth DESC LIMIT 1) e ON true"
			" WHERE j.status = 'deleting' AND j.not_before <= now()"
			"  AND (e.root IS NULL OR e.status IN " VQ_TERMINAL ")"
			"  AND coalesce(e.credential, j.credential, '') <> ALL ($1)"
			" ORDER BY j.id LIMIT $2",
			2, types, vals, NULL);
	n = (int) SPI_processed;
	MemoryContextSwitchTo(vq_cxt);
	ids = palloc(sizeof(int64) * Max(n, 1));
	creds = palloc(sizeof(char *) * Max(n, 1));
	fids = palloc(sizeof(char *) * Max(n, 1));
	reqs = palloc0(sizeof(VsRequest) * 2 * Max(n, 1));
	resps = palloc0(sizeof(VsResponse) * 2 * Max(n, 1));
	map = palloc(sizeof(int) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		char	   *store = vq_text(i, 3);

		ids[i] = vq_int8(i, 1);
		creds[i] = vq_text(i, 2);
		fids[i] = vq_text(i, 4);
		if (fids[i] == NULL)
			continue;
		map[ns] = i;
		reqs[2 * ns].method = "DELETE";
		reqs[2 * ns].path = vs_path("/vector_stores/%s/files/%s", store, fids[i]);
		reqs[2 * ns].beta = true;
		reqs[2 * ns + 1].method = "DELETE";
		reqs[2 * ns + 1].path = vs_path("/files/%s", fids[i]);
		ns++;
	}
	for (int k = 0; k < ns; k++)
		reqs[2 * k].cred = reqs[2 * k + 1].cred = vq_cred(creds[map[k]]);
	vq_commit();
	if (n == 0)
		return 0;

	{
		/* detach first, then delete: two rounds */
		VsRequest  *r1 = palloc0(sizeof(VsRequest) * Max(ns, 1));
		VsResponse *p1 = palloc0(sizeof(VsResponse) * Max(ns, 1));
		int			m = 0;
		int		   *mm = palloc(sizeof(int) * Max(ns, 1));

		pgstat_report_activity(STATE_RUNNING, "vectorstore: deleting files");
		for (int round = 0; round < 2; round++)
		{
			m = 0;
			for (int k = 0; k < ns; k++)
			{
				if (reqs[2 * k].cred == NULL)
					continue;
				if (round == 1 && !(VS_HTTP_OK(&resps[2 * k]) || resps[2 * k].status == 404))
					continue;
				mm[m] = k;
				r1[m++] = reqs[2 * k + round];
			}
			vs_http_execute_many(r1, p1, m, vs_worker_concurrency, false);
			for (int x = 0; x < m; x++)
				resps[2 * mm[x] + round] = p1[x];
		}
	}

	vq_begin("vectorstore: record deletes");
	{
		VqFailures	fails = {0};
		int64	   *okids = palloc(sizeof(int64) * n);
		int			nok = 0;
		int			k = 0;

		for (int i = 0; i < n; i++)
		{
			bool		ok = true;
			VsResponse *bad = NULL;
			VsRequest  *badreq = NULL;

			if (fids[i] != NULL)
			{
				if (reqs[2 * k].cred == NULL)
				{
					vq_fail_add(&fails, &ids[i], 1, "deleting",
								psprintf("credential \"%s\" does not exist", creds[i]),
								true, VQ_BACKOFF);
					k++;
					continue;
				}
				for (int round = 0; round < 2; round++)
				{
					VsResponse *r = &resps[2 * k + round];

					if (!(VS_HTTP_OK(r) || r->status == 404))
					{
						ok = false;
						bad = r;
						badreq = &reqs[2 * k + round];
						break;
					}
				}
				k++;
			}
			if (ok)
				okids[nok++] = ids[i];
			else if (bad->status == 429)
			{
				vq_throttle_set(creds[i], vq_429_delay(bad));
				vq_fail_add(&fails, &ids[i], 1, "deleting", vq_error(badreq, bad), false,
							vq_429_delay(bad));
			}
			else
				vq_fail_add(&fails, &ids[i], 1, "deleting", vq_error(badreq, bad), true,
							VQ_BACKOFF);
		}
		if (nok > 0)
		{
			Oid			t1[1] = {INT8ARRAYOID};
			Datum		v1[1] = {vq_id_array(okids, nok)};

			vq_exec("WITH u AS (UPDATE vectorstore.job SET status = 'completed', finished_at = now(),"
					" updated_at = now(), last_error = NULL WHERE id = ANY($1) AND status = 'deleting'"
					" RETURNING 1) UPDATE vectorstore.worker_state SET jobs_done = jobs_done +"
					" (SELECT count(*) FROM u)", 1, t1, v1, NULL);
		}
		vq_fail_flush(&fails);
	}
	vq_commit();
	return n;
}
