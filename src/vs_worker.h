/*-------------------------------------------------------------------------
 *
 * vs_worker.h
 *	  Declarations shared by the background worker's files. Internal to them:
 *	  worker.c     processes (launcher, worker), shared memory, waking at
 *	               COMMIT, the worker's session hardening and its loop
 *	  step.c       transactions, SPI and kept plans; acting as the extension's
 *	               owner; authority at send time; 429 hold-backs; the one
 *	               step driver (claim -> send -> record, and its fallback)
 *	  jobs.c       the steps over jobs: upload, attach, poll, remove
 *	  reconcile.c  the sweep: lost uploads, duplicates, orphans
 *	  queue.c      what roles call: enqueue, cancel, retry, pause, resume
 *	  sync.c       table sync: the trigger, the one diff, the sync functions
 *	The job states and their transitions are SQL functions in
 *	sql/install/51_queue_functions.sql and 61_sync_functions.sql; nothing here writes an UPDATE.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VS_WORKER_H
#define VS_WORKER_H

#include "vectorstore.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "utils/palloc.h"

/* ---------------------------------------------------------------------
 * Settings (worker.c)
 * ---------------------------------------------------------------------
 */
extern int	vs_worker_concurrency;
extern int	vs_worker_max_attempts;
extern int	vs_worker_max_throttles;
extern int	vs_worker_request_timeout_ms;
extern int	vs_worker_batch_size;
extern int	vs_worker_poll_interval_ms;
extern int	vs_worker_reconcile_delay_ms;
extern int	vs_worker_naptime_ms;
extern int	vs_launcher_naptime_ms;
extern int	vs_worker_sync_timeout_ms;
extern int	vs_job_retention_s;

/* Never poll a file batch more often than this, whatever the server says. */
#define VQ_POLL_FLOOR_MS	100

/* ---------------------------------------------------------------------
 * Waking the worker (worker.c)
 * ---------------------------------------------------------------------
 */
/* At COMMIT of this transaction, wake this database's worker (or start one). */
extern void vs_worker_wake_at_commit(bool resume);
/* the longest vector store id and filename a job may name (queue.c) */
#define VS_MAX_JOB_STORE_ID 256
#define VS_MAX_JOB_FILENAME 1024
extern char *vs_job_names_problem(const char *store, const char *filename);
/* True in the worker process itself. */
extern bool vs_am_worker;

/* ---------------------------------------------------------------------
 * Transactions, SPI, the extension's owner (step.c)
 * ---------------------------------------------------------------------
 */
extern MemoryContext vq_cxt;	/* the worker's loop context, reset each pass */
extern char *vq_token;			/* this database's marker token */

extern void vq_begin(const char *activity);
extern void vq_commit(void);
extern void vq_no_wait_for_disk(void);
extern void vq_exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls);
extern char *vq_text(int row, int col);
extern int64 vq_int8(int row, int col);
extern int32 vq_int4(int row, int col);
extern bool vq_bool(int row, int col);
extern bool vq_isnull(int row, int col);
extern Datum vq_text_datum(const char *s);
extern Datum vq_text_array(char **s, int n);
extern Datum vq_id_array(const int64 *ids, int n);
extern Datum vq_int4_array(const int *v, int n);
extern char **vq_text_array_elems(int row, int col, int *n);
extern int64 *vq_int8_array_elems(int row, int col, int *n);

/*
 * Run fn(arg) in a subtransaction of the current transaction. Returns true
 * when it completed; false (and *err, the error's message) when it raised:
 * the subtransaction is rolled back and the transaction goes on.
 */
extern bool vq_try(void (*fn) (void *arg), void *arg, char **err);

/*
 * The extension's owner, and running SQL as that owner from a session
 * function (queue.c, sync.c): the caller's identity must be read before.
 * vs_owner_begin() switches to the owner in a security-restricted operation
 * with search_path = pg_catalog, pg_temp and connects SPI; vs_owner_end()
 * undoes it (also on ERROR: call it in PG_FINALLY).
 */
