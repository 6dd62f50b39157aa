/*-------------------------------------------------------------------------
 *
 * sync.c
 *	  Table sync: vs_sync_create(), vs_sync_run(), vs_sync_drop(), the
 *	  trigger of trigger-mode syncs, and the one diff both modes use.
 *
 * Who runs what, with whose rights
 * --------------------------------
 *	  - The trigger of a trigger-mode sync only records that its table
 *		changed: it appends (sync, table) to vectorstore.sync_change as the
 *		extension's owner, in a security-restricted operation, with a fixed
 *		search_path and qualified names. It runs no user SQL, takes no lock a
 *		writer could hold against another, and resolves nothing through the
 *		writer's session. The worker computes the difference later, in its
 *		own process (vq_sync_pass).
 *	  - The difference (vs_sync_compute) is computed as the sync's owner,
 *		whoever asks: its source table and content expression are read with
 *		the owner's rights (never borrowed ones), in a security-restricted
 *		operation, with search_path = pg_catalog, pg_temp and the settings
 *		that change how values print fixed, so the worker and any session
 *		compute the same hash for a row. In the worker, lock_timeout and a
 *		statement timeout bound it: a role holding a lock on the table cannot
 *		stall the worker. What it finds is queued as the extension's owner
 *		through _sync_apply() and _sync_finish() (sql/install/61_sync_functions.sql).
 *		No temporary table is used.
 *	  - vs_sync_run() computes in the caller's session; the caller must be
 *		the sync's owner or a superuser.
 *
 * A row's hash is md5(content || attributes as JSON text): a change of an
 * attribute alone is a change. Attributes of type timestamptz, timestamp and
 * date are sent as numbers (epoch seconds) so filters can compare them.
 *
 *-------------------------------------------------------------------------
 */
#include "vs_worker.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/timeout.h"
#include "utils/varlena.h"

PG_FUNCTION_INFO_V1(vs_sync_changed);
PG_FUNCTION_INFO_V1(vs_sync_trigger);
PG_FUNCTION_INFO_V1(vs_sync_create);
PG_FUNCTION_INFO_V1(vs_sync_run);
PG_FUNCTION_INFO_V1(vs_sync_drop);

#define VS_SYNC_CHUNK 1000
#define VS_SYNC_MAX_ATTRIBUTES 16

/* ---------------------------------------------------------------------
 * The trigger
 * ---------------------------------------------------------------------
 */
/* what this (sub)transaction already recorded */
static LocalTransactionId vs_seen_lxid = InvalidLocalTransactionId;
static SubTransactionId vs_seen_subxid = InvalidSubTransactionId;
static List *vs_seen = NIL;		/* "relid/name" strings, TopTransactionContext */

/* AFTER ... FOR EACH STATEMENT trigger: vectorstore._sync_trigger('<sync name>'). */
Datum
vs_sync_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *name;
	Oid			relid;
	char	   *key;
	ListCell   *lc;
	Oid			types[2] = {TEXTOID, OIDOID};
	Datum		vals[2];

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "vs_sync_changed: not called by trigger manager");
	if (!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		trigdata->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("vectorstore._sync_trigger() must be an AFTER ... FOR EACH STATEMENT trigger with one argument")));
	name = trigdata->tg_trigger->tgargs[0];
	relid = RelationGetRelid(trigdata->tg_relation);

	/* once per (sync, table) and subtransaction is enough */
	if (vs_seen_lxid != MyProc->lxid || vs_seen_subxid != GetCurrentSubTransactionId())
	{
		vs_seen_lxid = MyProc->lxid;
		vs_seen_subxid = GetCurrentSubTransactionId();
		vs_seen = NIL;
	}
	key = psprintf("%u/%s", relid, name);
	foreach(lc, vs_seen)
		if (strcmp(lfirst(lc), key) == 0)
			return PointerGetDatum(NULL);

	vals[0] = CStringGetTextDatum(name);
	vals[1] = ObjectIdGetDatum(relid);
	vs_owner_run("INSERT INTO vectorstore.sync_change (sync_name, relid) VALUES ($1, $2)",
				 2, types, vals, NULL, NULL, NULL);
	{
		/* the list lives as long as the transaction (and is reset by lxid) */
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		vs_seen = lappend(vs_seen, pstrdup(key));
		MemoryContextSwitchTo(old);
	}
	vs_worker_wake_at_commit(false);
	return PointerGetDatum(NULL);
}

