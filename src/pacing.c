/*-------------------------------------------------------------------------
 *
 * pacing.c
 *	  Adaptive concurrency per credential: how many requests of one
 *	  credential may be in flight at once, learned from how the server
 *	  answers. Used by vs_upload_many (through vs_http_execute_paced) and
 *	  offered to the background worker.
 *
 * Why
 * ---
 * At a fixed latency, throughput is concurrency / latency: the SDKs upload
 * 5 files at a time, which at 100 ms is 50 uploads/s however fast the
 * account may go. Going wider is the lever, but a real account answers too
 * much concurrency with 429s. So: start where the SDK does, grow while the
 * server keeps up, back off when it says it cannot.
 *
 * The rule (per credential, per process)
 * --------------------------------------
 *	  - The window (requests in flight) starts at VS_PACE_START (5, as the
 *		SDKs) and never leaves 1..VS_MAX_CONCURRENCY; a call may ask for less
 *		(its max_concurrency), never more.
 *	  - Growth: a success that arrives while the window was full adds one
 *		request to it — doubling per round trip until the credential has
 *		been throttled once (TCP's slow start), then one more per window of
 *		successes (its congestion avoidance). A success while the window
 *		was not full says nothing about a larger one: no growth.
 *	  - A 429: the server says this credential is over its rate. Every
 *		request of the credential is held back until the time the server
 *		asked for (retry-after-ms / Retry-After, else the SDK back-off),
 *		and the window shrinks — to what the server has been taking (the
 *		successes of the last round trip), but never below half and always
 *		by at least one. One shrink per window: the
 *		429s that answer requests sent before the last shrink are the same
 *		congestion, not new news; one that answers a request sent after it
 *		is. A 429 costs the request no attempt (client.c), at most
 *		VS_PACE_MAX_THROTTLES times.
 *	  - A 5xx, a timeout or a broken connection shrinks the window the same
 *		way (an overloaded server often says so that way) without a hold;
 *		the request's own retry waits its back-off.
 *	  - A window unused for VS_PACE_IDLE_MS starts again from the start.
 *
 * State
 * -----
 * What is learned (window, hold, round-trip time, counters) lives per
 * process in TopMemoryContext, keyed by the credential's name, base URL and
 * a hash of its key, so every call of a session — and every pass of the
 * worker — starts from what the last one learned. What is in flight belongs
 * to one run (VsPaceRun, palloc'd by the caller), so an ERROR or a cancel
 * in the middle of a run cannot leave a count behind.
 *
 * For the worker
 * --------------
 * vs_http_execute_paced() sends any mix of credentials' requests, each
 * credential paced apart. Between passes, vs_pace_hold_ms(cred) says how
 * long a throttled credential is still held (claim none of its jobs until
 * then) and vs_pace_concurrency(cred) how many requests it may have in
 * flight (worth claiming per pass). None of these raise but for out of
 * memory.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"
#include "transport.h"

#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#define VS_PACE_IDLE_MS		60000	/* unused this long: start again */
#define VS_PACE_RTT_MS		100		/* round trip shown before one is seen */
#define VS_PACE_RING		(2 * VS_MAX_CONCURRENCY)	/* successes remembered */

PG_FUNCTION_INFO_V1(vs_pacing);

/* What a process has learned about one credential. */
struct VsPace
{
	char	   *name;			/* credential name, NULL for the settings */
	char	   *base_url;
	uint64		key_hash;		/* of the API key: a new key is a new account */
	int			window;			/* requests in flight allowed */
	int			acked;			/* successes since the window last grew */
	bool		throttled_once; /* slow start is over */
	TimestampTz hold_until;		/* after a 429: nothing starts before */
	TimestampTz last_shrink;
	TimestampTz last_used;
	double		rtt_ms;			/* smoothed round trip of successes */
	TimestampTz ok_at[VS_PACE_RING];	/* when the last successes came */
	int			ok_next;		/* next slot of ok_at to write */
	/* counters, for vs_pacing() */
	int64		attempts;
	int64		throttles;
	int64		shrinks;
	int			peak;			/* largest window reached */
	struct VsPace *next;
};

static VsPace *vs_paces = NULL;

static uint64
vs_pace_key_hash(const VsCredential *cred)
{
	const char *k = cred->api_key ? cred->api_key : "";

	return hash_bytes_extended((const unsigned char *) k, (int) strlen(k), 0x7ace);
}

