-- Credentials, 0.1.0 -> 0.2.0 (credential.c; install part in 00_core.sql).
--   - keys move to vectorstore.credential_secret, which pg_dump never dumps;
--     vectorstore.credential (no keys now) is dumped;
--   - credentials gain auth, query, default headers and a key file;
--   - each credential becomes a foreign server of vectorstore_fdw and its
--     grants (rows of credential_grant, holding raw role oids) become
--     GRANT USAGE ON FOREIGN SERVER, skipping roles that no longer exist;
--   - vs_credential_set gains arguments: dropped and recreated (in C; every
--     field checked by name, so no error prints the row with the key).

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM vectorstore.credential WHERE name = 'vectorstore') THEN
        RAISE EXCEPTION 'a credential named "vectorstore" must be renamed or dropped before updating'
            USING DETAIL = 'In 0.2.0 "vectorstore" is the foreign server of the settings credential.';
    END IF;
    IF EXISTS (SELECT 1 FROM vectorstore.credential c JOIN pg_catalog.pg_foreign_server s ON s.srvname = c.name) THEN
        RAISE EXCEPTION 'foreign server "%" already exists; a credential of that name becomes a foreign server in 0.2.0',
            (SELECT c.name FROM vectorstore.credential c JOIN pg_catalog.pg_foreign_server s ON s.srvname = c.name LIMIT 1);
    END IF;
END $$;

-- keys apart, in a table pg_dump does not dump
CREATE TABLE vectorstore.credential_secret (
    name     text PRIMARY KEY REFERENCES vectorstore.credential(name) ON DELETE CASCADE ON UPDATE CASCADE,
    api_key  text,
    headers  jsonb
);
REVOKE ALL ON vectorstore.credential_secret FROM PUBLIC;
INSERT INTO vectorstore.credential_secret (name, api_key) SELECT name, api_key FROM vectorstore.credential;
CREATE TRIGGER credential_secret_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vectorstore.credential_secret
    FOR EACH STATEMENT EXECUTE FUNCTION vectorstore._credentials_changed();

DROP VIEW vectorstore.credentials;
ALTER TABLE vectorstore.credential DROP COLUMN api_key;
-- new row versions without the dropped column's value (vacuum reclaims the old ones)
UPDATE vectorstore.credential SET name = name;
ALTER TABLE vectorstore.credential DROP CONSTRAINT credential_base_url_check;
ALTER TABLE vectorstore.credential
    ADD COLUMN auth text NOT NULL DEFAULT 'bearer' CHECK (auth IN ('bearer', 'api-key', 'none')),
    ADD COLUMN query jsonb,
    ADD COLUMN header_names text[],
    ADD COLUMN key_file text;
SELECT pg_catalog.pg_extension_config_dump('vectorstore.credential', '');

-- a foreign server per credential, and its grants. Each server is made, its
-- grants given, and only then taken out of the extension, so that neither
-- the server nor its grants count as the extension's own (pg_dump dumps them).
DO $$
DECLARE
    c record;
    g record;
BEGIN
    FOR c IN SELECT name FROM vectorstore.credential ORDER BY name LOOP
        EXECUTE format('CREATE SERVER %I FOREIGN DATA WRAPPER vectorstore_fdw', c.name);
        EXECUTE format('COMMENT ON SERVER %I IS %L', c.name,
            'vectorstore credential: GRANT USAGE on it (or vs_credential_grant) lets a role make requests with it');
        FOR g IN SELECT cg.grantee, r.rolname FROM vectorstore.credential_grant cg
                 LEFT JOIN pg_catalog.pg_roles r ON r.oid = cg.grantee
                 WHERE cg.credential = c.name ORDER BY cg.grantee LOOP
            IF g.rolname IS NULL THEN
                -- a WARNING: an extension script runs with client_min_messages at warning
                RAISE WARNING 'credential "%": grant to role oid % skipped (that role no longer exists)',
                    c.name, g.grantee;
            ELSE
                EXECUTE format('GRANT USAGE ON FOREIGN SERVER %I TO %I', c.name, g.rolname);
            END IF;
        END LOOP;
        EXECUTE format('ALTER EXTENSION vectorstore DROP SERVER %I', c.name);
    END LOOP;
END $$;
DROP TABLE vectorstore.credential_grant;

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

DROP FUNCTION vectorstore.vs_credential_set(text, text, text, text, text);
CREATE FUNCTION vectorstore.vs_credential_set(name text, api_key text DEFAULT NULL,
                                  base_url text DEFAULT NULL,
                                  organization text DEFAULT NULL, project text DEFAULT NULL,
                                  auth text DEFAULT 'bearer', headers jsonb DEFAULT NULL,
                                  query jsonb DEFAULT NULL, key_file text DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'vs_credential_set' LANGUAGE C VOLATILE;

CREATE OR REPLACE FUNCTION vectorstore.vs_credential_drop(name text) RETURNS boolean
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

CREATE OR REPLACE FUNCTION vectorstore.vs_credential_grant(credential text, grantee regrole) RETURNS void
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

CREATE OR REPLACE FUNCTION vectorstore.vs_credential_revoke(credential text, grantee regrole) RETURNS boolean
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
