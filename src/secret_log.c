/*-------------------------------------------------------------------------
 *
 * secret_log.c
 *	  Keeping secrets out of the server log: an emit_log_hook that sees every
 *	  message before it is written, in every process that has loaded the
 *	  library.
 *
 * What it does, by what it recognises (never by the secret's value, which
 * it may not know yet — a reload announces a new key):
 *	  - PostgreSQL's configuration reload logs `parameter "X" changed to "V"`
 *		(the postmaster at LOG, every other process at DEBUG2). For X one of
 *		the secret settings (vectorstore.api_key, vectorstore.headers) the
 *		message becomes `parameter "X" changed`. Recognised by the
 *		untranslated format (message_id) and the setting's name.
 *	  - A statement that names something carrying a secret
 *		(vs_credential_set, vectorstore.api_key, vectorstore.headers,
 *		vectorstore.base_url) is
 *		logged with every quoted literal replaced by '***' (log_statement,
 *		log_min_duration_statement, extended-protocol parameters, a PL/pgSQL
 *		context), and an error raised by such a statement — or raised while
 *		vs_credential_set runs, whatever raised it — does not log the
 *		statement (hide_stmt).
 *	  - Every field of every message (message, detail, hint, context) is
 *		scrubbed of the secrets this process has put on the wire (the
 *		client registers them with vs_secret_remember): a catch-all behind
 *		the client's own scrubbing of what servers send (client.c), for
 *		strings that reach an error by another path. It works only where
 *		the hook runs: for messages that go to the server log (an ERROR at
 *		the default log_min_messages does).
 *	  - An error about a row of vectorstore.credential or
 *		vectorstore.credential_secret loses its detail ("Failing row
 *		contains ..."): a 0.1.0 database keeps keys in that row, and a
 *		constraint there would print it.
 *
 * What it cannot do: act in a process that has not loaded the library. With
 * vectorstore in shared_preload_libraries every process has it from the
 * start (the postmaster loads it and every process inherits the hook).
 * Without preloading, the postmaster never runs the hook: it logs the
 * reload message of vectorstore.api_key at LOG, and so do backends that
 * have not used the extension yet (at DEBUG2); a session logs its first
 * statements before the library is loaded. The README says which routes
 * for a key are safe in each case (a key file always is).
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "tcop/tcopprot.h"
#include "utils/elog.h"
#include "utils/memutils.h"

bool		vs_storing_secret = false;

static emit_log_hook_type vs_prev_emit_log_hook = NULL;

/* Secrets this process has sent (TopMemoryContext), most recent first. */
#define VS_MAX_REMEMBERED 32
static char *vs_remembered[VS_MAX_REMEMBERED];
static int	vs_nremembered = 0;

void
vs_secret_remember(const char *secret)
{
	char	   *copy;

	if (secret == NULL || strlen(secret) < 4)
		return;
	for (int i = 0; i < vs_nremembered; i++)
		if (strcmp(vs_remembered[i], secret) == 0)
			return;
	copy = MemoryContextStrdup(TopMemoryContext, secret);
	if (vs_nremembered == VS_MAX_REMEMBERED)
	{
		char	   *old = vs_remembered[VS_MAX_REMEMBERED - 1];

		explicit_bzero(old, strlen(old));
		pfree(old);
		vs_nremembered--;
	}
	memmove(&vs_remembered[1], &vs_remembered[0], sizeof(char *) * vs_nremembered);
	vs_remembered[0] = copy;
	vs_nremembered++;
}

/* msg with every remembered secret replaced by "[redacted]". */
static char *
vs_scrub_remembered(char *msg)
{
	if (msg == NULL)
		return NULL;
	for (int i = 0; i < vs_nremembered; i++)
	{
		const char *hit;
		size_t		slen = strlen(vs_remembered[i]);

		while ((hit = strstr(msg, vs_remembered[i])) != NULL)
			msg = psprintf("%.*s[redacted]%s", (int) (hit - msg), msg, hit + slen);
	}
	return msg;
}

/* Settings whose values are secrets. */
static const char *const vs_secret_settings[] = {
	"vectorstore.api_key", "vectorstore.headers", NULL
};

/*
 * Names whose presence in a statement means it may carry a secret (a base
 * URL may hold a password, which is refused — but the statement that tried
 * is still logged on error).
 */
static const char *const vs_secret_marks[] = {
	"vs_credential_set", "vectorstore.api_key", "vectorstore.headers",
	"vectorstore.base_url", NULL
};

/* Case-insensitive strstr. */
static const char *
vs_strcasestr(const char *hay, const char *needle)
{
	size_t		n = strlen(needle);

	for (const char *p = hay; *p; p++)
		if (pg_strncasecmp(p, needle, n) == 0)
			return p;
	return NULL;
}

bool
vs_statement_has_secret(const char *query)
{
	if (query == NULL)
		return false;
	for (int i = 0; vs_secret_marks[i]; i++)
		if (vs_strcasestr(query, vs_secret_marks[i]))
			return true;
	return false;
}

static bool
vs_ident_char(char c)
{
	return isalnum((unsigned char) c) || c == '_' || (unsigned char) c >= 0x80;
}

/*
 * Replace every quoted literal ('...', E'...', $tag$...$tag$) by '***'.
 * An unterminated literal masks the rest: erring towards hiding too much.
 */
