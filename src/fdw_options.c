/*-------------------------------------------------------------------------
 *
 * fdw_options.c
 *	  The options of the vectorstore_fdw foreign data wrapper, its servers,
 *	  user mappings, foreign tables and columns (the validator), and how a
 *	  search table's options and columns are read.
 *
 * A server of vectorstore_fdw is a place requests go: the server
 * "vectorstore" stands for the settings credential, and each named
 * credential is a server of its own (credential.c), so that who may use it
 * is an ordinary privilege (GRANT USAGE ON FOREIGN SERVER), kept by pg_dump
 * and honoured by DROP ROLE. Options of servers and foreign tables are
 * readable by every role (pg_foreign_server, pg_foreign_table), so nothing
 * secret may be an option: keys live in vectorstore.credential_secret (or
 * key files), which no role but the extension's owner can read. Servers take
 * no options: vs_credential_set stores where a credential's requests go.
 *
 *	  foreign table	vector_store_id (required), max_num_results (1..50, the
 *					results asked for when no LIMIT is sent), ranker,
 *					score_threshold (0..1), rewrite_query (boolean)
 *	  column		attribute: the file attribute the column reads (its
 *					name by default)
 *	  user mapping	credential: for server "vectorstore", the named
 *					credential the role searches with (it must be allowed
 *					to use it, as for the functions)
 *
 *-------------------------------------------------------------------------
 */
#include "vs_fdw.h"

#include "access/htup_details.h"
#include "access/reloptions.h"
#include "access/table.h"
#include "catalog/pg_am.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_type.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "mb/pg_wchar.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include <math.h>

PG_FUNCTION_INFO_V1(vectorstore_fdw_validator);

typedef struct VsfdOption
{
	const char *name;
	Oid			catalog;
} VsfdOption;

static const VsfdOption vsfd_options[] = {
	{"vector_store_id", ForeignTableRelationId},
	{"max_num_results", ForeignTableRelationId},
	{"ranker", ForeignTableRelationId},
	{"score_threshold", ForeignTableRelationId},
	{"rewrite_query", ForeignTableRelationId},
	{"attribute", AttributeRelationId},
	{"credential", UserMappingRelationId},
	{NULL, InvalidOid}
};

static const char *const vsfd_rankers[] = {"none", "auto", "default-2024-11-15", NULL};

/* Option names that would put a secret where every role can read it. */
static bool
vs_option_is_secret(const char *name)
{
	static const char *const exact[] = {"key", "password", "token", "secret", NULL};
	static const char *const part[] = {
		"api_key", "apikey", "api-key", "secret", "password", "passwd", "token",
		"authorization", "bearer", NULL
	};
	char	   *lower = asc_tolower(name, strlen(name));

	for (int i = 0; exact[i]; i++)
		if (strcmp(lower, exact[i]) == 0)
			return true;
	for (int i = 0; part[i]; i++)
		if (strstr(lower, part[i]) != NULL)
			return true;
	return false;
}

static void
vsfd_bad_value(const char *name, const char *value, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
			 errdetail("The value must be %s.", expected)));
}

/* Check one option's value (its name is known for catalog). */
static void
vsfd_check_value(const char *name, const char *value)
{
	if (strcmp(name, "max_num_results") == 0)
	{
		char	   *end;
		long		n = strtol(value, &end, 10);

		if (*value == '\0' || *end != '\0' || n < 1 || n > VSFD_MAX_RESULTS)
			vsfd_bad_value(name, value, "an integer from 1 to 50");
	}
	else if (strcmp(name, "score_threshold") == 0)
	{
		char	   *end;
		double		d = strtod(value, &end);

		if (*value == '\0' || *end != '\0' || !isfinite(d) || d < 0 || d > 1)
			vsfd_bad_value(name, value, "a number from 0 to 1");
	}
	else if (strcmp(name, "rewrite_query") == 0)
	{
		bool		b;

		if (!parse_bool(value, &b))
			vsfd_bad_value(name, value, "a boolean");
	}
	else if (strcmp(name, "ranker") == 0)
	{
		bool		ok = false;

		for (int i = 0; vsfd_rankers[i]; i++)
			ok |= strcmp(value, vsfd_rankers[i]) == 0;
		if (!ok)
			vsfd_bad_value(name, value, "one of none, auto, default-2024-11-15");
	}
	else if (strcmp(name, "attribute") == 0)
	{
		if (*value == '\0' || pg_mbstrlen(value) > 64)
			vsfd_bad_value(name, value, "an attribute key of 1 to 64 characters");
	}
	else if (*value == '\0')
		vsfd_bad_value(name, value, "a non-empty string");
}

