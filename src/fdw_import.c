/*-------------------------------------------------------------------------
 *
 * fdw_import.c
 *	  IMPORT FOREIGN SCHEMA for vectorstore_fdw: one search table per vector
 *	  store, with a column for each attribute seen in its files.
 *
 *	  IMPORT FOREIGN SCHEMA vector_stores FROM SERVER vectorstore INTO s;
 *	  IMPORT FOREIGN SCHEMA "vs_abc" FROM SERVER vectorstore INTO s;
 *
 * The remote schema "vector_stores" is every store the credential sees; any
 * other name is one store's id. A table is named after its store (its id
 * when it has no name); LIMIT TO and EXCEPT name tables. Attribute columns
 * are typed by the JSON values seen in the first sample_files files
 * (option, default 1000): strings text, whole numbers bigint, other numbers
 * double precision, booleans boolean; where files disagree the most common
 * type wins (values of the others then read as NULL, as the API's filters
 * treat them). Epoch-second timestamps look like numbers: declare such a
 * column timestamptz yourself, or create the table of a sync's store with
 * vs_sync_search_table_create(), which knows the source's types.
 *
 *-------------------------------------------------------------------------
 */
#include "vs_fdw.h"

#include "access/htup_details.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include <math.h>

#define VSFD_SAMPLE_DEFAULT 1000

/* the columns every imported table has before its attribute columns */
#define VSFD_FIXED_COLUMNS 8
/* attribute keys a table can take: a table has at most 1600 columns */
#define VSFD_MAX_KEYS (MaxHeapAttributeNumber - VSFD_FIXED_COLUMNS)

/* What the files of one store hold under one attribute key. */
typedef struct VsfdKeySeen
{
	char	   *key;			/* server encoding */
	int64		strings;
	int64		integers;		/* whole numbers within 2^53 */
	int64		fractions;		/* other numbers */
	int64		booleans;
} VsfdKeySeen;

/* What is kept lives in cxt: the paginator resets its page context. */
typedef struct VsfdStoreSeen
{
	MemoryContext cxt;
	const char *store;			/* its id, for errors */
	List	   *keys;			/* VsfdKeySeen, in order of first sight */
	VsStrSet   *index;			/* key -> its position in keys */
} VsfdStoreSeen;

/* Names given so far (tables, or one table's columns), and what to try next. */
typedef struct VsfdNames
{
	VsStrSet   *used;
	VsStrSet   *next;			/* a name clipped to NAMEDATALEN - 1 -> the next suffix */
} VsfdNames;

typedef struct VsfdStoreList
{
	MemoryContext cxt;
	List	   *stores;			/* VsfdStore */
} VsfdStoreList;

typedef struct VsfdStore
{
	char	   *id;
	char	   *name;			/* table name (server encoding) */
} VsfdStore;

static void
vsfd_see_file(const cJSON *file, void *arg)
{
	VsfdStoreSeen *seen = (VsfdStoreSeen *) arg;
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(file, "attributes");
	const cJSON *kv;
	MemoryContext old;

	if (!cJSON_IsObject(attrs))
		return;
	old = MemoryContextSwitchTo(seen->cxt);
	if (seen->index == NULL)
		seen->index = vs_strset_create("vectorstore import keys", 64);
	/* the server decides how many keys: hashed, counted, cancellable */
	cJSON_ArrayForEach(kv, attrs)
	{
		char	   *key = pg_any_to_server(kv->string, strlen(kv->string), PG_UTF8);
		VsfdKeySeen *k;
		int		   *pos;

		CHECK_FOR_INTERRUPTS();
		if ((pos = vs_strset_find(seen->index, key)) != NULL)
			k = list_nth(seen->keys, *pos);
		else
		{
			bool		found;

			if (list_length(seen->keys) >= VSFD_MAX_KEYS)
				ereport(ERROR,
						(errcode(ERRCODE_TOO_MANY_COLUMNS),
						 errmsg("the files of vector store \"%s\" have more attribute keys than a table can have columns",
								seen->store),
						 errdetail("An imported table has a column for each key and %d others; a table has at most %d columns.",
								   VSFD_FIXED_COLUMNS, MaxHeapAttributeNumber),
						 errhint("Create the search table yourself, with columns for the attributes you filter on.")));
			k = palloc0(sizeof(VsfdKeySeen));
			k->key = pstrdup(key);
			/* the set keeps k->key, which lives in seen->cxt as the set does */
			pos = vs_strset_enter(seen->index, k->key, &found);
			*pos = list_length(seen->keys);
			seen->keys = lappend(seen->keys, k);
		}
		if (cJSON_IsString(kv))
			k->strings++;
		else if (cJSON_IsBool(kv))
			k->booleans++;
		else if (cJSON_IsNumber(kv))
		{
			double		x = kv->valuedouble;

			if (x == floor(x) && fabs(x) <= 9007199254740992.0)
				k->integers++;
			else
				k->fractions++;
		}
	}
	MemoryContextSwitchTo(old);
}

