/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The background workers: a launcher that starts a worker for each
 *	  database that has work, the worker's loop, the shared memory they use
 *	  to be woken at COMMIT, the hook that gets a worker out of DROP
 *	  DATABASE's way, and how a worker makes its session safe to use.
 *
 * Processes
 *	  The launcher (registered from shared_preload_libraries) connects to no
 *	  database. After the server starts it visits every database that accepts
 *	  connections once (reading pg_database); from then on it starts a
 *	  worker for a database only when there is something to do: a COMMIT
 *	  there queued work (or resumed the worker), or the time the last worker
 *	  said its next job, poll or sweep is due has come. A worker with
 *	  nothing due within vectorstore.worker_naptime leaves, so a database
 *	  with nothing to do holds no worker slot. A worker whose database lacks
 *	  the extension, or has it at another version than this library's (not
 *	  yet updated with ALTER EXTENSION ... UPDATE), leaves at once; a paused
 *	  worker (vs_worker_pause(), or a copied database) leaves and is not
 *	  started again until vs_worker_resume(). DROP DATABASE runs our
 *	  object_access_hook first: it signals that database's worker and keeps
 *	  the launcher away for a while, so the drop proceeds.
 *
 * The worker trusts nothing in the database it serves
 *	  It connects as the bootstrap superuser, and so would take the
 *	  database's settings (ALTER DATABASE ... SET, by its owner) and resolve
 *	  names through them. Before it runs any SQL it fixes search_path to
 *	  pg_catalog, pg_temp and the other settings that could disturb it, as
 *	  overrides no database or role setting changes, and puts every setting a
 *	  database or role changed back to the server's own (vs_worker_harden).
 *	  Every name in its SQL is qualified; the SQL it runs is the state
 *	  machine's functions (sql/install/51_queue_functions.sql), each with a fixed
 *	  search_path. Work for a role is checked (vs_credential_for_role) and
 *	  done with that role's rights (a sync's difference is computed as its
 *	  owner).
 *
 * A pass
 *	  heartbeat (and pause check) -> start the sync worker if a sync is due
 *	  -> sweep -> uploads -> attaches -> polls -> removals (each claims and
 *	  sends without waiting) -> pump the requests in flight for at most
 *	  VS_PUMP_MS and record what finished -> retention. Each step is bounded,
 *	  takes turns between roles and credentials, skips what anyone holds
 *	  locked, and contains its own failures (step.c); no request is waited
 *	  for and no user SQL runs here (syncs have their own process), so the
 *	  heartbeat keeps ticking and one role's or one server's trouble stays
 *	  theirs.
 *
 *-------------------------------------------------------------------------
 */
#include "vs_worker.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/bufmgr.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include <signal.h>

PG_FUNCTION_INFO_V1(vs_queue_wake);

PGDLLEXPORT void vs_launcher_main(Datum arg);
PGDLLEXPORT void vs_worker_main(Datum arg);
PGDLLEXPORT void vs_sync_worker_main(Datum arg);

/* settings */
int			vs_worker_concurrency = 8;
int			vs_worker_max_attempts = 5;
int			vs_worker_max_throttles = 50;
int			vs_worker_request_timeout_ms = 120000;
int			vs_worker_batch_size = 100;
int			vs_worker_poll_interval_ms = 1000;
int			vs_worker_reconcile_delay_ms = 120000;
int			vs_worker_naptime_ms = 10000;
int			vs_launcher_naptime_ms = 30000;
int			vs_worker_sync_timeout_ms = 60000;
int			vs_job_retention_s = 7 * 24 * 3600;

bool		vs_am_worker = false;

/* longest wait for answers in flight before the worker claims again */
#define VS_PUMP_MS 250

/* ---------------------------------------------------------------------
 * Shared memory
 * ---------------------------------------------------------------------
 */
#define VS_MAX_DBS 128

typedef struct VsDbSlot
{
	Oid			dboid;			/* InvalidOid: free */
	pid_t		pid;			/* the worker, 0 when none */
	pid_t		sync_pid;		/* the sync worker, 0 when none */
	Latch	   *latch;			/* its latch */
	bool		wanted;			/* a commit queued work: start a worker */
	bool		visited;		/* a worker ran here since the server started */
	bool		paused;			/* paused: start none until resumed */
	TimestampTz next_due;		/* when the last worker's next work is due (0: when woken) */
	TimestampTz noext_until;	/* no extension (or another version) there: not before */
	TimestampTz blocked_until;	/* being dropped: don't start before */
} VsDbSlot;

typedef struct VsShared
{
	LWLock	   *lock;
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
	VsDbSlot	slots[VS_MAX_DBS];
} VsShared;

static VsShared *vs_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static object_access_hook_type prev_object_access_hook = NULL;

static bool vs_wake_pending = false;
static bool vs_resume_pending = false;
static bool vs_xact_cb_registered = false;

static void
vs_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(VsShared)));
	RequestNamedLWLockTranche("vectorstore", 1);
}