typedef struct VsOwnerCall
{
	Oid			save_user;
	int			save_sec;
	int			nestlevel;
	bool		spi;
} VsOwnerCall;
extern Oid	vs_extension_owner(void);
extern const char *vs_extension_schema_problem(void);
extern void vs_check_extension_schema(void);
extern void vs_owner_begin(VsOwnerCall *c);
extern void vs_owner_end(VsOwnerCall *c);
/* One statement as the owner; read(arg) reads its result before it goes. */
extern void vs_owner_run(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
						 void (*read) (void *arg), void *arg);

/*
 * Fix the GUCs code running as another role depends on, for this nesting
 * level: search_path and the settings that change how values print (so a
 * hash of a row is the same in every session and in the worker).
 */
extern void vs_fixed_gucs(void);

/* ---------------------------------------------------------------------
 * Authority at send time and 429 hold-backs (step.c)
 * ---------------------------------------------------------------------
 */
/*
 * The credential `owner` may use under `cred` ("" or NULL: the settings),
 * checked now through vs_credential_for_role() and remembered for this pass.
 * NULL with *err when the role is gone or may not use it. In a transaction.
 */
extern const VsCredential *vq_authority(const char *owner, const char *cred, char **err);
extern void vq_authority_reset(void);
extern int	vq_throttle_set(const char *cred, int delay_ms);
extern void vq_throttle_clear(const char *cred);
extern Datum vq_throttled(void);
/* what each credential with units open may still have claimed (p_room_creds, p_room) */
extern void vq_room(Datum *creds, Datum *rooms);
/* units open per (owner, credential): the fair pick's p_open_owners, p_open_creds, p_open */
extern void vq_open_by_owner(Datum *owners, Datum *creds, Datum *counts);
/*
 * The fair pick's round (_job_fair_pick's p_after_owner, p_after_cred): the
 * (owner, credential) that came first in a step's last claim; the next claim
 * puts the one after it first within each turn.
 */
typedef struct VqPickRound
{
	char	   *owner;			/* TopMemoryContext; NULL: none yet */
	char	   *cred;			/* "" for the settings */
} VqPickRound;
extern void vq_pick_round_args(const VqPickRound *r, Datum *vals, char *nulls);
extern void vq_pick_round_set(VqPickRound *r, int row, int owner_col, int cred_col, int first_col);
/* uploads recorded (n > 0) or claimed for attaches (n < 0) of a credential */
extern void vq_gather_count(const char *cred, int n);
extern TimestampTz vq_throttle_end(void);

/* Counters gathered during a pass, flushed with the heartbeat. */
typedef struct VqCounters
{
	int64		done;
	int64		failed;
	int64		uploaded;
	int64		adopted;
	int64		deleted;
} VqCounters;
extern VqCounters vq_counters;

/* ---------------------------------------------------------------------
 * The step driver (step.c)
 * ---------------------------------------------------------------------
 * A unit is one request (or, for removals, a detach and a delete) sent on
 * behalf of one or more jobs with one owner's authority. A step claims its
 * units in a short transaction (where authority is checked), builds and
 * sends them with no transaction open, and records every outcome in
 * another: set-based first; if that raises, unit by unit in
 * subtransactions, and a unit whose record still raises fails with that
 * error, so one job's data never stops the others.
 */
typedef struct VqUnit
{
	int64	   *ids;
	int			nids;
	char	   *owner;
	char	   *cred;			/* "" = the settings */
	const VsCredential *credential; /* after the authority check */
	bool		unauthorized;	/* the owner may not use the credential (invalid says why) */
	char	   *invalid;		/* not sent: its jobs fail with this */
	bool		nosend;			/* nothing to send: done as it is */
	VsRequest	req;
	VsResponse	resp;
	VsRequest	req2;			/* a second request (removals) */
	VsResponse	resp2;
	VsOutcome	outcome;		/* what came of it */
	char	   *error;			/* why it did not succeed */
	char	   *result;			/* the step's result (file id, batch id, ...) */
	int			delay_ms;		/* the step's delay (a poll interval) */
	void	   *data;			/* the step's own */
	int64		bytes;			/* the request body it holds (in its run's memory: vq_held_bytes) */
	/* the driver's */
	bool		skip;			/* its job is still open in another run: left alone */
	bool		sent;			/* a request went */
	void	   *flight;			/* its request, until it ends (vs_flights_withdraw) */
	bool		finished;		/* its outcome is known: to be recorded */
	bool		recorded;
} VqUnit;