static bool
vs_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* The process's state for cred, created on first use. */
VsPace *
vs_pace_for(const VsCredential *cred)
{
	uint64		h = vs_pace_key_hash(cred);
	VsPace	   *p;

	for (p = vs_paces; p; p = p->next)
		if (p->key_hash == h && vs_str_eq(p->name, cred->name) &&
			vs_str_eq(p->base_url, cred->base_url))
			return p;
	p = MemoryContextAllocZero(TopMemoryContext, sizeof(VsPace));
	p->name = cred->name ? MemoryContextStrdup(TopMemoryContext, cred->name) : NULL;
	p->base_url = MemoryContextStrdup(TopMemoryContext, cred->base_url ? cred->base_url : "");
	p->key_hash = h;
	p->window = VS_PACE_START;
	p->peak = VS_PACE_START;
	p->rtt_ms = VS_PACE_RTT_MS;
	p->next = vs_paces;
	vs_paces = p;
	return p;
}

/* A window unused for a while knows nothing about the server of now. */
static void
vs_pace_touch(VsPace *p, TimestampTz now)
{
	if (p->last_used != 0 &&
		TimestampDifferenceExceeds(p->last_used, now, VS_PACE_IDLE_MS))
	{
		p->window = VS_PACE_START;
		p->acked = 0;
		p->throttled_once = false;
	}
	p->last_used = now;
}

static long
vs_ms_until(TimestampTz now, TimestampTz then)
{
	long		secs;
	int			usecs;

	if (then <= now)
		return 0;
	TimestampDifference(now, then, &secs, &usecs);
	return secs * 1000 + (usecs + 999) / 1000;
}

int
vs_pace_hold_ms(const VsCredential *cred)
{
	return (int) Min(vs_ms_until(GetCurrentTimestamp(), vs_pace_for(cred)->hold_until),
					 INT_MAX);
}

int
vs_pace_concurrency(const VsCredential *cred)
{
	VsPace	   *p = vs_pace_for(cred);

	vs_pace_touch(p, GetCurrentTimestamp());
	return p->window;
}

/* ---------------------------------------------------------------------
 * One run: the requests of one vs_http_execute_paced() call
 * ---------------------------------------------------------------------
 */
struct VsPaceRun
{
	int			n;
	int			ceiling;		/* the call's max_concurrency */
	VsPace	  **pace;			/* per request */
	int		   *slot;			/* per request: its credential's index below */
	TimestampTz *started;		/* per request: when its attempt started */
	int			ncred;
	VsPace	  **creds;			/* per credential of the run */
	int		   *inflight;		/* per credential of the run */
};

VsPaceRun *
vs_pace_run_begin(const VsCredential *const *creds, int n, int ceiling)
{
	VsPaceRun  *pr = palloc0(sizeof(VsPaceRun));
	TimestampTz now = GetCurrentTimestamp();

	pr->n = n;
	pr->ceiling = Max(1, Min(ceiling, VS_MAX_CONCURRENCY));
	pr->pace = palloc0(sizeof(VsPace *) * Max(n, 1));
	pr->slot = palloc0(sizeof(int) * Max(n, 1));
	pr->started = palloc0(sizeof(TimestampTz) * Max(n, 1));
	pr->creds = palloc0(sizeof(VsPace *) * Max(n, 1));
	pr->inflight = palloc0(sizeof(int) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		VsPace	   *p = vs_pace_for(creds[i]);
		int			c;

		for (c = 0; c < pr->ncred; c++)
			if (pr->creds[c] == p)
				break;
		if (c == pr->ncred)
		{
			pr->creds[pr->ncred++] = p;
			vs_pace_touch(p, now);
		}
		pr->pace[i] = p;
		pr->slot[i] = c;
	}
	return pr;
}

/* See VsAdmitFn: may request i start now? */
int
vs_pace_run_admit(VsPaceRun *pr, int i, TimestampTz now)
{
	VsPace	   *p = pr->pace[i];

	if (p->hold_until > now)
		return (int) Max(1, Min(vs_ms_until(now, p->hold_until), INT_MAX));
	if (pr->inflight[pr->slot[i]] >= Min(p->window, pr->ceiling))
		return -1;
	return 0;
}

/* How long request i's credential is still held (0: not held). */
int
vs_pace_run_hold_ms(VsPaceRun *pr, int i)
{
	return (int) Min(vs_ms_until(GetCurrentTimestamp(), pr->pace[i]->hold_until), INT_MAX);
}

/*
 * How many requests the server has been holding for us at once: the
 * successes of the last round trip (each was in flight for about that
 * long). The requests in flight now are no measure: with a server that
 * answers 429 at once, they are mostly the ones about to be refused.
 */
