/*
 * limits.h - route classes, the latency model (--latency, config "latency")
 * and per-class request rate limits (--rate-limit, config "rate_limit").
 *
 * Every API route belongs to one class (see route table in main.c); a
 * table maps class -> value, with "default" for classes not named.
 */
#ifndef VSE_LIMITS_H
#define VSE_LIMITS_H

#include "common.h"

enum RouteClass {
	RC_SEARCH, RC_UPLOAD, RC_LIST, RC_CREATE, RC_RETRIEVE, RC_UPDATE,
	RC_DELETE, RC_CONTENT, RC_FILE_BATCHES, RC_OTHER, RC_N
};

const char *rc_name(int rc);

enum LimitTable { LT_LATENCY, LT_RATE };

/* "search=150,upload=80,default=0" (command line); sets both the current
 * and the initial table (restored by limits_reset). 0 or -1 + message. */
int limits_parse_spec(int table, const char *spec, char *err, size_t errsz);
/* {"search":150,...} (config): checks it and, if apply, replaces the
 * current table with it.  On error fills a 400 on r and returns -1. */
int limits_set_json(Req *r, int table, const cJSON *o, const char *param,
		    bool apply);
/* effective value of every class, plus "default" */
cJSON *limits_json(int table);
void limits_reset(void);

/* added latency of a class in ms (0 = none) */
long latency_ms(int rc);

typedef struct RateResult {
	bool limited;       /* the class has a limit */
	bool allowed;
	double limit;       /* requests per second (= burst) */
	long remaining;     /* whole tokens left after this request */
	long retry_ms;      /* refused: ms until a token is available */
	long reset_ms;      /* ms until the bucket is full again */
} RateResult;

/* takes a token from the class's bucket (if it has a limit) */
void rate_take(int rc, RateResult *out);

#endif