/*
 * The trigger function of a database still at 0.1.0 (its _sync_trigger
 * names this symbol). 0.1.0's trigger ran vs_sync_run() in the writer's
 * session with the owner's rights, which let a writer become superuser; it
 * now does nothing. ALTER EXTENSION ... UPDATE then runs every trigger-mode
 * sync once, so no change made meanwhile is lost.
 */
Datum
vs_sync_trigger(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "vs_sync_trigger: not called by trigger manager");
	return PointerGetDatum(NULL);
}

/* ---------------------------------------------------------------------
 * The query that reads a sync's source
 * ---------------------------------------------------------------------
 */
typedef struct VsSyncDef
{
	char	   *name;
	char	   *owner;
	char	   *source;			/* as stored: a qualified name */
	char	   *key_column;
	char	   *content;
	char	  **attributes;
	int			nattributes;
	int64		last_change;
	Oid			relid;
	char	   *qualified;		/* the relation's name, quoted, as it is now */
} VsSyncDef;

/* The relation a stored qualified name means now (InvalidOid: none). */
static Oid
vs_sync_resolve(const char *source)
{
	List	   *names;
	MemoryContext cxt = CurrentMemoryContext;
	volatile Oid relid = InvalidOid;

	PG_TRY();
	{
		names = stringToQualifiedNameList(source);
		relid = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		relid = InvalidOid;
	}
	PG_END_TRY();
	return relid;
}

