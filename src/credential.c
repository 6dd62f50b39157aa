/*-------------------------------------------------------------------------
 *
 * credential.c
 *	  Which API key, base URL, auth style, headers and query a request uses,
 *	  who may use which, where keys come from, and where requests may go.
 *
 * Credentials
 * -----------
 *	  - The settings credential: vectorstore.api_key_file, else
 *		vectorstore.api_key, else the server's OPENAI_API_KEY; base_url,
 *		organization, project, auth, headers and query settings — all set by
 *		a superuser. Who may use it: USAGE on the foreign server
 *		"vectorstore" (granted to PUBLIC by the install script, as 0.1.0
 *		behaved).
 *	  - Named credentials, stored by vs_credential_set() (superuser only):
 *		a foreign server of vectorstore_fdw with the credential's name is
 *		the object privileges are granted on (GRANT USAGE ON FOREIGN SERVER,
 *		which vs_credential_grant does), so that the server refuses DROP ROLE
 *		for a role that still holds a grant, pg_dump keeps grants by role
 *		name, and nothing keys on a raw role oid. What the credential is
 *		lives in two tables no role but the owner can read:
 *		vectorstore.credential (where requests go, how they authenticate,
 *		the key file's path, the names of default headers: dumped by
 *		pg_dump) and vectorstore.credential_secret (the key and the headers'
 *		values: never dumped, so a restored credential has no key until a
 *		superuser sets it again, and says so).
 *
 * A session uses the credential named by vectorstore.credential if set (the
 * role must be a superuser or have USAGE on its server, directly or through
 * membership), else the single named credential it may use, else the
 * settings (if it may use those). vs_credential_for_role() applies the same
 * rules for the worker when it sends a job.
 *
 * Tables are read as the bootstrap superuser in a security-restricted
 * context, with search_path set to pg_catalog, pg_temp and every name and
 * operator qualified, so no object of the calling role runs with those
 * rights. A database still at 0.1.0 (grants in credential_grant, keys in
 * credential) is served with its own queries until it is updated.
 *
 * The lookup is cached per backend and dropped when the credential tables
 * change (a statement trigger sends a relcache invalidation), when a
 * foreign server changes (grants), or when role membership changes. Key
 * files are read at use: a stat() per use, and the file is read again when
 * it changed (replace it atomically, with rename, to rotate the key).
 *
 * Where requests may go
 * ---------------------
 * One check of a base URL's form for the setting and credentials alike
 * (http or https, a host, no user name, password, query, fragment,
 * whitespace or control characters), and one verdict on its target: https
 * anywhere; plain http only to loopback — an IPv4 literal in 127.0.0.0/8
 * or ::1, as libcurl parses and normalises the host (0x7f.1 and 2130706433
 * are 127.0.0.1 to libcurl too), or the name localhost, which the
 * transport pins to 127.0.0.1 and ::1 — unless a superuser set
 * vectorstore.allow_insecure_http. Nothing is resolved by DNS to decide,
 * and plain http to loopback never goes through a proxy from the
 * environment, so the verdict is about the address libcurl connects to.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"
#include "vs_worker.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

PG_FUNCTION_INFO_V1(vs_credentials_changed);
PG_FUNCTION_INFO_V1(vs_credential_set);

#define VS_SETTINGS_SERVER	"vectorstore"
#define VS_FDW_NAME			"vectorstore_fdw"
#define VS_DEFAULT_BASE_URL "https://api.openai.com/v1"
#define VS_KEY_MAX			4096	/* longest key accepted */
#define VS_KEY_FILE_MAX		16384	/* largest key file read */

/* ---------------------------------------------------------------------
 * Copies
 * ---------------------------------------------------------------------
 */
static VsHeader *
vs_pairs_copy(const VsHeader *p, int n)
{
	VsHeader   *c;

	if (n <= 0)
		return NULL;
	c = palloc(sizeof(VsHeader) * n);
	for (int i = 0; i < n; i++)
	{
		c[i].name = pstrdup(p[i].name);
		c[i].value = pstrdup(p[i].value);
	}
	return c;
}

#define VS_STRDUP_OR_NULL(s) ((s) ? pstrdup(s) : NULL)

VsCredential *
vs_credential_copy(const VsCredential *c)
{
	VsCredential *copy = palloc0(sizeof(VsCredential));

	*copy = *c;
	copy->name = VS_STRDUP_OR_NULL(c->name);
	copy->api_key = VS_STRDUP_OR_NULL(c->api_key);
	copy->base_url = VS_STRDUP_OR_NULL(c->base_url);
	copy->organization = VS_STRDUP_OR_NULL(c->organization);
	copy->project = VS_STRDUP_OR_NULL(c->project);
	copy->headers = vs_pairs_copy(c->headers, c->nheaders);
	copy->query = vs_pairs_copy(c->query, c->nquery);
	copy->key_file = VS_STRDUP_OR_NULL(c->key_file);
	copy->problem = VS_STRDUP_OR_NULL(c->problem);
	return copy;
}

/* Free a credential made by vs_load, wiping its secrets first. */
static void
vs_credential_free(VsCredential *c)
{
	if (c == NULL)
		return;
	if (c->api_key)
		explicit_bzero(c->api_key, strlen(c->api_key));
	for (int i = 0; i < c->nheaders; i++)
		explicit_bzero((char *) c->headers[i].value, strlen(c->headers[i].value));
	/* everything else is in the credential's own memory context */
	MemoryContextDelete(GetMemoryChunkContext(c));
}