static const char *
vsfd_seen_type(const VsfdKeySeen *k)
{
	int64		numbers = k->integers + k->fractions;

	if (k->booleans > k->strings && k->booleans > numbers)
		return "boolean";
	if (numbers > k->strings && numbers >= k->booleans)
		return k->fractions > 0 ? "double precision" : "bigint";
	return "text";
}

static void
vsfd_see_store(const cJSON *store, void *arg)
{
	VsfdStoreList *list = (VsfdStoreList *) arg;
	const char *id = vs_json_get_string(store, "id");
	const char *name = vs_json_get_string(store, "name");
	MemoryContext old;
	VsfdStore  *s;

	if (id == NULL)
		return;
	old = MemoryContextSwitchTo(list->cxt);
	s = palloc0(sizeof(VsfdStore));
	s->id = pstrdup(pg_any_to_server(id, strlen(id), PG_UTF8));
	s->name = (name && name[0]) ? pstrdup(pg_any_to_server(name, strlen(name), PG_UTF8)) : s->id;
	list->stores = lappend(list->stores, s);
	MemoryContextSwitchTo(old);
}

static void
vsfd_names_init(VsfdNames *names)
{
	names->used = vs_strset_create("vectorstore import names", 64);
	names->next = vs_strset_create("vectorstore import suffixes", 64);
}

static void
vsfd_names_free(VsfdNames *names)
{
	vs_strset_free(names->used);
	vs_strset_free(names->next);
}

static char *
vsfd_suffixed(const char *base, int n)
{
	char		suffix[16];
	int			room;

	snprintf(suffix, sizeof(suffix), "_%d", n);
	room = NAMEDATALEN - 1 - strlen(suffix);
	return psprintf("%s%s", pnstrdup(base, pg_mbcliplen(base, strlen(base), room)), suffix);
}

/*
 * A name of at most NAMEDATALEN - 1 bytes not yet used (with a suffix _2,
 * _3, ... otherwise). Names that agree in their first NAMEDATALEN - 1 bytes
 * share a counter of the suffixes tried, so n such names cost n lookups,
 * not n * n.
 */
static char *
vsfd_unique_name(const char *want, VsfdNames *names)
{
	char	   *base = pnstrdup(want, pg_mbcliplen(want, strlen(want), NAMEDATALEN - 1));
	char	   *name = base;
	bool		found;
	bool		dummy;
	int		   *next = vs_strset_enter(names->next, base, &found);
	int			n = found ? *next : 2;

	/* found: base was given before (to this name or to an earlier one) */
	if (found)
		name = vsfd_suffixed(base, n++);
	while (vs_strset_find(names->used, name) != NULL)
	{
		CHECK_FOR_INTERRUPTS();
		name = vsfd_suffixed(base, n++);
	}
	*next = n;
	(void) vs_strset_enter(names->used, name, &dummy);
	return name;
}

/* Is table name wanted by LIMIT TO / EXCEPT (listed: the names, or NULL)? */
static bool
vsfd_wanted(ImportForeignSchemaStmt *stmt, VsStrSet *listed, const char *name)
{
	if (stmt->list_type == FDW_IMPORT_SCHEMA_ALL)
		return true;
	if (stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO)
		return vs_strset_find(listed, name) != NULL;
	return vs_strset_find(listed, name) == NULL;
}