static char *
vs_sync_qualified(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/*
 * SELECT k (the key as text), h (md5 of content and attributes), c (the
 * content as text), a (attributes as jsonb) for every row of the source.
 * Names are quoted and every function and operator qualified; the content
 * expression is the owner's own SQL and runs with the owner's rights only.
 */
static char *
vs_sync_query(VsSyncDef *d)
{
	StringInfoData content,
				attrs,
				q;
	AttrNumber	att = get_attnum(d->relid, d->content);

	initStringInfo(&content);
	if (att != InvalidAttrNumber && att > 0)
		appendStringInfo(&content, "t.%s", quote_identifier(d->content));
	else
		appendStringInfoString(&content, d->content);	/* an SQL expression over the row "t" */

	initStringInfo(&attrs);
	if (d->nattributes == 0)
		appendStringInfoString(&attrs, "NULL::pg_catalog.jsonb");
	else
	{
		appendStringInfoString(&attrs, "pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(");
		for (int i = 0; i < d->nattributes; i++)
		{
			AttrNumber	a = get_attnum(d->relid, d->attributes[i]);
			Oid			type = a != InvalidAttrNumber ? get_atttype(d->relid, a) : InvalidOid;
			const char *col = quote_identifier(d->attributes[i]);

			if (i > 0)
				appendStringInfoString(&attrs, ", ");
			appendStringInfo(&attrs, "%s, ", quote_literal_cstr(d->attributes[i]));
			/* dates and times as numbers (epoch seconds): filters compare numbers */
			if (type == TIMESTAMPTZOID || type == TIMESTAMPOID || type == DATEOID)
				appendStringInfo(&attrs, "pg_catalog.date_part('epoch', t.%s)::pg_catalog.numeric", col);
			else
				appendStringInfo(&attrs, "t.%s", col);
		}
		appendStringInfoString(&attrs, "))");
	}

	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT q.k, pg_catalog.md5(q.c OPERATOR(pg_catalog.||)"
					 " coalesce(q.a::pg_catalog.text, '')), q.c, q.a"
					 " FROM (SELECT (t.%s)::pg_catalog.text AS k, (%s)::pg_catalog.text AS c,"
					 " %s AS a FROM %s t) q"
					 " WHERE q.k IS NOT NULL AND q.c IS NOT NULL",
					 quote_identifier(d->key_column), content.data, attrs.data, d->qualified);
	return q.data;
}

/* ---------------------------------------------------------------------
 * The one diff
 * ---------------------------------------------------------------------
 */
typedef struct VsKeyEntry
{
	char	   *key;			/* hash key: the pointer; compared by string */
} VsKeyEntry;

static uint32
vs_key_hash(const void *key, Size keysize)
{
	const char *s = *(char *const *) key;

	return hash_bytes((const unsigned char *) s, strlen(s));
}

static int
vs_key_match(const void *key1, const void *key2, Size keysize)
{
	return strcmp(*(char *const *) key1, *(char *const *) key2);
}

/* Read the sync as the extension's owner, locking it for this run. */
static bool
vs_sync_load(const char *name, bool worker, VsSyncDef *d)
{
	Oid			types[2] = {TEXTOID, BOOLOID};
	Datum		vals[2];
	VsOwnerCall call = {0};
	volatile bool found = false;

	vals[0] = CStringGetTextDatum(name);
	vals[1] = BoolGetDatum(worker);
	vs_owner_begin(&call);
	PG_TRY();
	{
		vq_exec("SELECT (l.s).owner, (l.s).source, (l.s).key_column, (l.s).content,"
				" (l.s).attribute_columns, l.last_change, (l.s).name"
				" FROM vectorstore._sync_lock($1, $2) l", 2, types, vals, NULL);
		if (SPI_processed == 1 && !vq_isnull(0, 7))
		{
			d->name = pstrdup(name);
			d->owner = vq_text(0, 1);
			d->source = vq_text(0, 2);
			d->key_column = vq_text(0, 3);
			d->content = vq_text(0, 4);
			d->attributes = vq_text_array_elems(0, 5, &d->nattributes);
			d->last_change = vq_isnull(0, 6) ? 0 : vq_int8(0, 6);
			found = true;
		}
	}
	PG_FINALLY();
	{
		vs_owner_end(&call);
	}
	PG_END_TRY();
	return found;
}

/* Hand a chunk of rows to _sync_apply (as the extension's owner). */
static void
vs_sync_apply(VsSyncDef *d, Oid extowner, int sec, Datum *k, Datum *h, Datum *c, Datum *a,
			  bool *anull, int n, VsSyncCounts *counts)
{
	Oid			types[5] = {TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, JSONBARRAYOID};
	Datum		vals[5];
	int			dims[1] = {n};
	int			lbs[1] = {1};
	Oid			save_user;
	int			save_sec;

	if (n == 0)
		return;
	vals[0] = CStringGetTextDatum(d->name);
	vals[1] = PointerGetDatum(construct_array(k, n, TEXTOID, -1, false, TYPALIGN_INT));
	vals[2] = PointerGetDatum(construct_array(h, n, TEXTOID, -1, false, TYPALIGN_INT));
	vals[3] = PointerGetDatum(construct_array(c, n, TEXTOID, -1, false, TYPALIGN_INT));
	vals[4] = PointerGetDatum(construct_md_array(a, anull, 1, dims, lbs, JSONBOID, -1, false, TYPALIGN_INT));
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(extowner, sec);
	PG_TRY();
	{
		vq_exec("SELECT r.new, r.changed FROM vectorstore._sync_apply($1, $2, $3, $4, $5) r",
				5, types, vals, NULL);
		counts->new_rows += vq_int4(0, 1);
		counts->changed += vq_int4(0, 2);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_user, save_sec);
	}
	PG_END_TRY();
}

/*
 * Compute the difference between a sync's source and what was synced, and
 * queue it; in the current transaction. worker: the worker's run (a sync
 * someone holds locked is left for later: false; timeouts bound it).
 * Otherwise the caller must be the sync's owner or a superuser.
 */
