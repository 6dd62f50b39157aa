/*-------------------------------------------------------------------------
 *
 * queue.c
 *	  The steps the background worker runs over the durable job queue
 *	  (vectorstore.job): upload, attach in file batches, poll batches,
 *	  detach+delete, and the reconciling sweep. Also the SQL-callable helpers
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
 * The design of exactly-once delivery is explained at the top of worker.c.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"
#include "vs_worker.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
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

/* memory context the worker resets each pass; claimed data lives here */
static MemoryContext vq_cxt = NULL;
static char *vq_token = NULL;

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

#define VQ_TERMINAL "('completed', 'failed', 'cancelled')"
/* content claimed per upload step at most (one larger file is still taken alone) */
#define VQ_MAX_CLAIM_BYTES 67108864
#define VQ_MAX "current_setting('vectorstore.worker_max_attempts')::int"

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
static void
vq_begin(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vectorstore worker: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

static void
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

static void
vq_exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

	if (rc < 0)
		elog(ERROR, "vectorstore worker: query failed (%d): %s", rc, sql);
}

/* Column of the current SPI result as a string copied into the loop context. */
static char *
vq_text(int row, int col)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	return v ? MemoryContextStrdup(vq_cxt, v) : NULL;
}

static int64
vq_int8(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

static Datum
vq_text_datum(const char *s)
{
	return CStringGetTextDatum(s ? s : "");
}

/* An int8[] datum of ids. */
static Datum
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
static VsCredential *
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

static void
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
static int
vq_429_delay(const VsResponse *r)
{
	return r->retry_after_ms >= 0 ? Min(r->retry_after_ms, 600000) : 1000;
}

/* delay_ms of vq_record_failure(): back off by the job's attempts (0.5 s doubling, 60 s cap) */
#define VQ_BACKOFF (-1)

/*
 * Parse a 2xx JSON body without raising; NULL (and *err) when it is not JSON.
 * The error is caught without a subtransaction, which is safe because
 * parsing touches nothing but memory — call it outside any transaction.
 */
static cJSON *
vq_parse(const VsRequest *req, const VsResponse *resp, char **err)
{
	MemoryContext old = CurrentMemoryContext;
	cJSON	   *volatile root = NULL;

	*err = NULL;
	PG_TRY();
	{
		root = vs_json_parse_response(req, resp);
		if (!cJSON_IsObject(root))
			ereport(ERROR, (errmsg("response is not a JSON object")));
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(old);
		e = CopyErrorData();
		FlushErrorState();
		*err = psprintf("%s %s: %s%s%s", req->method, req->path, e->message,
						e->detail ? ": " : "", e->detail ? e->detail : "");
		root = NULL;
	}
	PG_END_TRY();
	return root;
}

/* A string field of a parsed object, or NULL (never raises). */
static const char *
vq_str(const cJSON *o, const char *key)
{
	const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
vq_int(const cJSON *o, const char *key)
{
	const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

	return cJSON_IsNumber(v) ? (int) v->valuedouble : 0;
}

/* Send the requests that have a credential; the others keep status 0. */
static void
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
static char *
vq_error(const VsRequest *req, const VsResponse *resp)
{
	return vs_describe_error(req, resp);
}

/* Record a failed try of jobs: back to `retry_status` after a back-off, or failed. */
static void
vq_record_failure(int64 *ids, int n, const char *retry_status, const char *error,
				  bool count_attempt, int delay_ms)
{
	Oid			types[5] = {INT8ARRAYOID, TEXTOID, TEXTOID, BOOLOID, INT4OID};
	Datum		vals[5];

	if (n == 0)
		return;
	vals[0] = vq_id_array(ids, n);
	vals[1] = vq_text_datum(retry_status);
	vals[2] = vq_text_datum(error);
	vals[3] = BoolGetDatum(count_attempt);
	vals[4] = Int32GetDatum(delay_ms);
	vq_exec("WITH u AS ("
			" UPDATE vectorstore.job j SET"
			"  attempts = j.attempts + $4::int,"
			"  last_error = $3,"
			"  status = CASE WHEN j.status IN " VQ_TERMINAL " THEN j.status"
			"           WHEN $2 = 'uploading' THEN 'uploading'"
			"           WHEN j.attempts + $4::int >= " VQ_MAX " THEN 'failed' ELSE $2 END,"
			"  finished_at = CASE WHEN j.status NOT IN " VQ_TERMINAL " AND $2 <> 'uploading'"
			"           AND j.attempts + $4::int >= " VQ_MAX " THEN now() ELSE j.finished_at END,"
			"  not_before = now() + make_interval(secs => CASE WHEN $5 >= 0 THEN $5 / 1000.0"
			"     ELSE least(0.5 * power(2, j.attempts), 60) END),"
			"  updated_at = now()"
			" WHERE j.id = ANY($1) RETURNING j.status)"
			" UPDATE vectorstore.worker_state SET jobs_failed = jobs_failed +"
			"  (SELECT count(*) FROM u WHERE status = 'failed')",
			5, types, vals, NULL);
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

	vq_begin("vectorstore: record uploads");
	for (int i = 0; i < n; i++)
	{
		VsResponse *r = &resps[i];

		if (reqs[i].cred == NULL)
		{
			vq_record_failure(&ids[i], 1, "queued",
							  psprintf("credential \"%s\" does not exist", creds[i]),
							  true, VQ_BACKOFF);
			continue;
		}
		if (VS_HTTP_OK(r))
		{
			char	   *err = parse_errs[i];
			cJSON	   *o = parsed[i];
			const char *fid = vq_str(o, "id");
			Oid			t2[2] = {INT8OID, TEXTOID};
			Datum		v2[2];

			if (fid == NULL)
			{
				/* we cannot tell which file was made: the sweep finds it */
				vq_record_failure(&ids[i], 1, "uploading",
								  err ? err : "POST /files: response has no \"id\"",
								  true, vs_worker_reconcile_delay_ms);
				continue;
			}
			v2[0] = Int64GetDatum(ids[i]);
			v2[1] = CStringGetTextDatum(fid);
			vq_exec("WITH u AS (UPDATE vectorstore.job SET file_id = $2, last_error = NULL,"
					"  status = CASE WHEN status = 'uploading' THEN 'uploaded' ELSE status END,"
					"  not_before = now(), updated_at = now() WHERE id = $1 RETURNING 1)"
					" UPDATE vectorstore.worker_state SET files_uploaded = files_uploaded +"
					"  (SELECT count(*) FROM u)", 2, t2, v2, NULL);
		}
		else if (r->status == 429)
		{
			/* refused: nothing was stored. Hold back the whole credential. */
			vq_throttle_set(creds[i], vq_429_delay(r));
			vq_record_failure(&ids[i], 1, "queued", vq_error(&reqs[i], r), false,
							  vq_429_delay(r));
		}
		else if (r->status == 0 &&
				 (r->curl_code == CURLE_COULDNT_CONNECT ||
				  r->curl_code == CURLE_COULDNT_RESOLVE_HOST ||
				  r->curl_code == CURLE_COULDNT_RESOLVE_PROXY))
		{
			/* nothing was sent */
			vq_record_failure(&ids[i], 1, "queued", vq_error(&reqs[i], r), true,
							  VQ_BACKOFF);
		}
		else if (r->status == 0 || r->status >= 500)
		{
			/*
			 * The file may or may not exist: keep 'uploading' without a file
			 * id so that the sweep, once the reconcile delay is over, adopts
			 * it or sends the job back to the queue.
			 */
			vq_record_failure(&ids[i], 1, "uploading", vq_error(&reqs[i], r), true,
							  vs_worker_reconcile_delay_ms);
		}
		else
			vq_record_failure(&ids[i], 1, "queued", vq_error(&reqs[i], r), true,
							  VQ_BACKOFF);
	}
	vq_commit();
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
				v3[2] = Int32GetDatum(r->poll_after_ms >= 0 ? r->poll_after_ms
									  : vs_worker_poll_interval_ms);
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
 * Step 3: poll file batches at the interval the server suggests
 * ---------------------------------------------------------------------
 */

/* List a batch's files (every page); returns false on a failure. */
static bool
vq_batch_files(const VsCredential *cred, const char *store, const char *bid,
			   List **fids, List **statuses, List **errors, char **err)
{
	char	   *after = NULL;

	for (;;)
	{
		VsRequest	req = {0};
		VsResponse	resp;
		StringInfoData q;
		cJSON	   *o;
		const cJSON *data,
				   *it;

		initStringInfo(&q);
		vs_query_add(&q, "limit", "100");
		if (after)
			vs_query_add(&q, "after", after);
		req.method = "GET";
		req.path = vs_path("/vector_stores/%s/file_batches/%s/files", store, bid);
		req.query = q.data;
		req.beta = true;
		req.cred = cred;
		vs_http_execute_many(&req, &resp, 1, 1, true);
		if (!VS_HTTP_OK(&resp))
		{
			*err = vq_error(&req, &resp);
			return false;
		}
		o = vq_parse(&req, &resp, err);
		if (o == NULL)
			return false;
		data = cJSON_GetObjectItemCaseSensitive(o, "data");
		cJSON_ArrayForEach(it, data)
		{
			const char *id = vq_str(it, "id");
			const cJSON *le = cJSON_GetObjectItemCaseSensitive(it, "last_error");

			if (id == NULL)
				continue;
			*fids = lappend(*fids, pstrdup(id));
			*statuses = lappend(*statuses, pstrdup(vq_str(it, "status") ? vq_str(it, "status") : ""));
			*errors = lappend(*errors,
							  cJSON_IsObject(le) ?
							  psprintf("file processing failed: %s: %s",
									   vq_str(le, "code") ? vq_str(le, "code") : "error",
									   vq_str(le, "message") ? vq_str(le, "message") : "")
							  : NULL);
			after = pstrdup(id);
		}
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "has_more")) || after == NULL)
			return true;
	}
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
	vq_exec("SELECT coalesce(credential, ''), vector_store_id, batch_id FROM vectorstore.job"
			" WHERE status = 'attaching' AND batch_id IS NOT NULL"
			" GROUP BY 1, 2, 3 HAVING min(not_before) <= now() LIMIT 64",
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
					vq_record_failure(&ids[i], 1, "deleting",
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
			{
				Oid			t1[1] = {INT8OID};
				Datum		v1[1] = {Int64GetDatum(ids[i])};

				vq_exec("WITH u AS (UPDATE vectorstore.job SET status = 'completed', finished_at = now(),"
						" updated_at = now(), last_error = NULL WHERE id = $1 AND status = 'deleting'"
						" RETURNING 1) UPDATE vectorstore.worker_state SET jobs_done = jobs_done +"
						" (SELECT count(*) FROM u)", 1, t1, v1, NULL);
			}
			else if (bad->status == 429)
			{
				vq_throttle_set(creds[i], vq_429_delay(bad));
				vq_record_failure(&ids[i], 1, "deleting", vq_error(badreq, bad), false,
								  vq_429_delay(bad));
			}
			else
				vq_record_failure(&ids[i], 1, "deleting", vq_error(badreq, bad), true,
								  VQ_BACKOFF);
		}
	}
	vq_commit();
	return n;
}

