/*-------------------------------------------------------------------------
 *
 * credential.c
 *	  Which API key and base URL a request uses, and who may use which.
 *
 * Two sources of credentials:
 *	  - the settings: vectorstore.api_key (else the server's OPENAI_API_KEY),
 *		vectorstore.base_url, .organization, .project — set by a superuser;
 *	  - named credentials in vectorstore.credential, a table no role but its
 *		owner can read, handed to roles with vs_credential_grant().
 *
 * A session uses the credential named by vectorstore.credential if set (the
 * role must be a superuser or have been granted it, directly or through role
 * membership), else the single credential granted to the role, else the
 * settings. Code here reads the tables as the extension's owner, with a
 * restricted security context and fully qualified names and operators, so no
 * object of the calling role can run with the owner's rights.
 *
 * The lookup result is cached per backend and dropped whenever the
 * credential tables change (a statement trigger sends a relcache
 * invalidation for them) or role membership changes.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include <curl/curl.h>

PG_FUNCTION_INFO_V1(vs_credentials_changed);

/* one-entry cache of the last resolution */
static bool vs_cache_valid = false;
static bool vs_callbacks_registered = false;
static Oid	vs_cache_role = InvalidOid;
static char *vs_cache_setting = NULL;	/* vectorstore.credential seen */
static VsCredential *vs_cache_cred = NULL;	/* NULL: use the settings */

static void
vs_cache_reset(void)
{
	vs_cache_valid = false;
}

static void
vs_relcache_cb(Datum arg, Oid relid)
{
	/* any relcache flush may concern our tables: just forget */
	vs_cache_reset();
}

static void
vs_syscache_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	vs_cache_reset();
}

/* Statement trigger on the credential tables: tell every backend. */
Datum
vs_credentials_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "vs_credentials_changed: not called by trigger manager");
	CacheInvalidateRelcache(trigdata->tg_relation);
	vs_cache_reset();
	return PointerGetDatum(NULL);
}

/* The settings as a credential. */
static VsCredential *
vs_settings_credential(void)
{
	VsCredential *c = palloc0(sizeof(VsCredential));
	const char *env = getenv("OPENAI_API_KEY");

	c->name = NULL;
	c->api_key = (vs_api_key && vs_api_key[0]) ? vs_api_key : (char *) env;
	c->base_url = (vs_base_url && vs_base_url[0]) ? vs_base_url
		: "https://api.openai.com/v1";
	c->organization = (vs_organization && vs_organization[0]) ? vs_organization : NULL;
	c->project = (vs_project && vs_project[0]) ? vs_project : NULL;
	return c;
}

static char *
vs_spi_text(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * Run the lookup as the extension owner. `name` may be NULL: then the
 * credentials granted to `role` are looked up (at most one must match).
 * Returns a credential allocated in TopMemoryContext, or NULL if none.
 */
static VsCredential *
vs_lookup(const char *name, Oid role, bool check_grant, bool *found_many)
{
	Oid			extoid = get_extension_oid(VS_EXTENSION_NAME, true);
	Oid			owner;
	Oid			save_userid;
	int			save_sec;
	VsCredential *result = NULL;
	bool		pushed = false;

	*found_many = false;
	if (!OidIsValid(extoid))
		return NULL;
	owner = BOOTSTRAP_SUPERUSERID;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		Datum		args[3];
		Oid			types[3] = {TEXTOID, OIDOID, BOOLOID};
		int			rc;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "vectorstore: SPI_connect failed");
		pushed = true;
		args[0] = name ? CStringGetTextDatum(name) : (Datum) 0;
		args[1] = ObjectIdGetDatum(role);
		args[2] = BoolGetDatum(check_grant);
		/* every name and operator qualified: search_path plays no part */
		rc = SPI_execute_with_args(
								   "SELECT c.name, c.api_key, c.base_url, c.organization, c.project "
								   "FROM vectorstore.credential c "
								   "WHERE ($1 IS NULL OR c.name OPERATOR(pg_catalog.=) $1) "
								   "AND (NOT $3 OR EXISTS ("
								   "  SELECT 1 FROM vectorstore.credential_grant g "
								   "  WHERE g.credential OPERATOR(pg_catalog.=) c.name "
								   "  AND pg_catalog.pg_has_role($2, g.grantee, 'USAGE'))) "
								   "ORDER BY c.name LIMIT 2",
								   3, types, args, name ? "   " : "n  ", true, 2);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "vectorstore: credential lookup failed");
		if (SPI_processed > 1 && name == NULL)
			*found_many = true;
		else if (SPI_processed >= 1)
		{
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
			char	   *base;

			result = palloc0(sizeof(VsCredential));
			MemoryContextSwitchTo(old);
			base = vs_spi_text(0, 3);
			result->name = MemoryContextStrdup(TopMemoryContext, vs_spi_text(0, 1));
			result->api_key = vs_spi_text(0, 2) ?
				MemoryContextStrdup(TopMemoryContext, vs_spi_text(0, 2)) : NULL;
			result->base_url = MemoryContextStrdup(TopMemoryContext,
												   base ? base :
												   ((vs_base_url && vs_base_url[0]) ? vs_base_url : "https://api.openai.com/v1"));
			result->organization = vs_spi_text(0, 4) ?
				MemoryContextStrdup(TopMemoryContext, vs_spi_text(0, 4)) : NULL;
			result->project = vs_spi_text(0, 5) ?
				MemoryContextStrdup(TopMemoryContext, vs_spi_text(0, 5)) : NULL;
		}
		SPI_finish();
		pushed = false;
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
	(void) pushed;
	return result;
}

