/*-------------------------------------------------------------------------
 *
 * step.c
 *	  What every step of the background worker is made of: short
 *	  transactions with SPI and kept plans; subtransactions that contain an
 *	  ERROR; acting as the extension's owner; the authority of a job's owner
 *	  over its credential, checked when the job is sent; 429 hold-backs per
 *	  credential; and the one step driver.
 *
 * The step driver (vq_step_run, vq_flights_pump)
 * -----------------------------------------------
 *	  1. claim: one short transaction calls the step's claim function (SQL,
 *		 sql/install/51_queue_functions.sql), which locks what is due with SKIP LOCKED,
 *		 moves it to its in-flight state and sets a lease; the step turns the
 *		 rows into units (one request each, for one owner) of a run that lives
 *		 until each unit is recorded; the authority of each unit's owner over
 *		 its credential is checked now (vs_credential_for_role). Nothing a role
 *		 can lock makes this wait. A job whose unit is still open, and a
 *		 credential held back by a 429 or with worker_batch_size units open,
 *		 are not claimed.
 *	  2. send: with no transaction open, each unit's request is built — a
 *		 bad id, bad options or bad data make that unit invalid, never an
 *		 ERROR — and sent as a flight (transport.c): without waiting, without
 *		 retries (a 429 holds back the whole credential), bounded by
 *		 vectorstore.worker_request_timeout, started fairly between
 *		 credentials.
 *	  3. pump and record: between claims the worker drives the flights for a
 *		 short while; each that ends is classified by vs_outcome() (outcome.c)
 *		 and read (digest, validating every id the server sends back); then
 *		 the finished units of each run are recorded in a short transaction,
 *		 set-based through the state machine's SQL functions. If that raises,
 *		 each unit is recorded alone in a subtransaction; a unit whose record
 *		 still raises fails its jobs with that error. A unit that cannot even
 *		 be failed (its rows are locked) is left to its lease. A slow server
 *		 holds only its own units.
 *-------------------------------------------------------------------------
 */
#include "vs_worker.h"

#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "common/hashfn.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "pgstat.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"

MemoryContext vq_cxt = NULL;
char	   *vq_token = NULL;
VqCounters	vq_counters;

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
	vs_check_extension_schema();
	pgstat_report_activity(STATE_RUNNING, activity);
	/* what a step allocates belongs to the pass, not to SPI's procedure memory */
	if (vq_cxt)
		MemoryContextSwitchTo(vq_cxt);
}

/* the worker's requests in flight (see "Runs and flights" below) */
static VsFlights *vq_flights = NULL;

/*
 * The current transaction's commit does not wait for the disk (about a
 * millisecond each here, several per pass): what a crash loses of it is
 * what a killed worker loses. For records (a lost upload record is the
 * sweep's to adopt; attaching, polling and removing again are harmless),
 * the claims of steps whose requests are idempotent (VqStep.claim_no_wait)
 * and the heartbeat (its counters are statistics). An upload's claim waits:
 * it must be durable before its request is sent, so that an upload that may
 * have reached the server is 'uploading' after any crash. A commit that
 * waits makes every earlier one durable too.
 */
void
vq_no_wait_for_disk(void)
{
	(void) set_config_option("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
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
	/*
	 * Between two transactions, move the requests in flight on without
	 * waiting: read what came, start what may start. Their outcomes are
	 * recorded by the pump, as always; this only keeps the worker's
	 * connections busy while it claims and records, instead of idle for
	 * every transaction of a pass.
	 */
	if (vq_flights && vs_flights_count(vq_flights) > 0)
		(void) vs_flights_pump(vq_flights, vs_worker_concurrency, 0);
}

/*
 * Kept plans. The worker (and a session's queue functions) run the same few
 * statements over and over; each distinct (text, argument types) is
 * prepared once and kept (SPI_keepplan). The plan cache revalidates a kept
 * plan after DDL on what it uses; after DROP + CREATE EXTENSION every plan
 * is dropped all the same (keyed by the extension's oid).
 */
typedef struct VqPlan
{
	uint32		hash;
	char	   *sql;
	int			nargs;
	Oid			types[12];
	SPIPlanPtr	plan;
} VqPlan;
#define VQ_MAX_PLANS 64
static VqPlan vq_plans[VQ_MAX_PLANS];
static int	vq_nplans = 0;
static Oid	vq_plans_ext = InvalidOid;

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

	vq_plans_check();
	for (int i = 0; i < vq_nplans; i++)
	{
		p = &vq_plans[i];
		if (p->hash == h && p->nargs == nargs &&
			(nargs == 0 || memcmp(p->types, types, sizeof(Oid) * nargs) == 0) &&
			strcmp(p->sql, sql) == 0)
			return p->plan;
	}
	plan = SPI_prepare(sql, nargs, types);
	if (plan == NULL)
		elog(ERROR, "vectorstore: could not prepare (%d): %s", SPI_result, sql);
	if (nargs > lengthof(p->types) || vq_nplans == VQ_MAX_PLANS)
		return plan;			/* not kept: freed with the transaction's SPI memory */
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "vectorstore: SPI_keepplan failed");
	p = &vq_plans[vq_nplans++];
	p->hash = h;
	p->sql = MemoryContextStrdup(TopMemoryContext, sql);
	p->nargs = nargs;
	if (nargs > 0)
		memcpy(p->types, types, sizeof(Oid) * nargs);
	p->plan = plan;
	return plan;
}

/*
 * Execute a kept plan. SPI leaves its procedure context current after a
 * call, whose memory goes at SPI_finish: come back to the caller's.
 */
void
vq_exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			rc = SPI_execute_plan(vq_plan(sql, nargs, types), values, nulls, false, 0);

	MemoryContextSwitchTo(cxt);
	if (rc < 0)
		elog(ERROR, "vectorstore: query failed (%d): %s", rc, sql);
}

/* Column of the current SPI result as a string copied into the loop context. */
char *
vq_text(int row, int col)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	return v ? MemoryContextStrdup(vq_cxt ? vq_cxt : CurrentMemoryContext, v) : NULL;
}

bool
vq_isnull(int row, int col)
{
	bool		isnull;

	(void) SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);
	return isnull;
}