/* ---------------------------------------------------------------------
 * Key files: read at use, again when they change; checked like TLS keys
 * ---------------------------------------------------------------------
 */
typedef struct VsKeyFile
{
	char	   *path;
	struct stat st;				/* of the file the key was read from */
	char	   *key;			/* NULL: not read, or the last read failed */
	struct VsKeyFile *next;
} VsKeyFile;

static VsKeyFile *vs_key_files = NULL;

static bool
vs_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
		a->st_size == b->st_size && a->st_mode == b->st_mode &&
		a->st_uid == b->st_uid &&
		a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
		a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * Why a key file with this status may not be used, or NULL: the rule
 * PostgreSQL applies to its TLS key (be-secure-common.c) — a regular file
 * owned by the server's user with no access for group or others, or owned
 * by root and at most readable by its group.
 */
static char *
vs_key_file_mode_problem(const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return psprintf("key file \"%s\" is not a regular file", path);
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return psprintf("key file \"%s\" must be owned by the user the database server runs as, or by root", path);
	if (st->st_uid == geteuid() && (st->st_mode & (S_IRWXG | S_IRWXO)))
		return psprintf("key file \"%s\" is accessible to its group or to others (chmod 0600 it)", path);
	if (st->st_uid == 0 && (st->st_mode & (S_IWGRP | S_IXGRP | S_IRWXO)))
		return psprintf("key file \"%s\" is owned by root and accessible to others or writable by its group (0640 at most)", path);
	if (st->st_size > VS_KEY_FILE_MAX)
		return psprintf("key file \"%s\" is larger than %d bytes", path, VS_KEY_FILE_MAX);
	return NULL;
}

/*
 * The key in the file at path: the cached one while the file is unchanged,
 * else read now. Returns a string owned by the cache (copy it), or NULL and
 * *problem. Never raises for the file's faults; never prints its contents.
 */