List *
vsfd_import_schema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	VsCredential *cred = vsfd_credential(serverOid, GetUserId(), NULL);
	ForeignServer *server = GetForeignServer(serverOid);
	int64		sample = VSFD_SAMPLE_DEFAULT;
	VsfdStoreList stores = {CurrentMemoryContext, NIL};
	VsfdNames	tables;
	VsStrSet   *listed = vs_strset_create("vectorstore import list", 64);
	List	   *commands = NIL;
	ListCell   *lc;

	foreach(lc, stmt->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "sample_files") == 0)
		{
			char	   *v = defGetString(def);
			char	   *end;

			sample = strtol(v, &end, 10);
			if (*v == '\0' || *end != '\0' || sample < 1 || sample > 100000)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid value for option \"sample_files\": \"%s\"", v),
						 errdetail("The value must be an integer from 1 to 100000.")));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\"", def->defname),
					 errhint("Valid options in this context are: sample_files.")));
	}

	vsfd_names_init(&tables);
	foreach(lc, stmt->table_list)
	{
		bool		found;

		(void) vs_strset_enter(listed, ((RangeVar *) lfirst(lc))->relname, &found);
	}

	if (strcmp(stmt->remote_schema, "vector_stores") == 0)
	{
		VsPager		pager = {0};

		pager.path = "/vector_stores";
		pager.beta = true;
		pager.cred = cred;
		pager.max_page_size = 100;
		pager.page_size = 100;
		pager.raise = true;
		(void) vs_paginate(&pager, vsfd_see_store, &stores);
	}
	else
	{
		VsRequest	req = {0};

		req.method = "GET";
		req.path = vs_path("/vector_stores/%s", stmt->remote_schema);
		req.beta = true;
		req.cred = cred;
		vsfd_see_store(vs_api_call(&req), &stores);
	}

	foreach(lc, stores.stores)
	{
		VsfdStore  *s = (VsfdStore *) lfirst(lc);
		VsfdStoreSeen seen = {CurrentMemoryContext, s->id, NIL, NULL};
		VsPager		pager = {0};
		StringInfoData sql;
		VsfdNames	columns;
		char	   *table;
		ListCell   *kc;
		static const char *const fixed[] = {
			"query", "file_id", "filename", "score", "content", "rank", "attributes",
			"raw", "max_num_results", "rewrite_query", "ranker", NULL
		};

		CHECK_FOR_INTERRUPTS();
		table = vsfd_unique_name(s->name, &tables);
		if (!vsfd_wanted(stmt, listed, table))
			continue;
		vsfd_names_init(&columns);
		for (int i = 0; fixed[i]; i++)
		{
			bool		found;

			(void) vs_strset_enter(columns.used, fixed[i], &found);
		}
		pager.path = vs_path("/vector_stores/%s/files", s->id);
		pager.beta = true;
		pager.cred = cred;
		pager.max_page_size = 100;
		pager.page_size = 100;
		pager.max_items = sample;
		pager.raise = true;
		(void) vs_paginate(&pager, vsfd_see_file, &seen);

		initStringInfo(&sql);
		appendStringInfo(&sql,
						 "CREATE FOREIGN TABLE %s (query text, file_id text, filename text, "
						 "score double precision, content text, rank integer, attributes jsonb, "
						 "max_num_results integer",
						 quote_identifier(table));
		foreach(kc, seen.keys)
		{
			VsfdKeySeen *k = (VsfdKeySeen *) lfirst(kc);
			bool		plain = true;
			char	   *column;

			for (int i = 0; fixed[i]; i++)
				plain &= strcmp(k->key, fixed[i]) != 0;
			CHECK_FOR_INTERRUPTS();
			column = vsfd_unique_name(plain ? k->key : psprintf("%s_attribute", k->key),
									  &columns);
			appendStringInfo(&sql, ", %s %s", quote_identifier(column), vsfd_seen_type(k));
			if (strcmp(column, k->key) != 0)
				appendStringInfo(&sql, " OPTIONS (attribute %s)", quote_literal_cstr(k->key));
		}
		appendStringInfo(&sql, ") SERVER %s OPTIONS (vector_store_id %s)",
						 quote_identifier(server->servername), quote_literal_cstr(s->id));
		commands = lappend(commands, sql.data);
		vsfd_names_free(&columns);
		if (seen.index)
			vs_strset_free(seen.index);
	}
	vsfd_names_free(&tables);
	vs_strset_free(listed);
	return commands;
}