/* ---------------------------------------------------------------------
 * Step 5: the sweep — reconcile lost uploads, delete duplicates and orphans
 * ---------------------------------------------------------------------
 */

/* Files whose name carries this database's marker, through every page. */
static bool
vq_list_marked(const VsCredential *cred, List **fids, List **jids, char **err)
{
	char	   *after = NULL;
	char	   *prefix = psprintf("vsjob-%s-", vq_token);
	size_t		plen = strlen(prefix);

	for (;;)
	{
		VsRequest	req = {0};
		VsResponse	resp;
		StringInfoData q;
		cJSON	   *o;
		const cJSON *data,
				   *it;
		bool		any = false;

		initStringInfo(&q);
		vs_query_add(&q, "purpose", "assistants");
		vs_query_add(&q, "limit", "10000");
		if (after)
			vs_query_add(&q, "after", after);
		req.method = "GET";
		req.path = "/files";
		req.query = q.data;
		req.cred = cred;
		vs_http_execute_many(&req, &resp, 1, 1, true);
		if (!VS_HTTP_OK(&resp))
		{
			*err = vq_error(&req, &resp);
			return false;
		}
		o = vq_parse(&req, &resp, err);
		if (o == NULL)
			return false;
		data = cJSON_GetObjectItemCaseSensitive(o, "data");
		cJSON_ArrayForEach(it, data)
		{
			const char *id = vq_str(it, "id");
			const char *fn = vq_str(it, "filename");

			if (id == NULL)
				continue;
			after = pstrdup(id);
			any = true;
			if (fn && strncmp(fn, prefix, plen) == 0)
			{
				char	   *end;
				long long	jid = strtoll(fn + plen, &end, 10);

				if (end != fn + plen && *end == '_' && jid > 0)
				{
					int64	   *p = palloc(sizeof(int64));

					*p = (int64) jid;
					*fids = lappend(*fids, pstrdup(id));
					*jids = lappend(*jids, p);
				}
			}
		}
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "has_more")) || !any)
			return true;
	}
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
	for (int i = 0; i < nd; i++)
	{
		if (VS_HTTP_OK(&dresps[i]) || dresps[i].status == 404)
		{
			Oid			t1[1] = {TEXTOID};
			Datum		v1[1] = {CStringGetTextDatum(dfid[i])};

			ndeleted++;
			vq_exec("UPDATE vectorstore.job SET file_id = NULL, updated_at = now()"
					" WHERE file_id = $1 AND status IN ('failed', 'cancelled')", 1, t1, v1, NULL);
		}
		else
			elog(LOG, "vectorstore worker: could not delete orphan file %s: %s",
				 dfid[i], vq_error(&dreqs[i], &dresps[i]));
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