bool
vs_sync_compute(const char *name, bool worker, VsSyncCounts *counts)
{
	VsSyncDef	d = {0};
	Oid			caller = GetUserId();
	Oid			owner;
	Oid			extowner = vs_extension_owner();
	Oid			save_user;
	int			save_sec;
	int			nest;
	char	   *sql;
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext chunk_cxt;
	HTAB	   *seen;
	HASHCTL		hctl;
	List	   *keys = NIL;
	int			nkeys = 0;

	memset(counts, 0, sizeof(VsSyncCounts));
	if (!vs_sync_load(name, worker, &d))
	{
		if (worker)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("sync \"%s\" does not exist", name)));
	}
	if (!worker && !superuser_arg(caller) &&
		strcmp(GetUserNameFromId(caller, false), d.owner) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("sync \"%s\" does not exist", name)));
	owner = get_role_oid(d.owner, true);
	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the owner of sync \"%s\", role \"%s\", does not exist", name, d.owner)));
	d.relid = vs_sync_resolve(d.source);
	if (!OidIsValid(d.relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the source of sync \"%s\", relation %s, does not exist", name, d.source)));
	d.qualified = vs_sync_qualified(d.relid);
	sql = vs_sync_query(&d);

	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = sizeof(char *);
	hctl.entrysize = sizeof(VsKeyEntry);
	hctl.hash = vs_key_hash;
	hctl.match = vs_key_match;
	hctl.hcxt = cxt;
	seen = hash_create("vectorstore sync keys", 1024, &hctl,
					   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	chunk_cxt = AllocSetContextCreate(cxt, "vectorstore sync chunk", ALLOCSET_DEFAULT_SIZES);

	/* as the owner, restricted, with fixed settings */
	GetUserIdAndSecContext(&save_user, &save_sec);
	nest = NewGUCNestLevel();
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		SPIPlanPtr	plan;
		Portal		portal;
		int			sec = save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION;

		vs_fixed_gucs();
		if (worker)
		{
			/* a role holding a lock on the table, or a slow query, cannot stall the worker */
			(void) set_config_option("lock_timeout", "2s", PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
			enable_timeout_after(STATEMENT_TIMEOUT, vs_worker_sync_timeout_ms);
		}
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "vectorstore: SPI_connect failed");
		plan = SPI_prepare(sql, 0, NULL);
		if (plan == NULL)
			elog(ERROR, "vectorstore: could not prepare the query of sync \"%s\": %s",
				 name, SPI_result_code_string(SPI_result));
		portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
		for (;;)
		{
			Datum	   *k,
					   *h,
					   *c,
					   *a;
			bool	   *anull;
			int			n = 0;
			uint64		rows;

			SetUserIdAndSecContext(owner, sec);
			SPI_cursor_fetch(portal, true, VS_SYNC_CHUNK);
			rows = SPI_processed;
			if (rows == 0)
				break;
			MemoryContextReset(chunk_cxt);
			MemoryContextSwitchTo(chunk_cxt);
			k = palloc(sizeof(Datum) * rows);
			h = palloc(sizeof(Datum) * rows);
			c = palloc(sizeof(Datum) * rows);
			a = palloc(sizeof(Datum) * rows);
			anull = palloc(sizeof(bool) * rows);
			for (uint64 i = 0; i < rows; i++)
			{
				HeapTuple	tup = SPI_tuptable->vals[i];
				TupleDesc	td = SPI_tuptable->tupdesc;
				bool		isnull;
				char	   *key = TextDatumGetCString(SPI_getbinval(tup, td, 1, &isnull));
				char	   *kcopy;
				bool		found;

				kcopy = MemoryContextStrdup(cxt, key);
				(void) hash_search(seen, &kcopy, HASH_ENTER, &found);
				if (found)
					ereport(ERROR,
							(errcode(ERRCODE_UNIQUE_VIOLATION),
							 errmsg("sync \"%s\": key column \"%s\" has the value \"%s\" in more than one row",
									name, d.key_column, key)));
				{
					MemoryContext c2 = MemoryContextSwitchTo(cxt);

					keys = lappend(keys, kcopy);
					MemoryContextSwitchTo(c2);
				}
				nkeys++;
				k[n] = datumCopy(SPI_getbinval(tup, td, 1, &isnull), false, -1);
				h[n] = datumCopy(SPI_getbinval(tup, td, 2, &isnull), false, -1);
				c[n] = datumCopy(SPI_getbinval(tup, td, 3, &isnull), false, -1);
				a[n] = SPI_getbinval(tup, td, 4, &anull[n]);
				if (!anull[n])
					a[n] = datumCopy(a[n], false, -1);
				n++;
			}
			SPI_freetuptable(SPI_tuptable);
			MemoryContextSwitchTo(cxt);
			vs_sync_apply(&d, extowner, sec, k, h, c, a, anull, n, counts);
		}
		SPI_cursor_close(portal);

		/* rows that are gone, and the run's counts (as the extension's owner) */
		{
			Oid			types[5] = {TEXTOID, TEXTARRAYOID, INT8OID, INT8OID, INT8OID};
			Datum		vals[5];
			Datum	   *kd = palloc(sizeof(Datum) * Max(nkeys, 1));
			int			i = 0;
			ListCell   *lc;

			foreach(lc, keys)
				kd[i++] = CStringGetTextDatum(lfirst(lc));
			vals[0] = CStringGetTextDatum(name);
			vals[1] = nkeys > 0 ? PointerGetDatum(construct_array(kd, nkeys, TEXTOID, -1, false, TYPALIGN_INT))
				: PointerGetDatum(construct_empty_array(TEXTOID));
			vals[2] = Int64GetDatum(d.last_change);
			vals[3] = Int64GetDatum(counts->new_rows);
			vals[4] = Int64GetDatum(counts->changed);
			SetUserIdAndSecContext(extowner, sec);
			vq_exec("SELECT f.deleted, f.unchanged FROM vectorstore._sync_finish($1, $2, $3, $4, $5) f",
					5, types, vals, NULL);
			counts->deleted = vq_int8(0, 1);
			counts->unchanged = vq_int8(0, 2);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		if (worker)
			disable_timeout(STATEMENT_TIMEOUT, false);
		SetUserIdAndSecContext(save_user, save_sec);
		MemoryContextSwitchTo(cxt);
	}
	PG_END_TRY();
	AtEOXact_GUC(true, nest);
	MemoryContextDelete(chunk_cxt);
	hash_destroy(seen);
	return true;
}

