/*-------------------------------------------------------------------------
 *
 * pg_shim.c
 *	  Just enough of the PostgreSQL backend to run src/json.c, src/filters.c
 *	  and src/validate.c outside the server, under libFuzzer.
 *
 * Compiled against the real server headers, so the extension's code is
 * built exactly as in the server; only the runtime below is ours:
 *
 *	  memory    palloc & co. are malloc'd chunks kept on one list, freed all
 *	            at once by shim_reset() after each input (a memory context
 *	            reset); ASan sees every chunk, so overruns are caught. Child
 *	            contexts are tokens: their reset callbacks (json.c deletes
 *	            its cJSON trees in them) run when they are deleted, the
 *	            rest at shim_reset(), so LeakSanitizer sees a tree json.c
 *	            failed to own.
 *	  errors    errstart/errfinish record the SQLSTATE and message and, for
 *	            ERROR and above, siglongjmp to the harness (shim_try), as
 *	            PG_exception_stack does in the server.
 *	  stack     check_stack_depth raises 54001 past 512 kB, like
 *	            max_stack_depth does.
 *	  UTF-8     pg_verify_mbstr uses libpgcommon's own verifier (wchar.c).
 *
 * Everything else the modules reference but the harnesses never reach
 * (tuples, jsonb, detoasting, function-call info) aborts, so an
 * unexpected path shows up as a crash instead of silently passing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tupdesc.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pg_shim.h"

/* ---- memory: one "context", reset after every input ---------------- */
typedef struct ShimChunk
{
	struct ShimChunk *prev;
	struct ShimChunk *next;
	size_t		size;
	/* keep the payload MAXALIGNed */
	double		align[];
} ShimChunk;

static ShimChunk shim_head = {&shim_head, &shim_head, 0};

/* the server's CurrentMemoryContext is a pointer; nobody dereferences it here */
MemoryContext CurrentMemoryContext = (MemoryContext) &shim_head;