char *
vs_mask_literals(const char *q)
{
	StringInfoData b;
	size_t		len = strlen(q);
	size_t		i = 0;

	initStringInfo(&b);
	while (i < len)
	{
		char		c = q[i];

		if (c == '\'')
		{
			bool		estring = i > 0 && (q[i - 1] == 'E' || q[i - 1] == 'e') &&
				(i < 2 || !vs_ident_char(q[i - 2]));
			size_t		j = i + 1;

			while (j < len)
			{
				if (q[j] == '\'')
				{
					if (j + 1 < len && q[j + 1] == '\'')
					{
						j += 2;
						continue;
					}
					break;
				}
				if (estring && q[j] == '\\' && j + 1 < len)
				{
					j += 2;
					continue;
				}
				j++;
			}
			appendStringInfoString(&b, "'***'");
			i = (j < len) ? j + 1 : len;
			continue;
		}
		if (c == '$' && (i == 0 || !vs_ident_char(q[i - 1])))
		{
			/* a dollar-quote opening tag: $$ or $tag$ (tag not starting with a digit) */
			size_t		t = i + 1;

			if (t < len && !isdigit((unsigned char) q[t]))
			{
				while (t < len && vs_ident_char(q[t]))
					t++;
				if (t < len && q[t] == '$')
				{
					size_t		taglen = t - i + 1;
					const char *end = NULL;

					for (size_t k = t + 1; k + taglen <= len; k++)
						if (strncmp(q + k, q + i, taglen) == 0)
						{
							end = q + k;
							break;
						}
					appendStringInfoString(&b, "'***'");
					i = end ? (size_t) (end - q) + taglen : len;
					continue;
				}
			}
		}
		appendStringInfoChar(&b, c);
		i++;
	}
	return b.data;
}

/* Mask a message field when it may carry a secret (see the file header). */
static char *
vs_mask_field(char *field, bool stmt_secret, bool *masked)
{
	if (field == NULL)
		return NULL;
	if (vs_statement_has_secret(field) ||
		(stmt_secret && debug_query_string && debug_query_string[0] &&
		 strstr(field, debug_query_string) != NULL))
	{
		*masked = true;
		return vs_mask_literals(field);
	}
	return field;
}

/* `parameter "X" changed to "V"` for a secret X: rewrite, naming only X. */
static void
vs_rewrite_setting_message(ErrorData *edata)
{
	if (edata->message_id == NULL || edata->message == NULL)
		return;
	if (strcmp(edata->message_id, "parameter \"%s\" changed to \"%s\"") != 0 &&
		strcmp(edata->message_id, "invalid value for parameter \"%s\": \"%s\"") != 0)
		return;
	for (int i = 0; vs_secret_settings[i]; i++)
	{
		char		quoted[64];
		const char *hit;

		snprintf(quoted, sizeof(quoted), "\"%s\"", vs_secret_settings[i]);
		hit = vs_strcasestr(edata->message, quoted);
		if (hit == NULL)
			continue;
		/* the formatted message held the value: wipe it (core files) */
		explicit_bzero(edata->message, strlen(edata->message));
		if (edata->message_id[0] == 'p')
			edata->message = psprintf("parameter \"%s\" changed (the new value is not shown)",
									  vs_secret_settings[i]);
		else
			edata->message = psprintf("invalid value for parameter \"%s\" (the value is not shown)",
									  vs_secret_settings[i]);
		edata->detail = NULL;
		return;
	}
}

static void
vs_emit_log_hook(ErrorData *edata)
{
	bool		stmt_secret;
	bool		masked = false;

	vs_rewrite_setting_message(edata);

	/*
	 * A statement that may carry a secret: its literals are not logged —
	 * in the statement's own log line and its bind parameters (the detail
	 * of that line), in a context (PL/pgSQL's "SQL statement ...", or
	 * "extended query with parameters ..."), or in an internal query.
	 */
	stmt_secret = debug_query_string != NULL && vs_statement_has_secret(debug_query_string);
	edata->message = vs_mask_field(edata->message, stmt_secret, &masked);
	if (masked)
	{
		if (edata->detail)
			edata->detail = vs_mask_literals(edata->detail);
		if (edata->detail_log)
			edata->detail_log = vs_mask_literals(edata->detail_log);
	}
	else
	{
		edata->detail = vs_mask_field(edata->detail, false, &masked);
		edata->detail_log = vs_mask_field(edata->detail_log, false, &masked);
	}
	if (edata->context && (stmt_secret || vs_statement_has_secret(edata->context)))
	{
		edata->context = vs_mask_literals(edata->context);
		masked = true;
	}
	if (edata->internalquery && (stmt_secret || vs_statement_has_secret(edata->internalquery)))
	{
		edata->internalquery = vs_mask_literals(edata->internalquery);
		masked = true;
	}
	if (stmt_secret || masked || vs_storing_secret)
		edata->hide_stmt = true;

	/* the catch-all: no secret this process has sent, in any field */
	if (vs_nremembered > 0)
	{
		edata->message = vs_scrub_remembered(edata->message);
		edata->detail = vs_scrub_remembered(edata->detail);
		edata->detail_log = vs_scrub_remembered(edata->detail_log);
		edata->hint = vs_scrub_remembered(edata->hint);
		edata->context = vs_scrub_remembered(edata->context);
		edata->internalquery = vs_scrub_remembered(edata->internalquery);
	}

	/* a row of the credential tables is never printed */
	if (edata->schema_name && edata->table_name &&
		strcmp(edata->schema_name, VS_EXTENSION_NAME) == 0 &&
		(strcmp(edata->table_name, "credential") == 0 ||
		 strcmp(edata->table_name, "credential_secret") == 0))
	{
		edata->detail = NULL;
		edata->detail_log = NULL;
		edata->hide_stmt = true;
	}

	if (vs_prev_emit_log_hook)
		vs_prev_emit_log_hook(edata);
}

void
vs_secret_log_init(void)
{
	vs_prev_emit_log_hook = emit_log_hook;
	emit_log_hook = vs_emit_log_hook;
}