/* ---------------------------------------------------------------------
 * The worker's pass over trigger-mode syncs whose table changed
 * ---------------------------------------------------------------------
 */
typedef struct VqSyncArg
{
	const char *name;
	VsSyncCounts counts;
	bool		ran;
} VqSyncArg;

static void
vq_sync_one(void *arg)
{
	VqSyncArg  *s = (VqSyncArg *) arg;

	s->ran = vs_sync_compute(s->name, true, &s->counts);
}

static void
vq_sync_failed(void *arg)
{
	const char **a = (const char **) arg;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		vals[2];

	vals[0] = CStringGetTextDatum(a[0]);
	vals[1] = CStringGetTextDatum(a[1]);
	vq_exec("SELECT vectorstore._sync_failed($1, $2)", 2, types, vals, NULL);
}

int
vq_sync_pass(void)
{
	char	  **names;
	int			n;
	int			work = 0;

	vq_begin("vectorstore: syncs due");
	{
		Oid			types[1] = {INT4OID};
		Datum		vals[1] = {Int32GetDatum(8)};

		vq_exec("SELECT d.name FROM vectorstore._sync_due($1) d", 1, types, vals, NULL);
		n = (int) SPI_processed;
		names = MemoryContextAlloc(vq_cxt, sizeof(char *) * Max(n, 1));
		for (int i = 0; i < n; i++)
			names[i] = vq_text(i, 1);
	}
	vq_commit();

	for (int i = 0; i < n; i++)
	{
		VqSyncArg	s = {names[i]};
		char	   *err;

		vq_begin(psprintf("vectorstore: sync %s", names[i]));
		if (!vq_try(vq_sync_one, &s, &err))
		{
			const char *a[2] = {names[i], err};
			char	   *err2;

			elog(LOG, "vectorstore worker: sync \"%s\" failed: %s", names[i], err);
			if (!vq_try(vq_sync_failed, (void *) a, &err2))
				elog(LOG, "vectorstore worker: could not record the failure of sync \"%s\": %s",
					 names[i], err2);
		}
		else if (s.ran)
			work += 1 + s.counts.new_rows + s.counts.changed + s.counts.deleted;
		vq_commit();
	}
	return work;
}

/* ---------------------------------------------------------------------
 * SQL functions
 * ---------------------------------------------------------------------
 */