static void
vs_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	vs_shared = ShmemInitStruct("vectorstore", sizeof(VsShared), &found);
	if (!found)
	{
		memset(vs_shared, 0, sizeof(VsShared));
		vs_shared->lock = &(GetNamedLWLockTranche("vectorstore"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* The slot of a database (lock held), optionally taking a free one. */
static VsDbSlot *
vs_slot(Oid dboid, bool create)
{
	VsDbSlot   *free_slot = NULL;

	for (int i = 0; i < VS_MAX_DBS; i++)
	{
		VsDbSlot   *s = &vs_shared->slots[i];

		if (s->dboid == dboid)
			return s;
		if (s->dboid == InvalidOid && free_slot == NULL)
			free_slot = s;
	}
	if (create && free_slot)
	{
		memset(free_slot, 0, sizeof(VsDbSlot));
		free_slot->dboid = dboid;
	}
	return create ? free_slot : NULL;
}

/* ---------------------------------------------------------------------
 * Waking the worker at COMMIT
 * ---------------------------------------------------------------------
 */

static void
vs_wake_database(Oid dboid, bool resume)
{
	VsDbSlot   *s;

	if (vs_shared == NULL)
		return;
	LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
	s = vs_slot(dboid, true);
	if (s && resume)
		s->paused = false;
	if (s && s->pid != 0 && s->latch)
		SetLatch(s->latch);
	else if (s)
	{
		s->wanted = true;
		if (vs_shared->launcher_latch)
			SetLatch(vs_shared->launcher_latch);
	}
	LWLockRelease(vs_shared->lock);
}

static void
vs_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (vs_wake_pending)
				vs_wake_database(MyDatabaseId, vs_resume_pending);
			vs_wake_pending = vs_resume_pending = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			vs_wake_pending = vs_resume_pending = false;
			break;
		default:
			break;
	}
}

void
vs_worker_wake_at_commit(bool resume)
{
	if (vs_am_worker)
		return;
	if (!vs_xact_cb_registered)
	{
		RegisterXactCallback(vs_xact_callback, NULL);
		vs_xact_cb_registered = true;
	}
	vs_wake_pending = true;
	vs_resume_pending |= resume;
}

/* Statement trigger on vectorstore.job: wake the worker when this commits. */
Datum
vs_queue_wake(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "vs_queue_wake: not called by trigger manager");
	vs_worker_wake_at_commit(false);
	return PointerGetDatum(NULL);
}

/* ---------------------------------------------------------------------
 * DROP DATABASE: get our worker out of the way
 * ---------------------------------------------------------------------
 */
static void
vs_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				 int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);

	if (access == OAT_DROP && classId == DatabaseRelationId && vs_shared)
	{
		VsDbSlot   *s;
		pid_t		pid = 0;
		pid_t		sync_pid = 0;

		LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
		s = vs_slot(objectId, true);
		if (s)
		{
			s->blocked_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 15000);
			s->wanted = false;
			pid = s->pid;
			sync_pid = s->sync_pid;
		}
		LWLockRelease(vs_shared->lock);
		/* dropdb() waits a few seconds for the other backends to leave */
		if (pid != 0)
			kill(pid, SIGTERM);
		if (sync_pid != 0)
			kill(sync_pid, SIGTERM);
	}
}

/* ---------------------------------------------------------------------
 * Settings and registration (called from _PG_init)
 * ---------------------------------------------------------------------
 */
