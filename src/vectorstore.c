/*-------------------------------------------------------------------------
 *
 * vectorstore.c
 *	  Module load (_PG_init) and the vectorstore.* settings.
 *
 * Secrets: vectorstore.api_key is PGC_SUSET and GUC_SUPERUSER_ONLY, hidden
 * from SHOW ALL, and its show hook masks the value for everyone (SHOW,
 * current_setting, pg_settings), so the key is never printed — not even to
 * members of pg_read_all_settings. Its check hook refuses per-database and
 * per-role values (ALTER ROLE/DATABASE ... SET), which would otherwise be
 * readable by every role through pg_roles.rolconfig / pg_db_role_setting,
 * and its error never echoes the value. Where requests go
 * (vectorstore.base_url, vectorstore.allow_insecure_http) is superuser-only.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include <limits.h>

PG_MODULE_MAGIC;

char	   *vs_api_key = NULL;
char	   *vs_base_url = NULL;
char	   *vs_organization = NULL;
char	   *vs_project = NULL;
char	   *vs_credential_name = NULL;
int			vs_connect_timeout_ms = 10000;
int			vs_request_timeout_ms = 60000;
int			vs_max_retries = 2;
int			vs_max_response_kb = 65536;
int			vs_max_requests_per_statement = 100000;
bool		vs_allow_insecure_http = false;

void		_PG_init(void);

/* Never let the key be stored where every role can read it. */
static bool
vs_api_key_check(char **newval, void **extra, GucSource source)
{
	switch (source)
	{
		case PGC_S_DATABASE:
		case PGC_S_USER:
		case PGC_S_DATABASE_USER:
		case PGC_S_TEST:
			if (*newval && (*newval)[0])
			{
				GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
				GUC_check_errmsg("vectorstore.api_key cannot be set per role or per database");
				GUC_check_errdetail("Such values are stored in pg_db_role_setting, which every role can read.");
				GUC_check_errhint("Set it in postgresql.conf or the server's OPENAI_API_KEY environment variable, or store it as a credential with vs_credential_set().");
				return false;
			}
			return true;
		default:
			return true;
	}
}

static const char *
vs_api_key_show(void)
{
	return (vs_api_key && vs_api_key[0]) ? "********" : "";
}

/* A base URL is checked for form when set, for its target at request time. */
static bool
vs_base_url_check(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;

	if (v == NULL || v[0] == '\0')
		return true;
	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
	{
		GUC_check_errdetail("vectorstore.base_url must start with https:// or http://.");
		return false;
	}
	if (strpbrk(v, " \t\r\n?#") != NULL)
	{
		GUC_check_errdetail("vectorstore.base_url must not contain whitespace, a query or a fragment.");
		return false;
	}
	return true;
}

void
_PG_init(void)
{
	DefineCustomStringVariable("vectorstore.api_key",
							   "API key sent as the bearer token (superuser only; falls back to the server's OPENAI_API_KEY).",
							   NULL,
							   &vs_api_key,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   vs_api_key_check, NULL, vs_api_key_show);

	DefineCustomStringVariable("vectorstore.base_url",
							   "Base URL of the OpenAI-compatible API (superuser only).",
							   NULL,
							   &vs_base_url,
							   "https://api.openai.com/v1",
							   PGC_SUSET,
							   0,
							   vs_base_url_check, NULL, NULL);

	DefineCustomBoolVariable("vectorstore.allow_insecure_http",
							 "Allow plain http:// base URLs to hosts other than loopback (superuser only).",
							 NULL,
							 &vs_allow_insecure_http,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("vectorstore.organization",
							   "OpenAI-Organization header sent with settings-based requests.",
							   NULL,
							   &vs_organization,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("vectorstore.project",
							   "OpenAI-Project header sent with settings-based requests.",
							   NULL,
							   &vs_project,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("vectorstore.credential",
							   "Name of the stored credential this session's requests use (empty: the role's granted one, else the settings).",
							   NULL,
							   &vs_credential_name,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("vectorstore.connect_timeout",
							"Time allowed to establish a connection to the API.",
							NULL,
							&vs_connect_timeout_ms,
							10000, 1, 600000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("vectorstore.timeout",
							"Time allowed for one attempt of a request (retries get their own).",
							NULL,
							&vs_request_timeout_ms,
							60000, 1, 3600000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("vectorstore.max_retries",
							"Retries after a failed attempt (connection errors, 408, 409, 429, 5xx).",
							NULL,
							&vs_max_retries,
							2, 0, 10,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("vectorstore.max_response_size",
							"Response data one call may hold at once (all its responses, decompressed).",
							NULL,
							&vs_max_response_kb,
							65536, 1, 1024 * 1024,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("vectorstore.max_requests_per_statement",
							"Requests one SQL statement may send (retries count); 0: no limit.",
							"A guard against a query that calls the API once per row of a large table.",
							&vs_max_requests_per_statement,
							100000, 0, INT_MAX,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	vs_progress_init();
	vs_worker_init();

	MarkGUCPrefixReserved("vectorstore");
}