static const char *
vs_key_file_read(const char *path, char **problem)
{
	VsKeyFile  *kf;
	struct stat st;
	char		buf[VS_KEY_FILE_MAX + 2];
	size_t		got = 0;
	int			fd;
	char	   *start = NULL,
			   *end;

	*problem = NULL;
	if (!is_absolute_path(path))
	{
		*problem = psprintf("key file \"%s\" is not an absolute path", path);
		return NULL;
	}
	for (kf = vs_key_files; kf; kf = kf->next)
		if (strcmp(kf->path, path) == 0)
			break;
	if (kf == NULL)
	{
		kf = MemoryContextAllocZero(TopMemoryContext, sizeof(VsKeyFile));
		kf->path = MemoryContextStrdup(TopMemoryContext, path);
		kf->next = vs_key_files;
		vs_key_files = kf;
	}
	if (stat(path, &st) != 0)
	{
		int			save = errno;

		*problem = psprintf("could not access key file \"%s\": %s", path, strerror(save));
		goto forget;
	}
	if (kf->key && vs_same_file(&st, &kf->st))
		return kf->key;

	/* read it: check what was opened, not what the path named a moment ago */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
	{
		int			save = errno;

		*problem = psprintf("could not open key file \"%s\": %s", path, strerror(save));
		goto forget;
	}
	if (fstat(fd, &st) != 0 || (*problem = vs_key_file_mode_problem(path, &st)) != NULL)
	{
		if (*problem == NULL)
			*problem = psprintf("could not stat key file \"%s\": %s", path, strerror(errno));
		close(fd);
		goto forget;
	}
	for (;;)
	{
		ssize_t		n = read(fd, buf + got, sizeof(buf) - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			int			save = errno;

			close(fd);
			explicit_bzero(buf, sizeof(buf));
			*problem = psprintf("could not read key file \"%s\": %s", path, strerror(save));
			goto forget;
		}
		if (n == 0 || got + n >= sizeof(buf) - 1)
		{
			got += n;
			break;
		}
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	if (got > VS_KEY_FILE_MAX)
		*problem = psprintf("key file \"%s\" is larger than %d bytes", path, VS_KEY_FILE_MAX);
	else
	{
		/* the key is the file's text without surrounding white space */
		start = buf;
		while (*start == ' ' || *start == '\t' || *start == '\r' || *start == '\n')
			start++;
		end = buf + got;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
			end--;
		*end = '\0';
		if (start == end)
			*problem = psprintf("key file \"%s\" is empty", path);
		else if (end - start > VS_KEY_MAX)
			*problem = psprintf("the key in key file \"%s\" is longer than %d bytes", path, VS_KEY_MAX);
		else
			for (const unsigned char *p = (unsigned char *) start; *p; p++)
				if (*p <= 0x20 || *p == 0x7f)
				{
					*problem = psprintf("the key in key file \"%s\" contains spaces or control characters", path);
					break;
				}
	}
	if (*problem == NULL)
	{
		if (kf->key)
		{
			explicit_bzero(kf->key, strlen(kf->key));
			pfree(kf->key);
		}
		kf->key = MemoryContextStrdup(TopMemoryContext, start);
		kf->st = st;
	}
	explicit_bzero(buf, sizeof(buf));
	if (*problem == NULL)
		return kf->key;

forget:
	/* a file that cannot be used does not keep serving its old key */
	if (kf->key)
	{
		explicit_bzero(kf->key, strlen(kf->key));
		pfree(kf->key);
		kf->key = NULL;
	}
	return NULL;
}

/* ---------------------------------------------------------------------
 * The settings credential
 * ---------------------------------------------------------------------
 */
static VsCredential *
vs_settings_credential(void)
{
	VsCredential *c = palloc0(sizeof(VsCredential));

	c->name = NULL;
	c->auth = (VsAuthStyle) vs_auth;
	if (vs_api_key_file && vs_api_key_file[0])
	{
		c->key_file = pstrdup(vs_api_key_file);
		if (vs_api_key && vs_api_key[0])
			c->problem = pstrdup("both vectorstore.api_key and vectorstore.api_key_file are set: set only one");
		else
		{
			const char *k = vs_key_file_read(vs_api_key_file, &c->problem);

			c->api_key = VS_STRDUP_OR_NULL(k);
		}
	}
	else if (vs_api_key && vs_api_key[0])
		c->api_key = pstrdup(vs_api_key);
	else
		c->api_key = VS_STRDUP_OR_NULL(getenv("OPENAI_API_KEY"));
	c->base_url = pstrdup((vs_base_url && vs_base_url[0]) ? vs_base_url : VS_DEFAULT_BASE_URL);
	c->organization = (vs_organization && vs_organization[0]) ? pstrdup(vs_organization) : NULL;
	c->project = (vs_project && vs_project[0]) ? pstrdup(vs_project) : NULL;
	if (vs_settings_headers)
	{
		c->headers = vs_pairs_copy(vs_settings_headers->pair, vs_settings_headers->n);
		c->nheaders = vs_settings_headers->n;
	}
	if (vs_settings_query)
	{
		c->query = vs_pairs_copy(vs_settings_query->pair, vs_settings_query->n);
		c->nquery = vs_settings_query->n;
	}
	return c;
}

/* ---------------------------------------------------------------------
 * The catalogs: servers, privileges, and which schema the database has
 * ---------------------------------------------------------------------
 */

/* Does the database have the 0.2.0 credential tables (else 0.1.0's)? */
static bool
vs_new_schema(void)
{
	Oid			nsp = get_namespace_oid(VS_EXTENSION_NAME, true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("credential_secret", nsp));
}

/* The foreign server of credential name, if it is one of vectorstore_fdw. */
static Oid
vs_server_oid(const char *name)
{
	ForeignDataWrapper *fdw = GetForeignDataWrapperByName(VS_FDW_NAME, true);
	ForeignServer *srv;

	if (fdw == NULL)
		return InvalidOid;
	srv = GetForeignServerByName(name, true);
	if (srv == NULL || srv->fdwid != fdw->fdwid)
		return InvalidOid;
	return srv->serverid;
}

/* May role use the settings credential? (USAGE on server "vectorstore") */
static bool
vs_may_use_settings(Oid role)
{
	Oid			srv;

	if (superuser_arg(role))
		return true;
	if (!vs_new_schema())
		return true;			/* a 0.1.0 database: everyone, as 0.1.0 */
	srv = vs_server_oid(VS_SETTINGS_SERVER);
	return OidIsValid(srv) &&
		pg_foreign_server_aclcheck(srv, role, ACL_USAGE) == ACLCHECK_OK;
}

/*
 * The tables are read as the extension's owner, restricted, with a fixed
 * search_path, through the one helper every such call uses
 * (vs_owner_begin in step.c, which also checks that schema vectorstore is
 * the extension's and a superuser's).
 */
static char *
vs_spi_text(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* May role use named credential name (it exists, and role has USAGE)? */
static bool
vs_role_may_use(Oid role, const char *name)
{
	VsOwnerCall own = {0};
	bool		ok;

	if (vs_new_schema())
	{
		Oid			srv = vs_server_oid(name);

		return OidIsValid(srv) &&
			pg_foreign_server_aclcheck(srv, role, ACL_USAGE) == ACLCHECK_OK;
	}
	/* 0.1.0: grants are rows of credential_grant */
	vs_owner_begin(&own);
	{
		Datum		args[2] = {CStringGetTextDatum(name), ObjectIdGetDatum(role)};
		Oid			types[2] = {TEXTOID, OIDOID};

		if (SPI_execute_with_args("SELECT 1 FROM vectorstore.credential_grant g"
								  " WHERE g.credential OPERATOR(pg_catalog.=) $1"
								  " AND pg_catalog.pg_has_role($2, g.grantee, 'USAGE')",
								  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "vectorstore: credential grant lookup failed");
		ok = SPI_processed > 0;
	}
	vs_owner_end(&own);
	return ok;
}

/*
 * The named credentials role may use (at most 2 names, in name order; the
 * caller only needs to know whether there is none, one or more).
 */
static List *
vs_granted(Oid role)
{
	VsOwnerCall own = {0};
	List	   *names = NIL;
	List	   *granted = NIL;
	bool		new_schema = vs_new_schema();
	ListCell   *lc;
	MemoryContext outer = CurrentMemoryContext;

	vs_owner_begin(&own);
	{
		Datum		args[1] = {ObjectIdGetDatum(role)};
		Oid			types[1] = {OIDOID};
		int			rc;

		if (new_schema)
			rc = SPI_execute("SELECT c.name FROM vectorstore.credential c ORDER BY c.name", true, 0);
		else
			rc = SPI_execute_with_args("SELECT c.name FROM vectorstore.credential c"
									   " WHERE EXISTS (SELECT 1 FROM vectorstore.credential_grant g"
									   "  WHERE g.credential OPERATOR(pg_catalog.=) c.name"
									   "  AND pg_catalog.pg_has_role($1, g.grantee, 'USAGE'))"
									   " ORDER BY c.name LIMIT 2",
									   1, types, args, NULL, true, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "vectorstore: credential lookup failed");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			MemoryContext old = MemoryContextSwitchTo(outer);

			names = lappend(names, pstrdup(vs_spi_text(i, 1)));
			MemoryContextSwitchTo(old);
		}
	}
	vs_owner_end(&own);
	if (!new_schema)
		return names;
	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		Oid			srv = vs_server_oid(name);

		if (OidIsValid(srv) && pg_foreign_server_aclcheck(srv, role, ACL_USAGE) == ACLCHECK_OK)
		{
			granted = lappend(granted, (void *) name);
			if (list_length(granted) == 2)
				break;
		}
	}
	return granted;
}

/* Parse a stored JSON object of pairs into cxt (NULL, 0 when none or bad). */
static VsHeader *
vs_stored_pairs(const char *text, int *n)
{
	char		why[256];
	VsPairs    *p;
	VsHeader   *copy;

	*n = 0;
	if (text == NULL)
		return NULL;
	p = vs_json_pairs_parse(text, why, sizeof(why));
	if (p == NULL)
		return NULL;
	copy = vs_pairs_copy(p->pair, p->n);
	*n = p->n;
	explicit_bzero(p, offsetof(VsPairs, pair) + sizeof(VsHeader) * p->n);
	free(p);
	return copy;
}

/*
 * Load named credential `name` into a memory context of its own under
 * parent (free it with vs_credential_free). NULL when it does not exist —
 * for the new schema, both the row and its foreign server must exist.
 */
static VsCredential *
vs_load(const char *name, MemoryContext parent)
{
	VsOwnerCall own = {0};
	VsCredential *c = NULL;
	bool		new_schema = vs_new_schema();

	if (new_schema && !OidIsValid(vs_server_oid(name)))
		return NULL;
	vs_owner_begin(&own);
	{
		Datum		args[1] = {CStringGetTextDatum(name)};
		Oid			types[1] = {TEXTOID};
		int			rc;

		if (new_schema)
			rc = SPI_execute_with_args(
									   "SELECT c.name, s.api_key, c.base_url, c.organization, c.project,"
									   " c.auth, c.query::pg_catalog.text, s.headers::pg_catalog.text,"
									   " c.key_file, pg_catalog.cardinality(c.header_names)::pg_catalog.text"
									   " FROM vectorstore.credential c"
									   " LEFT JOIN vectorstore.credential_secret s ON s.name OPERATOR(pg_catalog.=) c.name"
									   " WHERE c.name OPERATOR(pg_catalog.=) $1",
									   1, types, args, NULL, true, 1);
		else
			rc = SPI_execute_with_args(
									   "SELECT c.name, c.api_key, c.base_url, c.organization, c.project,"
									   " NULL, NULL, NULL, NULL, NULL"
									   " FROM vectorstore.credential c WHERE c.name OPERATOR(pg_catalog.=) $1",
									   1, types, args, NULL, true, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "vectorstore: credential lookup failed");
		if (SPI_processed == 1)
		{
			MemoryContext cxt = AllocSetContextCreate(parent, "vectorstore credential",
													  ALLOCSET_SMALL_SIZES);
			MemoryContext old = MemoryContextSwitchTo(cxt);
			char	   *auth = vs_spi_text(0, 6);
			char	   *nheaders = vs_spi_text(0, 10);
			char	   *key;

			c = palloc0(sizeof(VsCredential));
			c->name = vs_spi_text(0, 1);
			key = vs_spi_text(0, 2);
			c->api_key = key;
			c->base_url = vs_spi_text(0, 3);
			c->organization = vs_spi_text(0, 4);
			c->project = vs_spi_text(0, 5);
			c->auth = (auth == NULL || strcmp(auth, "bearer") == 0) ? VS_AUTH_BEARER
				: strcmp(auth, "api-key") == 0 ? VS_AUTH_API_KEY : VS_AUTH_NONE;
			c->query = vs_stored_pairs(vs_spi_text(0, 7), &c->nquery);
			c->headers = vs_stored_pairs(vs_spi_text(0, 8), &c->nheaders);
			c->key_file = vs_spi_text(0, 9);
			if (nheaders && atoi(nheaders) > c->nheaders)
				c->problem = psprintf("credential \"%s\" has lost the values of its default headers (they are not kept in dumps): a superuser sets them again with vs_credential_set()",
									  c->name);
			else if (c->key_file == NULL && c->auth != VS_AUTH_NONE &&
					 (c->api_key == NULL || c->api_key[0] == '\0'))
				c->problem = psprintf("credential \"%s\" has no API key (keys are not kept in dumps): a superuser sets it again with vs_credential_set()",
									  c->name);
			MemoryContextSwitchTo(old);
		}
	}
	vs_owner_end(&own);
	return c;
}

/*
 * A copy of a loaded credential ready to send with, in the current memory
 * context: the settings' base URL when it has none, and its key file read.
 */
static VsCredential *
vs_credential_ready(const VsCredential *c)
{
	VsCredential *r = vs_credential_copy(c);

	if (r->base_url == NULL)
		r->base_url = pstrdup((vs_base_url && vs_base_url[0]) ? vs_base_url : VS_DEFAULT_BASE_URL);
	if (r->key_file && r->problem == NULL)
	{
		const char *k = vs_key_file_read(r->key_file, &r->problem);

		r->api_key = VS_STRDUP_OR_NULL(k);
	}
	return r;
}

/* ---------------------------------------------------------------------
 * Resolution for the session, with its cache
 * ---------------------------------------------------------------------
 */
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

static void
vs_free_cached(void)
{
	vs_credential_free(vs_cache_cred);
	vs_cache_cred = NULL;
	if (vs_cache_setting)
	{
		pfree(vs_cache_setting);
		vs_cache_setting = NULL;
	}
}

static void
vs_not_granted(const char *name, Oid role) pg_attribute_noreturn();

static void
vs_not_granted(const char *name, Oid role)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("credential \"%s\" does not exist or is not granted to role \"%s\"",
					name, GetUserNameFromId(role, false)),
			 errhint("A superuser grants credentials with vs_credential_grant().")));
}