/* Run a sync's query once (LIMIT 0) as the caller, restricted. */
static void
vs_sync_try(VsSyncDef *d)
{
	Oid			save_user;
	int			save_sec;
	int			nest = NewGUCNestLevel();

	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(save_user, save_sec | SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		vs_fixed_gucs();
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "vectorstore: SPI_connect failed");
		if (SPI_execute(psprintf("%s LIMIT 0", vs_sync_query(d)), true, 0) < 0)
			elog(ERROR, "vectorstore: the query of sync \"%s\" failed", d->name);
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_user, save_sec);
	}
	PG_END_TRY();
	AtEOXact_GUC(true, nest);
}

Datum
vs_sync_create(PG_FUNCTION_ARGS)
{
	VsSyncDef	d = {0};
	char	   *store;
	char	   *pattern;
	cJSON	   *chunking;
	VsCredential *cred;
	bool		use_trigger;
	Datum		owner_name = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) ||
		PG_ARGISNULL(4) || PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name, source, vector_store_id, key_column, content and filename_pattern must not be null")));
	d.name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	d.relid = PG_GETARG_OID(1);
	store = text_to_cstring(PG_GETARG_TEXT_PP(2));
	d.key_column = text_to_cstring(PG_GETARG_TEXT_PP(3));
	d.content = text_to_cstring(PG_GETARG_TEXT_PP(4));
	pattern = text_to_cstring(PG_GETARG_TEXT_PP(6));
	use_trigger = !PG_ARGISNULL(8) && PG_GETARG_BOOL(8);
	d.owner = GetUserNameFromId(GetUserId(), false);

	{
		char	   *why = vs_job_names_problem(store, NULL);

		if (why)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s", why)));
	}
	if (get_rel_name(d.relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", d.relid)));
	if (get_attnum(d.relid, d.key_column) == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation %s does not exist", d.key_column,
						get_rel_name(d.relid))));
	if (strstr(pattern, "%s") == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("filename_pattern must contain %%s (the row key)")));
	if (!PG_ARGISNULL(5))
	{
		Datum	   *elems;
		bool	   *nulls;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(5), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &d.nattributes);
		if (d.nattributes > VS_SYNC_MAX_ATTRIBUTES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("attribute_columns may name at most %d columns", VS_SYNC_MAX_ATTRIBUTES)));
		d.attributes = palloc(sizeof(char *) * Max(d.nattributes, 1));
		for (int i = 0; i < d.nattributes; i++)
		{
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("attribute_columns must not hold NULL")));
			d.attributes[i] = TextDatumGetCString(elems[i]);
		}
	}
	chunking = vs_arg_json(fcinfo, 7);
	if (chunking)
		vs_validate_chunking_strategy(chunking, "chunking_strategy");
	(void) vs_arg_request_options(fcinfo, 9);
	cred = vs_credential_current();
	d.qualified = vs_sync_qualified(d.relid);

	/* try the query now, as the caller (the owner-to-be), rather than at the first run */
	vs_sync_try(&d);

	/* the sync, as the extension's owner */
	{
		Oid			types[12] = {NAMEOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID,
		TEXTOID, JSONBOID, JSONBOID, TEXTOID, BOOLOID};
		Datum		vals[12];
		char		nulls[13] = "            ";

		vals[0] = owner_name;
		vals[1] = CStringGetTextDatum(d.name);
		vals[2] = CStringGetTextDatum(d.qualified);
		vals[3] = CStringGetTextDatum(store);
		vals[4] = CStringGetTextDatum(d.key_column);
		vals[5] = CStringGetTextDatum(d.content);
		if (PG_ARGISNULL(5))
			nulls[6] = 'n';
		else
			vals[6] = PG_GETARG_DATUM(5);
		vals[7] = CStringGetTextDatum(pattern);
		if (PG_ARGISNULL(7))
			nulls[8] = 'n';
		else
			vals[8] = PG_GETARG_DATUM(7);
		if (PG_NARGS() <= 9 || PG_ARGISNULL(9))
			nulls[9] = 'n';
		else
			vals[9] = PG_GETARG_DATUM(9);
		if (cred->name)
			vals[10] = CStringGetTextDatum(cred->name);
		else
			nulls[10] = 'n';
		vals[11] = BoolGetDatum(use_trigger);
		vs_owner_run("SELECT vectorstore._sync_insert($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
					 12, types, vals, nulls, NULL, NULL);
	}

	/* the trigger, as the caller (who needs the TRIGGER privilege on the table) */
	if (use_trigger)
	{
		int			nest = NewGUCNestLevel();

		(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "vectorstore: SPI_connect failed");
		if (SPI_execute(psprintf("CREATE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s"
								 " FOR EACH STATEMENT EXECUTE FUNCTION vectorstore._sync_trigger(%s)",
								 quote_identifier(psprintf("vectorstore_sync_%s", d.name)),
								 d.qualified, quote_literal_cstr(d.name)), false, 0) < 0)
			elog(ERROR, "vectorstore: could not create the trigger of sync \"%s\"", d.name);
		SPI_finish();
		AtEOXact_GUC(true, nest);
	}
	PG_RETURN_VOID();
}

