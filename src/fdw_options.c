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
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(vectorstore_fdw_validator);

/* Option names that would put a secret where every role can read it. */
static bool
vs_option_is_secret(const char *name)
{
	static const char *const secret[] = {
		"api_key", "apikey", "api-key", "key", "password", "token", "secret",
		"authorization", NULL
	};

	for (int i = 0; secret[i]; i++)
		if (pg_strcasecmp(name, secret[i]) == 0)
			return true;
	return false;
}

Datum
vectorstore_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (vs_option_is_secret(def->defname))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"%s\" cannot hold a secret", def->defname),
					 errdetail("Options of servers, user mappings and foreign tables can be read by other roles."),
					 errhint("Store keys with vs_credential_set() and name the credential instead.")));
	}
	PG_RETURN_VOID();
}
