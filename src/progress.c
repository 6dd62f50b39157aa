/*-------------------------------------------------------------------------
 *
 * progress.c
 *	  Progress of long calls: a vs_upload_many of 2,000 rows or a long
 *	  vs_sync_run shows how far it is, to its user (a NOTICE every
 *	  vectorstore.progress_notice_interval, in psql) and to a DBA in another
 *	  session (the view vectorstore.progress).
 *
 * Every call that sends several requests at once reports, through the
 * client, how many of them are done (vs_progress_requests); a caller may
 * name what it is doing first (vs_progress_phase, e.g. "uploading files").
 * When the library is preloaded, each backend has a slot in shared memory
 * (indexed by its backend id) that only it writes: readers copy a slot under
 * its change counter (even: stable), as pgstat does for backend status.
 * Without preloading there is no shared memory: the NOTICEs still come, the
 * view shows nothing, and the README says so.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "access/xact.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "catalog/pg_authid.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(vs_progress);

int			vs_progress_notice_ms = 10000;	/* vectorstore.progress_notice_interval */

typedef struct VsProgressSlot
{
	uint32		changecount;	/* odd while the owner writes */
	int			pid;			/* 0: nothing in progress */
	Oid			userid;
	char		phase[64];
	int64		done;
	int64		total;
	TimestampTz started_at;
	TimestampTz updated_at;
} VsProgressSlot;

static VsProgressSlot *vs_progress_slots = NULL;
static int	vs_progress_nslots = 0;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* this backend's own state (also without shared memory) */
static char vs_phase[64] = "";
static TimestampTz vs_started = 0;
static TimestampTz vs_statement = 0;	/* the statement the progress belongs to */
static TimestampTz vs_last_notice = 0;
static bool vs_xact_cb = false;

static void
vs_progress_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(mul_size(sizeof(VsProgressSlot), MaxBackends));
}

static void
vs_progress_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	vs_progress_slots = ShmemInitStruct("vectorstore progress",
										mul_size(sizeof(VsProgressSlot), MaxBackends),
										&found);
	if (!found)
		memset(vs_progress_slots, 0, mul_size(sizeof(VsProgressSlot), MaxBackends));
	vs_progress_nslots = MaxBackends;
	LWLockRelease(AddinShmemInitLock);
}

/* This backend's slot, or NULL without shared memory. */
static VsProgressSlot *
vs_my_slot(void)
{
	if (vs_progress_slots == NULL || MyBackendId <= 0 || MyBackendId > vs_progress_nslots)
		return NULL;
	return &vs_progress_slots[MyBackendId - 1];
}

static void
vs_progress_write(int64 done, int64 total, bool clear)
{
	VsProgressSlot *s = vs_my_slot();

	if (s == NULL)
		return;
	s->changecount++;
	pg_write_barrier();
	if (clear)
		s->pid = 0;
	else
	{
		s->pid = MyProcPid;
		s->userid = GetUserId();
		strlcpy(s->phase, vs_phase[0] ? vs_phase : "requests", sizeof(s->phase));
		s->done = done;
		s->total = total;
		s->started_at = vs_started;
		s->updated_at = GetCurrentTimestamp();
	}
	pg_write_barrier();
	s->changecount++;
}

/* The call (or the transaction) is over: nothing in progress any more. */
static void
vs_progress_clear(void)
{
	vs_phase[0] = '\0';
	vs_started = 0;
	vs_last_notice = 0;
	vs_progress_write(0, 0, true);
}

static void
vs_progress_xact(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		if (vs_started != 0)
			vs_progress_clear();
	}
}

/* Name what the next requests of this call are doing ("uploading files"). */
void
vs_progress_phase(const char *phase)
{
	strlcpy(vs_phase, phase, sizeof(vs_phase));
}

/*
 * done of total requests of the current call are finished. Called by the
 * client as responses arrive; a NOTICE goes to the client at most every
 * vectorstore.progress_notice_interval, once a call has run that long.
 */
void
vs_progress_requests(int64 done, int64 total)
{
	TimestampTz now = GetCurrentTimestamp();

	if (!vs_xact_cb)
	{
		RegisterXactCallback(vs_progress_xact, NULL);
		vs_xact_cb = true;
	}
	/* a new statement is a new call */
	if (vs_started != 0 && vs_statement != GetCurrentStatementStartTimestamp())
		vs_progress_clear();
	if (vs_started == 0)
	{
		vs_started = now;
		vs_last_notice = now;
		vs_statement = GetCurrentStatementStartTimestamp();
	}
	vs_progress_write(done, total, false);
	if (vs_progress_notice_ms > 0 && !IsBackgroundWorker &&
		TimestampDifferenceExceeds(vs_last_notice, now, vs_progress_notice_ms))
	{
		vs_last_notice = now;
		ereport(NOTICE,
				(errmsg("vectorstore: %s: " INT64_FORMAT " of " INT64_FORMAT " requests done (%d%%)",
						vs_phase[0] ? vs_phase : "requests", done, total,
						total > 0 ? (int) (100 * done / total) : 0)));
	}
}

/* The call is over (its caller says so, or the transaction ends). */
void
vs_progress_done(void)
{
	if (vs_started != 0)
		vs_progress_clear();
}

/*
 * vectorstore.vs_progress(): the calls in progress in every session the
 * caller may see (its own roles', or all for members of pg_read_all_stats).
 */
Datum
vs_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; vs_progress_slots && i < vs_progress_nslots; i++)
	{
		VsProgressSlot copy;
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};

		for (int tries = 0; tries < 1000; tries++)
		{
			uint32		before = vs_progress_slots[i].changecount;

			pg_read_barrier();
			memcpy(&copy, &vs_progress_slots[i], sizeof(copy));
			pg_read_barrier();
			if (before == vs_progress_slots[i].changecount && (before & 1) == 0)
				break;
			copy.pid = 0;
		}
		if (copy.pid == 0)
			continue;
		if (!all && !has_privs_of_role(GetUserId(), copy.userid))
			continue;
		copy.phase[sizeof(copy.phase) - 1] = '\0';
		values[0] = Int32GetDatum(copy.pid);
		values[1] = CStringGetTextDatum(copy.phase);
		values[2] = Int64GetDatum(copy.done);
		values[3] = Int64GetDatum(copy.total);
		values[4] = Float8GetDatum(copy.total > 0 ? 100.0 * copy.done / copy.total : 0.0);
		values[5] = TimestampTzGetDatum(copy.started_at);
		values[6] = TimestampTzGetDatum(copy.updated_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* _PG_init: the setting, and shared memory when preloaded. */
void
vs_progress_init(void)
{
	DefineCustomIntVariable("vectorstore.progress_notice_interval",
							"How often a long call tells its client how far it is (a NOTICE); 0: never.",
							NULL, &vs_progress_notice_ms, 10000, 0, 3600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	if (process_shared_preload_libraries_in_progress)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = vs_progress_shmem_request;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = vs_progress_shmem_startup;
	}
}