static void
vs_free_cached(void)
{
	if (vs_cache_cred)
	{
		if (vs_cache_cred->api_key)
		{
			explicit_bzero(vs_cache_cred->api_key, strlen(vs_cache_cred->api_key));
			pfree(vs_cache_cred->api_key);
		}
		pfree(vs_cache_cred);
		vs_cache_cred = NULL;
	}
	if (vs_cache_setting)
	{
		pfree(vs_cache_setting);
		vs_cache_setting = NULL;
	}
}

VsCredential *
vs_credential_current(void)
{
	Oid			role = GetUserId();
	const char *setting = vs_credential_name ? vs_credential_name : "";
	bool		many;

	if (!vs_callbacks_registered)
	{
		CacheRegisterRelcacheCallback(vs_relcache_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, vs_syscache_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, vs_syscache_cb, (Datum) 0);
		vs_callbacks_registered = true;
	}

	if (vs_cache_valid && vs_cache_role == role &&
		strcmp(vs_cache_setting, setting) == 0)
		return vs_cache_cred ? vs_cache_cred : vs_settings_credential();

	vs_free_cached();
	vs_cache_valid = false;
	if (setting[0])
	{
		vs_cache_cred = vs_lookup(setting, role, !superuser_arg(role), &many);
		if (vs_cache_cred == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("credential \"%s\" does not exist or is not granted to role \"%s\"",
							setting, GetUserNameFromId(role, false)),
					 errhint("A superuser grants credentials with vs_credential_grant().")));
	}
	else if (superuser_arg(role))
		vs_cache_cred = NULL;	/* superusers use the settings by default */
	else
	{
		vs_cache_cred = vs_lookup(NULL, role, true, &many);
		if (many)
			ereport(ERROR,
					(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
					 errmsg("role \"%s\" has been granted more than one credential",
							GetUserNameFromId(role, false)),
					 errhint("Choose one with SET vectorstore.credential = '<name>'.")));
	}
	vs_cache_role = role;
	vs_cache_setting = MemoryContextStrdup(TopMemoryContext, setting);
	vs_cache_valid = true;
	return vs_cache_cred ? vs_cache_cred : vs_settings_credential();
}

VsCredential *
vs_credential_by_name(const char *name, bool missing_ok)
{
	bool		many;
	VsCredential *c;

	if (name == NULL || name[0] == '\0')
		return vs_settings_credential();
	c = vs_lookup(name, InvalidOid, false, &many);
	if (c == NULL && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("credential \"%s\" does not exist", name)));
	if (c)
	{
		/* hand back a copy in the caller's context; free the long-lived one */
		VsCredential *copy = palloc0(sizeof(VsCredential));

		copy->name = pstrdup(c->name);
		copy->api_key = c->api_key ? pstrdup(c->api_key) : NULL;
		copy->base_url = pstrdup(c->base_url);
		copy->organization = c->organization ? pstrdup(c->organization) : NULL;
		copy->project = c->project ? pstrdup(c->project) : NULL;
		if (c->api_key)
		{
			explicit_bzero(c->api_key, strlen(c->api_key));
			pfree(c->api_key);
		}
		pfree(c);
		c = copy;
	}
	return c;
}