Datum
vs_sync_run(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	VsSyncCounts c;
	TupleDesc	tupdesc;
	Datum		vals[4];
	bool		nulls[4] = {false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "vs_sync_run: return type must be a row type");
	(void) vs_sync_compute(name, false, &c);
	vals[0] = Int64GetDatum(c.new_rows);
	vals[1] = Int64GetDatum(c.changed);
	vals[2] = Int64GetDatum(c.deleted);
	vals[3] = Int64GetDatum(c.unchanged);
	if (c.new_rows + c.changed + c.deleted > 0)
		vs_worker_wake_at_commit(false);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), vals, nulls)));
}

typedef struct VsSyncDropRead
{
	char	   *owner;
	char	   *source;
	bool		use_trigger;
} VsSyncDropRead;

static void
vs_sync_drop_read(void *arg)
{
	VsSyncDropRead *r = (VsSyncDropRead *) arg;

	if (SPI_processed == 1)
	{
		r->owner = vq_text(0, 1);
		r->source = vq_text(0, 2);
		r->use_trigger = vq_bool(0, 3);
	}
}

static void
vs_read_bool(void *arg)
{
	*(bool *) arg = SPI_processed == 1 && vq_bool(0, 1);
}

Datum
vs_sync_drop(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		delete_files = PG_GETARG_BOOL(1);
	char	   *caller = GetUserNameFromId(GetUserId(), false);
	char	   *owner = NULL;
	char	   *source = NULL;
	bool		use_trigger = false;
	bool		dropped = false;
	VsSyncDropRead r = {0};
	Oid			types[2] = {TEXTOID, BOOLOID};
	Datum		vals[2];

	vals[0] = CStringGetTextDatum(name);
	vals[1] = BoolGetDatum(delete_files);
	vs_owner_run("SELECT y.owner, y.source, y.use_trigger FROM vectorstore.sync y"
				 " WHERE y.name OPERATOR(pg_catalog.=) $1", 1, types, vals, NULL, vs_sync_drop_read, &r);
	owner = r.owner;
	source = r.source;
	use_trigger = r.use_trigger;
	/* another role's sync does not exist, as far as the caller can tell */
	if (owner == NULL || (!superuser() && strcmp(owner, caller) != 0))
		PG_RETURN_BOOL(false);

	if (use_trigger)
	{
		Oid			relid = vs_sync_resolve(source);

		if (OidIsValid(relid))
		{
			int			nest = NewGUCNestLevel();

			(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "vectorstore: SPI_connect failed");
			if (SPI_execute(psprintf("DROP TRIGGER IF EXISTS %s ON %s",
									 quote_identifier(psprintf("vectorstore_sync_%s", name)),
									 vs_sync_qualified(relid)), false, 0) < 0)
				elog(ERROR, "vectorstore: could not drop the trigger of sync \"%s\"", name);
			SPI_finish();
			AtEOXact_GUC(true, nest);
		}
	}
	vs_owner_run("SELECT vectorstore._sync_drop($1, $2)", 2, types, vals, NULL, vs_read_bool, &dropped);
	if (dropped && delete_files)
		vs_worker_wake_at_commit(false);
	PG_RETURN_BOOL(dropped);
}