Datum
vectorstore_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		bool		known = false;

		if (vs_option_is_secret(def->defname))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"%s\" cannot hold a secret", def->defname),
					 errdetail("Options of servers, user mappings and foreign tables can be read by other roles."),
					 errhint("Store keys with vs_credential_set() (or a key_file) and name the credential instead.")));
		for (int i = 0; vsfd_options[i].name; i++)
			known |= vsfd_options[i].catalog == catalog &&
				strcmp(vsfd_options[i].name, def->defname) == 0;
		if (!known)
		{
			StringInfoData valid;

			initStringInfo(&valid);
			for (int i = 0; vsfd_options[i].name; i++)
				if (vsfd_options[i].catalog == catalog)
					appendStringInfo(&valid, "%s%s", valid.len ? ", " : "",
									 vsfd_options[i].name);
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\"", def->defname),
					 valid.len ? errhint("Valid options in this context are: %s.", valid.data)
					 : catalog == ForeignServerRelationId ?
					 errhint("A server of vectorstore_fdw takes no options: vs_credential_set() stores where its requests go and how they authenticate.")
					 : errhint("There are no valid options in this context.")));
		}
		vsfd_check_value(def->defname, defGetString(def));
	}
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------
 * Reading a search table
 * ---------------------------------------------------------------------
 */
static const struct
{
	const char *name;
	VsfdColKind kind;
}			vsfd_fixed[] = {
	{"query", VSFD_COL_QUERY},
	{"file_id", VSFD_COL_FILE_ID},
	{"filename", VSFD_COL_FILENAME},
	{"score", VSFD_COL_SCORE},
	{"content", VSFD_COL_CONTENT},
	{"rank", VSFD_COL_RANK},
	{"attributes", VSFD_COL_ATTRIBUTES},
	{"raw", VSFD_COL_RAW},
	{"max_num_results", VSFD_COL_MAX_NUM_RESULTS},
	{"rewrite_query", VSFD_COL_REWRITE_QUERY},
	{"ranker", VSFD_COL_RANKER},
	{NULL, VSFD_COL_DROPPED}
};

static void
vsfd_column_type_error(VsfdTable *t, const VsfdColumn *col, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("column \"%s\" of foreign table \"%s\" must be of type %s, not %s",
					col->name, t->relname, expected, format_type_with_typemod(col->typid, col->typmod))));
}

static void
vsfd_check_fixed(VsfdTable *t, VsfdColumn *col)
{
	bool		ok;
	const char *expected;

	switch (col->kind)
	{
		case VSFD_COL_SCORE:
			ok = col->typid == FLOAT8OID;
			expected = "double precision";
			break;
		case VSFD_COL_RANK:
		case VSFD_COL_MAX_NUM_RESULTS:
			ok = col->typid == INT4OID || col->typid == INT8OID;
			expected = "integer or bigint";
			break;
		case VSFD_COL_ATTRIBUTES:
		case VSFD_COL_RAW:
			ok = col->typid == JSONBOID;
			expected = "jsonb";
			break;
		case VSFD_COL_REWRITE_QUERY:
			ok = col->typid == BOOLOID;
			expected = "boolean";
			break;
		default:
			ok = (col->typid == TEXTOID || col->typid == VARCHAROID) && col->typmod == -1;
			expected = "text";
			break;
	}
	if (!ok)
		vsfd_column_type_error(t, col, expected);
}

static void
vsfd_check_attribute(VsfdTable *t, VsfdColumn *col)
{
	switch (col->typid)
	{
		case TEXTOID:
		case VARCHAROID:
			col->vkind = VSFD_VAL_TEXT;
			break;
		case INT2OID:
		case INT4OID:
		case INT8OID:
			col->vkind = VSFD_VAL_INT;
			break;
		case FLOAT8OID:
			col->vkind = VSFD_VAL_FLOAT8;
			break;
		case FLOAT4OID:
			col->vkind = VSFD_VAL_FLOAT4;
			break;
		case NUMERICOID:
			col->vkind = VSFD_VAL_NUMERIC;
			break;
		case BOOLOID:
			col->vkind = VSFD_VAL_BOOL;
			break;
		case TIMESTAMPTZOID:
			col->vkind = VSFD_VAL_TIMESTAMPTZ;
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of foreign table \"%s\" has type %s, which no file attribute has",
							col->name, t->relname, format_type_be(col->typid)),
					 errdetail("Attribute columns are text, varchar, smallint, integer, bigint, real, double precision, numeric, boolean or timestamp with time zone (epoch seconds)."),
					 errhint("Read other attributes from the jsonb column \"attributes\".")));
	}
	col->family = get_opclass_family(GetDefaultOpClass(col->typid, BTREE_AM_OID));
}