static void *
shim_alloc(size_t size, bool no_oom)
{
	ShimChunk  *c;

	/* palloc's limit (1 GB) would abort ASan first; 64 MB is plenty here */
	if (size > 64 * 1024 * 1024)
	{
		if (no_oom)
			return NULL;
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	c = malloc(sizeof(ShimChunk) + size);
	if (c == NULL)
		abort();
	c->size = size;
	c->next = shim_head.next;
	c->prev = &shim_head;
	shim_head.next->prev = c;
	shim_head.next = c;
	return c->align;
}

void *
palloc(Size size)
{
	return shim_alloc(size, false);
}

void *
palloc0(Size size)
{
	void	   *p = shim_alloc(size, false);

	memset(p, 0, size);
	return p;
}

void *
MemoryContextAllocExtended(MemoryContext context, Size size, int flags)
{
	void	   *p = shim_alloc(size, (flags & MCXT_ALLOC_NO_OOM) != 0);

	if (p && (flags & MCXT_ALLOC_ZERO))
		memset(p, 0, size);
	return p;
}

void
pfree(void *pointer)
{
	ShimChunk  *c = (ShimChunk *) ((char *) pointer - offsetof(ShimChunk, align));

	c->prev->next = c->next;
	c->next->prev = c->prev;
	free(c);
}

static void *
shim_realloc(void *pointer, size_t size)
{
	ShimChunk  *old = (ShimChunk *) ((char *) pointer - offsetof(ShimChunk, align));
	void	   *p = palloc(size);

	memcpy(p, pointer, Min(old->size, size));
	pfree(pointer);
	return p;
}

/* reset callbacks, newest first, with the context they belong to */
typedef struct ShimCallback
{
	MemoryContext cxt;
	MemoryContextCallback *cb;
	struct ShimCallback *next;
} ShimCallback;

static ShimCallback *shim_callbacks = NULL;

void
MemoryContextRegisterResetCallback(MemoryContext context, MemoryContextCallback *cb)
{
	ShimCallback *c = malloc(sizeof(ShimCallback));

	if (c == NULL)
		abort();
	c->cxt = context;
	c->cb = cb;
	c->next = shim_callbacks;
	shim_callbacks = c;
}

/* Run (and forget) the callbacks of one context, or of all (NULL). */
static void
shim_run_callbacks(MemoryContext context)
{
	ShimCallback **pp = &shim_callbacks;

	while (*pp)
	{
		ShimCallback *c = *pp;

		if (context == NULL || c->cxt == context)
		{
			*pp = c->next;
			c->cb->func(c->cb->arg);
			free(c);
		}
		else
			pp = &c->next;
	}
}

/* a child context is a token; its chunks go with the one list */
static char shim_child_tokens[64];
static int	shim_next_child = 0;

MemoryContext
AllocSetContextCreateInternal(MemoryContext parent, const char *name,
							  Size minContextSize, Size initBlockSize, Size maxBlockSize)
{
	return (MemoryContext) &shim_child_tokens[shim_next_child++ % 64];
}

void
MemoryContextDelete(MemoryContext context)
{
	shim_run_callbacks(context);
}

void
MemoryContextReset(MemoryContext context)
{
	shim_run_callbacks(context);
}

void
shim_reset(void)
{
	shim_run_callbacks(NULL);
	CurrentMemoryContext = (MemoryContext) &shim_head;
	while (shim_head.next != &shim_head)
		pfree(shim_head.next->align);
}

char *
pstrdup(const char *in)
{
	size_t		n = strlen(in);
	char	   *out = palloc(n + 1);

	memcpy(out, in, n + 1);
	return out;
}

char *
MemoryContextStrdup(MemoryContext context, const char *string)
{
	return pstrdup(string);
}

char *
pnstrdup(const char *in, Size len)
{
	char	   *out;

	len = strnlen(in, len);
	out = palloc(len + 1);
	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

char *
psprintf(const char *fmt,...)
{
	va_list		ap;
	int			n;
	char	   *out;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	out = palloc(n + 1);
	va_start(ap, fmt);
	vsnprintf(out, n + 1, fmt, ap);
	va_end(ap);
	return out;
}

void
initStringInfo(StringInfo str)
{
	str->maxlen = 64;
	str->data = palloc(str->maxlen);
	str->data[0] = '\0';
	str->len = 0;
	str->cursor = 0;
}

static void
shim_stringinfo_grow(StringInfo str, int needed)
{
	while (str->len + needed + 1 > str->maxlen)
	{
		str->maxlen *= 2;
		str->data = shim_realloc(str->data, str->maxlen);
	}
}

void
appendStringInfoChar(StringInfo str, char ch)
{
	shim_stringinfo_grow(str, 1);
	str->data[str->len++] = ch;
	str->data[str->len] = '\0';
}

void
appendStringInfo(StringInfo str, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	shim_stringinfo_grow(str, n);
	va_start(ap, fmt);
	vsnprintf(str->data + str->len, n + 1, fmt, ap);
	va_end(ap);
	str->len += n;
}

void
appendStringInfoString(StringInfo str, const char *s)
{
	int			n = strlen(s);

	shim_stringinfo_grow(str, n);
	memcpy(str->data + str->len, s, n + 1);
	str->len += n;
}

/* ---- errors: ereport(ERROR) longjmps to shim_try ------------------- */
ShimError	shim_error;
static sigjmp_buf *shim_jump;
static int	shim_elevel;

bool
errstart(int elevel, const char *domain)
{
	if (elevel < ERROR)
		return false;			/* notices/debug: nothing to do */
	shim_elevel = elevel;
	/* elog() sets no errcode: the server's default, XX000 */
	shim_error.sqlerrcode = ERRCODE_INTERNAL_ERROR;
	shim_error.message[0] = shim_error.detail[0] = '\0';
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (shim_elevel >= ERROR)
	{
		if (shim_jump == NULL)
			abort();			/* an ERROR outside shim_try */
		siglongjmp(*shim_jump, 1);
	}
}

int
errcode(int sqlerrcode)
{
	shim_error.sqlerrcode = sqlerrcode;
	return 0;
}

#define SHIM_FORMAT(buf) \
	do { va_list ap; va_start(ap, fmt); vsnprintf(buf, sizeof(buf), fmt, ap); va_end(ap); } while (0)

int
errmsg(const char *fmt,...)
{
	SHIM_FORMAT(shim_error.message);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	SHIM_FORMAT(shim_error.message);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	SHIM_FORMAT(shim_error.detail);
	return 0;
}

int
errdetail_internal(const char *fmt,...)
{
	SHIM_FORMAT(shim_error.detail);
	return 0;
}

int
errhint(const char *fmt,...)
{
	char		buf[1024];

	SHIM_FORMAT(buf);
	return 0;
}

int
errcontext_msg(const char *fmt,...)
{
	char		buf[1024];

	SHIM_FORMAT(buf);
	return 0;
}

int
set_errcontext_domain(const char *domain)
{
	return 0;
}

const char *
shim_sqlstate(int sqlerrcode)
{
	static char buf[6];

	for (int i = 0; i < 5; i++)
	{
		buf[i] = PGUNSIXBIT(sqlerrcode);
		sqlerrcode >>= 6;
	}
	buf[5] = '\0';
	return buf;
}

bool
shim_try(void (*fn) (void *), void *arg)
{
	sigjmp_buf	jb;
	sigjmp_buf *save = shim_jump;

	if (sigsetjmp(jb, 0) == 0)
	{
		shim_jump = &jb;
		fn(arg);
		shim_jump = save;
		return true;
	}
	shim_jump = save;
	return false;
}

/* ---- stack depth ----------------------------------------------------- */
static char *shim_stack_base;

void
shim_set_stack_base(void)
{
	char		here;

	shim_stack_base = &here;
}

void
check_stack_depth(void)
{
	char		here;
	long		depth = shim_stack_base - &here;

	if (depth < 0)
		depth = -depth;
	if (shim_stack_base && depth > 512 * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_STATEMENT_TOO_COMPLEX),
				 errmsg("stack depth limit exceeded")));
}