typedef struct VqRun VqRun;
typedef struct VqStep
{
	const char *name;			/* for pg_stat_activity: "uploads", ... */
	/* in the claim transaction: claim rows, fill run->units (owner, cred) */
	void		(*claim) (VqRun *run);
	/* in the claim transaction, after authority (optional) */
	void		(*claimed) (VqRun *run);
	/* outside a transaction: build u->req (or set u->invalid / u->nosend) */
	void		(*build) (VqRun *run, VqUnit *u);
	/*
	 * outside a transaction, when a request of u ended (outcome set;
	 * optional): true to send u->req2 next (a removal's delete after its
	 * detach). A unit whose req has no method starts with req2.
	 */
	bool		(*then) (VqRun *run, VqUnit *u, bool second);
	/* outside a transaction, once sent: read a DONE answer */
	void		(*digest) (VqRun *run, VqUnit *u);
	/* in a (sub)transaction: record n units; may raise */
	void		(*record) (VqRun *run, VqUnit *units, int n);
	/* after the record committed, no transaction open (optional) */
	void		(*after) (VqRun *run, VqUnit *units, int n);
	/*
	 * a unit whose request has not started when its credential's server
	 * turns slow may be given back: recorded with the outcome "unsent"
	 * (the record passes it to vq_record_failures)
	 */
	bool		withdraw;
	/*
	 * claiming again after a crash is harmless (the claim's request is
	 * idempotent): its claim commits without waiting for the disk
	 */
	bool		claim_no_wait;
} VqStep;

struct VqRun
{
	const VqStep *step;
	VqUnit	   *units;
	int			n;
	int			cap;
	int			claimed;		/* jobs claimed (how much work the step did) */
	MemoryContext cxt;			/* everything of the run, until each unit is recorded */
	TimestampTz started;		/* when it was claimed */
};

extern VqUnit *vq_unit_add(VqRun *run, const char *owner, const char *cred, int nids);
extern void vq_held_bytes(const VqStep *step, Datum *creds, Datum *bytes);
/* claim a step's work and send it without waiting; returns the work claimed */
extern int	vq_step_run(const VqStep *step);
/* a run made by hand (units added with vq_unit_add), then sent: see step.c */
extern VqRun *vq_run_new(const VqStep *step);
extern void vq_run_send(VqRun *run);
/* has step a unit of (owner, cred) not yet recorded? */
extern bool vq_unit_open(const VqStep *step, const char *owner, const char *cred);
/* drive the requests in flight for at most wait_ms, then record what finished */
extern int	vq_flights_pump(long wait_ms);
/* > 0 while any claimed unit is not yet recorded */
extern int	vq_flights_inflight(void);
/* after an ERROR: release every request in flight, forget every run */
extern void vq_flights_abort(void);
/* what a unit's outcome is called in the SQL policy */
extern const char *vq_outcome_sql(const VqUnit *u);
/* The common failure record: u's jobs by u->outcome, back to retry_status. */
extern void vq_record_failures(VqUnit *units, int n, const char *retry_status);
/* Request options stored with a job (jsonb text), parsed; NULL and *err if refused. */
extern VsRequestOptions *vq_options(const char *json, char **err);

/* ---------------------------------------------------------------------
 * Steps (jobs.c, reconcile.c, sync.c)
 * ---------------------------------------------------------------------
 */
extern const VqStep vq_step_upload;
extern const VqStep vq_step_attach;
extern const VqStep vq_step_poll;
extern const VqStep vq_step_remove;
extern const VqStep vq_step_sweep;
extern int	vq_sweep(void);
extern int	vq_sync_pass(void);

/* The one diff of a sync (sync.c): in the current transaction. */
typedef struct VsSyncCounts
{
	int64		new_rows;
	int64		changed;
	int64		deleted;
	int64		unchanged;
} VsSyncCounts;
extern bool vs_sync_compute(const char *name, bool worker, VsSyncCounts *counts);

#endif							/* VS_WORKER_H */
