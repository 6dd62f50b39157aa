/*-------------------------------------------------------------------------
 *
 * vs_worker.h
 *	  Declarations shared by the background worker (worker.c), the queue
 *	  steps it runs (queue.c) and table sync (sync.c). Internal to them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VS_WORKER_H
#define VS_WORKER_H

#include "datatype/timestamp.h"
#include "utils/palloc.h"

/* settings (worker.c) */
extern int	vs_worker_concurrency;
extern int	vs_worker_max_attempts;
extern int	vs_worker_batch_size;
extern int	vs_worker_poll_interval_ms;
extern int	vs_worker_reconcile_delay_ms;
extern int	vs_worker_naptime_ms;
extern int	vs_launcher_naptime_ms;

/* queue steps (queue.c); each returns how much it did */
extern void vs_queue_begin_pass(MemoryContext cxt);
extern void vs_queue_recover(void);
extern int	vs_queue_sweep(void);
extern int	vs_queue_upload(void);
extern int	vs_queue_attach(void);
extern int	vs_queue_poll(void);
extern int	vs_queue_delete(void);
extern TimestampTz vs_queue_next_due(void);
extern TimestampTz vs_queue_throttle_end(void);

/*
 * Helpers shared by the steps (queue.c). vq_cxt is the loop context, reset
 * each pass; vq_token the marker of this database's uploads.
 */
#include "executor/spi.h"
#include "vectorstore.h"

#define VQ_TERMINAL "('completed', 'failed', 'cancelled')"
#define VQ_MAX "current_setting('vectorstore.worker_max_attempts')::int"
/* delay_ms of vq_record_failure(): back off by the job's attempts (0.5 s doubling, 60 s cap) */
#define VQ_BACKOFF (-1)

extern MemoryContext vq_cxt;
extern char *vq_token;

extern void vq_begin(const char *activity);
extern void vq_commit(void);
extern void vq_exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls);
extern char *vq_text(int row, int col);
extern int64 vq_int8(int row, int col);
extern Datum vq_text_datum(const char *s);
extern Datum vq_id_array(int64 *ids, int n);
extern VsCredential *vq_cred(const char *name);
extern void vq_throttle_set(const char *name, int delay_ms);
extern int	vq_429_delay(const VsResponse *r);
extern cJSON *vq_parse(const VsRequest *req, const VsResponse *resp, char **err);
extern const char *vq_str(const cJSON *o, const char *key);
extern int	vq_int(const cJSON *o, const char *key);
extern void vq_send(VsRequest *reqs, VsResponse *resps, int n);
extern char *vq_error(const VsRequest *req, const VsResponse *resp);
/* failed tries gathered during a step, recorded with one statement */
typedef struct VqFailures
{
	int			n,
				cap;
	int64	   *ids;
	Datum	   *status,
			   *error,
			   *count,
			   *delay;
} VqFailures;
extern void vq_fail_add(VqFailures *f, int64 *ids, int n, const char *retry_status,
						const char *error, bool count_attempt, int delay_ms);
extern void vq_fail_flush(VqFailures *f);
extern void vq_record_failure(int64 *ids, int n, const char *retry_status,
							  const char *error, bool count_attempt, int delay_ms);

#endif							/* VS_WORKER_H */
