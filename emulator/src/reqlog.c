/*
 * reqlog.c - the request log (GET /_emulator/requests).
 *
 * One entry per API request (every non-control request, whatever its
 * route), appended when its response is queued (or when the connection is
 * reset by a fault), so entries are in the order responses were sent and
 * sequence numbers never appear out of order.  An entry is rendered to
 * JSON once, outside the lock; the ring keeps at most `capacity` entries
 * and at most REQLOG_MAX_BYTES of rendered JSON, dropping the oldest.
 *
 * Text is made JSON-safe: header values that are not UTF-8 are read as
 * Latin-1; bodies and form values that are not UTF-8 (or hold NUL bytes)
 * are given base64-encoded instead (…_base64 fields).
 */
#include "reqlog.h"
#include "multipart.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct Entry {
	uint64_t seq;
	char *json;       /* rendered entry without "seq", starts with '{' */
	size_t len;
} Entry;

static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
static Entry *ring;
static long cap = REQLOG_DEFAULT_CAPACITY;
static long head, count;        /* oldest entry at ring[head] */
static size_t bytes;
static uint64_t last_seq, dropped;

void reqlog_configure(long capacity)
{
	pthread_mutex_lock(&rl_lock);
	for (long i = 0; i < count; i++)
		free(ring[(head + i) % cap].json);
	free(ring);
	ring = NULL;
	cap = capacity < 0 ? 0 : capacity;
	head = count = 0;
	bytes = 0;
	dropped = 0;
	pthread_mutex_unlock(&rl_lock);
}

long reqlog_capacity(void)
{
	long c;

	pthread_mutex_lock(&rl_lock);
	c = cap;
	pthread_mutex_unlock(&rl_lock);
	return c;
}

bool reqlog_enabled(void)
{
	return reqlog_capacity() > 0;
}

void reqlog_clear(void)
{
	reqlog_configure(reqlog_capacity());
}

/* ---- JSON-safe text ---- */

/* valid UTF-8 (no overlongs, surrogates or code points > 10FFFF), no NUL */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t k;
		unsigned cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3, cp = c & 0x07;
		else
			return false;
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		i += k + 1;
	}
	return true;
}

/* at most n bytes of s, not cutting a UTF-8 sequence in two */
static size_t utf8_cut(const char *s, size_t len, size_t n)
{
	if (len <= n)
		return len;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

static char *latin1_to_utf8(const unsigned char *s, size_t n)
{
	char *out = malloc(2 * n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x80)
			out[o++] = (char)s[i];
		else {
			out[o++] = (char)(0xC0 | (s[i] >> 6));
			out[o++] = (char)(0x80 | (s[i] & 0x3F));
		}
	}
	out[o] = 0;
	return out;
}

static char *base64(const unsigned char *s, size_t n)
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1);
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];

		out[o++] = al[v >> 18];
		out[o++] = al[(v >> 12) & 63];
		out[o++] = al[(v >> 6) & 63];
		out[o++] = al[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0);

		out[o++] = al[v >> 18];
		out[o++] = al[(v >> 12) & 63];
		out[o++] = i + 1 < n ? al[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = 0;
	return out;
}

/* adds name (UTF-8 text) or name_base64 (anything else) for s[0..n) */
static void add_bytes(cJSON *o, const char *name, const char *s, size_t n)
{
	char k[64];

	if (utf8_ok((const unsigned char *)s, n)) {
		char *t = strndup(s, n);

		cJSON_AddStringToObject(o, name, t);
		free(t);
	} else {
		char *b = base64((const unsigned char *)s, n);

		snprintf(k, sizeof k, "%s_base64", name);
		cJSON_AddStringToObject(o, k, b);
		free(b);
	}
}

/* ---- building an entry ---- */

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind,
				  const char *key, const char *value)
{
	cJSON *h = cls, *old;
	char name[256], *v;
	size_t n = 0, vl;

	(void)kind;
	if (!key)
		return MHD_YES;
	for (; key[n] && n + 1 < sizeof name; n++)
		name[n] = (char)(key[n] >= 'A' && key[n] <= 'Z' ? key[n] + 32 : key[n]);
	name[n] = 0;
	if (!value)
		value = "";
	vl = strlen(value);
	if (vl > REQLOG_HEADER_CAP)
		vl = REQLOG_HEADER_CAP;
	v = utf8_ok((const unsigned char *)value, vl)
		    ? strndup(value, vl)
		    : latin1_to_utf8((const unsigned char *)value, vl);
	old = cJSON_GetObjectItemCaseSensitive(h, name);
	if (cJSON_IsString(old)) {
		/* a repeated header: one value, comma separated (RFC 9110) */
		size_t ol = strlen(old->valuestring);
		char *j = malloc(ol + 2 + strlen(v) + 1);

		memcpy(j, old->valuestring, ol);
		memcpy(j + ol, ", ", 2);
		strcpy(j + ol + 2, v);
		cJSON_SetValuestring(old, j);
		free(j);
	} else
		cJSON_AddStringToObject(h, name, v);
	free(v);
	return MHD_YES;
}

