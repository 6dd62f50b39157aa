/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The background workers: a launcher that starts one worker per database
 *	  with the extension, the worker's loop, the shared memory they use to be
 *	  woken at COMMIT, and the hook that gets a worker out of DROP DATABASE's way.
 *
 * Processes
 *	  The launcher (registered from shared_preload_libraries) connects to no
 *	  database and reads the shared catalog pg_database every
 *	  vectorstore.launcher_naptime; it starts a dynamic worker for each
 *	  database that has none. A worker whose database lacks the extension (or
 *	  has it mid-CREATE) exits quietly and is not tried again for a naptime,
 *	  unless a commit there asks for it. A worker that dies is started again by
 *	  the launcher after a second (it is notified through bgw_notify_pid); after
 *	  a crash of the server the launcher itself is restarted by the postmaster.
 *	  Every backend has this library (shared_preload_libraries), so:
 *	  - a transaction that queues a job marks itself, and at COMMIT sets the
 *		latch of its database's worker (or asks the launcher to start one);
 *	  - DROP DATABASE runs our object_access_hook before it counts the other
 *		backends in the database: the hook sends SIGTERM to that database's
 *		worker and keeps the launcher from starting another for a while, so
 *		the drop proceeds (with or without FORCE).
 *
 * Exactly-once delivery
 *	  A job must end as exactly one file attached to its store, whatever
 *	  crashes or network failures happen. The rules:
 *	  1. Every upload's filename carries a marker unique to the job:
 *		 "vsjob-<token>-<job id>_<filename>", where <token> is a random value
 *		 made when the extension was created in this database
 *		 (vectorstore.worker_state.token), so two databases or two
 *		 installations never share markers.
 *	  2. A job is claimed ('queued' -> 'uploading') in its own transaction,
 *		 with not_before set to now + vectorstore.worker_reconcile_delay,
 *		 before the request is sent. The file id is recorded in its own
 *		 transaction as soon as POST /files answers ('uploaded').
 *	  3. An upload whose outcome is unknown — the worker died, the
 *		 connection broke, timed out, or the server answered 5xx or
 *		 unparseable JSON — leaves the job 'uploading' with no file id. Such a
 *		 job is never uploaded again directly. Once its not_before has
 *		 passed (long enough for a stalled request to have landed or been
 *		 dropped), the sweep lists /files and looks for its marker: if found,
 *		 the job adopts that file ('uploaded'); if not, it goes back to
 *		 'queued' (or 'failed' after vectorstore.worker_max_attempts).
 *		 A 429 or another 4xx is a definite "nothing stored": back to the queue.
 *	  4. The sweep also deletes every marked file that no live job owns: a
 *		 second file of a job (a late landing), the file of a job that failed
 *		 or was cancelled. (Files of jobs deleted from the table are left
 *		 alone: purging history must not delete live files.) After it sends a
 *		 job back to the queue it runs once more a reconcile delay later, for
 *		 uploads that land even later than that.
 *	  5. Attaching is idempotent (attaching a file already in the store
 *		 changes nothing), so 'attaching' jobs whose batch id was never
 *		 recorded are simply attached again when a worker starts.
 *	  6. A job is 'completed' only when its batch reports its file completed;
 *		 a 'replace' job then detaches and deletes the file of the job it
 *		 replaces ('deleting'), so search never loses the row.
 *	  One worker runs per database, so no two processes work on the same
 *	  job; claims still use FOR UPDATE SKIP LOCKED so vs_job_cancel() and
 *	  friends never wait on the worker, and no transaction or lock is held
 *	  while a request is on the network.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"
#include "vs_worker.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include <signal.h>

PG_FUNCTION_INFO_V1(vs_queue_wake);

PGDLLEXPORT void vs_launcher_main(Datum arg);
PGDLLEXPORT void vs_worker_main(Datum arg);

