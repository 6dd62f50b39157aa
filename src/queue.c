/*-------------------------------------------------------------------------
 *
 * queue.c
 *	  What roles call to use the queue: vs_enqueue_upload(), vs_job_cancel(),
 *	  vs_job_retry(); what a superuser calls to pause and resume the worker;
 *	  and the C helpers a database still at 0.1.0 names.
 *
 * Roles have no privilege on the queue's tables. Each function here reads
 * the caller's identity first (GetUserId(): inside SECURITY DEFINER code,
 * current_user is the definer, and that is who calls), checks what the
 * caller may do, and then runs the transition — a SQL function of
 * sql/install/51_queue_functions.sql — as the extension's owner, in a
 * security-restricted operation with search_path = pg_catalog, pg_temp
 * (vs_owner_begin). The caller's name goes in as an argument; nothing there
 * is resolved through the caller's session.
 *
 *-------------------------------------------------------------------------
 */
#include "vs_worker.h"

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

PG_FUNCTION_INFO_V1(vs_enqueue_upload_bytea);
PG_FUNCTION_INFO_V1(vs_enqueue_upload_text);
PG_FUNCTION_INFO_V1(vs_job_cancel);
PG_FUNCTION_INFO_V1(vs_job_retry);
PG_FUNCTION_INFO_V1(vs_worker_pause);
PG_FUNCTION_INFO_V1(vs_worker_resume);
PG_FUNCTION_INFO_V1(vs_worker_identity);

/* named by the 0.1.0 install script (a database not yet updated) */
PG_FUNCTION_INFO_V1(vs_credential_current_name);
PG_FUNCTION_INFO_V1(vs_job_validate);
PG_FUNCTION_INFO_V1(vs_current_user_is_superuser);
PG_FUNCTION_INFO_V1(vs_current_user_oid);

/* The caller, by name (jobs and syncs name their owner, as pg_cron does). */
static Datum
vs_caller_name(void)
{
	return DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
}

static void
vs_read_int8(void *arg)
{
	if (SPI_processed != 1 || vq_isnull(0, 1))
		elog(ERROR, "vectorstore: the queue returned no id");
	*(int64 *) arg = vq_int8(0, 1);
}

static void
vs_read_bool(void *arg)
{
	*(bool *) arg = SPI_processed == 1 && vq_bool(0, 1);
}


/*
 * A job's store id and filename are bounded: the worker holds and encodes
 * them for every job it claims (a store id into a path, percent-encoded; a
 * filename into a multipart header), so a row's few megabytes of name must
 * not become gigabytes in the worker (red team round twelve). NULL: fine.
 */
char *
vs_job_names_problem(const char *store, const char *filename)
{
	if (store && strlen(store) > VS_MAX_JOB_STORE_ID)
		return psprintf("vector_store_id is %zu bytes; at most %d are allowed",
						strlen(store), VS_MAX_JOB_STORE_ID);
	if (filename && strlen(filename) > VS_MAX_JOB_FILENAME)
		return psprintf("filename is %zu bytes; at most %d are allowed",
						strlen(filename), VS_MAX_JOB_FILENAME);
	return NULL;
}

/* ---------------------------------------------------------------------
 * vs_enqueue_upload
 * ---------------------------------------------------------------------
 */
static Datum
vs_enqueue(FunctionCallInfo fcinfo, bytea *content)
{
	char	   *store;
	char	   *filename;
	cJSON	   *attributes;
	cJSON	   *chunking;
	VsCredential *cred;
	Oid			types[8] = {NAMEOID, TEXTOID, TEXTOID, TEXTOID, BYTEAOID, JSONBOID, JSONBOID, JSONBOID};
	Datum		vals[8];
	char		nulls[9] = "        ";
	int64		id = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || content == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("vector_store_id, filename and content must not be null")));
	store = text_to_cstring(PG_GETARG_TEXT_PP(0));
	filename = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (store[0] == '\0' || filename[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("vector_store_id and filename must not be empty")));
	{
		char	   *why = vs_job_names_problem(store, filename);

		if (why)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s", why)));
	}
	/* checked now, as the API would, so a bad job is refused here */
	attributes = vs_arg_json(fcinfo, 3);
	if (attributes)
		vs_validate_attributes(attributes, "attributes");
	chunking = vs_arg_json(fcinfo, 4);
	if (chunking)
		vs_validate_chunking_strategy(chunking, "chunking_strategy");
	(void) vs_arg_request_options(fcinfo, 5);

	/* who queues, with which credential (42501 if it may not use it) */
	vals[0] = vs_caller_name();
	cred = vs_credential_current();
	vals[1] = cred->name ? CStringGetTextDatum(cred->name) : (Datum) 0;
	if (cred->name == NULL)
		nulls[1] = 'n';
	vals[2] = CStringGetTextDatum(store);
	vals[3] = CStringGetTextDatum(filename);
	vals[4] = PointerGetDatum(content);
	for (int i = 3; i <= 5; i++)
	{
		if (PG_NARGS() > i && !PG_ARGISNULL(i))
			vals[i + 2] = PG_GETARG_DATUM(i);
		else
		{
			vals[i + 2] = (Datum) 0;
			nulls[i + 2] = 'n';
		}
	}

	vs_owner_run("SELECT vectorstore._job_enqueue($1, $2, $3, $4, $5, $6, $7, $8)",
				 8, types, vals, nulls, vs_read_int8, &id);
	PG_RETURN_INT64(id);
}

