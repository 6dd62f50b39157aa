/*-------------------------------------------------------------------------
 *
 * outcome.c
 *	  The one place that decides what an HTTP outcome means: done, try again
 *	  after a delay, the credential is being throttled, the request may or
 *	  may not have taken effect, or retrying cannot help. The SQL functions'
 *	  retries (client.c) and the background worker's job states both ask
 *	  vs_outcome(); nothing else looks at a status code to decide a retry.
 *
 * The rules follow the official SDKs (SDK-BEHAVIOUR.md): connection errors,
 * timeouts, 408, 409, 429 and 5xx are retried; x-should-retry overrides the
 * status; the delay is retry-after-ms, else Retry-After (seconds or an HTTP
 * date) when it is between 0 and 60 s, else 0.5 s doubling per retry up to
 * 8 s, less up to 25% jitter. On top of the SDKs we tell apart:
 *	  - THROTTLE (429): the credential is over its rate; nothing was done;
 *		the worker holds back every job of that credential, not one, and a
 *		429 costs no attempt;
 *	  - UNKNOWN: a POST whose answer was lost after the request left (a
 *		timeout, a reset, a 5xx): it may have been carried out. Retrying is
 *		what the SDKs do; the worker instead reconciles (an upload may have
 *		made a file) before sending again;
 *	  - UNSENT: a worker request taken back before it started (its
 *		credential's server stopped answering): as if never tried.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "common/pg_prng.h"

#include <curl/curl.h>			/* CURLcode values only: no libcurl call here */
#include <math.h>

#define VS_MAX_SERVER_DELAY_MS 60000	/* as openai-node */

/* Exponential back-off with jitter, as the SDKs: 0.5 s * 2^n, at most 8 s. */
int
vs_backoff_ms(int retries_done)
{
	double		base = Min(500.0 * pow(2.0, Min(retries_done, 16)), 8000.0);

	return (int) (base * (1.0 - pg_prng_double(&pg_global_prng_state) * 0.25));
}

/* The delay a response asks for, else the back-off for this retry. */
static int
vs_outcome_delay(const VsResponse *resp, int retries_done)
{
	if (resp->retry_after_ms >= 0 && resp->retry_after_ms <= VS_MAX_SERVER_DELAY_MS)
		return resp->retry_after_ms;
	return vs_backoff_ms(retries_done);
}

VsOutcome
vs_outcome(const VsRequest *req, const VsResponse *resp, int retries_done)
{
	VsOutcome	o = {VS_OUTCOME_PERMANENT, -1};
	bool		idempotent = strcmp(req->method, "POST") != 0;

	if (resp->status >= 200 && resp->status < 300)
	{
		o.kind = VS_OUTCOME_DONE;
		return o;
	}
	if (resp->withdrawn)
	{
		/* taken back before it started: nothing happened, nothing is owed */
		o.kind = VS_OUTCOME_UNSENT;
		return o;
	}
	if (resp->cap_reached || resp->too_large)
		return o;				/* retrying would only do it again */
	if (resp->status == 0)
	{
		switch (resp->curl_code)
		{
			case CURLE_ABORTED_BY_CALLBACK: /* cancel or termination */
			case CURLE_URL_MALFORMAT:
			case CURLE_UNSUPPORTED_PROTOCOL:
			case CURLE_OUT_OF_MEMORY:
			case CURLE_WRITE_ERROR: /* out of memory, or over the budget */
				return o;
			default:
				break;
		}
		/* a request that never left cannot have done anything */
		o.kind = (!resp->sent || idempotent) ? VS_OUTCOME_RETRY : VS_OUTCOME_UNKNOWN;
		o.delay_ms = vs_backoff_ms(retries_done);
		return o;
	}
	if (resp->status == 429 && resp->should_retry != 0)
	{
		o.kind = VS_OUTCOME_THROTTLE;
		o.delay_ms = vs_outcome_delay(resp, retries_done);
		return o;
	}
	if (resp->should_retry == 0)
		return o;
	if (resp->should_retry == 1 || resp->status == 408 || resp->status == 409 ||
		resp->status >= 500)
	{
		/* a 5xx answer to a POST may come after the work was done */
		o.kind = (resp->status >= 500 && !idempotent) ? VS_OUTCOME_UNKNOWN
			: VS_OUTCOME_RETRY;
		o.delay_ms = vs_outcome_delay(resp, retries_done);
		return o;
	}
	return o;
}

/*
 * The object a request names does not exist (404). For a removal — detach a
 * file, delete a file — that is the goal reached; the worker asks this
 * rather than look at a status code itself.
 */
bool
vs_outcome_gone(const VsRequest *req, const VsResponse *resp)
{
	return !resp->invalid && resp->status == 404;
}

/* Would the SDKs try again? (Every kind but DONE and PERMANENT.) */
bool
vs_outcome_retryable(VsOutcomeKind kind)
{
	return kind == VS_OUTCOME_RETRY || kind == VS_OUTCOME_THROTTLE ||
		kind == VS_OUTCOME_UNKNOWN;
}

const char *
vs_outcome_name(VsOutcomeKind kind)
{
	switch (kind)
	{
		case VS_OUTCOME_DONE:
			return "done";
		case VS_OUTCOME_RETRY:
			return "retry";
		case VS_OUTCOME_THROTTLE:
			return "throttle";
		case VS_OUTCOME_UNKNOWN:
			return "unknown";
		case VS_OUTCOME_PERMANENT:
			return "permanent";
		case VS_OUTCOME_UNSENT:
			return "unsent";
	}
	return "?";
}