/* settings */
int			vs_worker_concurrency = 8;
int			vs_worker_max_attempts = 5;
int			vs_worker_batch_size = 100;
int			vs_worker_poll_interval_ms = 1000;
int			vs_worker_reconcile_delay_ms = 120000;
int			vs_worker_naptime_ms = 10000;
int			vs_launcher_naptime_ms = 30000;

/* ---------------------------------------------------------------------
 * Shared memory
 * ---------------------------------------------------------------------
 */
#define VS_MAX_DBS 128

typedef struct VsDbSlot
{
	Oid			dboid;			/* InvalidOid: free */
	pid_t		pid;			/* the worker, 0 when none */
	Latch	   *latch;			/* its latch */
	bool		wanted;			/* a commit queued work: start a worker */
	TimestampTz noext_until;	/* no extension there: don't start before */
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

static bool vs_am_worker = false;
static bool vs_wake_pending = false;
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
vs_wake_database(Oid dboid)
{
	VsDbSlot   *s;

	if (vs_shared == NULL)
		return;
	LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
	s = vs_slot(dboid, true);
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
				vs_wake_database(MyDatabaseId);
			vs_wake_pending = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			vs_wake_pending = false;
			break;
		default:
			break;
	}
}

/* Statement trigger on vectorstore.job: wake the worker when this commits. */
Datum
vs_queue_wake(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "vs_queue_wake: not called by trigger manager");
	if (!vs_am_worker)
	{
		if (!vs_xact_cb_registered)
		{
			RegisterXactCallback(vs_xact_callback, NULL);
			vs_xact_cb_registered = true;
		}
		vs_wake_pending = true;
	}
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

		LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
		s = vs_slot(objectId, true);
		if (s)
		{
			s->blocked_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 15000);
			s->wanted = false;
			pid = s->pid;
		}
		LWLockRelease(vs_shared->lock);
		/* dropdb() waits a few seconds for the other backends to leave */
		if (pid != 0)
			kill(pid, SIGTERM);
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
	DefineCustomIntVariable("vectorstore.worker_batch_size",
							"Jobs the worker claims per step, and files per file batch.",
							NULL, &vs_worker_batch_size, 100, 1, 2000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vectorstore.worker_poll_interval",
							"Interval between polls of a file batch when the server suggests none.",
							NULL, &vs_worker_poll_interval_ms, 1000, 10, 600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("vectorstore.worker_reconcile_delay",
							"How long after an upload with an unknown outcome the worker looks for its file before uploading again.",
							NULL, &vs_worker_reconcile_delay_ms, 120000, 100, 86400000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("vectorstore.worker_naptime",
							"Longest sleep of an idle worker (it is also woken at each COMMIT that queues a job).",
							NULL, &vs_worker_naptime_ms, 10000, 10, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("vectorstore.launcher_naptime",
							"Interval at which the launcher looks for databases without a worker.",
							NULL, &vs_launcher_naptime_ms, 30000, 100, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

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

		if (scan)
		{
			dbs = vs_database_list();
			last_scan = now;
		}
		/* plus databases where a commit asked for a worker */
		LWLockAcquire(vs_shared->lock, LW_SHARED);
		for (int i = 0; i < VS_MAX_DBS; i++)
			if (vs_shared->slots[i].dboid != InvalidOid && vs_shared->slots[i].wanted)
				dbs = list_append_unique_oid(dbs, vs_shared->slots[i].dboid);
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
				if (s->blocked_until > now)
					start = false;
				else if (s->noext_until > now && !s->wanted)
					start = false;
				if (start)
					s->wanted = false;
			}
			LWLockRelease(vs_shared->lock);
			/* at most one start a second per database (crash loops) */
			for (k = 0; k < VS_MAX_DBS; k++)
				if (last_db[k] == dboid || last_db[k] == InvalidOid)
					break;
			if (k < VS_MAX_DBS && last_db[k] == dboid &&
				!TimestampDifferenceExceeds(last_start[k], now, 1000))
			{
				LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
				if (s)
					s->wanted = true;
				LWLockRelease(vs_shared->lock);
				start = false;
			}
			if (start)
			{
				vs_launch(dboid);
				if (k < VS_MAX_DBS)
				{
					last_db[k] = dboid;
					last_start[k] = now;
				}
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
					!list_member_oid(dbs, s->dboid) && s->blocked_until < now)
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
 * The worker
 * ---------------------------------------------------------------------
 */
typedef enum
{
	VS_EXT_READY,
	VS_EXT_ABSENT,
	VS_EXT_BUSY					/* being created, dropped or altered */
} VsExtState;

/* pg_cron's PgCronHasBeenLoaded and pg_net's is_extension_locked, together. */
static VsExtState
vs_extension_state(void)
{
	VsExtState	st = VS_EXT_READY;
	Oid			nsp;
	Oid			rel = InvalidOid;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!OidIsValid(get_extension_oid(VS_EXTENSION_NAME, true)))
		st = VS_EXT_ABSENT;
	else
	{
		nsp = get_namespace_oid("vectorstore", true);
		if (OidIsValid(nsp))
			rel = get_relname_relid("job", nsp);
		if (!OidIsValid(rel) || !OidIsValid(get_relname_relid("worker_state", nsp)))
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

void
vs_worker_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	MemoryContext loop_cxt;
	bool		recovered = false;
	long		timeout = 0;
	VsDbSlot   *s;
	char	   *dbname;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("vectorstore worker");
	vs_am_worker = true;
	vs_request_cap_enabled = false;	/* the cap is per SQL statement */

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
	LWLockRelease(vs_shared->lock);
	on_shmem_exit(vs_worker_detach, (Datum) 0);

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "vectorstore worker loop",
									 ALLOCSET_DEFAULT_SIZES);
	StartTransactionCommand();
	dbname = MemoryContextStrdup(TopMemoryContext, get_database_name(dboid));
	CommitTransactionCommand();
	elog(DEBUG1, "vectorstore worker started for database \"%s\"", dbname);

	for (;;)
	{
		int			work = 0;
		VsExtState	st;

		if (timeout > 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 timeout, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		timeout = vs_worker_naptime_ms;

		if (RecoveryInProgress())
			continue;
		st = vs_extension_state();
		if (st == VS_EXT_ABSENT)
		{
			LWLockAcquire(vs_shared->lock, LW_EXCLUSIVE);
			s = vs_slot(dboid, false);
			if (s)
				s->noext_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															 10 * vs_launcher_naptime_ms);
			LWLockRelease(vs_shared->lock);
			ereport(DEBUG1,
					(errmsg("vectorstore worker exiting: extension \"vectorstore\" is not installed in database \"%s\"",
							dbname)));
			proc_exit(0);
		}
		if (st == VS_EXT_BUSY)
		{
			timeout = 1000;
			continue;
		}

		PG_TRY();
		{
			TimestampTz next,
						now;

			if (!recovered)
			{
				vs_queue_recover();
				recovered = true;
			}
			vs_queue_begin_pass(loop_cxt);
			work += vs_queue_sweep();
			work += vs_queue_upload();
			work += vs_queue_attach();
			work += vs_queue_poll();
			work += vs_queue_delete();

			if (work > 0)
				timeout = 0;
			else
			{
				next = vs_queue_next_due();
				now = GetCurrentTimestamp();
				if (next != 0)
				{
					TimestampTz thr = vs_queue_throttle_end();

					if (next <= now && thr > now)
						next = thr;
					timeout = Min(timeout, Max(TimestampDifferenceMilliseconds(now, next), 100));
				}
			}
		}
		PG_CATCH();
		{
			/* an ERROR here is a bug or a database problem: log, wait, go on */
			MemoryContextSwitchTo(loop_cxt);
			EmitErrorReport();
			FlushErrorState();
			AbortOutOfAnyTransaction();
			pgstat_report_activity(STATE_IDLE, NULL);
			timeout = 5000;
		}
		PG_END_TRY();
	}
}
