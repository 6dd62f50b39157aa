/*-------------------------------------------------------------------------
 *
 * fdw_options.c
 *	  The options of the vectorstore_fdw foreign data wrapper, its servers,
 *	  user mappings, foreign tables and columns (the validator).
 *
 * A server of vectorstore_fdw is a place requests go: the server
 * "vectorstore" stands for the settings credential, and each named
 * credential is a server of its own (credential.c), so that who may use it
 * is an ordinary privilege (GRANT USAGE ON FOREIGN SERVER), kept by pg_dump
 * and honoured by DROP ROLE. Options of servers and foreign tables are
 * readable by every role (pg_foreign_server, pg_foreign_table), so nothing
 * secret may be an option: keys live in vectorstore.credential, which no
 * role but the extension's owner can read.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "access/reloptions.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/formatting.h"

PG_FUNCTION_INFO_V1(vectorstore_fdw_validator);

/*
 * The options each kind of object accepts: one row per option, with the
 * catalog of the objects it belongs to. Add a foreign table's options here
 * (catalog ForeignTableRelationId, or AttributeRelationId for columns),
 * then list that catalog in vs_fdw_strict below so a misspelt option is an
 * error, as postgres_fdw does.
 */
typedef struct VsFdwOption
{
	const char *name;
	Oid			catalog;
} VsFdwOption;

static const VsFdwOption vs_fdw_options[] = {
	/*
	 * Servers and user mappings take none: a credential's settings live in
	 * vectorstore.credential (set by vs_credential_set), which other roles
	 * cannot read, unlike options.
	 */
	{NULL, InvalidOid}
};

/* Catalogs whose every option is listed above: anything else is refused. */
static const Oid vs_fdw_strict[] = {
	ForeignDataWrapperRelationId, ForeignServerRelationId, UserMappingRelationId
};

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

static bool
vs_option_known(const char *name, Oid catalog)
{
	for (int i = 0; vs_fdw_options[i].name; i++)
		if (vs_fdw_options[i].catalog == catalog && strcmp(vs_fdw_options[i].name, name) == 0)
			return true;
	return false;
}

static bool
vs_catalog_strict(Oid catalog)
{
	for (int i = 0; i < lengthof(vs_fdw_strict); i++)
		if (vs_fdw_strict[i] == catalog)
			return true;
	return false;
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

		if (vs_option_is_secret(def->defname))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"%s\" cannot hold a secret", def->defname),
					 errdetail("Options of servers, user mappings and foreign tables can be read by other roles."),
					 errhint("Store keys with vs_credential_set() (or a key_file) and name the credential instead.")));
		if (vs_catalog_strict(catalog) && !vs_option_known(def->defname, catalog))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\"", def->defname),
					 catalog == ForeignServerRelationId ?
					 errhint("A server of vectorstore_fdw takes no options: vs_credential_set() stores where its requests go and how they authenticate.") :
					 errhint("There are no valid options in this context.")));
	}
	PG_RETURN_VOID();
}
