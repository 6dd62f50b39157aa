/*-------------------------------------------------------------------------
 *
 * transport.h
 *	  The libcurl layer (transport.c), used only by the client (client.c).
 *
 * A "wire" is a request as it goes out: an absolute URL, finished header
 * lines and a body. The transport sends wires — one, or many at once over a
 * pool of connections — and hands back a VsResponse for each. It never
 * raises for an HTTP status or a transport failure: those are responses
 * (status 0 and an error text for the latter). It raises only for what ends
 * the whole call: a cancel, statement_timeout or termination (after every
 * handle is released), and out of memory.
 *
 * The transport knows nothing of credentials, the API or retry policy: the
 * caller says, after each failed attempt, whether and when to try again.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VS_TRANSPORT_H
#define VS_TRANSPORT_H

#include "vectorstore.h"

#include "datatype/timestamp.h"

typedef struct VsWire
{
	const char *method;			/* GET, POST, DELETE */
	const char *url;			/* absolute */
	const char *const *headers; /* "Name: value" lines, checked by the client */
	int			nheaders;
	const char *body;			/* NULL: none */
	size_t		body_len;
	long		timeout_ms;		/* per attempt */
	long		connect_timeout_ms;
	bool		no_proxy;		/* never through a proxy (plain http to loopback) */
	const char *resolve;		/* CURLOPT_RESOLVE entry "host:port:addrs", or NULL */
} VsWire;

/*
 * After a failed attempt of request i: how many milliseconds to wait before
 * the next one, or -1 for none (the response is final). resp->body is the
 * attempt's body (may be NULL): look, do not keep or free.
 */
typedef int (*VsRetryFn) (int i, const VsResponse *resp, int retries_done, void *arg);

/*
 * Request i is finished (resp is final). The callback may parse the body
 * and release it at once (vs_response_release), so that a call over many
 * requests holds only the bodies not yet looked at.
 */
typedef void (*VsDoneFn) (int i, VsResponse *resp, void *arg);

/*
 * Admission, for a caller that paces its requests (client.c with pacing.c):
 * asked, when a slot is free, whether attempt i may start now. 0: start it;
 * > 0: not for that many milliseconds; < 0: not before an attempt of this
 * run ends. It must not raise.
 */
typedef int (*VsAdmitFn) (int i, TimestampTz now, void *arg);

/*
 * Told when an attempt of request i starts (resp NULL) and when it ends
 * (resp: what it got, before any retry is decided). It must not raise.
 */
typedef void (*VsAttemptFn) (int i, const VsResponse *resp, TimestampTz now, void *arg);

typedef struct VsTransportRun
{
	const VsWire *wires;
	VsResponse *resps;			/* n, filled in */
	int			n;
	int			concurrency;	/* transfers at once (1..VS_MAX_CONCURRENCY) */
	VsRetryFn	retry;			/* NULL: no retries */
	void	   *retry_arg;
	VsDoneFn	done;			/* NULL: bodies stay in resps; may raise */
	void	   *done_arg;
	VsAdmitFn	admit;			/* NULL: start whenever a slot is free */
	VsAttemptFn attempt;		/* NULL: not told */
	void	   *pace_arg;		/* for admit and attempt */
	VsBudget   *budget;			/* response bytes alive at once (required) */
	int64		max_attempts;	/* attempts this run may start; -1: no limit */
} VsTransportRun;

#define VS_MAX_CONCURRENCY	64

/* Send every wire of the run; see the file header for what raises. */
extern void vs_transport_run(VsTransportRun *run);

/* Transfers that outlive a call (the background worker's): see transport.c. */
extern void *vs_flights_add(VsFlights *f, const VsWire *wire, VsResponse *resp, const char *group,
							VsDoneFn done, void *arg, int index, MemoryContext cxt);

/* Attempts started by this process (every retry counts). */
extern uint64 vs_transport_attempts;

#endif							/* VS_TRANSPORT_H */
