-- Dump and restore (issue 15, test/t/055_dump_restore.pl; the functions are
-- in 51_queue_functions.sql). The row kept from 0.1.0 (its script made one,
-- and no dump carried it) takes this database's identity and a marker token
-- made from it, and the table is keyed by the rows' nonces, as a new
-- install's is (50_queue.sql): a dump of it is now recognised as a copy.
UPDATE vectorstore.worker_state s
   SET system_identifier = i.system_identifier, database_oid = i.database_oid,
       token = vectorstore._worker_token(i.system_identifier, i.database_oid, s.nonce)
  FROM vectorstore._worker_identity() i;
ALTER TABLE vectorstore.worker_state
    DROP COLUMN id,
    ALTER COLUMN system_identifier SET NOT NULL,
    ALTER COLUMN database_oid SET NOT NULL,
    ADD PRIMARY KEY (nonce);
-- (none: a superuser deleted it) made as a new install makes it
SELECT vectorstore._worker_make_row()
 WHERE NOT EXISTS (SELECT 1 FROM vectorstore.worker_state);
-- the jobs are this database's (sql/install/55_worker_row.sql)
UPDATE vectorstore.job j SET origin = vectorstore._worker_own();
CREATE INDEX job_origin_idx ON vectorstore.job (origin);
ALTER TABLE vectorstore.job ALTER COLUMN origin SET DEFAULT vectorstore._worker_own();
