/*
 * neighbour.c: another user of the shared libcjson in the same backend,
 * built by test/t/023_boundary.pl (never installed). It keeps a tree made
 * with cJSON's default allocator across statements, and can install
 * counting allocation hooks to see that every tree vectorstore makes is
 * freed (on ERROR too) through whatever allocator cJSON has.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include <cjson/cJSON.h>

PG_MODULE_MAGIC;

#define MAGIC 0x6e656967686275ULL

static cJSON *kept = NULL;
static int64 live = 0;
static int64 allocs = 0;

/* counted blocks carry a header; blocks made before the hooks do not */
static void *
count_malloc(size_t n)
{
	uint64	   *p = malloc(n + 16);

	if (p == NULL)
		return NULL;
	p[0] = MAGIC;
	p[1] = n;
	live++;
	allocs++;
	return p + 2;
}

static void
count_free(void *ptr)
{
	uint64	   *p;

	if (ptr == NULL)
		return;
	p = (uint64 *) ptr - 2;
	if (p[0] == MAGIC)
	{
		p[0] = 0;
		live--;
		free(p);
	}
	else
		free(ptr);
}

PG_FUNCTION_INFO_V1(neighbour_keep);
Datum
neighbour_keep(PG_FUNCTION_ARGS)
{
	kept = cJSON_Parse("{\"neighbour\":\"a tree made with cJSON's own allocator\",\"n\":[1,2,3]}");
	PG_RETURN_BOOL(kept != NULL);
}

PG_FUNCTION_INFO_V1(neighbour_read);
Datum
neighbour_read(PG_FUNCTION_ARGS)
{
	char	   *s;
	text	   *t;

	if (kept == NULL)
		PG_RETURN_NULL();
	s = cJSON_PrintUnformatted(kept);
	t = cstring_to_text(s ? s : "(null)");
	cJSON_free(s);
	PG_RETURN_TEXT_P(t);
}

PG_FUNCTION_INFO_V1(neighbour_count_hooks);
Datum
neighbour_count_hooks(PG_FUNCTION_ARGS)
{
	cJSON_Hooks h = {count_malloc, count_free};

	cJSON_InitHooks(&h);
	live = allocs = 0;
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(neighbour_live);
Datum
neighbour_live(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(live);
}

PG_FUNCTION_INFO_V1(neighbour_allocs);
Datum
neighbour_allocs(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(allocs);
}
