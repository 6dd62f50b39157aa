-- vectorstore: OpenAI Vector Stores as SQL.
-- The install script is assembled from sql/install/*.sql by the Makefile.
\echo Use "CREATE EXTENSION vectorstore" to load this file. \quit

-- Everything lives in schema "vectorstore", which this script creates (so
-- DROP EXTENSION removes it). PUBLIC has no USAGE on it: a superuser lets a
-- role in with GRANT USAGE ON SCHEMA vectorstore TO role (README "Security").
-- Every name below is schema-qualified: the script runs with search_path set to
-- pg_catalog (the control file's nominal schema), and a SET here would outlive
-- CREATE EXTENSION in the caller's session.
CREATE SCHEMA vectorstore;

---------------------------------------------------------------------------
-- Credentials (credential.c). A named credential is a foreign server of
-- vectorstore_fdw (05_fdw.sql) with the same name, created by
-- vs_credential_set: who may use it is USAGE on that server, a privilege
-- pg_dump keeps by role name and DROP ROLE respects. What it is lives in two
-- tables no role but the owner can read: vectorstore.credential (dumped) and
-- vectorstore.credential_secret (keys and header values: never dumped).
---------------------------------------------------------------------------
CREATE TABLE vectorstore.credential (
    name         text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,63}$'),
    base_url     text,
    organization text,
    project      text,
    auth         text NOT NULL DEFAULT 'bearer' CHECK (auth IN ('bearer', 'api-key', 'none')),
    query        jsonb,
    header_names text[],
    key_file     text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON vectorstore.credential FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('vectorstore.credential', '');

CREATE TABLE vectorstore.credential_secret (
    name     text PRIMARY KEY REFERENCES vectorstore.credential(name) ON DELETE CASCADE ON UPDATE CASCADE,
    api_key  text,
    headers  jsonb
);
REVOKE ALL ON vectorstore.credential_secret FROM PUBLIC;

CREATE FUNCTION vectorstore._credentials_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'vs_credentials_changed' LANGUAGE C;
REVOKE ALL ON FUNCTION vectorstore._credentials_changed() FROM PUBLIC;

CREATE TRIGGER credential_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vectorstore.credential
    FOR EACH STATEMENT EXECUTE FUNCTION vectorstore._credentials_changed();
CREATE TRIGGER credential_secret_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vectorstore.credential_secret
    FOR EACH STATEMENT EXECUTE FUNCTION vectorstore._credentials_changed();

-- What a superuser may know about credentials: targets, header names, where
-- the key comes from and who may use each; never a key or a header value.
CREATE VIEW vectorstore.credentials AS
    SELECT c.name, c.base_url, c.organization, c.project, c.auth, c.query,
           c.header_names AS headers,
           CASE WHEN c.auth = 'none' THEN 'none'
                WHEN c.key_file IS NOT NULL THEN 'file'
                WHEN s.api_key IS NOT NULL THEN 'stored'
                ELSE 'missing' END AS key,
           c.key_file,
           ARRAY(SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END
                 FROM pg_catalog.pg_foreign_server fs
                 JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = fs.srvfdw,
                      pg_catalog.aclexplode(fs.srvacl) a
                 WHERE fs.srvname = c.name AND w.fdwname = 'vectorstore_fdw'
                   AND a.privilege_type = 'USAGE' AND a.grantee <> fs.srvowner
                 ORDER BY 1) AS grantees,
           c.created_at
    FROM vectorstore.credential c
    LEFT JOIN vectorstore.credential_secret s ON s.name = c.name;
REVOKE ALL ON vectorstore.credentials FROM PUBLIC;

CREATE FUNCTION vectorstore.vs_credential_set(name text, api_key text DEFAULT NULL,
                                  base_url text DEFAULT NULL,
                                  organization text DEFAULT NULL, project text DEFAULT NULL,
                                  auth text DEFAULT 'bearer', headers jsonb DEFAULT NULL,
                                  query jsonb DEFAULT NULL, key_file text DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'vs_credential_set' LANGUAGE C VOLATILE;

CREATE FUNCTION vectorstore.vs_credential_drop(name text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    had_row boolean;
    had_server boolean;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'only a superuser may drop credentials' USING ERRCODE = '42501';
    END IF;
    IF vs_credential_drop.name = 'vectorstore' THEN
        RAISE EXCEPTION 'the settings credential cannot be dropped' USING ERRCODE = '22023';
    END IF;
    DELETE FROM vectorstore.credential c WHERE c.name = vs_credential_drop.name;
    had_row := FOUND;
    SELECT EXISTS (SELECT 1 FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
                   WHERE s.srvname = vs_credential_drop.name AND w.fdwname = 'vectorstore_fdw')
      INTO had_server;
    IF had_server THEN
        -- its grants go with it; objects that depend on it (foreign tables) stop the drop
        EXECUTE format('DROP SERVER %I', vs_credential_drop.name);
    END IF;
    RETURN had_row OR had_server;
END $$;

CREATE FUNCTION vectorstore.vs_credential_grant(credential text, grantee regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'only a superuser may grant credentials' USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM vectorstore.credential c
                   JOIN pg_foreign_server s ON s.srvname = c.name
                   JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw AND w.fdwname = 'vectorstore_fdw'
                   WHERE c.name = vs_credential_grant.credential) THEN
        RAISE EXCEPTION 'credential "%" does not exist', vs_credential_grant.credential
            USING ERRCODE = '42704';
    END IF;
    EXECUTE format('GRANT USAGE ON FOREIGN SERVER %I TO %I', vs_credential_grant.credential,
                   (SELECT rolname FROM pg_roles WHERE oid = vs_credential_grant.grantee));
END $$;

CREATE FUNCTION vectorstore.vs_credential_revoke(credential text, grantee regrole) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    had boolean;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'only a superuser may revoke credentials' USING ERRCODE = '42501';
    END IF;
    SELECT EXISTS (SELECT 1 FROM pg_foreign_server s
                   JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw AND w.fdwname = 'vectorstore_fdw',
                        aclexplode(s.srvacl) a
                   WHERE s.srvname = vs_credential_revoke.credential
                     AND a.grantee = vs_credential_revoke.grantee::oid AND a.privilege_type = 'USAGE')
      INTO had;
    IF had THEN
        EXECUTE format('REVOKE USAGE ON FOREIGN SERVER %I FROM %I', vs_credential_revoke.credential,
                       (SELECT rolname FROM pg_roles WHERE oid = vs_credential_revoke.grantee));
    END IF;
    RETURN had;
END $$;

REVOKE ALL ON FUNCTION vectorstore.vs_credential_set(text, text, text, text, text, text, jsonb, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION vectorstore.vs_credential_drop(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION vectorstore.vs_credential_grant(text, regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION vectorstore.vs_credential_revoke(text, regrole) FROM PUBLIC;

COMMENT ON TABLE vectorstore.credential IS
  'Named credentials: where requests go and how they authenticate (no keys; dumped by pg_dump). Superuser only.';
COMMENT ON TABLE vectorstore.credential_secret IS
  'Keys and default header values of named credentials; not dumped by pg_dump (restore, then set them again). Superuser only.';
COMMENT ON VIEW vectorstore.credentials IS
  'Named credentials with their targets, header names, key source (stored, file, none, missing) and grantees; never a key.';
COMMENT ON FUNCTION vectorstore.vs_credential_set(text, text, text, text, text, text, jsonb, jsonb, text) IS
  'Store (or replace) a named credential and its foreign server; superuser only. The key comes from api_key or, never passing through SQL, key_file. Roles use it after vs_credential_grant() without being able to read the key.';
COMMENT ON FUNCTION vectorstore.vs_credential_drop(text) IS
  'Delete a named credential, its key and its foreign server (with its grants); superuser only.';
COMMENT ON FUNCTION vectorstore.vs_credential_grant(text, regrole) IS
  'Let a role (and its members) make requests with a named credential: GRANT USAGE ON FOREIGN SERVER; superuser only.';
COMMENT ON FUNCTION vectorstore.vs_credential_revoke(text, regrole) IS
  'Take a credential away from a role (REVOKE USAGE ON FOREIGN SERVER); returns whether it had been granted; superuser only.';

---------------------------------------------------------------------------
-- Vector stores
---------------------------------------------------------------------------
CREATE TYPE vectorstore.vector_store AS (
    id                text,
    name              text,
    description       text,
    status            text,
    usage_bytes       bigint,
    files_in_progress integer,
    files_completed   integer,
    files_failed      integer,
    files_cancelled   integer,
    files_total       integer,
    created_at        timestamptz,
    last_active_at    timestamptz,
    expires_at        timestamptz,
    expires_after     jsonb,
    metadata          jsonb,
    raw               jsonb
);

CREATE FUNCTION vectorstore.vs_store_create(name text DEFAULT NULL, description text DEFAULT NULL,
                                file_ids text[] DEFAULT NULL,
                                chunking_strategy jsonb DEFAULT NULL,
                                expires_after jsonb DEFAULT NULL,
                                metadata jsonb DEFAULT NULL,
                                request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store AS 'MODULE_PATHNAME', 'vs_store_create'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_store_get(vector_store_id text, request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store AS 'MODULE_PATHNAME', 'vs_store_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_store_update(vector_store_id text, name text DEFAULT NULL,
                                expires_after jsonb DEFAULT NULL,
                                metadata jsonb DEFAULT NULL,
                                request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store AS 'MODULE_PATHNAME', 'vs_store_update'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_store_delete(vector_store_id text, missing_ok boolean DEFAULT false,
                                request_options jsonb DEFAULT NULL)
RETURNS boolean AS 'MODULE_PATHNAME', 'vs_store_delete'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_stores("order" text DEFAULT 'desc', "limit" integer DEFAULT 100,
                          after text DEFAULT NULL, before text DEFAULT NULL,
                          max_items bigint DEFAULT NULL, request_options jsonb DEFAULT NULL)
RETURNS SETOF vectorstore.vector_store AS 'MODULE_PATHNAME', 'vs_stores'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

COMMENT ON FUNCTION vectorstore.vs_store_create(text, text, text[], jsonb, jsonb, jsonb, jsonb) IS
  'Create a vector store (POST /vector_stores). Arguments mirror the SDK; metadata, expires_after and chunking_strategy are validated before sending. request_options: extra_headers, extra_query, extra_body, timeout, max_retries.';
COMMENT ON FUNCTION vectorstore.vs_store_get(text, jsonb) IS
  'Retrieve a vector store (GET /vector_stores/{id}). A NULL id raises 22004.';
COMMENT ON FUNCTION vectorstore.vs_store_update(text, text, jsonb, jsonb, jsonb) IS
  'Modify a vector store (POST /vector_stores/{id}); NULL leaves a field alone, ''null''::jsonb clears expires_after or metadata.';
COMMENT ON FUNCTION vectorstore.vs_store_delete(text, boolean, jsonb) IS
  'Delete a vector store (DELETE /vector_stores/{id}); returns whether it was deleted. With missing_ok, a store that is not there returns false instead of raising. Its files stay in the Files API.';
COMMENT ON FUNCTION vectorstore.vs_stores(text, integer, text, text, bigint, jsonb) IS
  'All vector stores, one row each, following has_more/after through every page ("limit" is the page size, 1..100); before pages backwards from an id; max_items stops after that many rows, asking for no bigger pages than needed.';
