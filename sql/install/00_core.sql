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
-- Credentials: API keys no role but the extension's owner can read
---------------------------------------------------------------------------
CREATE TABLE vectorstore.credential (
    name         text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,63}$'),
    api_key      text NOT NULL,
    base_url     text CHECK (base_url ~ '^https?://'),
    organization text,
    project      text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON vectorstore.credential FROM PUBLIC;

CREATE TABLE vectorstore.credential_grant (
    credential text NOT NULL REFERENCES vectorstore.credential(name) ON DELETE CASCADE ON UPDATE CASCADE,
    grantee    oid  NOT NULL,
    PRIMARY KEY (credential, grantee)
);
REVOKE ALL ON vectorstore.credential_grant FROM PUBLIC;

CREATE FUNCTION vectorstore._credentials_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'vs_credentials_changed' LANGUAGE C;
REVOKE ALL ON FUNCTION vectorstore._credentials_changed() FROM PUBLIC;

CREATE TRIGGER credential_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vectorstore.credential
    FOR EACH STATEMENT EXECUTE FUNCTION vectorstore._credentials_changed();
CREATE TRIGGER credential_grant_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vectorstore.credential_grant
    FOR EACH STATEMENT EXECUTE FUNCTION vectorstore._credentials_changed();

-- What anyone may know about credentials: names, targets and grantees; never keys.
CREATE VIEW vectorstore.credentials AS
    SELECT c.name, c.base_url, c.organization, c.project, c.created_at,
           ARRAY(SELECT g.grantee::regrole FROM vectorstore.credential_grant g
                 WHERE g.credential = c.name ORDER BY 1) AS grantees
    FROM vectorstore.credential c;
REVOKE ALL ON vectorstore.credentials FROM PUBLIC;

CREATE FUNCTION vectorstore.vs_credential_set(name text, api_key text, base_url text DEFAULT NULL,
                                  organization text DEFAULT NULL, project text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'only a superuser may store credentials' USING ERRCODE = '42501';
    END IF;
    IF api_key IS NULL OR api_key = '' THEN
        RAISE EXCEPTION 'api_key must not be empty' USING ERRCODE = '22023';
    END IF;
    INSERT INTO vectorstore.credential AS c (name, api_key, base_url, organization, project)
    VALUES (vs_credential_set.name, vs_credential_set.api_key, vs_credential_set.base_url,
            vs_credential_set.organization, vs_credential_set.project)
    ON CONFLICT ON CONSTRAINT credential_pkey DO UPDATE
        SET api_key = EXCLUDED.api_key, base_url = EXCLUDED.base_url,
            organization = EXCLUDED.organization, project = EXCLUDED.project;
END $$;

CREATE FUNCTION vectorstore.vs_credential_drop(name text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'only a superuser may drop credentials' USING ERRCODE = '42501';
    END IF;
    DELETE FROM vectorstore.credential c WHERE c.name = vs_credential_drop.name;
    RETURN FOUND;
END $$;

CREATE FUNCTION vectorstore.vs_credential_grant(credential text, grantee regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'only a superuser may grant credentials' USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM vectorstore.credential c WHERE c.name = vs_credential_grant.credential) THEN
        RAISE EXCEPTION 'credential "%" does not exist', vs_credential_grant.credential
            USING ERRCODE = '42704';
    END IF;
    INSERT INTO vectorstore.credential_grant (credential, grantee)
    VALUES (vs_credential_grant.credential, vs_credential_grant.grantee::oid)
    ON CONFLICT DO NOTHING;
END $$;

CREATE FUNCTION vectorstore.vs_credential_revoke(credential text, grantee regrole) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'only a superuser may revoke credentials' USING ERRCODE = '42501';
    END IF;
    DELETE FROM vectorstore.credential_grant g
     WHERE g.credential = vs_credential_revoke.credential
       AND g.grantee = vs_credential_revoke.grantee::oid;
    RETURN FOUND;
END $$;

REVOKE ALL ON FUNCTION vectorstore.vs_credential_set(text, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION vectorstore.vs_credential_drop(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION vectorstore.vs_credential_grant(text, regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION vectorstore.vs_credential_revoke(text, regrole) FROM PUBLIC;

COMMENT ON FUNCTION vectorstore.vs_credential_set(text, text, text, text, text) IS
  'Store (or replace) a named API credential; superuser only. Roles use it after vs_credential_grant() without being able to read the key.';
COMMENT ON FUNCTION vectorstore.vs_credential_drop(text) IS
  'Delete a named credential and its grants; superuser only.';
COMMENT ON FUNCTION vectorstore.vs_credential_grant(text, regrole) IS
  'Let a role (and its members) make requests with a named credential; superuser only.';
COMMENT ON FUNCTION vectorstore.vs_credential_revoke(text, regrole) IS
  'Take a credential away from a role; superuser only.';

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
