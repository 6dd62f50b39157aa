/*-------------------------------------------------------------------------
 *
 * vectorstore.c
 *	  Module load (_PG_init) and the vectorstore.* settings.
 *
 * Secrets: vectorstore.api_key and vectorstore.headers are PGC_SUSET and
 * GUC_SUPERUSER_ONLY, hidden from SHOW ALL, and their show hooks mask the
 * value for everyone (SHOW, current_setting, pg_settings), so a secret is
 * never printed — not even to members of pg_read_all_settings. Their check
 * hooks refuse per-database and per-role values (ALTER ROLE/DATABASE ...
 * SET), which would otherwise be readable by every role through
 * pg_roles.rolconfig / pg_db_role_setting, and no error of a check hook
 * echoes a value. The reload message PostgreSQL logs for a changed setting
 * is rewritten by secret_log.c. A key that never passes through SQL comes
 * from vectorstore.api_key_file (read at use by credential.c) or the
 * server's OPENAI_API_KEY. Where requests go (base_url,
 * allow_insecure_http, auth, query) is superuser-only.
 *
 * Every value that becomes a header (api_key, organization, project,
 * headers) is refused here already when it holds a control character, and
 * base_url gets the one check of a base URL's form (credential.c), so a bad
 * value is refused when it is set, not when a request is built.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include <limits.h>

PG_MODULE_MAGIC;

char	   *vs_api_key = NULL;
char	   *vs_api_key_file = NULL;
int			vs_auth = VS_AUTH_BEARER;
static char *vs_headers_setting = NULL;
static char *vs_query_setting = NULL;
VsPairs    *vs_settings_headers = NULL;
VsPairs    *vs_settings_query = NULL;
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

static const struct config_enum_entry vs_auth_options[] = {
	{"bearer", VS_AUTH_BEARER, false},
	{"api-key", VS_AUTH_API_KEY, false},
	{"none", VS_AUTH_NONE, false},
	{NULL, 0, false}
};

/* Never let a secret be stored where every role can read it. */
static bool
vs_secret_source_ok(const char *name, const char *value, GucSource source)
{
	switch (source)
	{
		case PGC_S_DATABASE:
		case PGC_S_USER:
		case PGC_S_DATABASE_USER:
		case PGC_S_TEST:
			if (value && value[0])
			{
				GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
				GUC_check_errmsg("%s cannot be set per role or per database", name);
				GUC_check_errdetail("Such values are stored in pg_db_role_setting, which every role can read.");
				GUC_check_errhint("Use vectorstore.api_key_file, the server's OPENAI_API_KEY environment variable, or a credential stored with vs_credential_set().");
				return false;
			}
			return true;
		default:
			return true;
	}
}

/* A value that becomes a header: no control characters (CR/LF would split the request). */
static bool
vs_header_value_ok(const char *name, const char *value)
{
	for (const unsigned char *p = (const unsigned char *) value; p && *p; p++)
		if (*p < 0x20 || *p == 0x7f)
		{
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errmsg("%s must not contain control characters (such as CR or LF)", name);
			GUC_check_errdetail("Its value is sent as an HTTP header.");
			return false;
		}
	return true;
}

static bool
vs_api_key_check(char **newval, void **extra, GucSource source)
{
	if (!vs_secret_source_ok("vectorstore.api_key", *newval, source))
		return false;
	for (const unsigned char *p = (const unsigned char *) *newval; p && *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
		{
			/* never echo the value: the default message would */
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errmsg("vectorstore.api_key must not contain spaces or control characters");
			return false;
		}
	return true;
}

static const char *
vs_api_key_show(void)
{
	return (vs_api_key && vs_api_key[0]) ? "********" : "";
}

static bool
vs_organization_check(char **newval, void **extra, GucSource source)
{
	return vs_header_value_ok("vectorstore.organization", *newval);
}

static bool
vs_project_check(char **newval, void **extra, GucSource source)
{
	return vs_header_value_ok("vectorstore.project", *newval);
}

/* vectorstore.headers / vectorstore.query: a JSON object, parsed once. */
static bool
vs_pairs_check(const char *name, bool headers, char **newval, void **extra, GucSource source)
{
	char		why[256];
	VsPairs    *pairs;
	char	   *problem;

	if (headers && !vs_secret_source_ok(name, *newval, source))
		return false;
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	pairs = vs_json_pairs_parse(*newval, why, sizeof(why));
	if (pairs == NULL)
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("invalid value for %s", name);
		GUC_check_errdetail("%s", why);
		return false;
	}
	problem = headers ? vs_credential_headers_problem(pairs->pair, pairs->n)
		: vs_credential_query_problem(pairs->pair, pairs->n);
	if (problem)
	{
		free(pairs);
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("invalid value for %s", name);
		GUC_check_errdetail("%s.", problem);
		return false;
	}
	*extra = pairs;
	return true;
}

