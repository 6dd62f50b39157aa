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

#endif							/* VS_WORKER_H */