VsCredential *
vs_credential_current(void)
{
	Oid			role = GetUserId();
	const char *setting = vs_credential_name ? vs_credential_name : "";
	VsCredential *cred = NULL;

	if (!vs_callbacks_registered)
	{
		CacheRegisterRelcacheCallback(vs_relcache_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, vs_syscache_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, vs_syscache_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(FOREIGNSERVEROID, vs_syscache_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(FOREIGNDATAWRAPPEROID, vs_syscache_cb, (Datum) 0);
		vs_callbacks_registered = true;
	}

	if (!(vs_cache_valid && vs_cache_role == role &&
		  strcmp(vs_cache_setting, setting) == 0))
	{
		vs_free_cached();
		vs_cache_valid = false;
		if (setting[0])
		{
			if (!superuser_arg(role) && !vs_role_may_use(role, setting))
				vs_not_granted(setting, role);
			cred = vs_load(setting, TopMemoryContext);
			if (cred == NULL)
				vs_not_granted(setting, role);
		}
		else if (!superuser_arg(role))
		{
			/* superusers use the settings unless they name a credential */
			List	   *granted = vs_granted(role);

			if (list_length(granted) > 1)
				ereport(ERROR,
						(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
						 errmsg("role \"%s\" has been granted more than one credential",
								GetUserNameFromId(role, false)),
						 errhint("Choose one with SET vectorstore.credential = '<name>'.")));
			if (granted != NIL)
			{
				cred = vs_load(linitial(granted), TopMemoryContext);
				if (cred == NULL)
					vs_not_granted(linitial(granted), role);
			}
		}
		vs_cache_cred = cred;
		vs_cache_role = role;
		vs_cache_setting = MemoryContextStrdup(TopMemoryContext, setting);
		vs_cache_valid = true;
	}
	if (vs_cache_cred)
	{
		VsCredential *r = vs_credential_ready(vs_cache_cred);

		r->user = role;
		return r;
	}
	/* checked every time: USAGE on server "vectorstore" may change */
	if (!vs_may_use_settings(role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may not use the settings credential",
						GetUserNameFromId(role, false)),
				 errdetail("USAGE on foreign server \"vectorstore\" decides who may use vectorstore.api_key."),
				 errhint("A superuser grants it with GRANT USAGE ON FOREIGN SERVER vectorstore, or grants a named credential with vs_credential_grant().")));
	{
		VsCredential *r = vs_settings_credential();

		r->user = role;
		return r;
	}
}

VsCredential *
vs_credential_by_name(const char *name, bool missing_ok)
{
	VsCredential *c;
	VsCredential *r;

	if (name == NULL || name[0] == '\0')
		return vs_settings_credential();
	c = vs_load(name, CurrentMemoryContext);
	if (c == NULL)
	{
		if (!missing_ok)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("credential \"%s\" does not exist", name)));
		return NULL;
	}
	r = vs_credential_ready(c);
	vs_credential_free(c);
	return r;
}