int64
vq_int8(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

int32
vq_int4(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt32(d);
}

bool
vq_bool(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return !isnull && DatumGetBool(d);
}

Datum
vq_text_datum(const char *s)
{
	return CStringGetTextDatum(s ? s : "");
}

/* A text[] of n strings (NULL elements stay NULL). */
Datum
vq_text_array(char **s, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
	{
		nulls[i] = s[i] == NULL;
		d[i] = nulls[i] ? (Datum) 0 : CStringGetTextDatum(s[i]);
	}
	if (n == 0)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	return PointerGetDatum(construct_md_array(d, nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
}

Datum
vq_id_array(const int64 *ids, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int64GetDatum(ids[i]);
	return PointerGetDatum(construct_array(d, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

Datum
vq_int4_array(const int *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int32GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, INT4OID, 4, true, TYPALIGN_INT));
}

/* A text[] column as C strings in the loop context (NULL elements: NULL). */
char	  **
vq_text_array_elems(int row, int col, int *n)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;
	MemoryContext old;

	*n = 0;
	if (isnull)
		return NULL;
	old = MemoryContextSwitchTo(vq_cxt ? vq_cxt : CurrentMemoryContext);
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		out[i] = nulls[i] ? NULL : TextDatumGetCString(elems[i]);
	MemoryContextSwitchTo(old);
	return out;
}

int64 *
vq_int8_array_elems(int row, int col, int *n)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);
	Datum	   *elems;
	bool	   *nulls;
	int64	   *out;
	MemoryContext old;

	*n = 0;
	if (isnull)
		return NULL;
	old = MemoryContextSwitchTo(vq_cxt ? vq_cxt : CurrentMemoryContext);
	deconstruct_array(DatumGetArrayTypeP(d), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, n);
	out = palloc(sizeof(int64) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		out[i] = nulls[i] ? 0 : DatumGetInt64(elems[i]);
	MemoryContextSwitchTo(old);
	return out;
}

/*
 * A subtransaction around fn, as PL/pgSQL's exception blocks do: an ERROR
 * inside rolls back only what fn did, and is handed back as text.
 */
bool
vq_try(void (*fn) (void *arg), void *arg, char **err)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	*err = NULL;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		*err = psprintf("%s", edata->message ? edata->message : "unknown error");
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* ---------------------------------------------------------------------
 * The extension's owner
 * ---------------------------------------------------------------------
 */
/*
 * The extension's row, read once per extension oid (a DROP and CREATE
 * EXTENSION gives another): its owner and the schema the control file named
 * (pg_catalog from 0.2.0 on; "vectorstore" for a database updated from 0.1.0).
 */
static Oid	vs_ext_cached = InvalidOid;
static Oid	vs_ext_owner = InvalidOid;
static Oid	vs_ext_nsp = InvalidOid;

static Oid
vs_extension_row(void)
{
	Oid			ext = get_extension_oid(VS_EXTENSION_NAME, false);
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	if (ext == vs_ext_cached)
		return ext;
	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(ext));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "vectorstore: extension %u not found", ext);
	vs_ext_owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	vs_ext_nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	vs_ext_cached = ext;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return ext;
}

Oid
vs_extension_owner(void)
{
	(void) vs_extension_row();
	return vs_ext_owner;
}

/*
 * Everything the extension runs with borrowed rights — as its owner for a
 * role (vs_owner_run), as the worker for every role — finds its tables and
 * functions by the name vectorstore.*. That name must therefore be the
 * extension's own schema, in the hands of a superuser: a schema created
 * by the extension's script (a member of the extension, 0.2.0 on), or the
 * one the 0.1.0 control file installed into (the extension's namespace),
 * owned by a superuser. Otherwise a role that owns or renamed the schema
 * (a database owner who made "vectorstore" before a 0.1.0 install, say)
 * could put its own functions where ours are looked for. NULL when all is
 * well, else what is wrong.
 */

const char *
vs_extension_schema_problem(void)
{
	static Oid	member_ext = InvalidOid;	/* (ext, nsp) last found a member */
	static Oid	member_nsp = InvalidOid;
	Oid			ext;
	Oid			nsp = get_namespace_oid("vectorstore", true);
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(get_extension_oid(VS_EXTENSION_NAME, true)))
		return "extension \"vectorstore\" is not installed";
	ext = vs_extension_row();
	if (!OidIsValid(nsp))
		return "schema \"vectorstore\" is not the extension's schema";
	/* membership changes only by ALTER EXTENSION: looked up once */
	if (nsp != vs_ext_nsp && !(ext == member_ext && nsp == member_nsp))
	{
		if (getExtensionOfObject(NamespaceRelationId, nsp) != ext)
			return "schema \"vectorstore\" is not the extension's schema";
		member_ext = ext;
		member_nsp = nsp;
	}
	/* the owner every time (a syscache lookup): ALTER SCHEMA may change it */
	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
	if (!HeapTupleIsValid(tup))
		return "schema \"vectorstore\" is not the extension's schema";
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	if (!superuser_arg(owner))
	{
		ReleaseSysCache(tup);
		return "schema \"vectorstore\" is owned by a role that is not a superuser";
	}
	/* nor may anyone else who is not a superuser create objects there */
	{
		bool		isnull;
		Datum		d = SysCacheGetAttr(NAMESPACEOID, tup, Anum_pg_namespace_nspacl, &isnull);

		if (!isnull)
		{
			Acl		   *acl = DatumGetAclP(d);
			AclItem    *items = ACL_DAT(acl);

			for (int i = 0; i < ACL_NUM(acl); i++)
			{
				if ((ACLITEM_GET_PRIVS(items[i]) & ACL_CREATE) &&
					(items[i].ai_grantee == ACL_ID_PUBLIC || !superuser_arg(items[i].ai_grantee)))
				{
					ReleaseSysCache(tup);
					return "a role that is not a superuser may create objects in schema \"vectorstore\"";
				}
			}
		}
	}
	ReleaseSysCache(tup);
	return NULL;
}

/* vs_extension_schema_problem(), as an ERROR */
void
vs_check_extension_schema(void)
{
	const char *problem = vs_extension_schema_problem();

	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("vectorstore: %s", problem),
				 errdetail("The extension runs its own functions there with its owner's rights."),
				 errhint("A superuser gives the schema to the extension's owner and revokes CREATE on it from other roles (ALTER EXTENSION vectorstore UPDATE does both), after checking what the schema holds.")));
}

/*
 * The settings that code running as another role depends on, fixed for the
 * current GUC nesting level (the caller did NewGUCNestLevel()): names are
 * resolved in pg_catalog only (then pg_temp, never searched for functions
 * or operators), and values print the same in every session and in the
 * worker, so a sync's hash of a row does not depend on who computed it.
 */