/* ---- encodings: the database is UTF-8 ---------------------------------- */
bool
pg_verify_mbstr(int encoding, const char *mbstr, int len, bool noError)
{
	if (encoding != PG_UTF8 || !noError)
		abort();
	return pg_encoding_verifymbstr(PG_UTF8, mbstr, len) == len;
}

int
pg_mbcliplen(const char *mbstr, int len, int limit)
{
	int			n = 0;

	while (n < len && mbstr[n])
	{
		int			l = pg_utf_mblen((const unsigned char *) mbstr + n);

		if (n + l > limit)
			break;
		n += l;
	}
	return n;
}

char *
pg_any_to_server(const char *s, int len, int encoding)
{
	return (char *) s;			/* UTF-8 to a UTF-8 database: no conversion */
}

char *
pg_server_to_any(const char *s, int len, int encoding)
{
	return (char *) s;
}

/* ---- datums the row builder makes (text, timestamptz, text[]) ------- */
text *
cstring_to_text(const char *s)
{
	int			len = strlen(s);
	text	   *t = palloc(len + VARHDRSZ);

	SET_VARSIZE(t, len + VARHDRSZ);
	memcpy(VARDATA(t), s, len);
	return t;
}

TimestampTz
time_t_to_timestamptz(pg_time_t tm)
{
	return (TimestampTz) tm * USECS_PER_SEC -
		((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC);
}

/* text[] results: only their construction is exercised, not their layout */
ArrayType *
construct_array(Datum *elems, int nelems, Oid elmtype, int elmlen,
				bool elmbyval, char elmalign)
{
	return palloc0(sizeof(ArrayType));
}

ArrayBuildState *
initArrayResult(Oid element_type, MemoryContext rcontext, bool subcontext)
{
	return palloc0(sizeof(ArrayBuildState));
}

ArrayBuildState *
accumArrayResult(ArrayBuildState *astate, Datum dvalue, bool disnull,
				 Oid element_type, MemoryContext rcontext)
{
	return astate;
}

Datum
makeArrayResult(ArrayBuildState *astate, MemoryContext rcontext)
{
	return PointerGetDatum(palloc0(sizeof(ArrayType)));
}