static int
vs_pace_accepted(VsPace *p, TimestampTz now)
{
	TimestampTz since = now - (TimestampTz) (p->rtt_ms * 1000.0);
	int			n = 0;

	for (int k = 0; k < VS_PACE_RING; k++)
		if (p->ok_at[k] > since)
			n++;
	return n;
}

/*
 * Shrink after congestion signalled by an attempt that started at
 * `started`: once per window, as TCP does — an answer to a request sent
 * before the last shrink tells of the same congestion; one sent after it
 * says the smaller window is still too large.
 */
static void
vs_pace_shrink(VsPace *p, TimestampTz started, TimestampTz now)
{
	int			w;

	if (started <= p->last_shrink)
		return;
	/* what the server has been taking, but at most halved, at least by one */
	w = Max(vs_pace_accepted(p, now), p->window / 2);
	w = Min(w, p->window - 1);
	p->window = Max(w, 1);
	p->acked = 0;
	p->throttled_once = true;
	p->last_shrink = now;
	p->shrinks++;
}

/*
 * See VsAttemptFn. kind is what the attempt's outcome means, delay_ms the
 * wait the server asked for (a 429), -1 when none.
 */
void
vs_pace_run_attempt(VsPaceRun *pr, int i, const VsResponse *resp, VsOutcomeKind kind,
					int delay_ms, TimestampTz now)
{
	VsPace	   *p = pr->pace[i];
	int		   *inflight = &pr->inflight[pr->slot[i]];
	bool		full;

	if (resp == NULL)
	{
		(*inflight)++;
		pr->started[i] = now;
		p->last_used = now;
		return;
	}
	/* was the window in use when this answer came? */
	full = *inflight >= Min(p->window, pr->ceiling);
	*inflight = Max(*inflight - 1, 0);
	p->attempts++;
	p->last_used = now;
	switch (kind)
	{
		case VS_OUTCOME_DONE:
			{
				long		secs;
				int			usecs;
				double		rtt;

				TimestampDifference(pr->started[i], now, &secs, &usecs);
				rtt = secs * 1000.0 + usecs / 1000.0;
				p->rtt_ms = 0.875 * p->rtt_ms + 0.125 * rtt;
				p->ok_at[p->ok_next] = now;
				p->ok_next = (p->ok_next + 1) % VS_PACE_RING;
				/* no evidence for a larger window beyond the call's ceiling */
				if (!full || p->window >= pr->ceiling)
					break;
				if (!p->throttled_once)
					p->window++;
				else if (++p->acked >= p->window)
				{
					p->window++;
					p->acked = 0;
				}
				p->peak = Max(p->peak, p->window);
				break;
			}
		case VS_OUTCOME_THROTTLE:
			{
				TimestampTz until;

				p->throttles++;
				if (delay_ms < 0)
					delay_ms = vs_backoff_ms(0);
				until = TimestampTzPlusMilliseconds(now, delay_ms);
				if (until > p->hold_until)
					p->hold_until = until;
				vs_pace_shrink(p, pr->started[i], now);
				break;
			}
		case VS_OUTCOME_RETRY:
		case VS_OUTCOME_UNKNOWN:
			/* 5xx, timeouts, resets: an overloaded server; a 408/409 too */
			if (resp->status == 0 || resp->status >= 500)
				vs_pace_shrink(p, pr->started[i], now);
			break;
		case VS_OUTCOME_PERMANENT:
		case VS_OUTCOME_UNSENT: /* never started: says nothing of the server */
			break;
	}
}

/* ---------------------------------------------------------------------
 * vs_pacing(): what this session has learned, per credential the current
 * role may use (names only: never a key or a URL)
 * ---------------------------------------------------------------------
 */
Datum
vs_pacing(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	TimestampTz now = GetCurrentTimestamp();

	char	   *role = GetUserNameFromId(GetUserId(), false);

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	for (VsPace *p = vs_paces; p; p = p->next)
	{
		Datum		values[8];
		bool		nulls[8] = {false, false, false, false, false, false, false, false};
		char	   *err;

		/* only credentials the current role may use (after SET ROLE too) */
		if (vs_credential_for_role(role, p->name, &err) == NULL)
			continue;

		nulls[0] = p->name == NULL;
		if (p->name)
			values[0] = CStringGetTextDatum(p->name);
		values[1] = Int32GetDatum(p->window);
		values[2] = Int32GetDatum(p->peak);
		values[3] = Int64GetDatum(p->attempts);
		values[4] = Int64GetDatum(p->throttles);
		values[5] = Int64GetDatum(p->shrinks);
		nulls[6] = p->hold_until <= now;
		values[6] = TimestampTzGetDatum(p->hold_until);
		values[7] = Float8GetDatum(p->rtt_ms);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