void
vs_fixed_gucs(void)
{
	static const char *const fixed[][2] = {
		{"search_path", "pg_catalog, pg_temp"},
		{"DateStyle", "ISO, MDY"},
		{"IntervalStyle", "postgres"},
		{"TimeZone", "UTC"},
		{"extra_float_digits", "1"},
		{"bytea_output", "hex"},
		{"standard_conforming_strings", "on"},
		{"xmloption", "content"},
	};

	for (int i = 0; i < lengthof(fixed); i++)
		(void) set_config_option(fixed[i][0], fixed[i][1], PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
}

void
vs_owner_begin(VsOwnerCall *c)
{
	Oid			owner = vs_extension_owner();
	MemoryContext cxt = CurrentMemoryContext;

	vs_check_extension_schema();
	GetUserIdAndSecContext(&c->save_user, &c->save_sec);
	c->nestlevel = NewGUCNestLevel();
	c->spi = false;
	SetUserIdAndSecContext(owner, c->save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vectorstore: SPI_connect failed");
	c->spi = true;
	/* results read go to the caller's memory, not SPI's procedure memory */
	MemoryContextSwitchTo(cxt);
}

void
vs_owner_end(VsOwnerCall *c)
{
	if (c->spi)
		SPI_finish();
	c->spi = false;
	AtEOXact_GUC(true, c->nestlevel);
	SetUserIdAndSecContext(c->save_user, c->save_sec);
}

/*
 * One statement as the extension's owner (vs_owner_begin); read(arg) reads
 * its result (SPI_tuptable) before it goes.
 */
void
vs_owner_run(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
			 void (*read) (void *arg), void *arg)
{
	VsOwnerCall call = {0};

	vs_owner_begin(&call);
	PG_TRY();
	{
		vq_exec(sql, nargs, types, values, nulls);
		if (read)
			read(arg);
	}
	PG_FINALLY();
	{
		vs_owner_end(&call);
	}
	PG_END_TRY();
}

/* ---------------------------------------------------------------------
 * Authority at send time, and 429 hold-backs
 * ---------------------------------------------------------------------
 */
typedef struct VqAuth
{
	char	   *owner;
	char	   *cred;
	const VsCredential *credential;
	char	   *err;
	int			pass;
} VqAuth;
static List *vq_auths = NIL;	/* in vq_cxt, forgotten each pass */
static MemoryContext vq_auths_cxt = NULL;

/*
 * Checked once per (owner, credential) per pass: a revoke or a DROP ROLE
 * is seen by the next claim. The credentials live in the loop context.
 */
const VsCredential *
vq_authority(const char *owner, const char *cred, char **err)
{
	ListCell   *lc;
	VqAuth	   *a;
	MemoryContext old;
	const char *key = cred ? cred : "";

	if (vq_auths_cxt != vq_cxt)
	{
		vq_auths = NIL;			/* the loop context was reset: the list went with it */
		vq_auths_cxt = vq_cxt;
	}
	foreach(lc, vq_auths)
	{
		a = lfirst(lc);
		if (strcmp(a->owner, owner) == 0 && strcmp(a->cred, key) == 0)
		{
			*err = a->err;
			return a->credential;
		}
	}
	old = MemoryContextSwitchTo(vq_cxt);
	a = palloc0(sizeof(VqAuth));
	a->owner = pstrdup(owner);
	a->cred = pstrdup(key);
	a->credential = vs_credential_for_role(owner, key[0] ? key : NULL, &a->err);
	if (a->credential == NULL && a->err == NULL)
		a->err = psprintf("role \"%s\" may not use credential \"%s\"", owner, key);
	vq_auths = lappend(vq_auths, a);
	MemoryContextSwitchTo(old);
	*err = a->err;
	return a->credential;
}

/* Forget the authority checks made so far (the next claim checks again). */
void
vq_authority_reset(void)
{
	vq_auths = NIL;
	vq_auths_cxt = NULL;
}

static List *vq_runs = NIL;		/* open runs (TopMemoryContext), see below */

typedef struct VqThrottle
{
	char		name[NAMEDATALEN + 1];
	TimestampTz until;
	int			streak;			/* 429s in a row, no other answer between */
} VqThrottle;
#define VQ_MAX_THROTTLE 64
#define VQ_THROTTLE_FLOOR_MS 1000
#define VQ_THROTTLE_CAP_MS 60000
static VqThrottle vq_throttles[VQ_MAX_THROTTLE];
static int	vq_nthrottle = 0;

static VqThrottle *
vq_throttle_find(const char *key, bool create)
{
	int			i;

	for (i = 0; i < vq_nthrottle; i++)
		if (strcmp(vq_throttles[i].name, key) == 0)
			return &vq_throttles[i];
	if (!create)
		return NULL;
	if (vq_nthrottle == VQ_MAX_THROTTLE)
	{
		/* full: take the entry whose hold ended first */
		i = 0;
		for (int k = 1; k < vq_nthrottle; k++)
			if (vq_throttles[k].until < vq_throttles[i].until)
				i = k;
	}
	else
		i = vq_nthrottle++;
	strlcpy(vq_throttles[i].name, key, sizeof(vq_throttles[i].name));
	vq_throttles[i].until = 0;
	vq_throttles[i].streak = 0;
	return &vq_throttles[i];
}

/*
 * A 429 from a credential's server: hold every job of the credential back.
 * The hold doubles with every 429 in a row (1 s, 2 s, 4 s, ... up to a
 * minute) and is never shorter than what the server asked (Retry-After),
 * so a server that answers 429 with "Retry-After: 0" for ever is asked
 * less and less often. Returns the hold, which the jobs wait too
 * (_job_record_failure), counting a throttle each.
 */
int
vq_throttle_set(const char *cred, int delay_ms)
{
	VqThrottle *t = vq_throttle_find(cred ? cred : "", true);
	int			shift = Min(t->streak, 6);
	int			hold = Min(VQ_THROTTLE_FLOOR_MS << shift, VQ_THROTTLE_CAP_MS);
	TimestampTz until;

	hold = Min(Max(hold, delay_ms), 600000);
	t->streak = Min(t->streak + 1, 1000);
	until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), hold);
	if (until > t->until)
		t->until = until;
	return hold;
}

/* Any other answer from a credential's server ends its run of 429s. */
void
vq_throttle_clear(const char *cred)
{
	VqThrottle *t = vq_throttle_find(cred ? cred : "", false);

	if (t)
		t->streak = 0;
}

/* Earliest end of a hold-back still running, or 0. */
TimestampTz
vq_throttle_end(void)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz min = 0;

	for (int i = 0; i < vq_nthrottle; i++)
		if (vq_throttles[i].until > now && (min == 0 || vq_throttles[i].until < min))
			min = vq_throttles[i].until;
	return min;
}

/* ---------------------------------------------------------------------
 * The step driver
 * ---------------------------------------------------------------------
 */
VqUnit *
vq_unit_add(VqRun *run, const char *owner, const char *cred, int nids)
{
	VqUnit	   *u;
	MemoryContext old = MemoryContextSwitchTo(run->cxt ? run->cxt : vq_cxt);

	if (run->n == run->cap)
	{
		run->cap = Max(16, run->cap * 2);
		run->units = run->units ? repalloc(run->units, sizeof(VqUnit) * run->cap)
			: palloc(sizeof(VqUnit) * run->cap);
	}
	u = &run->units[run->n++];
	memset(u, 0, sizeof(VqUnit));
	u->owner = pstrdup(owner);
	u->cred = pstrdup(cred ? cred : "");
	u->ids = palloc(sizeof(int64) * Max(nids, 1));
	u->nids = 0;
	u->outcome.kind = VS_OUTCOME_PERMANENT;
	u->outcome.delay_ms = -1;
	MemoryContextSwitchTo(old);
	return u;
}