static bool
vs_headers_check(char **newval, void **extra, GucSource source)
{
	return vs_pairs_check("vectorstore.headers", true, newval, extra, source);
}

static void
vs_headers_assign(const char *newval, void *extra)
{
	vs_settings_headers = (VsPairs *) extra;
}

static const char *
vs_headers_show(void)
{
	return (vs_headers_setting && vs_headers_setting[0]) ? "********" : "";
}

static bool
vs_query_check(char **newval, void **extra, GucSource source)
{
	return vs_pairs_check("vectorstore.query", false, newval, extra, source);
}

static void
vs_query_assign(const char *newval, void *extra)
{
	vs_settings_query = (VsPairs *) extra;
}

/* A key file's path: absolute, printable. Its contents are checked at use. */
static bool
vs_api_key_file_check(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;

	if (v == NULL || v[0] == '\0')
		return true;
	if (!is_absolute_path(v))
	{
		GUC_check_errdetail("vectorstore.api_key_file must be an absolute path.");
		return false;
	}
	for (const unsigned char *p = (const unsigned char *) v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
		{
			GUC_check_errdetail("vectorstore.api_key_file must not contain control characters.");
			return false;
		}
	return true;
}

/* The one check of a base URL's form (credential.c), when it is set. */
static bool
vs_base_url_check(char **newval, void **extra, GucSource source)
{
	const char *why;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	why = vs_base_url_form_problem(*newval);
	if (why)
	{
		/* not the default message: it would echo a password in the URL */
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("invalid value for vectorstore.base_url");
		GUC_check_errdetail("%s", why);
		return false;
	}
	return true;
}

void
_PG_init(void)
{
	/* first, so that no message of this process escapes it */
	vs_secret_log_init();

	DefineCustomStringVariable("vectorstore.api_key",
							   "API key of the settings credential (superuser only; else vectorstore.api_key_file, else the server's OPENAI_API_KEY).",
							   NULL,
							   &vs_api_key,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   vs_api_key_check, NULL, vs_api_key_show);

	DefineCustomStringVariable("vectorstore.api_key_file",
							   "File holding the API key of the settings credential, read at use (superuser only).",
							   "The file must be owned by the server's user (mode 0600) or by root (0640 at most).",
							   &vs_api_key_file,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   vs_api_key_file_check, NULL, NULL);

	DefineCustomEnumVariable("vectorstore.auth",
							 "How the settings credential sends its key: bearer (Authorization: Bearer), api-key (Azure OpenAI) or none.",
							 NULL,
							 &vs_auth,
							 VS_AUTH_BEARER,
							 vs_auth_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("vectorstore.headers",
							   "Default headers of the settings credential, a JSON object (superuser only; values are secrets).",
							   NULL,
							   &vs_headers_setting,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   vs_headers_check, vs_headers_assign, vs_headers_show);

	DefineCustomStringVariable("vectorstore.query",
							   "Default query parameters of the settings credential, a JSON object such as {\"api-version\": \"2024-10-21\"}.",
							   NULL,
							   &vs_query_setting,
							   "",
							   PGC_SUSET,
							   0,
							   vs_query_check, vs_query_assign, NULL);

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
							   vs_organization_check, NULL, NULL);

	DefineCustomStringVariable("vectorstore.project",
							   "OpenAI-Project header sent with settings-based requests.",
							   NULL,
							   &vs_project,
							   "",
							   PGC_SUSET,
							   0,
							   vs_project_check, NULL, NULL);

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