/*
 * See vectorstore.h. A credential that exists but cannot send (its key
 * file cannot be used, its key was lost in a dump) comes back with
 * ->problem set, so the request that would use it fails with that text.
 */
VsCredential *
vs_credential_for_role(const char *role_name, const char *cred_name, char **err)
{
	Oid			role = get_role_oid(role_name, true);
	VsCredential *c;
	VsCredential *r;

	*err = NULL;
	if (!OidIsValid(role))
	{
		*err = psprintf("role \"%s\" does not exist any more", role_name);
		return NULL;
	}
	if (cred_name == NULL || cred_name[0] == '\0')
	{
		if (!vs_may_use_settings(role))
		{
			*err = psprintf("role \"%s\" may not use the settings credential (USAGE on server \"vectorstore\" was revoked)",
							role_name);
			return NULL;
		}
		c = vs_settings_credential();
		c->user = role;
		return c;
	}
	if (!superuser_arg(role) && !vs_role_may_use(role, cred_name))
	{
		*err = psprintf("role \"%s\" may not use credential \"%s\" (it was revoked or dropped)",
						role_name, cred_name);
		return NULL;
	}
	c = vs_load(cred_name, CurrentMemoryContext);
	if (c == NULL)
	{
		*err = psprintf("role \"%s\" may not use credential \"%s\" (it was revoked or dropped)",
						role_name, cred_name);
		return NULL;
	}
	r = vs_credential_ready(c);
	vs_credential_free(c);
	r->user = role;
	return r;
}