/* Request options stored with a job, parsed again (they were checked when queued). */
VsRequestOptions *
vq_options(const char *json, char **err)
{
	MemoryContext cxt = CurrentMemoryContext;
	VsRequestOptions *volatile opts = NULL;

	*err = NULL;
	if (json == NULL)
		return NULL;
	PG_TRY();
	{
		const char *t = (const char *) pg_server_to_any(json, strlen(json), PG_UTF8);
		cJSON	   *o = vs_json_parse_text(t, strlen(t) + 1, NULL);

		if (o == NULL)
			elog(ERROR, "request_options are not JSON");
		opts = vs_request_options(o);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		FlushErrorState();
		*err = psprintf("request_options refused: %s", e->message);
		FreeErrorData(e);
		opts = NULL;
	}
	PG_END_TRY();
	return opts;
}

/* The SQL policy's name for what came of a unit. */
const char *
vq_outcome_sql(const VqUnit *u)
{
	return vs_outcome_name(u->outcome.kind);
}

/*
 * A request went: classify it, hold back its credential on a 429, keep the
 * error text, and let the step read a successful answer.
 */
typedef struct VqSendArg
{
	VqRun	   *run;
	VqUnit	   *u;
	bool		second;
} VqSendArg;

static void
vq_classify(VqRun *run, VqUnit *u, VsRequest *req, VsResponse *resp, bool second)
{
	if (resp->invalid)
	{
		/* the request could not be built: bad options, a bad header value */
		u->outcome.kind = VS_OUTCOME_PERMANENT;
		u->outcome.delay_ms = -1;
		u->error = pstrdup(resp->error);
		return;
	}
	u->outcome = vs_outcome(req, resp, 0);
	if (u->outcome.kind != VS_OUTCOME_THROTTLE && resp->status != 0)
		vq_throttle_clear(u->cred);
	if (u->outcome.kind == VS_OUTCOME_DONE)
		return;
	u->error = vs_describe_error(req, resp);
	if (u->outcome.kind == VS_OUTCOME_THROTTLE)
		u->outcome.delay_ms = vq_throttle_set(u->cred, u->outcome.delay_ms);
}

/* ---------------------------------------------------------------------
 * Runs and flights: what is claimed, sent and not yet recorded
 * ---------------------------------------------------------------------
 * A run is what one claim of a step took; it lives (in a memory context of
 * its own) until each of its units is recorded. Its requests are flights
 * (transport.c): sent without waiting, driven by vq_flights_pump() between
 * the worker's claims, each unit recorded as soon as it is finished. So a
 * server that never answers holds only its own units, for at most
 * vectorstore.worker_request_timeout, and every other credential's work is
 * claimed, sent and recorded meanwhile.
 */

/* What a run's steps allocate lives as long as the run. */
static MemoryContext
vq_enter(VqRun *run, MemoryContext *saved)
{
	*saved = vq_cxt;
	vq_cxt = run->cxt;
	return MemoryContextSwitchTo(run->cxt);
}

static void
vq_leave(MemoryContext old, MemoryContext saved)
{
	vq_cxt = saved;
	MemoryContextSwitchTo(old);
}

static void vq_unit_send(VqRun *run, VqUnit *u, bool second);

/* how long the pump goes on driving requests after one ended, to record them together */
#define VQ_RECORD_GATHER_MS 20

/* how long attaches wait for uploads of the same credential sent together */
#define VQ_GATHER_MS 1000

/* A flight of a unit ended (from vs_flights_pump, no transaction open). */
static void
vq_flight_done(int i, VsResponse *resp, void *arg)
{
	VqSendArg  *a = (VqSendArg *) arg;
	VqRun	   *run = a->run;
	VqUnit	   *u = a->u;
	const VqStep *step = run->step;
	MemoryContext saved;
	MemoryContext old = vq_enter(run, &saved);
	VsResponse *r = a->second ? &u->resp2 : &u->resp;

	volatile bool again = false;

	u->flight = NULL;			/* ended (or withdrawn): no longer ours to take back */
	if (r != resp)
		*r = *resp;
	/* what a step makes of an answer is its unit's alone: an ERROR fails it */
	PG_TRY();
	{
		vq_classify(run, u, a->second ? &u->req2 : &u->req, r, a->second);
		if (step->then && step->then(run, u, a->second))
			again = true;
		else if (!a->second && u->outcome.kind == VS_OUTCOME_DONE && step->digest)
			step->digest(run, u);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(run->cxt);
		e = CopyErrorData();
		FlushErrorState();
		u->outcome.kind = VS_OUTCOME_RETRY;
		u->outcome.delay_ms = -1;
		u->error = psprintf("%s", e->message ? e->message : "error reading the answer");
		FreeErrorData(e);
		again = false;
	}
	PG_END_TRY();
	vs_response_release(r);
	if (again)
		vq_unit_send(run, u, true);	/* a removal's delete after its detach */
	else
		u->finished = true;
	vq_leave(old, saved);
}

/* Send a unit's first (or second) request, without waiting. */
static void
vq_unit_send(VqRun *run, VqUnit *u, bool second)
{
	VqSendArg  *a = palloc(sizeof(VqSendArg));

	a->run = run;
	a->u = u;
	a->second = second;
	u->sent = true;
	u->flight = NULL;
	/* (NULL when done ran at once: the request could not be built) */
	u->flight = vs_flight_send(vq_flights, second ? &u->req2 : &u->req,
							   second ? &u->resp2 : &u->resp,
							   u->cred, vq_flight_done, a, 0);
}

/*
 * A credential is slow while its server has kept one of the worker's
 * requests for more than VQ_SLOW_MS without answering. A credential whose
 * server answers is claimed for up to a batch per step (worker_batch_size
 * units open; the flights start them as slots free: vq_cred_room), so that
 * the worker claims and records many units per transaction; a slow one
 * keeps no more than worker_concurrency units open in all: what it claimed
 * beyond that and has not started is given back (vq_withdraw_slow), and it
 * is not claimed for beyond that. So a server that stops answering holds as
 * little as before batches, and the bound on what is open (vq_step_run) is
 * left to the others.
 */
#define VQ_SLOW_MS 2000

static bool
vq_cred_slow(const char *cred)
{
	TimestampTz since = vs_flights_running_since(vq_flights, cred);

	return since != 0 &&
		TimestampDifferenceExceeds(since, GetCurrentTimestamp(), VQ_SLOW_MS);
}


static const VqStep *vq_claiming = NULL;	/* the step claiming now */

/*
 * Credentials of the open units: how many each holds (of every step, and of
 * one step), and their most.
 */
typedef struct VqCredOpen
{
	const char **creds;
	int		   *open;
	int		   *open_step;
	int		   *max;
	bool	   *slow;
	int			n;
	int			cap;
} VqCredOpen;

