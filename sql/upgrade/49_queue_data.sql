
---------------------------------------------------------------------------
-- What 0.1.0 let roles write, checked before 50_queue.sql builds on it.
-- 0.1.0 granted roles UPDATE on their jobs' status, attempts, last_error,
-- not_before, finished_at and updated_at, INSERT of jobs (any sync_name
-- and row_key), and every write on the rows of their syncs' sync_row (any
-- job_id). The update takes none of it on trust (issue 10, red team):
--   - attempts outside 0..1000 (a negative count would stop this update at
--     the new CHECK; a huge one would end in the back-off arithmetic) are
--     brought into range;
--   - a job that names a sync of another owner is detached from it (it
--     counted in that sync's progress and could stand for its rows);
--   - a sync row that points at a job of another owner, or at a job of
--     another sync or row, is dropped: the sync's next run sees the row as
--     new. A later run would otherwise queue a deletion or replacement of
--     that job's file, another role's, with its store and credential.
-- Still at 0.1.0's columns here: owners are oids.
---------------------------------------------------------------------------
UPDATE vectorstore.job j SET attempts = pg_catalog.int4larger(pg_catalog.int4smaller(j.attempts, 1000), 0)
 WHERE j.attempts OPERATOR(pg_catalog.<) 0 OR j.attempts OPERATOR(pg_catalog.>) 1000;

UPDATE vectorstore.job j SET sync_name = NULL, row_key = NULL
 WHERE j.sync_name IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM vectorstore.sync y
                    WHERE y.name OPERATOR(pg_catalog.=) j.sync_name
                      AND y.owner OPERATOR(pg_catalog.=) j.owner);

DELETE FROM vectorstore.sync_row r
 WHERE EXISTS (SELECT 1 FROM vectorstore.job j WHERE j.id OPERATOR(pg_catalog.=) r.job_id)
   AND NOT EXISTS (SELECT 1 FROM vectorstore.job j JOIN vectorstore.sync y
                          ON y.name OPERATOR(pg_catalog.=) r.sync_name
                    WHERE j.id OPERATOR(pg_catalog.=) r.job_id
                      AND j.owner OPERATOR(pg_catalog.=) y.owner
                      AND j.sync_name OPERATOR(pg_catalog.=) r.sync_name
                      AND j.row_key OPERATOR(pg_catalog.=) r.row_key);