/*
 * The credential a role uses for queued work, checked now (the worker calls
 * this when it sends a job, not only when the job was queued): NULL and
 * *err when the role no longer exists, or may no longer use the credential
 * (revoked, or dropped). cred_name NULL or "" is the settings. Never raises
 * for those; call inside a transaction.
 */
VsCredential *
vs_credential_for_role(const char *role_name, const char *cred_name, char **err)
{
	Oid			role = get_role_oid(role_name, true);
	VsCredential *c;
	bool		many;

	*err = NULL;
	if (!OidIsValid(role))
	{
		*err = psprintf("role \"%s\" does not exist any more", role_name);
		return NULL;
	}
	if (cred_name == NULL || cred_name[0] == '\0')
		return vs_settings_credential();
	c = vs_lookup(cred_name, role, !superuser_arg(role), &many);
	if (c == NULL)
	{
		*err = psprintf("role \"%s\" may not use credential \"%s\" (it was revoked or dropped)",
						role_name, cred_name);
		return NULL;
	}
	{
		/* a copy in the caller's context; wipe the long-lived one */
		VsCredential *copy = palloc0(sizeof(VsCredential));

		*copy = *c;
		copy->name = pstrdup(c->name);
		copy->api_key = c->api_key ? pstrdup(c->api_key) : NULL;
		copy->base_url = pstrdup(c->base_url);
		copy->organization = c->organization ? pstrdup(c->organization) : NULL;
		copy->project = c->project ? pstrdup(c->project) : NULL;
		if (c->api_key)
		{
			explicit_bzero(c->api_key, strlen(c->api_key));
			pfree(c->api_key);
		}
		pfree(c);
		return copy;
	}
}

static char *vs_checked_url = NULL;
static bool vs_checked_insecure = false;

/*
 * Why requests may not go to url, or NULL: https anywhere; plain http only
 * to loopback unless a superuser allowed it (vectorstore.allow_insecure_http).
 */
char *
vs_base_url_problem(const char *url)
{
	CURLU	   *u;
	char	   *scheme = NULL;
	char	   *host = NULL;
	char	   *why = NULL;
	bool		loopback;

	if (url == NULL || url[0] == '\0')
		return pstrdup("vectorstore.base_url is empty");
	/* the last URL that passed, with the setting it passed under */
	if (vs_checked_url && strcmp(vs_checked_url, url) == 0 &&
		vs_checked_insecure == vs_allow_insecure_http)
		return NULL;
	u = curl_url();
	if (u == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		(strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0))
		why = psprintf("invalid vector store API base URL \"%s\"", url);
	else
	{
		loopback = strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
			strncmp(host, "127.", 4) == 0;
		if (strcmp(scheme, "http") == 0 && !loopback && !vs_allow_insecure_http)
			why = psprintf("plain http:// is allowed only to loopback hosts, not to \"%s\"", url);
	}
	if (scheme)
		curl_free(scheme);
	if (host)
		curl_free(host);
	curl_url_cleanup(u);
	if (why == NULL)
	{
		if (vs_checked_url)
			pfree(vs_checked_url);
		vs_checked_url = MemoryContextStrdup(TopMemoryContext, url);
		vs_checked_insecure = vs_allow_insecure_http;
	}
	return why;
}

/* https anywhere; http only to loopback unless allowed by a superuser. */
void
vs_check_base_url(const char *url)
{
	char	   *why = vs_base_url_problem(url);

	if (why)
		ereport(ERROR,
				(errcode(strncmp(why, "plain", 5) == 0 ? ERRCODE_INSUFFICIENT_PRIVILEGE
						 : ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg_internal("%s", why),
				 errhint("Use https://, or have a superuser set vectorstore.allow_insecure_http.")));
}