static int
vq_cred_open_find(VqCredOpen *co, const char *cred)
{
	for (int i = 0; i < co->n; i++)
		if (strcmp(co->creds[i], cred) == 0)
			return i;
	if (co->n == co->cap)
	{
		co->cap = Max(8, co->cap * 2);
		co->creds = co->creds ? repalloc(co->creds, sizeof(char *) * co->cap)
			: palloc(sizeof(char *) * co->cap);
		co->open = co->open ? repalloc(co->open, sizeof(int) * co->cap)
			: palloc(sizeof(int) * co->cap);
		co->max = co->max ? repalloc(co->max, sizeof(int) * co->cap)
			: palloc(sizeof(int) * co->cap);
		co->open_step = co->open_step ? repalloc(co->open_step, sizeof(int) * co->cap)
			: palloc(sizeof(int) * co->cap);
		co->slow = co->slow ? repalloc(co->slow, sizeof(bool) * co->cap)
			: palloc(sizeof(bool) * co->cap);
	}
	co->creds[co->n] = cred;
	co->open[co->n] = 0;
	co->open_step[co->n] = 0;
	co->slow[co->n] = vq_cred_slow(cred);
	co->max[co->n] = co->slow[co->n] ? vs_worker_concurrency
		: Max(vs_worker_batch_size, vs_worker_concurrency);
	return co->n++;
}

/* Count the units open of each credential, and of step among them. */
static void
vq_cred_open_count(VqCredOpen *co, const VqStep *step)
{
	ListCell   *lc;

	foreach(lc, vq_runs)
	{
		VqRun	   *run = lfirst(lc);

		for (int i = 0; i < run->n; i++)
		{
			int			c;

			if (run->units[i].recorded || run->units[i].skip)
				continue;
			c = vq_cred_open_find(co, run->units[i].cred);	/* (may move co->open) */
			co->open[c]++;
			if (run->step == step)
				co->open_step[c]++;
		}
	}
}

static void
vq_cred_open_free(VqCredOpen *co)
{
	if (co->cap > 0)
	{
		pfree(co->creds);
		pfree(co->open);
		pfree(co->open_step);
		pfree(co->max);
		pfree(co->slow);
	}
}

/*
 * Give back what a slow credential holds beyond its most: units of a step
 * that allows it, newest claims first, whose request has not started are
 * told now that it was withdrawn (vq_flight_done: outcome "unsent",
 * finished) and are recorded back into their queue state with no attempt
 * spent (_job_record_failure).
 */
static void
vq_withdraw_slow(void)
{
	VqCredOpen	co = {0};

	vq_cred_open_count(&co, NULL);
	for (int k = list_length(vq_runs) - 1; k >= 0; k--)
	{
		VqRun	   *run = list_nth(vq_runs, k);

		if (!run->step->withdraw)
			continue;
		for (int i = run->n - 1; i >= 0; i--)
		{
			VqUnit	   *u = &run->units[i];
			int			c;

			if (u->recorded || u->skip || u->finished || u->flight == NULL)
				continue;
			c = vq_cred_open_find(&co, u->cred);
			if (co.slow[c] && co.open[c] > co.max[c] &&
				vs_flights_withdraw(vq_flights, u->flight))
				co.open[c]--;
		}
	}
	vq_cred_open_free(&co);
}

/* Units of step claimed and not yet recorded. */
static int
vq_units_open_step(const VqStep *step)
{
	ListCell   *lc;
	int			k = 0;

	foreach(lc, vq_runs)
	{
		VqRun	   *run = lfirst(lc);

		if (run->step != step)
			continue;
		for (int i = 0; i < run->n; i++)
			if (!run->units[i].recorded && !run->units[i].skip)
				k++;
	}
	return k;
}

/*
 * The request bodies the open runs of step hold, per credential (each
 * unit's bytes): a run's memory lives until each of its units is recorded,
 * so what a claim may add for a credential is bounded by what is held for it
 * already, not only by what the claim takes (_job_claim_uploads' p_held).
 */
