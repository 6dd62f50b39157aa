-- Dump and restore (issue 15, test/t/055_dump_restore.pl): resuming a
-- restored or copied database also computes its trigger-mode syncs once, so
-- a change recorded but not computed before the dump is not lost.

-- Pause or resume this database's worker (vs_worker_pause/resume). Resuming
-- a copy makes it a database of its own: its identity is taken and a new
-- nonce (so a new marker token) is made, and each of its trigger-mode syncs
-- is computed once (sync_change names tables by oid, so it is not dumped: a
-- change the original's trigger recorded but had not computed yet would
-- otherwise be lost in a restore; the computation queues only differences).
CREATE OR REPLACE FUNCTION vectorstore._worker_set_paused(p_paused boolean, p_reason text,
                                               p_system_identifier text, p_database_oid oid)
RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n text := pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '');
    was boolean;
    is_copy boolean;
BEGIN
    SELECT s.paused, s.system_identifier IS DISTINCT FROM p_system_identifier
                     OR s.database_oid IS DISTINCT FROM p_database_oid
      INTO was, is_copy FROM vectorstore.worker_state s FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO vectorstore.worker_state (system_identifier, database_oid, nonce, token, paused,
                                              paused_reason, paused_at)
        VALUES (p_system_identifier, p_database_oid, n,
                pg_catalog.substr(pg_catalog.md5(p_system_identifier || '/' || p_database_oid || '/' || n), 1, 16),
                p_paused, CASE WHEN p_paused THEN p_reason END,
                CASE WHEN p_paused THEN pg_catalog.now() END);
        RETURN false;
    END IF;
    IF p_paused THEN
        UPDATE vectorstore.worker_state s SET paused = true, paused_reason = p_reason,
               paused_at = pg_catalog.now(), pid = NULL;
    ELSE
        UPDATE vectorstore.worker_state s SET paused = false, paused_reason = NULL, paused_at = NULL,
               nonce = CASE WHEN is_copy THEN n ELSE s.nonce END,
               token = CASE WHEN is_copy
                            THEN pg_catalog.substr(pg_catalog.md5(p_system_identifier || '/' || p_database_oid || '/' || n), 1, 16)
                            ELSE s.token END,
               system_identifier = p_system_identifier, database_oid = p_database_oid;
        IF is_copy THEN
            INSERT INTO vectorstore.sync_change (sync_name, relid)
            SELECT y.name, pg_catalog.to_regclass(y.source) FROM vectorstore.sync y
            WHERE y.use_trigger AND pg_catalog.to_regclass(y.source) IS NOT NULL;
        END IF;
    END IF;
    RETURN was;
END $$;

-- The database's identity, recorded as soon as it holds something the worker
-- could send (a job, a sync) rather than when its first worker starts: a
-- database whose worker never ran (the library not preloaded, or a dump taken
-- before the first start) is then still recognised as a copy when restored.
-- Makes the row if there is none; gives a row without an identity (one kept
-- from 0.1.0) this database's, with a token made from it (as _worker_start
-- does). The system identifier is printed unsigned, as the worker prints it.
CREATE FUNCTION vectorstore._worker_identify() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sysid text;
    dboid oid;
    n text := pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '');
BEGIN
    IF EXISTS (SELECT 1 FROM vectorstore.worker_state s
               WHERE s.system_identifier IS NOT NULL AND s.database_oid IS NOT NULL) THEN
        RETURN;
    END IF;
    SELECT CASE WHEN c.system_identifier < 0
                THEN (c.system_identifier::numeric + 18446744073709551616)::text
                ELSE c.system_identifier::text END
      INTO sysid FROM pg_catalog.pg_control_system() c;
    SELECT d.oid INTO dboid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database();
    INSERT INTO vectorstore.worker_state (system_identifier, database_oid, nonce, token)
    VALUES (sysid, dboid, n, pg_catalog.substr(pg_catalog.md5(sysid || '/' || dboid || '/' || n), 1, 16))
    ON CONFLICT (id) DO UPDATE SET system_identifier = EXCLUDED.system_identifier,
           database_oid = EXCLUDED.database_oid,
           token = pg_catalog.substr(pg_catalog.md5(EXCLUDED.system_identifier || '/' || EXCLUDED.database_oid
                                                    || '/' || worker_state.nonce), 1, 16)
    WHERE worker_state.system_identifier IS NULL OR worker_state.database_oid IS NULL;
END $$;
REVOKE ALL ON FUNCTION vectorstore._worker_identify() FROM PUBLIC;
COMMENT ON FUNCTION vectorstore._worker_identify() IS
  'Internal: record this database''s identity once it holds work, so a restored copy is recognised.';
-- the row kept from 0.1.0 takes this database's identity now, so that a dump
-- taken before the new library's first worker starts is recognised as a copy
SELECT vectorstore._worker_identify();