/* The options and columns of search table relid (checked). */
VsfdTable *
vsfd_table(Oid relid)
{
	VsfdTable  *t = palloc0(sizeof(VsfdTable));
	ForeignTable *ft = GetForeignTable(relid);
	Relation	rel;
	TupleDesc	desc;
	ListCell   *lc;

	t->relid = relid;
	t->relname = get_rel_name(relid);
	t->serverid = ft->serverid;
	t->max_num_results = VSFD_DEFAULT_RESULTS;
	t->score_threshold = -1;
	t->rewrite_query = -1;
	foreach(lc, ft->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		char	   *v = defGetString(def);

		/* the validator has checked every value */
		if (strcmp(def->defname, "vector_store_id") == 0)
			t->vector_store_id = v;
		else if (strcmp(def->defname, "max_num_results") == 0)
		{
			t->max_num_results = atoi(v);
			t->max_from_option = true;
		}
		else if (strcmp(def->defname, "ranker") == 0)
			t->ranker = v;
		else if (strcmp(def->defname, "score_threshold") == 0)
			t->score_threshold = strtod(v, NULL);
		else if (strcmp(def->defname, "rewrite_query") == 0)
		{
			bool		b = false;

			(void) parse_bool(v, &b);
			t->rewrite_query = b ? 1 : 0;
		}
	}
	if (t->vector_store_id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("foreign table \"%s\" has no vector_store_id option", t->relname),
				 errhint("ALTER FOREIGN TABLE %s OPTIONS (ADD vector_store_id 'vs_...').",
						 quote_identifier(t->relname))));

	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	t->natts = desc->natts;
	t->cols = palloc0(sizeof(VsfdColumn) * Max(desc->natts, 1));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		VsfdColumn *col = &t->cols[i];
		char	   *attribute = NULL;

		if (att->attisdropped)
		{
			col->kind = VSFD_COL_DROPPED;
			continue;
		}
		col->name = pstrdup(NameStr(att->attname));
		col->typid = att->atttypid;
		col->typmod = att->atttypmod;
		col->collation = att->attcollation;
		foreach(lc, GetForeignColumnOptions(relid, att->attnum))
		{
			DefElem    *def = (DefElem *) lfirst(lc);

			if (strcmp(def->defname, "attribute") == 0)
				attribute = defGetString(def);
		}
		col->kind = VSFD_COL_ATTRIBUTE;
		if (attribute == NULL)
		{
			for (int k = 0; vsfd_fixed[k].name; k++)
				if (strcmp(col->name, vsfd_fixed[k].name) == 0)
					col->kind = vsfd_fixed[k].kind;
		}
		if (col->kind == VSFD_COL_ATTRIBUTE)
		{
			col->key = attribute ? attribute : col->name;
			vsfd_check_attribute(t, col);
		}
		else
			vsfd_check_fixed(t, col);
	}
	table_close(rel, AccessShareLock);
	return t;
}

/*
 * The "credential" option of the user mapping of userid (else PUBLIC's)
 * for server serverid, or NULL when there is none.
 */
char *
vsfd_mapping_credential(Oid serverid, Oid userid)
{
	HeapTuple	tp;
	char	   *result = NULL;

	tp = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(userid),
						 ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tp))
		tp = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(InvalidOid),
							 ObjectIdGetDatum(serverid));
	if (HeapTupleIsValid(tp))
	{
		bool		isnull;
		Datum		d = SysCacheGetAttr(USERMAPPINGUSERSERVER, tp,
										Anum_pg_user_mapping_umoptions, &isnull);
		ListCell   *lc;

		if (!isnull)
			foreach(lc, untransformRelOptions(d))
			{
				DefElem    *def = (DefElem *) lfirst(lc);

				if (strcmp(def->defname, "credential") == 0)
					result = pstrdup(defGetString(def));
			}
		ReleaseSysCache(tp);
	}
	return result;
}