void
vq_held_bytes(const VqStep *step, Datum *creds, Datum *bytes)
{
	ListCell   *lc;
	int			n = 0,
				cap = 8;
	char	  **c = palloc(sizeof(char *) * cap);
	int64	   *b = palloc(sizeof(int64) * cap);
	Datum	   *d;

	foreach(lc, vq_runs)
	{
		VqRun	   *run = lfirst(lc);

		if (run->step != step)
			continue;
		for (int i = 0; i < run->n; i++)
		{
			VqUnit	   *u = &run->units[i];
			int			j;

			if (u->bytes == 0)
				continue;
			for (j = 0; j < n; j++)
				if (strcmp(c[j], u->cred) == 0)
					break;
			if (j == n)
			{
				if (n == cap)
				{
					cap *= 2;
					c = repalloc(c, sizeof(char *) * cap);
					b = repalloc(b, sizeof(int64) * cap);
				}
				c[n] = u->cred;
				b[n++] = 0;
			}
			b[j] += u->bytes;
		}
	}
	d = palloc(sizeof(Datum) * Max(n, 1));
	for (int j = 0; j < n; j++)
		d[j] = Int64GetDatum(b[j]);
	*creds = vq_text_array(c, n);
	*bytes = PointerGetDatum(construct_array(d, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* Is a job in another open run (its request in flight, or not recorded)? */
static bool
vq_job_open(int64 id, VqRun *self)
{
	ListCell   *lc;

	foreach(lc, vq_runs)
	{
		VqRun	   *run = lfirst(lc);

		if (run == self)
			continue;

		for (int i = 0; i < run->n; i++)
		{
			VqUnit	   *u = &run->units[i];

			if (u->recorded || u->skip)
				continue;
			for (int j = 0; j < u->nids; j++)
				if (u->ids[j] == id)
					return true;
		}
	}
	return false;
}


/*
 * What credential c may still have claimed for the step claiming: a slow
 * one, its slots less what it holds in all; another, a batch of the step's
 * less what it has open of it. (Two batches open, the next claimed while
 * the one before is in flight, were a little faster but raised the
 * worker's memory peak with every burst: 070.)
 */
static int
vq_cred_room(const VqCredOpen *co, int c)
{
	int			batch = Max(vs_worker_batch_size, vs_worker_concurrency);
	int			room;

	if (co->slow[c])
		return Max(0, co->max[c] - co->open[c]);
	room = batch - co->open_step[c];
	return Max(room, 0);
}

/*
 * The units open of each (owner, credential), every step's: the fair pick's
 * p_open_owners, p_open_creds, p_open (whoever a credential has served
 * least comes first in its room).
 */
void
vq_open_by_owner(Datum *owners, Datum *creds, Datum *counts)
{
	ListCell   *lc;
	int			n = 0,
				cap = 16;
	char	  **o = palloc(sizeof(char *) * cap);
	char	  **c = palloc(sizeof(char *) * cap);
	int		   *k = palloc(sizeof(int) * cap);
	Datum	   *od;

	foreach(lc, vq_runs)
	{
		VqRun	   *run = lfirst(lc);

		for (int i = 0; i < run->n; i++)
		{
			VqUnit	   *u = &run->units[i];
			int			j;

			if (u->recorded || u->skip)
				continue;
			for (j = 0; j < n; j++)
				if (strcmp(o[j], u->owner) == 0 && strcmp(c[j], u->cred) == 0)
					break;
			if (j == n)
			{
				if (n == cap)
				{
					cap *= 2;
					o = repalloc(o, sizeof(char *) * cap);
					c = repalloc(c, sizeof(char *) * cap);
					k = repalloc(k, sizeof(int) * cap);
				}
				o[n] = u->owner;
				c[n] = u->cred;
				k[n++] = 0;
			}
			k[j]++;
		}
	}
	od = palloc(sizeof(Datum) * Max(n, 1));
	for (int j = 0; j < n; j++)
		od[j] = DirectFunctionCall1(namein, CStringGetDatum(o[j]));
	*owners = PointerGetDatum(construct_array(od, n, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR));
	*creds = vq_text_array(c, n);
	*counts = vq_int4_array(k, n);
}

/* The round's two arguments, at vals[0..1] (NULL before any claim). */
void
vq_pick_round_args(const VqPickRound *r, Datum *vals, char *nulls)
{
	if (r->owner == NULL)
	{
		vals[0] = vals[1] = (Datum) 0;
		nulls[0] = nulls[1] = 'n';
		return;
	}
	vals[0] = DirectFunctionCall1(namein, CStringGetDatum(r->owner));
	vals[1] = CStringGetTextDatum(r->cred);
	nulls[0] = nulls[1] = ' ';
}

/* After a claim: the row marked first (its owner and credential) is the round's. */
void
vq_pick_round_set(VqPickRound *r, int row, int owner_col, int cred_col, int first_col)
{
	char	   *owner;
	char	   *cred;

	if (!vq_bool(row, first_col))
		return;
	owner = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, owner_col);
	cred = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, cred_col);
	if (r->owner)
		pfree(r->owner);
	if (r->cred)
		pfree(r->cred);
	r->owner = MemoryContextStrdup(TopMemoryContext, owner ? owner : "");
	r->cred = MemoryContextStrdup(TopMemoryContext, cred ? cred : "");
}

/*
 * How many more units each credential with units open may have claimed for
 * it now by the step claiming (vq_cred_room). The claims take no more
 * (_job_fair_pick's p_room), so a credential's claim never overshoots what
 * it may keep, and a slow one is not claimed for a batch only to give most
 * of it back.
 */
void
vq_room(Datum *creds, Datum *rooms)
{
	VqCredOpen	co = {0};
	char	  **names;
	int		   *room;

	vq_cred_open_count(&co, vq_claiming);
	names = palloc(sizeof(char *) * Max(co.n, 1));
	room = palloc(sizeof(int) * Max(co.n, 1));
	for (int c = 0; c < co.n; c++)
	{
		names[c] = (char *) co.creds[c];
		room[c] = vq_cred_room(&co, c);
	}
	*creds = vq_text_array(names, co.n);
	*rooms = vq_int4_array(room, co.n);
	vq_cred_open_free(&co);
}

/*
 * Attaches gather: files uploaded together are attached together, in file
 * batches of worker_batch_size. While a credential has uploads sent less
 * than VQ_GATHER_MS ago still open, its attaches are claimed only once a
 * whole batch of its uploads has been recorded since its last attach claim
 * (vq_gather_count: a hint kept by the worker, not a promise), or the first
 * of those was recorded VQ_GATHER_MS ago: no upload waits longer than that
 * for its attach, however the credential's other uploads come.
 */
typedef struct VqGather
{
	char	   *cred;
	int			uploaded;
	TimestampTz since;			/* when the first of them was counted */
} VqGather;
/*
 * One entry per credential with uploads recorded since its last attach
 * claim, and only while it has some (an entry whose count drops to 0 is
 * removed): no fixed size, so that no credential goes uncounted, however
 * many there are.
 */
static VqGather *vq_gather = NULL;
static int	vq_ngather = 0;
static int	vq_gather_cap = 0;

void
vq_gather_count(const char *cred, int n)
{
	int			i;

	for (i = 0; i < vq_ngather; i++)
		if (strcmp(vq_gather[i].cred, cred) == 0)
			break;
	if (i == vq_ngather)
	{
		if (n <= 0)
			return;				/* nothing counted to take from */
		if (vq_ngather == vq_gather_cap)
		{
			vq_gather_cap = Max(16, vq_gather_cap * 2);
			vq_gather = vq_gather == NULL
				? MemoryContextAlloc(TopMemoryContext, sizeof(VqGather) * vq_gather_cap)
				: repalloc(vq_gather, sizeof(VqGather) * vq_gather_cap);
		}
		vq_gather[i].cred = MemoryContextStrdup(TopMemoryContext, cred);
		vq_gather[i].uploaded = 0;
		vq_ngather++;
	}
	if (vq_gather[i].uploaded == 0 && n > 0)
		vq_gather[i].since = GetCurrentTimestamp();
	vq_gather[i].uploaded = Max(0, vq_gather[i].uploaded + n);
	if (vq_gather[i].uploaded == 0)
	{
		pfree(vq_gather[i].cred);
		vq_gather[i] = vq_gather[--vq_ngather];
	}
	else if (n < 0)
		vq_gather[i].since = GetCurrentTimestamp();	/* the rest: from now */
}

/*
 * Does cred still gather: fewer than a batch of its uploads recorded, the
 * first of them less than VQ_GATHER_MS ago? (So no upload waits more than
 * that for its attach, however the credential's other uploads come.) A
 * credential with none counted does not wait: what it has uploaded was
 * recorded before this worker started, or is a stranded attach.
 */
static bool
vq_gather_waits(const char *cred)
{
	for (int i = 0; i < vq_ngather; i++)
		if (strcmp(vq_gather[i].cred, cred) == 0)
			return vq_gather[i].uploaded < vs_worker_batch_size &&
				!TimestampDifferenceExceeds(vq_gather[i].since, GetCurrentTimestamp(),
											VQ_GATHER_MS);
	return false;
}

/* Does cred have uploads sent less than VQ_GATHER_MS ago still open? */
static bool
vq_cred_gathering(const char *cred)
{
	ListCell   *lc;

	foreach(lc, vq_runs)
	{
		VqRun	   *run = lfirst(lc);

		if (run->step != &vq_step_upload ||
			TimestampDifferenceExceeds(run->started, GetCurrentTimestamp(), VQ_GATHER_MS))
			continue;
		for (int i = 0; i < run->n; i++)
			if (!run->units[i].recorded && !run->units[i].skip &&
				strcmp(run->units[i].cred, cred) == 0)
				return true;
	}
	return false;
}

/*
 * The credentials not to claim for now, as a text[] ("" = settings): held
 * back by a 429, or with their most units open (VqCredOpen): a batch
 * of the step claiming (so that a credential's uploads in flight do not
 * hold back the attaches of those that are done), or, when their server is
 * slow, their slots' worth of every step; and, for attaches, a credential
 * that gathers a batch (vq_cred_gathering). Counted in one walk over the
 * open runs.
 */
Datum
vq_throttled(void)
{
	TimestampTz now = GetCurrentTimestamp();
	VqCredOpen	co = {0};
	char	  **names;
	int			n = 0;
	Datum		result;

	vq_cred_open_count(&co, vq_claiming);
	names = palloc(sizeof(char *) * (vq_nthrottle + co.n + 1));
	for (int i = 0; i < vq_nthrottle; i++)
		if (vq_throttles[i].until > now)
			names[n++] = vq_throttles[i].name;
	for (int c = 0; c < co.n; c++)
		if (vq_cred_room(&co, c) == 0)
			names[n++] = (char *) co.creds[c];
		else if (vq_claiming == &vq_step_attach && vq_cred_gathering(co.creds[c]) &&
				 vq_gather_waits(co.creds[c]))
			names[n++] = (char *) co.creds[c];	/* gathering: not a whole batch yet */
	result = vq_text_array(names, n);
	vq_cred_open_free(&co);
	pfree(names);
	return result;
}

int
vq_flights_inflight(void)
{
	return vq_runs == NIL ? 0 : Max(vs_flights_count(vq_flights), 1);
}

/* Forget every run and release every flight (after an ERROR): leases end. */
void
vq_flights_abort(void)
{
	ListCell   *lc;

	vs_flights_abort(vq_flights);
	foreach(lc, vq_runs)
	{
		VqRun	   *run = lfirst(lc);

		MemoryContextDelete(run->cxt);
		pfree(run);
	}
	list_free(vq_runs);
	vq_runs = NIL;
}

/* Build one unit, containing any ERROR the building raises (bad data). */
static void
vq_build(VqRun *run, VqUnit *u)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		run->step->build(run, u);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		FlushErrorState();
		u->invalid = psprintf("%s", e->message);
		FreeErrorData(e);
	}
	PG_END_TRY();
}

