/*-------------------------------------------------------------------------
 *
 * sync.c
 *	  Trigger mode of table sync (sql/install/60_sync.sql): a statement
 *	  trigger on the source table runs vs_sync_run() as the sync's owner, so
 *	  the jobs it queues commit (or roll back) with the change itself.
 *
 * The comparison and queueing live in SQL (vs_sync_run); the worker does
 * the rest (queue.c). Running as the owner matters: the sync's rows, its
 * jobs and the credential used belong to the role that created the sync,
 * not to whoever happens to change the table. The trigger refuses to run
 * for any relation other than the sync's source, so attaching it to another
 * table cannot borrow the owner's identity.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"
#include "vs_worker.h"

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(vs_sync_trigger);

/* Look up a sync's owner and source as the bootstrap superuser (past RLS). */
static bool
vs_sync_lookup(const char *name, Oid *owner, Oid *source)
{
	Oid			save_userid;
	int			save_sec;
	volatile bool found = false;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
						   save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		Oid			types[1] = {TEXTOID};
		Datum		vals[1];

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "vectorstore: SPI_connect failed");
		vals[0] = CStringGetTextDatum(name);
		if (SPI_execute_with_args("SELECT s.owner, s.source FROM vectorstore.sync s"
								  " WHERE s.name OPERATOR(pg_catalog.=) $1",
								  1, types, vals, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "vectorstore: sync lookup failed");
		if (SPI_processed == 1)
		{
			bool		isnull;

			*owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1, &isnull));
			*source = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 2, &isnull));
			found = true;
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
	return found;
}

/* AFTER ... FOR EACH STATEMENT trigger: vectorstore._sync_trigger('<sync name>'). */
Datum
vs_sync_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *name;
	Oid			owner,
				source;
	Oid			save_userid;
	int			save_sec;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "vs_sync_trigger: not called by trigger manager");
	if (!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		trigdata->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("vectorstore._sync_trigger() must be an AFTER ... FOR EACH STATEMENT trigger with one argument")));
	name = trigdata->tg_trigger->tgargs[0];

	if (!vs_sync_lookup(name, &owner, &source))
		return PointerGetDatum(NULL);	/* the sync was dropped: nothing to do */
	if (source != RelationGetRelid(trigdata->tg_relation))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("sync \"%s\" does not read relation \"%s\"", name,
						RelationGetRelationName(trigdata->tg_relation))));

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		Oid			types[1] = {TEXTOID};
		Datum		vals[1];

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "vectorstore: SPI_connect failed");
		vals[0] = CStringGetTextDatum(name);
		if (SPI_execute_with_args("SELECT vectorstore.vs_sync_run($1)",
								  1, types, vals, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "vectorstore: vs_sync_run failed");
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
	return PointerGetDatum(NULL);
}