static cJSON *multipart_json(const Part *parts, int n)
{
	cJSON *a = cJSON_CreateArray();

	for (int i = 0; i < n; i++) {
		const Part *p = &parts[i];
		cJSON *o = cJSON_CreateObject();
		size_t lim = p->has_filename ? REQLOG_FILE_CAP : REQLOG_FIELD_CAP;
		size_t keep = utf8_cut(p->data, p->len, lim);

		cJSON_AddStringToObject(o, "name", p->name);
		if (p->has_filename)
			cJSON_AddStringToObject(o, "filename", p->filename);
		else
			cJSON_AddNullToObject(o, "filename");
		if (p->content_type[0])
			cJSON_AddStringToObject(o, "content_type", p->content_type);
		else
			cJSON_AddNullToObject(o, "content_type");
		cJSON_AddNumberToObject(o, "bytes", (double)p->len);
		add_bytes(o, "value", p->data, keep);
		cJSON_AddBoolToObject(o, "truncated", keep < p->len);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static void add_body(cJSON *e, struct MHD_Connection *c, const ReqInfo *ri)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t keep;

	cJSON_AddNumberToObject(e, "body_bytes", (double)ri->received);
	if (!ri->body || ri->body_len == 0) {
		cJSON_AddNullToObject(e, "body");
		cJSON_AddNullToObject(e, "multipart");
		return;
	}
	if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0) {
		Part *parts = malloc(64 * sizeof *parts);
		int n = multipart_parse(ct, ri->body, ri->body_len, parts, 64);

		if (n >= 0) {
			cJSON_AddNullToObject(e, "body");
			cJSON_AddItemToObject(e, "multipart", multipart_json(parts, n));
			free(parts);
			return;
		}
		free(parts);
	}
	/* JSON (or anything else): the parsed value when it is complete JSON
	 * within the cap, and the text as sent */
	keep = utf8_cut(ri->body, ri->body_len, REQLOG_BODY_CAP);
	{
		cJSON *j = ri->body_len <= REQLOG_BODY_CAP
				   ? cJSON_ParseWithLength(ri->body, ri->body_len)
				   : NULL;

		if (j)
			cJSON_AddItemToObject(e, "body", j);
		else
			cJSON_AddNullToObject(e, "body");
	}
	cJSON_AddNullToObject(e, "multipart");
	add_bytes(e, "body_text", ri->body, keep);
	cJSON_AddBoolToObject(e, "body_truncated", keep < ri->body_len);
}

void reqlog_add(struct MHD_Connection *c, const ReqInfo *ri)
{
	cJSON *e, *h;
	const char *q = strchr(ri->raw_uri, '?');
	char *path, *json;
	size_t len;
	Entry *slot;

	if (!reqlog_enabled())
		return;
	e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "time_ms", (double)ri->t_ms);
	cJSON_AddStringToObject(e, "method", ri->method);
	path = q ? strndup(ri->raw_uri, (size_t)(q - ri->raw_uri))
		 : strdup(ri->raw_uri);
	add_bytes(e, "path", path, strlen(path));
	free(path);
	if (q)
		add_bytes(e, "query", q + 1, strlen(q + 1));
	else
		cJSON_AddNullToObject(e, "query");
	cJSON_AddStringToObject(e, "route", ri->route_key);
	cJSON_AddStringToObject(e, "route_class", ri->route_class);
	cJSON_AddBoolToObject(e, "azure", ri->azure);
	h = cJSON_AddObjectToObject(e, "headers");
	MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, h);
	add_body(e, c, ri);
	cJSON_AddNumberToObject(e, "status", ri->status);
	if (ri->fault)
		cJSON_AddStringToObject(e, "fault", ri->fault);
	else
		cJSON_AddNullToObject(e, "fault");
	cJSON_AddNumberToObject(e, "duration_ms",
				(double)(ri->duration_us / 1000));
	json = cJSON_PrintUnformatted(e);
	cJSON_Delete(e);
	len = strlen(json);

	pthread_mutex_lock(&rl_lock);
	if (cap <= 0) {
		pthread_mutex_unlock(&rl_lock);
		free(json);
		return;
	}
	if (!ring)
		ring = calloc((size_t)cap, sizeof *ring);
	while (count > 0 && (count == cap || bytes + len > REQLOG_MAX_BYTES)) {
		free(ring[head].json);
		bytes -= ring[head].len;
		head = (head + 1) % cap;
		count--;
		dropped++;
	}
	slot = &ring[(head + count) % cap];
	slot->seq = ++last_seq;
	slot->json = json;
	slot->len = len;
	bytes += len;
	count++;
	pthread_mutex_unlock(&rl_lock);
}

char *reqlog_render(uint64_t since, size_t *len)
{
	size_t size = 128, o = 0;
	char *out;
	bool first = true;

	pthread_mutex_lock(&rl_lock);
	for (long i = 0; i < count; i++)
		size += ring[(head + i) % cap].len + 32;
	out = malloc(size);
	o += (size_t)sprintf(out, "{\"requests\":[");
	for (long i = 0; i < count; i++) {
		const Entry *en = &ring[(head + i) % cap];

		if (en->seq <= since)
			continue;
		o += (size_t)sprintf(out + o, "%s{\"seq\":%llu%s", first ? "" : ",",
				     (unsigned long long)en->seq,
				     en->len > 2 ? "," : "");
		memcpy(out + o, en->json + 1, en->len - 1);   /* after its '{' */
		o += en->len - 1;
		first = false;
	}
	o += (size_t)sprintf(out + o, "],\"last_seq\":%llu,\"capacity\":%ld,"
			     "\"dropped\":%llu}", (unsigned long long)last_seq,
			     cap, (unsigned long long)dropped);
	pthread_mutex_unlock(&rl_lock);
	*len = o;
	return out;
}