/* The failures of units, through the one policy (_job_record_failure). */
void
vq_record_failures(VqUnit *units, int n, const char *retry_status)
{
	int			total = 0,
				k = 0;
	int64	   *ids;
	char	  **outcomes,
			  **errors,
			  **targets;
	int		   *delays;
	Oid			types[9] = {INT8ARRAYOID, TEXTARRAYOID, INT4ARRAYOID, TEXTARRAYOID, TEXTOID, INT4OID, INT4OID,
	TEXTARRAYOID, INT4OID};
	Datum		vals[9];

	for (int i = 0; i < n; i++)
		total += units[i].nids;
	if (total == 0)
		return;
	ids = palloc(sizeof(int64) * total);
	outcomes = palloc(sizeof(char *) * total);
	errors = palloc(sizeof(char *) * total);
	delays = palloc(sizeof(int) * total);
	targets = palloc(sizeof(char *) * total);
	for (int i = 0; i < n; i++)
	{
		VqUnit	   *u = &units[i];

		for (int j = 0; j < u->nids; j++)
		{
			ids[k] = u->ids[j];
			outcomes[k] = (char *) (u->invalid ? "permanent" : vq_outcome_sql(u));
			errors[k] = u->invalid ? u->invalid : (u->error ? u->error : "failed");
			delays[k] = u->outcome.delay_ms;
			targets[k] = u->credential ? u->credential->base_url : NULL;
			k++;
		}
	}
	vals[0] = vq_id_array(ids, total);
	vals[1] = vq_text_array(outcomes, total);
	vals[2] = vq_int4_array(delays, total);
	vals[3] = vq_text_array(errors, total);
	vals[4] = CStringGetTextDatum(retry_status);
	vals[5] = Int32GetDatum(vs_worker_max_attempts);
	vals[6] = Int32GetDatum(vs_worker_reconcile_delay_ms);
	vals[7] = vq_text_array(targets, total);
	vals[8] = Int32GetDatum(vs_worker_max_throttles);
	vq_exec("SELECT failed FROM vectorstore._job_record_failure($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			9, types, vals, NULL);
	if (SPI_processed == 1)
		vq_counters.failed += vq_int4(0, 1);
}

/* Fail a unit's jobs now with err (the last resort of the record fallback). */
typedef struct VqFailArg
{
	VqUnit	   *u;
	const char *err;
} VqFailArg;

static void
vq_fail_unit(void *arg)
{
	VqFailArg  *f = (VqFailArg *) arg;
	char	  **errs = palloc(sizeof(char *) * Max(f->u->nids, 1));
	Oid			types[2] = {INT8ARRAYOID, TEXTARRAYOID};
	Datum		vals[2];

	for (int i = 0; i < f->u->nids; i++)
		errs[i] = (char *) f->err;
	vals[0] = vq_id_array(f->u->ids, f->u->nids);
	vals[1] = vq_text_array(errs, f->u->nids);
	vq_exec("SELECT failed FROM vectorstore._job_fail($1, $2)", 2, types, vals, NULL);
	if (SPI_processed == 1)
		vq_counters.failed += vq_int4(0, 1);
}

typedef struct VqRecordArg
{
	VqRun	   *run;
	VqUnit	   *units;
	int			n;
} VqRecordArg;

static void
vq_record_call(void *arg)
{
	VqRecordArg *r = (VqRecordArg *) arg;

	r->run->step->record(r->run, r->units, r->n);
}

/* Record units of a run: set-based, else one by one, else fail the unit. */
static void
vq_record(VqRun *run, VqUnit *units, int n)
{
	VqRecordArg all = {run, units, n};
	VqCounters	before = vq_counters;
	char	   *err;

	vq_begin(psprintf("vectorstore: record %s", run->step->name));
	vq_no_wait_for_disk();
	if (!vq_try(vq_record_call, &all, &err))
	{
		vq_counters = before;
		elog(LOG, "vectorstore worker: recording %d %s at once failed (%s); recording them one by one",
			 n, run->step->name, err);
		for (int i = 0; i < n; i++)
		{
			VqRecordArg one = {run, &units[i], 1};
			VqCounters	b1 = vq_counters;

			if (!vq_try(vq_record_call, &one, &err))
			{
				VqFailArg	f = {&units[i], err};
				char	   *err2;

				vq_counters = b1;
				if (!vq_try(vq_fail_unit, &f, &err2))
					elog(LOG, "vectorstore worker: could not fail jobs of %s: %s (left to their lease)",
						 run->step->name, err2);
			}
		}
	}
	vq_commit();
}

/*
 * Record the finished units of every open run, each run in one short
 * transaction; close the runs with nothing left. Returns units recorded.
 */
static int
vq_record_finished(void)
{
	ListCell   *lc;
	List	   *keep = NIL;
	int			recorded = 0;
	MemoryContext top;

	foreach(lc, vq_runs)
	{
		VqRun	   *run = lfirst(lc);
		VqUnit	   *done = NULL;
		int			nd = 0;
		bool		open = false;

		for (int i = 0; i < run->n; i++)
		{
			VqUnit	   *u = &run->units[i];

			if (u->recorded || u->skip)
				continue;
			if (!u->finished)
			{
				open = true;
				continue;
			}
			if (done == NULL)
				done = MemoryContextAlloc(run->cxt, sizeof(VqUnit) * run->n);
			done[nd++] = *u;	/* a record may change its copy */
			u->recorded = true;
		}
		if (nd > 0)
		{
			MemoryContext saved;
			MemoryContext old = vq_enter(run, &saved);

			vq_record(run, done, nd);
			if (run->step->after)
				run->step->after(run, done, nd);
			vq_leave(old, saved);
			recorded += nd;
		}
		if (open)
		{
			top = MemoryContextSwitchTo(TopMemoryContext);
			keep = lappend(keep, run);
			MemoryContextSwitchTo(top);
		}
		else
		{
			MemoryContextDelete(run->cxt);
			pfree(run);
		}
	}
	list_free(vq_runs);
	vq_runs = keep;
	return recorded;
}

/*
 * Drive the flights for at most wait_ms (less when one ends or the latch
 * is set), then record what finished. Returns requests ended plus units
 * recorded.
 */
int
vq_flights_pump(long wait_ms)
{
	int			ended = 0;

	if (vq_flights && vs_flights_count(vq_flights) > 0)
	{
		pgstat_report_activity(STATE_RUNNING, "vectorstore: requests in flight");
		vq_withdraw_slow();
		ended = vs_flights_pump(vq_flights, vs_worker_concurrency, wait_ms);
		if (ended > 0)
		{
			/*
			 * One ended: drive the others a little longer, so that what ends
			 * together is recorded in one transaction (and the next pass
			 * claims a batch), not one pass per request.
			 */
			TimestampTz first = GetCurrentTimestamp();
			long		left;

			while (vs_flights_count(vq_flights) > 0 && !MyLatch->is_set &&
				   (left = VQ_RECORD_GATHER_MS -
					TimestampDifferenceMilliseconds(first, GetCurrentTimestamp())) > 0)
				ended += vs_flights_pump(vq_flights, vs_worker_concurrency, left);
		}
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	return ended + vq_record_finished();
}

/*
 * Claim a step's work and send it, without waiting for the answers
 * (vq_flights_pump records them). A credential that already has
 * worker_batch_size units open is not claimed for (vq_throttled), nor is a
 * job whose unit is still open. Returns the work claimed.
 */
/* A new open run of step (after an ERROR, vq_flights_abort frees it). */
VqRun *
vq_run_new(const VqStep *step)
{
	VqRun	   *run;
	MemoryContext top;

	if (vq_flights == NULL)
	{
		vq_flights = vs_flights_create(TopMemoryContext);
		/* a request held as long as makes its credential slow takes no slot */
		vs_flights_set_held(vq_flights, VQ_SLOW_MS);
	}
	run = MemoryContextAllocZero(TopMemoryContext, sizeof(VqRun));
	run->step = step;
	run->started = GetCurrentTimestamp();
	run->cxt = AllocSetContextCreate(TopMemoryContext, "vectorstore step run",
									 ALLOCSET_DEFAULT_SIZES);
	top = MemoryContextSwitchTo(TopMemoryContext);
	vq_runs = lappend(vq_runs, run);
	MemoryContextSwitchTo(top);
	return run;
}

static void
vq_run_drop(VqRun *run)
{
	vq_runs = list_delete_ptr(vq_runs, run);
	MemoryContextDelete(run->cxt);
	pfree(run);
}

/* Has step a unit of (owner, cred) not yet recorded (a listing in flight)? */
bool
vq_unit_open(const VqStep *step, const char *owner, const char *cred)
{
	ListCell   *lc;

	foreach(lc, vq_runs)
	{
		VqRun	   *run = lfirst(lc);

		if (run->step != step)
			continue;
		for (int i = 0; i < run->n; i++)
			if (!run->units[i].recorded && !run->units[i].skip &&
				strcmp(run->units[i].owner, owner) == 0 && strcmp(run->units[i].cred, cred) == 0)
				return true;
	}
	return false;
}

/* In a transaction: the authority of each unit's owner over its credential. */
static void
vq_run_authorize(VqRun *run)
{
	for (int i = 0; i < run->n; i++)
	{
		VqUnit	   *u = &run->units[i];
		char	   *err;

		/* a job still open in another run (its lease ended in flight) */
		for (int j = 0; j < u->nids && !u->skip; j++)
			u->skip = vq_job_open(u->ids[j], run);
		if (u->invalid || u->nosend || u->skip)
			continue;
		u->credential = vq_authority(u->owner, u->cred, &err);
		if (u->credential == NULL)
		{
			u->invalid = err;
			u->unauthorized = true;
		}
	}
}

/* Build and send a run's units, with no transaction open, without waiting. */
static void
vq_run_start(VqRun *run)
{
	for (int i = 0; i < run->n; i++)
	{
		VqUnit	   *u = &run->units[i];

		if (u->skip)
			continue;
		if (u->invalid == NULL && !u->nosend)
		{
			u->req.cred = u->credential;
			u->req2.cred = u->credential;
			vq_build(run, u);
		}
		if (u->nosend && u->invalid == NULL)
			u->outcome.kind = VS_OUTCOME_DONE;
		if (u->invalid)
		{
			u->outcome.kind = VS_OUTCOME_PERMANENT;
			u->error = u->invalid;
		}
		if (u->invalid || u->nosend)
			u->finished = true;
		else
			vq_unit_send(run, u, u->req.method == NULL);
	}
}

/*
 * Send a run made by hand (vq_run_new, vq_unit_add): authority checked in
 * a short transaction of its own, then sent like a claimed run.
 */
void
vq_run_send(VqRun *run)
{
	MemoryContext saved;
	MemoryContext old;

	if (run->n == 0)
	{
		vq_run_drop(run);
		return;
	}
	old = vq_enter(run, &saved);
	vq_authority_reset();
	vq_begin(psprintf("vectorstore: authority for %s", run->step->name));
	vq_run_authorize(run);
	vq_commit();
	vq_run_start(run);
	vq_leave(old, saved);
}

/*
 * Claim a step's work and send it, without waiting for the answers
 * (vq_flights_pump records them). A credential that already has
 * worker_batch_size units open is not claimed for (vq_throttled), nor is a
 * job whose unit is still open. Returns the work claimed.
 */
int
vq_step_run(const VqStep *step)
{
	VqRun	   *run;
	MemoryContext saved;
	MemoryContext old;
	int			claimed;

	/*
	 * what is open is bounded, per step (one step's units filling the bound
	 * would stop the others: uploads of busy credentials would keep every
	 * attach waiting): claim more when some of it is recorded
	 */
	if (vq_units_open_step(step) >= 4 * Max(vs_worker_batch_size, vs_worker_concurrency))
		return 0;
	run = vq_run_new(step);
	old = vq_enter(run, &saved);
	vq_authority_reset();

	/* 1. claim, and check each owner's authority over its credential */
	vq_begin(psprintf("vectorstore: claim %s", step->name));
	if (step->claim_no_wait)
		vq_no_wait_for_disk();
	vq_claiming = step;
	step->claim(run);
	vq_claiming = NULL;
	vq_run_authorize(run);
	if (step->claimed)
		step->claimed(run);
	vq_commit();
	claimed = Max(run->claimed, run->n);
	if (run->n == 0)
	{
		vq_leave(old, saved);
		vq_run_drop(run);
		return 0;
	}

	/* 2. build and send, with no transaction open, without waiting */
	vq_run_start(run);
	vq_leave(old, saved);
	return claimed;
}