void
vs_credential_recheck(const VsCredential *c)
{
	bool		ok;

	if (c == NULL || !OidIsValid(c->user))
		return;
	/* see what other sessions committed (a REVOKE), even mid-transaction */
	AcceptInvalidationMessages();
	if (superuser_arg(c->user))
		return;
	ok = c->name ? vs_role_may_use(c->user, c->name) : vs_may_use_settings(c->user);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may no longer use %s",
						GetUserNameFromId(c->user, false),
						c->name ? psprintf("credential \"%s\"", c->name) : "the settings credential"),
				 errdetail("It was revoked after this statement or cursor started using it.")));
}

/* ---------------------------------------------------------------------
 * vs_credential_set: every field checked by name, before anything is stored
 * ---------------------------------------------------------------------
 */
static void
vs_bad_field(const char *msg, const char *detail) pg_attribute_noreturn();

static void
vs_bad_field(const char *msg, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg_internal("%s", msg),
			 detail ? errdetail_internal("%s", detail) : 0,
			 errhidestmt(true)));
}

/* text argument n, or NULL */
static char *
vs_arg_text(FunctionCallInfo fcinfo, int n)
{
	if (PG_NARGS() <= n || PG_ARGISNULL(n))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/* jsonb argument n as checked pairs, or NULL */
static VsPairs *
vs_arg_pairs(FunctionCallInfo fcinfo, int n, const char *argname, bool headers)
{
	char		why[256];
	char	   *text;
	VsPairs    *p;
	char	   *problem;

	if (PG_NARGS() <= n || PG_ARGISNULL(n))
		return NULL;
	text = JsonbToCString(NULL, &PG_GETARG_JSONB_P(n)->root, VARSIZE(PG_GETARG_JSONB_P(n)));
	p = vs_json_pairs_parse(text, why, sizeof(why));
	if (p == NULL)
		vs_bad_field(psprintf("invalid %s", argname), why);
	problem = headers ? vs_credential_headers_problem(p->pair, p->n)
		: vs_credential_query_problem(p->pair, p->n);
	if (problem)
	{
		free(p);
		vs_bad_field(psprintf("invalid %s: %s", argname, problem), NULL);
	}
	return p;
}

static void
vs_check_header_field(const char *argname, const char *v)
{
	if (v == NULL)
		return;
	for (const unsigned char *p = (const unsigned char *) v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			vs_bad_field(psprintf("%s must not contain control characters (such as CR or LF)", argname),
						 "Its value is sent as an HTTP header.");
}

static void
vs_credential_store(FunctionCallInfo fcinfo)
{
	char	   *name = vs_arg_text(fcinfo, 0);
	char	   *api_key = vs_arg_text(fcinfo, 1);
	char	   *base_url = vs_arg_text(fcinfo, 2);
	char	   *organization = vs_arg_text(fcinfo, 3);
	char	   *project = vs_arg_text(fcinfo, 4);
	char	   *auth = vs_arg_text(fcinfo, 5);
	VsPairs    *headers;
	VsPairs    *query;
	char	   *key_file = vs_arg_text(fcinfo, 8);
	const char *why;
	ForeignDataWrapper *fdw;
	ForeignServer *srv;
	int			save_nestlevel;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser may store credentials"),
				 errhidestmt(true)));

	/* the name */
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"name\" must not be null"),
				 errhidestmt(true)));
	{
		size_t		len = strlen(name);
		bool		ok = len >= 1 && len <= 63;

		for (const char *p = name; ok && *p; p++)
			ok = isalnum((unsigned char) *p) || *p == '_' || *p == '.' || *p == '-';
		if (!ok)
			vs_bad_field("invalid credential name",
						 "A credential name is 1 to 63 letters, digits, \"_\", \".\" or \"-\".");
		if (strcmp(name, VS_SETTINGS_SERVER) == 0)
			vs_bad_field("invalid credential name \"vectorstore\"",
						 "That is the foreign server of the settings credential.");
	}

	/* how it authenticates, and with what */
	if (auth == NULL)
		auth = "bearer";
	if (strcmp(auth, "bearer") != 0 && strcmp(auth, "api-key") != 0 && strcmp(auth, "none") != 0)
		vs_bad_field("auth must be bearer, api-key or none", NULL);
	if (api_key && key_file)
		vs_bad_field("give api_key or key_file, not both", NULL);
	if (strcmp(auth, "none") == 0 && (api_key || key_file))
		vs_bad_field("auth none sends no key: give neither api_key nor key_file", NULL);
	if (strcmp(auth, "none") != 0 && api_key == NULL && key_file == NULL)
		vs_bad_field("a credential needs api_key or key_file (or auth none)", NULL);
	if (api_key)
	{
		if (api_key[0] == '\0')
			vs_bad_field("api_key must not be empty", NULL);
		if (strlen(api_key) > VS_KEY_MAX)
			vs_bad_field(psprintf("api_key must not be longer than %d bytes", VS_KEY_MAX), NULL);
		for (const unsigned char *p = (const unsigned char *) api_key; *p; p++)
			if (*p <= 0x20 || *p == 0x7f)
				vs_bad_field("api_key must not contain spaces or control characters",
							 "It is sent as an HTTP header.");
	}
	if (key_file)
	{
		char	   *problem;

		if (!is_absolute_path(key_file))
			vs_bad_field("key_file must be an absolute path", NULL);
		(void) vs_key_file_read(key_file, &problem);
		if (problem)
			vs_bad_field(psprintf("key_file cannot be used: %s", problem), NULL);
	}

	/* where requests go, and what they carry */
	if (base_url && (why = vs_base_url_form_problem(base_url)) != NULL)
		vs_bad_field("invalid base_url", why);
	vs_check_header_field("organization", organization);
	vs_check_header_field("project", project);
	headers = vs_arg_pairs(fcinfo, 6, "headers", true);
	query = vs_arg_pairs(fcinfo, 7, "query", false);

	/* the server that grants are made on */
	fdw = GetForeignDataWrapperByName(VS_FDW_NAME, true);
	if (fdw == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("foreign-data wrapper \"%s\" does not exist", VS_FDW_NAME),
				 errhint("Update the extension: ALTER EXTENSION vectorstore UPDATE."),
				 errhidestmt(true)));
	srv = GetForeignServerByName(name, true);
	if (srv && srv->fdwid != fdw->fdwid)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("foreign server \"%s\" already exists and is not a vectorstore credential", name),
				 errhidestmt(true)));

	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vectorstore: SPI_connect failed");
	if (srv == NULL)
	{
		if (SPI_execute(psprintf("CREATE SERVER %s FOREIGN DATA WRAPPER " VS_FDW_NAME,
								 quote_identifier(name)), false, 0) != SPI_OK_UTILITY ||
			SPI_execute(psprintf("COMMENT ON SERVER %s IS %s", quote_identifier(name),
								 quote_literal_cstr("vectorstore credential: GRANT USAGE on it (or vs_credential_grant) lets a role make requests with it")),
						false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "vectorstore: could not create the credential's server");
	}
	{
		Datum		args[8];
		Oid			types[8] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID,
		TEXTARRAYOID, TEXTOID};
		char		nulls[9] = "        ";
		Datum	   *names = NULL;

		args[0] = CStringGetTextDatum(name);
		args[1] = base_url ? CStringGetTextDatum(base_url) : (Datum) 0;
		args[2] = organization ? CStringGetTextDatum(organization) : (Datum) 0;
		args[3] = project ? CStringGetTextDatum(project) : (Datum) 0;
		args[4] = CStringGetTextDatum(auth);
		args[5] = query ? PG_GETARG_DATUM(7) : (Datum) 0;
		if (headers && headers->n > 0)
		{
			names = palloc(sizeof(Datum) * headers->n);
			for (int i = 0; i < headers->n; i++)
				names[i] = CStringGetTextDatum(headers->pair[i].name);
			args[6] = PointerGetDatum(construct_array(names, headers->n, TEXTOID, -1, false, TYPALIGN_INT));
		}
		args[7] = key_file ? CStringGetTextDatum(key_file) : (Datum) 0;
		nulls[1] = base_url ? ' ' : 'n';
		nulls[2] = organization ? ' ' : 'n';
		nulls[3] = project ? ' ' : 'n';
		nulls[5] = query ? ' ' : 'n';
		nulls[6] = names ? ' ' : 'n';
		nulls[7] = key_file ? ' ' : 'n';
		if (SPI_execute_with_args("INSERT INTO vectorstore.credential AS c"
								  " (name, base_url, organization, project, auth, query, header_names, key_file)"
								  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
								  " ON CONFLICT (name) DO UPDATE SET base_url = EXCLUDED.base_url,"
								  " organization = EXCLUDED.organization, project = EXCLUDED.project,"
								  " auth = EXCLUDED.auth, query = EXCLUDED.query,"
								  " header_names = EXCLUDED.header_names, key_file = EXCLUDED.key_file",
								  8, types, args, nulls, false, 0) != SPI_OK_INSERT ||
			SPI_execute_with_args("DELETE FROM vectorstore.credential_secret s"
								  " WHERE s.name OPERATOR(pg_catalog.=) $1",
								  1, types, args, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "vectorstore: could not store the credential");
	}
	if (api_key || headers)
	{
		Datum		args[3];
		Oid			types[3] = {TEXTOID, TEXTOID, JSONBOID};
		char		nulls[4] = "   ";

		args[0] = CStringGetTextDatum(name);
		args[1] = api_key ? CStringGetTextDatum(api_key) : (Datum) 0;
		args[2] = headers ? PG_GETARG_DATUM(6) : (Datum) 0;
		nulls[1] = api_key ? ' ' : 'n';
		nulls[2] = headers ? ' ' : 'n';
		if (SPI_execute_with_args("INSERT INTO vectorstore.credential_secret (name, api_key, headers)"
								  " VALUES ($1, $2, $3)",
								  3, types, args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "vectorstore: could not store the credential's key");
	}
	SPI_finish();
	AtEOXact_GUC(false, save_nestlevel);
	if (headers)
		free(headers);
	if (query)
		free(query);
	if (api_key)
		explicit_bzero(api_key, strlen(api_key));
}

/*
 * vs_credential_set(name, api_key, base_url, organization, project, auth,
 * headers, query, key_file). No error raised while it runs logs the
 * statement (which may hold the key), and none names a value that could
 * be a secret: every check names the field it refuses.
 */
Datum
vs_credential_set(PG_FUNCTION_ARGS)
{
	bool		save = vs_storing_secret;
	MemoryContext cxt = CurrentMemoryContext;

	vs_storing_secret = true;
	PG_TRY();
	{
		vs_credential_store(fcinfo);
	}
	PG_CATCH();
	{
		ErrorData  *e;
		char	   *key = vs_arg_text(fcinfo, 1);

		vs_storing_secret = save;
		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		FlushErrorState();
		e->hide_stmt = true;
		/* whatever raised it, the key it was given is not in it */
		if (key && strlen(key) >= 4)
		{
			char	  **fields[] = {&e->message, &e->detail, &e->detail_log, &e->hint, &e->context};

			for (int i = 0; i < lengthof(fields); i++)
			{
				char	   *hit;

				while (*fields[i] && (hit = strstr(*fields[i], key)) != NULL)
					*fields[i] = psprintf("%.*s[redacted]%s", (int) (hit - *fields[i]),
										  *fields[i], hit + strlen(key));
			}
		}
		ReThrowError(e);
	}
	PG_END_TRY();
	vs_storing_secret = save;
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------
 * Base URLs: their form, and where they may send requests
 * ---------------------------------------------------------------------
 */
const char *
vs_base_url_form_problem(const char *url)
{
	CURLU	   *u;
	char	   *host = NULL;
	char	   *part = NULL;
	const char *why = NULL;

	if (url == NULL || url[0] == '\0')
		return "A base URL must not be empty.";
	if (strlen(url) > 2048)
		return "A base URL must not be longer than 2048 bytes.";
	for (const unsigned char *p = (const unsigned char *) url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return "A base URL must not contain whitespace or control characters.";
	if (strchr(url, '?'))
		return "A base URL must not have a query: parameters a server needs (such as the api-version of Azure OpenAI) go in the query of the credential (vectorstore.query for the settings).";
	if (strchr(url, '#'))
		return "A base URL must not have a fragment.";
	if (pg_strncasecmp(url, "https://", 8) != 0 && pg_strncasecmp(url, "http://", 7) != 0)
		return "A base URL must start with https:// or http://.";
	u = curl_url();
	if (u == NULL)
		return "Out of memory.";
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		why = "A base URL must be a valid URL.";
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host == NULL || host[0] == '\0')
		why = "A base URL must name a host.";
	else if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
			 curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK)
		why = "A base URL must not hold a user name or password (they would be sent, and shown in errors).";
	if (host)
		curl_free(host);
	if (part)
		curl_free(part);
	curl_url_cleanup(u);
	return why;
}

/*
 * Is host (as libcurl returns it: IPv4 normalised to dotted quad, IPv6 in
 * brackets) loopback? 1: an address literal, 2: the name localhost, 0: no.
 * Nothing is resolved.
 */
static int
vs_loopback_kind(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return ((ntohl(a4.s_addr) >> 24) == 127) ? 1 : 0;
	if (host[0] == '[')
	{
		char		buf[64];
		size_t		len = strlen(host);
		char	   *zone;

		if (len < 3 || len - 2 >= sizeof(buf) || host[len - 1] != ']')
			return 0;
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		if ((zone = strchr(buf, '%')) != NULL)
			*zone = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return 0;
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return 1;
		if (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127)
			return 1;
		return 0;
	}
	if (pg_strcasecmp(host, "localhost") == 0)
		return 2;
	return 0;
}

/* the last URL that passed, with the setting it passed under, and its verdict */
static char *vs_checked_url = NULL;
static bool vs_checked_insecure = false;
static VsUrlTarget vs_checked_target;

char *
vs_base_url_target(const char *url, VsUrlTarget *target)
{
	const char *form;
	CURLU	   *u;
	char	   *scheme = NULL;
	char	   *host = NULL;
	char	   *port = NULL;
	char	   *why = NULL;
	VsUrlTarget t = {false, NULL};

	memset(target, 0, sizeof(*target));
	if (url == NULL || url[0] == '\0')
		return pstrdup("the vector store API base URL is empty");
	if (vs_checked_url && strcmp(vs_checked_url, url) == 0 &&
		vs_checked_insecure == vs_allow_insecure_http)
	{
		target->no_proxy = vs_checked_target.no_proxy;
		target->resolve = vs_checked_target.resolve ? pstrdup(vs_checked_target.resolve) : NULL;
		return NULL;
	}
	if ((form = vs_base_url_form_problem(url)) != NULL)
		return psprintf("invalid vector store API base URL: %s", form);
	u = curl_url();
	if (u == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		why = psprintf("invalid vector store API base URL \"%s\"", url);
	else if (strcmp(scheme, "http") == 0)
	{
		int			kind = vs_loopback_kind(host);

		if (kind == 0 && !vs_allow_insecure_http)
			why = psprintf("plain http:// is allowed only to loopback hosts, not to \"%s\"", url);
		else if (kind != 0)
		{
			/* loopback: directly, and "localhost" only to loopback */
			t.no_proxy = true;
			if (kind == 2)
				t.resolve = psprintf("%s:%s:127.0.0.1,[::1]", host, port);
		}
	}
	if (scheme)
		curl_free(scheme);
	if (host)
		curl_free(host);
	if (port)
		curl_free(port);
	curl_url_cleanup(u);
	if (why == NULL)
	{
		if (vs_checked_url)
			pfree(vs_checked_url);
		if (vs_checked_target.resolve)
			pfree(vs_checked_target.resolve);
		vs_checked_url = MemoryContextStrdup(TopMemoryContext, url);
		vs_checked_insecure = vs_allow_insecure_http;
		vs_checked_target.no_proxy = t.no_proxy;
		vs_checked_target.resolve = t.resolve ? MemoryContextStrdup(TopMemoryContext, t.resolve) : NULL;
		*target = t;
	}
	return why;
}

char *
vs_base_url_problem(const char *url)
{
	VsUrlTarget t;

	return vs_base_url_target(url, &t);
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