Datum
vs_enqueue_upload_bytea(PG_FUNCTION_ARGS)
{
	return vs_enqueue(fcinfo, PG_ARGISNULL(2) ? NULL : PG_GETARG_BYTEA_P(2));
}

/* Text content is sent as UTF-8. */
Datum
vs_enqueue_upload_text(PG_FUNCTION_ARGS)
{
	bytea	   *b = NULL;

	if (!PG_ARGISNULL(2))
	{
		text	   *t = PG_GETARG_TEXT_PP(2);
		int			len = VARSIZE_ANY_EXHDR(t);
		char	   *utf8 = (char *) pg_server_to_any(VARDATA_ANY(t), len, PG_UTF8);
		int			ulen = utf8 == VARDATA_ANY(t) ? len : (int) strlen(utf8);

		b = (bytea *) palloc(VARHDRSZ + ulen);
		SET_VARSIZE(b, VARHDRSZ + ulen);
		memcpy(VARDATA(b), utf8, ulen);
	}
	return vs_enqueue(fcinfo, b);
}

/* ---------------------------------------------------------------------
 * vs_job_cancel, vs_job_retry
 * ---------------------------------------------------------------------
 */
/* A transition on one job of the caller's (any job, for a superuser). */
static bool
vs_job_transition(const char *sql, int64 job_id)
{
	Oid			types[2] = {NAMEOID, INT8OID};
	Datum		vals[2];
	char		nulls[3] = "  ";
	bool		done = false;

	if (superuser())
	{
		vals[0] = (Datum) 0;
		nulls[0] = 'n';
	}
	else
		vals[0] = vs_caller_name();
	vals[1] = Int64GetDatum(job_id);
	vs_owner_run(sql, 2, types, vals, nulls, vs_read_bool, &done);
	if (done)
		vs_worker_wake_at_commit(false);
	return done;
}

Datum
vs_job_cancel(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(vs_job_transition("SELECT vectorstore._job_cancel($1, $2)", PG_GETARG_INT64(0)));
}

Datum
vs_job_retry(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(vs_job_transition("SELECT vectorstore._job_retry($1, $2)", PG_GETARG_INT64(0)));
}

/* ---------------------------------------------------------------------
 * vs_worker_pause, vs_worker_resume (superuser)
 * ---------------------------------------------------------------------
 */
static bool
vs_worker_set_paused(bool paused)
{
	Oid			types[2] = {BOOLOID, TEXTOID};
	Datum		vals[2];
	bool		was = false;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser may pause or resume the vectorstore worker")));
	vals[0] = BoolGetDatum(paused);
	vals[1] = CStringGetTextDatum(psprintf("paused by %s with vectorstore.vs_worker_pause()",
										   GetUserNameFromId(GetUserId(), false)));
	vs_owner_run("SELECT vectorstore._worker_set_paused($1, $2)", 2, types, vals, NULL,
				 vs_read_bool, &was);
	/* the worker sees a pause at its next heartbeat; a resume starts one */
	vs_worker_wake_at_commit(!paused);
	return was;
}

Datum
vs_worker_pause(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(vs_worker_set_paused(true));
}

Datum
vs_worker_resume(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(vs_worker_set_paused(false));
}

/*
 * vectorstore._worker_identity(): this database's identity, as the worker
 * records it (the cluster's system identifier, unsigned, and the database's
 * oid). What worker_state's rows are told apart by; read from memory, so
 * that enqueueing a job (which tags it with this database's row) costs no
 * read of the control file.
 */
Datum
vs_worker_identity(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		vals[2];
	bool		nulls[2] = {false, false};
	char		sysid[32];

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "vs_worker_identity: the return type must be a row type");
	snprintf(sysid, sizeof(sysid), UINT64_FORMAT, GetSystemIdentifier());
	vals[0] = CStringGetTextDatum(sysid);
	vals[1] = ObjectIdGetDatum(MyDatabaseId);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), vals, nulls)));
}

/* ---------------------------------------------------------------------
 * Helpers the 0.1.0 install script names (its triggers and functions call
 * them until ALTER EXTENSION ... UPDATE); kept with their meaning.
 * ---------------------------------------------------------------------
 */
Datum
vs_credential_current_name(PG_FUNCTION_ARGS)
{
	VsCredential *c = vs_credential_current();

	if (c == NULL || c->name == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(c->name));
}

Datum
vs_current_user_is_superuser(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(superuser());
}

Datum
vs_current_user_oid(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetUserId());
}

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