void
vs_worker_init(void)
{
	DefineCustomIntVariable("vectorstore.worker_concurrency",
							"Requests the background worker has in flight at once.",
							NULL, &vs_worker_concurrency, 8, 1, 64,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vectorstore.worker_max_attempts",
							"Failed tries after which a queued job fails (429 responses do not count).",
							NULL, &vs_worker_max_attempts, 5, 1, 1000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vectorstore.worker_max_throttles",
							"429 answers after which a queued job fails with the 429 as its error.",
							"Each 429 in a row from a credential's server doubles how long its jobs are held back, from 1 s up to a minute.",
							&vs_worker_max_throttles, 50, 1, 1000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vectorstore.worker_request_timeout",
							"Longest time any one request of the background worker may take.",
							"A job's request_options timeout above it is cut to it; it also bounds vectorstore.timeout for the worker.",
							&vs_worker_request_timeout_ms, 120000, 1000, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("vectorstore.worker_batch_size",
							"Jobs the worker claims per step, and files per file batch.",
							NULL, &vs_worker_batch_size, 100, 1, 2000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vectorstore.worker_poll_interval",
							"Interval between polls of a file batch when the server suggests none.",
							"The worker never polls more often than every 100 ms, whatever the server suggests.",
							&vs_worker_poll_interval_ms, 1000, 10, 600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("vectorstore.worker_reconcile_delay",
							"How long after an upload with an unknown outcome the worker looks for its file before uploading again.",
							NULL, &vs_worker_reconcile_delay_ms, 120000, 100, 86400000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("vectorstore.worker_naptime",
							"Longest sleep of a worker; one idle that long, with nothing due sooner, leaves until there is work.",
							NULL, &vs_worker_naptime_ms, 10000, 10, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("vectorstore.launcher_naptime",
							"Interval at which the launcher looks at databases whose work is due.",
							NULL, &vs_launcher_naptime_ms, 30000, 100, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("vectorstore.worker_sync_timeout",
							"Longest time the worker spends computing one trigger-mode sync's changes.",
							"The worker also waits at most 2 s for a lock on the table.",
							&vs_worker_sync_timeout_ms, 60000, 100, 86400000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("vectorstore.job_retention",
							"How long finished jobs keep their content and row; 0 keeps them for ever.",
							"Rows a sync still refers to are kept.",
							&vs_job_retention_s, 7 * 24 * 3600, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	if (process_shared_preload_libraries_in_progress)
	{
		BackgroundWorker bgw;

		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = vs_shmem_request;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = vs_shmem_startup;
		prev_object_access_hook = object_access_hook;
		object_access_hook = vs_object_access;

		memset(&bgw, 0, sizeof(bgw));
		bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
		bgw.bgw_restart_time = 5;
		snprintf(bgw.bgw_library_name, BGW_MAXLEN, "vectorstore");
		snprintf(bgw.bgw_function_name, BGW_MAXLEN, "vs_launcher_main");
		snprintf(bgw.bgw_name, BGW_MAXLEN, "vectorstore launcher");
		snprintf(bgw.bgw_type, BGW_MAXLEN, "vectorstore launcher");
		RegisterBackgroundWorker(&bgw);
	}
}

/* ---------------------------------------------------------------------
 * The launcher
 * ---------------------------------------------------------------------
 */
typedef struct VsLaunched
{
	Oid			dboid;
	BackgroundWorkerHandle *handle;
} VsLaunched;

static VsLaunched vs_launched[VS_MAX_DBS];

/* Databases that accept connections (a heap scan of the shared catalog). */
static List *
vs_database_list(void)
{
	List	   *dbs = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext cxt = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (db->datallowconn && !db->datistemplate && db->datconnlimit != -2)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			dbs = lappend_oid(dbs, db->oid);
			MemoryContextSwitchTo(old);
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	return dbs;
}

/* Is a worker we started for this database still there? */
static bool
vs_launched_alive(Oid dboid)
{
	for (int i = 0; i < VS_MAX_DBS; i++)
	{
		pid_t		pid;

		if (vs_launched[i].dboid != dboid || vs_launched[i].handle == NULL)
			continue;
		if (GetBackgroundWorkerPid(vs_launched[i].handle, &pid) != BGWH_STOPPED)
			return true;
		pfree(vs_launched[i].handle);
		vs_launched[i].handle = NULL;
		vs_launched[i].dboid = InvalidOid;
	}
	return false;
}

static void
vs_launch(Oid dboid)
{
	BackgroundWorker bgw;
	BackgroundWorkerHandle *handle;
	MemoryContext old;
	bool		ok;
	int			i;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher restarts it */
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "vectorstore");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "vs_worker_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "vectorstore worker for database %u", dboid);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "vectorstore worker");
	bgw.bgw_main_arg = ObjectIdGetDatum(dboid);
	bgw.bgw_notify_pid = MyProcPid;

	for (i = 0; i < VS_MAX_DBS; i++)
		if (vs_launched[i].handle == NULL)
			break;
	if (i == VS_MAX_DBS)
		return;
	/* the handle outlives the loop context, which is reset every pass */
	old = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&bgw, &handle);
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		ereport(LOG,
				(errmsg("vectorstore launcher: could not start a worker for database %u", dboid),
				 errhint("Raise max_worker_processes.")));
		return;
	}
	vs_launched[i].dboid = dboid;
	vs_launched[i].handle = handle;
}

void
vs_launcher_main(Datum arg)
{
	TimestampTz last_scan = 0;
	TimestampTz last_start[VS_MAX_DBS];
	Oid			last_db[VS_MAX_DBS];
	MemoryContext cxt;

	memset(last_start, 0, sizeof(last_start));
	memset(last_db, 0, sizeof(last_db));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("vectorstore launcher");

	LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
	vs_shared->launcher_pid = MyProcPid;
	vs_shared->launcher_latch = MyLatch;
	LWLockRelease(vs_shared->lock);

	cxt = AllocSetContextCreate(TopMemoryContext, "vectorstore launcher loop",
								ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		List	   *dbs = NIL;
		List	   *scanned = NIL;
		ListCell   *lc;
		bool		scan = TimestampDifferenceExceeds(last_scan, now, vs_launcher_naptime_ms);

		MemoryContextSwitchTo(cxt);
		MemoryContextReset(cxt);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		/* databases no worker has visited since the server started */
		if (scan)
		{
			scanned = vs_database_list();
			dbs = list_copy(scanned);
			last_scan = now;
		}
		/* plus those where a commit asked for a worker, or work is due */
		LWLockAcquire(vs_shared->lock, LW_SHARED);
		for (int i = 0; i < VS_MAX_DBS; i++)
		{
			VsDbSlot   *s = &vs_shared->slots[i];

			if (s->dboid == InvalidOid)
				continue;
			if (s->wanted || (s->visited && !s->paused && s->next_due != 0 && s->next_due <= now))
				dbs = list_append_unique_oid(dbs, s->dboid);
		}
		LWLockRelease(vs_shared->lock);

		foreach(lc, dbs)
		{
			Oid			dboid = lfirst_oid(lc);
			VsDbSlot   *s;
			bool		start = true;
			int			k;

			if (vs_launched_alive(dboid))
				continue;
			LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
			s = vs_slot(dboid, true);
			if (s)
			{
				if (s->pid != 0 || s->blocked_until > now)
					start = false;
				else if (s->wanted)
					start = !s->paused;
				else if (s->noext_until > now || s->paused)
					start = false;
				else if (s->visited && (s->next_due == 0 || s->next_due > now))
					start = false;
				if (s->paused)
					s->wanted = false;
			}
			LWLockRelease(vs_shared->lock);
			if (!start)
				continue;
			/* at most one start a second per database (crash loops) */
			for (k = 0; k < VS_MAX_DBS; k++)
				if (last_db[k] == dboid || last_db[k] == InvalidOid)
					break;
			if (k < VS_MAX_DBS && last_db[k] == dboid &&
				!TimestampDifferenceExceeds(last_start[k], now, 1000))
				continue;		/* still wanted: tried again next loop */
			LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
			if (s)
				s->wanted = false;
			LWLockRelease(vs_shared->lock);
			vs_launch(dboid);
			if (k < VS_MAX_DBS)
			{
				last_db[k] = dboid;
				last_start[k] = now;
			}
		}

		/* forget slots of databases that are gone and have no worker */
		if (scan)
		{
			LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
			for (int i = 0; i < VS_MAX_DBS; i++)
			{
				VsDbSlot   *s = &vs_shared->slots[i];

				if (s->dboid != InvalidOid && s->pid == 0 && !s->wanted &&
					!list_member_oid(scanned, s->dboid) && s->blocked_until < now)
					s->dboid = InvalidOid;
			}
			LWLockRelease(vs_shared->lock);
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(vs_launcher_naptime_ms, 1000), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---------------------------------------------------------------------
 * The worker's session: trust nothing the database set
 * ---------------------------------------------------------------------
 */
/* Settings whose right value for the worker does not depend on the server. */
static const char *const vs_worker_fixed[][2] = {
	{"role", "none"},
	{"search_path", "pg_catalog, pg_temp"},
	{"statement_timeout", "0"},
	{"lock_timeout", "10s"},
	{"idle_in_transaction_session_timeout", "0"},
	{"idle_session_timeout", "0"},
	{"default_transaction_read_only", "off"},
	{"default_transaction_isolation", "read committed"},
	{"default_transaction_deferrable", "off"},
	{"session_replication_role", "origin"},
	{"row_security", "on"},
	{"check_function_bodies", "on"},
	{"transform_null_equals", "off"},
	{"array_nulls", "on"},
	{"DateStyle", "ISO, MDY"},
	{"IntervalStyle", "postgres"},
	{"TimeZone", "UTC"},
	{"extra_float_digits", "1"},
	{"bytea_output", "hex"},
	{"standard_conforming_strings", "on"},
	{"xmloption", "content"},
	{"default_tablespace", ""},
	{"temp_tablespaces", ""},
	{"plpgsql.extra_errors", "none"},
	{"plpgsql.extra_warnings", "none"},
	{"plpgsql.variable_conflict", "error"},
	{"plpgsql.check_asserts", "on"},
	/*
	 * A claim is durable before its request is sent: after a crash the
	 * worker knows what it may have sent (exactly once rests on it), whatever
	 * a database's settings say. Records need not be (vq_record).
	 */
	{"synchronous_commit", "on"},
};

static void
vs_worker_fix_settings(void)
{
	for (int i = 0; i < lengthof(vs_worker_fixed); i++)
		(void) set_config_option(vs_worker_fixed[i][0], vs_worker_fixed[i][1], PGC_SUSET,
								 PGC_S_OVERRIDE, GUC_ACTION_SET, true, WARNING, false);
}

/*
 * Before any SQL: fix the settings above, then put every setting that
 * ALTER DATABASE ... SET or ALTER ROLE ... SET changed for this session back
 * to the server's (postgresql.conf, ALTER SYSTEM, else the default), as
 * overrides a later reload does not undo.
 */
static void
vs_worker_harden(void)
{
	List	   *names = NIL;
	List	   *values = NIL;
	List	   *set = NIL;
	ListCell   *a,
			   *b;
	struct config_generic **gucs = get_guc_variables();
	int			ngucs = GetNumConfigOptions();

	/* which settings did the database or a role set for this session? (no SQL) */
	for (int i = 0; i < ngucs; i++)
	{
		GucSource	src = gucs[i]->source;

		if (src == PGC_S_GLOBAL || src == PGC_S_DATABASE || src == PGC_S_USER ||
			src == PGC_S_DATABASE_USER)
			set = lappend(set, MemoryContextStrdup(TopMemoryContext, gucs[i]->name));
	}

	vs_worker_fix_settings();

	/* put them back to the server's own (postgresql.conf, ALTER SYSTEM, the default) */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vectorstore worker: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	foreach(a, set)
	{
		Oid			types[1] = {TEXTOID};
		Datum		vals[1] = {CStringGetTextDatum((char *) lfirst(a))};

		if (SPI_execute_with_args("SELECT coalesce("
								  "  (SELECT f.setting FROM pg_catalog.pg_file_settings f"
								  "   WHERE f.name OPERATOR(pg_catalog.=) s.name AND f.error IS NULL"
								  "   ORDER BY f.seqno DESC LIMIT 1), s.boot_val)"
								  " FROM pg_catalog.pg_settings s WHERE s.name OPERATOR(pg_catalog.=) $1"
								  "   AND s.context OPERATOR(pg_catalog.=) ANY ('{user,superuser}'::pg_catalog.text[])",
								  1, types, vals, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "vectorstore worker: could not read the server's settings");
		if (SPI_processed == 1)
		{
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
			char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			names = lappend(names, pstrdup(lfirst(a)));
			values = lappend(values, v ? pstrdup(v) : NULL);
			MemoryContextSwitchTo(old);
		}
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();

	foreach(a, set)
		ereport(LOG,
				(errmsg("vectorstore worker: ignoring the database's or role's setting of \"%s\"",
						(char *) lfirst(a))));
	forboth(a, names, b, values)
		(void) set_config_option(lfirst(a), lfirst(b), PGC_SUSET, PGC_S_OVERRIDE,
								 GUC_ACTION_SET, true, WARNING, false);
	vs_worker_fix_settings();
	StartTransactionCommand();
	if (!superuser())
		elog(FATAL, "vectorstore worker: not running as a superuser");
	CommitTransactionCommand();
}

/* ---------------------------------------------------------------------
 * The worker
 * ---------------------------------------------------------------------
 */
typedef enum
{
	VS_EXT_READY,
	VS_EXT_ABSENT,				/* not installed (or another version) */
	VS_EXT_BUSY					/* being created, dropped or altered */
} VsExtState;

/*
 * pg_cron's PgCronHasBeenLoaded and pg_net's is_extension_locked, together,
 * and the version: a database not yet updated to this library's version is
 * left alone (its tables are the old ones).
 */
static VsExtState
vs_extension_state(char **version, const char **problem)
{
	VsExtState	st = VS_EXT_READY;
	Oid			ext;
	Oid			nsp;
	Oid			rel = InvalidOid;

	*version = NULL;
	*problem = NULL;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	ext = get_extension_oid(VS_EXTENSION_NAME, true);
	if (!OidIsValid(ext))
		st = VS_EXT_ABSENT;
	else
	{
		Relation	erel = table_open(ExtensionRelationId, AccessShareLock);
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tup;

		ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(ext));
		scan = systable_beginscan(erel, ExtensionOidIndexId, true, NULL, 1, &key);
		tup = systable_getnext(scan);
		if (HeapTupleIsValid(tup))
		{
			bool		isnull;
			Datum		d = heap_getattr(tup, Anum_pg_extension_extversion,
										 RelationGetDescr(erel), &isnull);

			if (!isnull)
				*version = MemoryContextStrdup(TopMemoryContext, TextDatumGetCString(d));
		}
		systable_endscan(scan);
		table_close(erel, AccessShareLock);

		nsp = get_namespace_oid("vectorstore", true);
		if (OidIsValid(nsp))
			rel = get_relname_relid("job", nsp);
		if (*version == NULL || strcmp(*version, VS_VERSION) != 0)
			st = VS_EXT_ABSENT;
		else if (!OidIsValid(rel) || !OidIsValid(get_relname_relid("worker_state", nsp)))
			st = VS_EXT_ABSENT;
		else if ((*problem = vs_extension_schema_problem()) != NULL)
			st = VS_EXT_ABSENT;
		else if (!ConditionalLockRelationOid(rel, AccessShareLock))
			st = VS_EXT_BUSY;	/* DROP EXTENSION holds it */
		else
			UnlockRelationOid(rel, AccessShareLock);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	return st;
}

static void
vs_worker_detach(int code, Datum arg)
{
	VsDbSlot   *s;

	if (vs_shared == NULL)
		return;
	LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
	s = vs_slot(MyDatabaseId, false);
	if (s && s->pid == MyProcPid)
	{
		s->pid = 0;
		s->latch = NULL;
	}
	LWLockRelease(vs_shared->lock);
}

/* Tell the launcher when to come back, then leave. */
static void pg_attribute_noreturn()
vs_worker_leave(TimestampTz next_due, bool paused, bool noext, bool clear_pid)
{
	VsDbSlot   *s;

	if (clear_pid)
	{
		PG_TRY();
		{
			Oid			types[1] = {INT4OID};
			Datum		vals[1] = {Int32GetDatum(MyProcPid)};

			vq_begin("vectorstore: leaving");
			vq_exec("SELECT vectorstore._worker_stop($1)", 1, types, vals, NULL);
			vq_commit();
		}
		PG_CATCH();
		{
			EmitErrorReport();
			FlushErrorState();
			AbortOutOfAnyTransaction();
		}
		PG_END_TRY();
	}
	LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
	s = vs_slot(MyDatabaseId, true);
	if (s)
	{
		s->next_due = next_due;
		s->paused = paused;
		if (noext)
		{
			/* look again now and then (a COMMIT there, an update, wakes it sooner) */
			s->noext_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														 10 * vs_launcher_naptime_ms);
			s->next_due = s->noext_until;
		}
	}
	LWLockRelease(vs_shared->lock);
	proc_exit(0);
}

static char *vs_dbname = "?";	/* this worker's database (TopMemoryContext) */

/*
 * The database holds jobs queued in another (job.origin), and is not yet a
 * copy by its identity rows: a restore may still be loading them. Nothing
 * is claimed (_worker_claim_guard); the worker leaves, not paused, and the
 * launcher starts it again in a few seconds, when the restore has brought
 * the rows that tell (a copy: paused; the database's own dump: sent) or a
 * superuser has resumed it.
 */
#define VS_HELD_RETRY_MS 5000

static void pg_attribute_noreturn()
vs_worker_wait_held(const char *why)
{
	elog(DEBUG1, "vectorstore worker: database \"%s\" %s: looking again in %d ms",
		 vs_dbname, why, VS_HELD_RETRY_MS);
	vs_worker_leave(TimestampTzPlusMilliseconds(GetCurrentTimestamp(), VS_HELD_RETRY_MS),
					false, false, true);
}

/*
 * At start: this database's marker token, and whether it is paused (returns
 * false). _worker_start detects a copy of the database and pauses it; the
 * identity row it reads is made by CREATE EXTENSION, so no role's
 * transaction holds it. A database holding another's jobs: see above.
 */
static bool
vs_worker_begin(void)
{
	Oid			types[1] = {INT4OID};
	Datum		vals[1];
	bool		paused;
	bool		copy;
	char	   *reason;
	char	   *held;

	vals[0] = Int32GetDatum(MyProcPid);
	vq_begin("vectorstore: start");
	vq_exec("SELECT s.token, s.paused, s.paused_reason, s.copy_detected, s.held"
			" FROM vectorstore._worker_start($1) s", 1, types, vals, NULL);
	vq_token = MemoryContextStrdup(TopMemoryContext, vq_text(0, 1));
	paused = vq_bool(0, 2);
	reason = vq_text(0, 3);
	copy = vq_bool(0, 4);
	held = vq_isnull(0, 5) ? NULL : vq_text(0, 5);
	vq_commit();
	if (held)
		vs_worker_wait_held(held);
	if (copy)
		ereport(LOG,
				(errmsg("vectorstore worker: database \"%s\" is a copy (restored or made from a template): its worker is paused",
						vs_dbname),
				 errdetail("%s", reason),
				 errhint("Check its credentials and queue, then run SELECT vectorstore.vs_worker_resume(); as a superuser.")));
	return !paused;
}

static char *vs_worker_error = NULL;

static void vs_worker_analyze_if_grown(void);

/*
 * The heartbeat, with the pass's counters. Returns false when paused; does
 * not return when the database is held (vs_worker_wait_held).
 */
static bool
vs_worker_heartbeat(void)
{
	Oid			types[7] = {INT4OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID};
	Datum		vals[7];
	char		nulls[8] = "       ";
	bool		ok,
				paused;
	char	   *held;

	vals[0] = Int32GetDatum(MyProcPid);
	vals[1] = Int64GetDatum(vq_counters.done);
	vals[2] = Int64GetDatum(vq_counters.failed);
	vals[3] = Int64GetDatum(vq_counters.uploaded);
	vals[4] = Int64GetDatum(vq_counters.adopted);
	vals[5] = Int64GetDatum(vq_counters.deleted);
	vals[6] = vq_text_datum(vs_worker_error);
	if (vs_worker_error == NULL)
		nulls[6] = 'n';
	vq_begin("vectorstore: heartbeat");
	vq_no_wait_for_disk();
	vq_exec("SELECT h.ok, h.paused, h.held FROM vectorstore._worker_heartbeat($1, $2, $3, $4, $5, $6, $7) h",
			7, types, vals, nulls);
	ok = vq_bool(0, 1);
	paused = vq_bool(0, 2);
	held = vq_isnull(0, 3) ? NULL : vq_text(0, 3);
	vs_worker_analyze_if_grown();
	vq_commit();
	if (ok)
	{
		memset(&vq_counters, 0, sizeof(vq_counters));
		if (vs_worker_error)
			pfree(vs_worker_error);
		vs_worker_error = NULL;
	}
	if (held && !paused)
		vs_worker_wait_held(held);
	return !paused;
}

/*
 * The planner's view of the job table. The worker runs the same few
 * statements again and again, and PostgreSQL keeps their plans: a plan made
 * while the table held a few jobs reads it whole (a sequential scan is the
 * cheapest way through a page or two), and stays when a burst of enqueues
 * has made it thousands of pages, so that every claim and record of the
 * burst scans every job. Autovacuum's ANALYZE comes a minute later at best.
 * So when the table has grown to twice the pages its statistics describe,
 * the worker analyzes it (the columns its statements filter on); the
 * statistics change invalidates the kept plans, which are made again for
 * the table as it is. It happens once per doubling, at most once a minute.
 */
static void
vs_worker_analyze_if_grown(void)
{
	Oid			nsp = get_namespace_oid("vectorstore", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("job", nsp) : InvalidOid;
	Relation	rel;
	BlockNumber now;
	BlockNumber then;
	static TimestampTz last = 0;

	if (!OidIsValid(relid))
		return;
	rel = table_open(relid, AccessShareLock);
	now = RelationGetNumberOfBlocks(rel);
	then = (BlockNumber) Max(rel->rd_rel->relpages, 0);
	table_close(rel, AccessShareLock);
	if (now <= 2 * then + 16)
		return;
	/*
	 * at most once a minute: the plans that matter are the ones made on a
	 * handful of rows, and a burst's own updates double the table again
	 * while it runs (each ANALYZE then costs its sample and every plan made
	 * again); autovacuum takes over within the minute
	 */
	if (last != 0 && !TimestampDifferenceExceeds(last, GetCurrentTimestamp(), 60000))
		return;
	last = GetCurrentTimestamp();
	pgstat_report_activity(STATE_RUNNING, "vectorstore: analyze vectorstore.job");
	/*
	 * a small sample: 3,000 rows (statistics target 10). ANALYZE holds its
	 * sample rows whole (up to about 2 KB each: longer content is TOASTed),
	 * and a long-lived worker keeps that peak, so not autovacuum's 30,000.
	 * Not fewer either: with one most-common value (target 1) a status the
	 * sample lacks was estimated at hundreds of rows, and the probes for
	 * removals and polls read the whole table at every pass.
	 */
	(void) set_config_option("default_statistics_target", "10", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	if (SPI_execute("ANALYZE vectorstore.job (id, status, owner, credential, not_before,"
					" batch_id, file_id, replaces_job, finished_at)", false, 0) < 0)
		elog(ERROR, "vectorstore worker: ANALYZE vectorstore.job failed");
}

/* Retention: a bounded purge, at most once a minute (or per retention, if shorter). */
static int
vs_worker_purge(void)
{
	static TimestampTz last = 0;
	Oid			types[2] = {INTERVALOID, INT4OID};
	Datum		vals[2];
	int			purged = 0;

	if (vs_job_retention_s <= 0 ||
		!TimestampDifferenceExceeds(last, GetCurrentTimestamp(),
									(int) Min((int64) vs_job_retention_s * 1000, 60000)))
		return 0;
	last = GetCurrentTimestamp();
	vals[0] = DirectFunctionCall3(interval_in, CStringGetDatum(psprintf("%d seconds", vs_job_retention_s)),
								  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	vals[1] = Int32GetDatum(1000);
	vq_begin("vectorstore: retention");
	vq_exec("SELECT p.purged FROM vectorstore._job_purge($1, $2) p", 2, types, vals, NULL);
	if (SPI_processed == 1)
		purged = vq_int4(0, 1);
	vq_commit();
	if (purged == 1000)
		last = 0;				/* more to do: next pass */
	return purged;
}

/* When the next work is due (0: nothing until woken). */
static TimestampTz
vs_worker_next_due(void)
{
	Oid			types[1] = {INTERVALOID};
	Datum		vals[1];
	char		nulls[2] = " ";
	TimestampTz t = 0;

	if (vs_job_retention_s > 0)
		vals[0] = DirectFunctionCall3(interval_in, CStringGetDatum(psprintf("%d seconds", vs_job_retention_s)),
									  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	else
	{
		vals[0] = (Datum) 0;
		nulls[0] = 'n';
	}
	vq_begin("vectorstore: next due");
	vq_exec("SELECT vectorstore._worker_next_due($1)", 1, types, vals, nulls);
	if (SPI_processed == 1 && !vq_isnull(0, 1))
	{
		bool		isnull;

		t = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	vq_commit();
	return t;
}

/* ---------------------------------------------------------------------
 * The sync worker: trigger-mode syncs, in a process of their own
 * ---------------------------------------------------------------------
 * A sync's difference runs user SQL (its content expression, its source,
 * which may be a view), as the sync's owner, for up to
 * vectorstore.worker_sync_timeout. That never happens in the queue's
 * worker, which serves every role: when a trigger-mode sync is due
 * (_sync_next_due), the queue's worker starts a second background worker
 * for the database, which computes the due syncs — in turns between owners,
 * a failed or timed-out one backing off exponentially (_sync_failed) — and
 * leaves when none is due. However slow a role's syncs, the queue's worker
 * claims, sends, records and beats on; the jobs a sync queues wake it at
 * commit.
 */
static BackgroundWorkerHandle *vs_sync_handle = NULL;

static bool
vs_sync_worker_alive(void)
{
	pid_t		pid;

	if (vs_sync_handle == NULL)
		return false;
	if (GetBackgroundWorkerPid(vs_sync_handle, &pid) != BGWH_STOPPED)
		return true;
	pfree(vs_sync_handle);
	vs_sync_handle = NULL;
	return false;
}

/* In the queue's worker: start the sync worker when a sync is due. */
static void
vs_sync_worker_start_if_due(void)
{
	static TimestampTz last = 0;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz due = 0;
	bool		isnull = true;
	BackgroundWorker bgw;
	MemoryContext old;
	bool		ok;

	if (!TimestampDifferenceExceeds(last, now, 500) || vs_sync_worker_alive())
		return;
	last = now;
	vq_begin("vectorstore: syncs due");
	vq_exec("SELECT vectorstore._sync_next_due()", 0, NULL, NULL, NULL);
	if (SPI_processed == 1)
		due = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	vq_commit();
	if (isnull || due > now)
		return;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "vectorstore");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "vs_sync_worker_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "vectorstore sync worker for database %u", MyDatabaseId);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "vectorstore sync worker");
	bgw.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	bgw.bgw_notify_pid = MyProcPid;
	old = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&bgw, &vs_sync_handle);
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		vs_sync_handle = NULL;
		ereport(LOG,
				(errmsg("vectorstore worker: could not start a sync worker for database \"%s\"", vs_dbname),
				 errhint("Raise max_worker_processes.")));
	}
}

static void
vs_sync_worker_detach(int code, Datum arg)
{
	VsDbSlot   *s;

	LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
	s = vs_slot(MyDatabaseId, false);
	if (s && s->sync_pid == MyProcPid)
		s->sync_pid = 0;
	LWLockRelease(vs_shared->lock);
}

void
vs_sync_worker_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	MemoryContext loop_cxt;
	VsDbSlot   *s;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("vectorstore sync worker");
	/* vs_am_worker stays false: the jobs it queues wake the queue's worker */

	/* one per database */
	LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
	s = vs_slot(dboid, true);
	if (s == NULL || s->blocked_until > GetCurrentTimestamp() ||
		(s->sync_pid != 0 && s->sync_pid != MyProcPid && kill(s->sync_pid, 0) == 0))
	{
		LWLockRelease(vs_shared->lock);
		proc_exit(0);
	}
	s->sync_pid = MyProcPid;
	LWLockRelease(vs_shared->lock);
	on_shmem_exit(vs_sync_worker_detach, (Datum) 0);

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "vectorstore sync worker loop",
									 ALLOCSET_DEFAULT_SIZES);
	vq_cxt = loop_cxt;
	vs_worker_harden();
	StartTransactionCommand();
	vs_dbname = MemoryContextStrdup(TopMemoryContext, get_database_name(dboid));
	CommitTransactionCommand();

	for (;;)
	{
		int			done = 0;
		char	   *version;
		const char *problem;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			vs_worker_fix_settings();
		}
		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		/* (the queue's worker logs a schema problem; this one just leaves) */
		if (RecoveryInProgress() || vs_extension_state(&version, &problem) != VS_EXT_READY)
			proc_exit(0);
		PG_TRY();
		{
			done = vq_sync_pass();
		}
		PG_CATCH();
		{
			EmitErrorReport();
			FlushErrorState();
			AbortOutOfAnyTransaction();
			proc_exit(1);
		}
		PG_END_TRY();
		/* none was due: leave (the queue's worker starts another when one is) */
		if (done == 0)
			proc_exit(0);
	}
}

void
vs_worker_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	MemoryContext loop_cxt;
	bool		started = false;
	volatile long timeout = 0;
	TimestampTz last_work = GetCurrentTimestamp();
	VsDbSlot   *s;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("vectorstore worker");
	vs_am_worker = true;
	vs_request_cap_enabled = false; /* the cap is per SQL statement */

	/* one worker per database */
	LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
	s = vs_slot(dboid, true);
	if (s == NULL || (s->pid != 0 && s->pid != MyProcPid && kill(s->pid, 0) == 0))
	{
		LWLockRelease(vs_shared->lock);
		proc_exit(0);
	}
	s->pid = MyProcPid;
	s->latch = MyLatch;
	s->visited = true;
	/* if this process dies, the launcher starts another soon */
	s->next_due = GetCurrentTimestamp();
	LWLockRelease(vs_shared->lock);
	on_shmem_exit(vs_worker_detach, (Datum) 0);

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "vectorstore worker loop",
									 ALLOCSET_DEFAULT_SIZES);
	vq_cxt = loop_cxt;
	vs_worker_harden();
	StartTransactionCommand();
	vs_dbname = MemoryContextStrdup(TopMemoryContext, get_database_name(dboid));
	CommitTransactionCommand();

	for (;;)
	{
		int			work = 0;
		VsExtState	st;
		char	   *version;
		const char *problem;

		if (timeout > 0)
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 timeout, PG_WAIT_EXTENSION);
		/*
		 * Every pass, also one that did not wait: a wake that came before
		 * this pass is answered by it, and one that comes during it cuts
		 * its pump short (the next pass claims). A latch left set would
		 * cut every pump short: a pass after pass, spinning, while
		 * requests are in flight.
		 */
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			vs_worker_fix_settings();
		}
		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		vq_authority_reset();
		timeout = vs_worker_naptime_ms;
		vs_request_timeout_cap_ms = vs_worker_request_timeout_ms;

		if (RecoveryInProgress())
			continue;
		st = vs_extension_state(&version, &problem);
		if (st == VS_EXT_ABSENT)
		{
			if (problem)
				ereport(WARNING,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("vectorstore worker: database \"%s\": %s: nothing is done there",
								vs_dbname, problem),
						 errhint("A superuser gives the schema to the extension's owner and revokes CREATE on it from other roles (ALTER EXTENSION vectorstore UPDATE does both), after checking what the schema holds.")));
			if (version && strcmp(version, VS_VERSION) != 0)
				ereport(LOG,
						(errmsg("vectorstore worker: database \"%s\" has vectorstore %s, this library is %s: nothing is done until ALTER EXTENSION vectorstore UPDATE",
								vs_dbname, version, VS_VERSION)));
			vs_worker_leave(0, false, true, false);
		}
		if (st == VS_EXT_BUSY)
		{
			timeout = 1000;
			continue;
		}

		PG_TRY();
		{
			TimestampTz next,
						now,
						claimed_at = GetCurrentTimestamp();

			if (!started)
			{
				if (!vs_worker_begin())
					vs_worker_leave(0, true, false, false);
				started = true;
			}
			{
				/*
				 * Every pass (it also sees a pause before anything is claimed);
				 * a pass lasts at most VS_PUMP_MS longer than its claims and
				 * records, whatever is in flight.
				 */
				{
					if (!vs_worker_heartbeat())
					{
						ereport(LOG, (errmsg("vectorstore worker: paused")));
						vs_worker_leave(0, true, false, true);
					}
				}
				vs_sync_worker_start_if_due();
				work += vq_sweep();
				work += vq_step_run(&vq_step_upload);
				work += vq_step_run(&vq_step_attach);
				work += vq_step_run(&vq_step_poll);
				work += vq_step_run(&vq_step_remove);
				/* answers: record each unit as it finishes; claim again soon */
				work += vq_flights_pump(work > 0 ? 0 : VS_PUMP_MS);
				work += vs_worker_purge();

				if (work > 0)
				{
					timeout = 0;
					last_work = GetCurrentTimestamp();
				}
				else if (vq_flights_inflight() > 0)
					timeout = 0;	/* the pump waits for answers */
				else
				{
					next = vs_worker_next_due();
					now = GetCurrentTimestamp();
					if ((next == 0 || TimestampDifferenceExceeds(now, next, vs_worker_naptime_ms)) &&
						TimestampDifferenceExceeds(last_work, now, vs_worker_naptime_ms))
					{
						/* nothing due for a while: free the slot until there is */
						elog(DEBUG1, "vectorstore worker: nothing due for %ld ms: leaving",
							 next == 0 ? -1L : TimestampDifferenceMilliseconds(now, next));
						(void) vs_worker_heartbeat();
						vs_worker_leave(next, false, false, true);
					}
					if (next == 0 || TimestampDifferenceExceeds(now, next, vs_worker_naptime_ms))
					{
						/* stay a naptime after the last work, for the next burst */
						next = TimestampTzPlusMilliseconds(last_work, vs_worker_naptime_ms);
					}
					else if (next <= now && next > claimed_at)
					{
						/* it came due after this pass's claims looked: claim it now */
						next = now;
					}
					else if (next <= now)
					{
						/*
						 * due before the claims looked, and not claimed: held back
						 * by a 429, a row a role holds locked, a poll's floor
						 */
						TimestampTz thr = vq_throttle_end();

						next = thr > now ? thr : TimestampTzPlusMilliseconds(now, 200);
					}
					timeout = Min(timeout, Max(TimestampDifferenceMilliseconds(now, next), 1));
				}
			}
		}
		PG_CATCH();
		{
			/* an ERROR here is a bug or a database problem: log, wait, go on */
			ErrorData  *e;

			MemoryContextSwitchTo(loop_cxt);
			e = CopyErrorData();
			EmitErrorReport();
			FlushErrorState();
			AbortOutOfAnyTransaction();
			/* what was in flight is left to its lease */
			vq_flights_abort();
			if (vs_worker_error)
				pfree(vs_worker_error);
			vs_worker_error = MemoryContextStrdup(TopMemoryContext, e->message ? e->message : "error");
			pgstat_report_activity(STATE_IDLE, NULL);
			timeout = 5000;
		}
		PG_END_TRY();
	}
}
