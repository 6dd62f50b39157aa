/*
 * faults.h - fault injection rules (control surface POST /_emulator/faults
 * and --fault) and the request/response counters of GET /_emulator/stats.
 */
#ifndef VSE_FAULTS_H
#define VSE_FAULTS_H

#include "common.h"

enum FaultKind {
	F_NONE, F_429, F_500, F_502, F_503, F_RESET, F_STALL, F_SLOW_BODY,
	F_MALFORMED_JSON, F_SHOULD_RETRY_FALSE, F_ECHO_SECRETS
};

typedef struct Fault {
	int kind;
	long count;              /* >0: next N matching requests; -1: use rate */
	double rate;             /* probability per matching request */
	char route[256];         /* substring the path must contain ("" = any) */
	char method[16];         /* "" = any */
	char retry_after[128];   /* Retry-After header value ("" = default) */
	long retry_after_ms;     /* retry-after-ms header (-1 = none) */
	long stall_ms;           /* stall: how long to hold the request */
	int status;              /* override HTTP status of error kinds (0 = kind's) */
	int chunk_bytes;         /* slow_body: bytes per tick */
	int interval_ms;         /* slow_body: delay between ticks */
	long matched;            /* times this rule fired */
} Fault;

const char *fault_kind_name(int kind);
/* parse a rule; returns 0 or -1 with a message in err */
int fault_from_json(const cJSON *o, Fault *f, char *err, size_t errsz);
int fault_from_spec(const char *spec, Fault *f, char *err, size_t errsz);
void faults_add(const Fault *f);
void faults_clear(void);
void faults_seed(uint64_t seed);
/* first matching rule fires: copies it into *out and returns true */
bool faults_match(const char *method, const char *path, Fault *out);
cJSON *faults_json(void);

/* counters */
void stats_connection(void);
void stats_bytes(size_t n);
void stats_request(const char *route_key, const char *status);
cJSON *stats_json(void);
void stats_reset(void);

#endif
