-- This database's identity row (worker_state: 50_queue.sql; the functions:
-- 51_queue_functions.sql). Made here, by CREATE EXTENSION, so that no role's
-- transaction ever makes or holds it, and a dump taken at any time carries
-- it: restored or copied, the database knows it is a copy. Each job is
-- tagged with the row of the database it is queued in (job.origin): a
-- restore's jobs carry their origin's, and are not sent here until the
-- database is known for what it is. (The default is evaluated per row, a
-- query each: the syncs' inserts of many rows give (SELECT
-- vectorstore._worker_own()) instead, once per statement.)
SELECT vectorstore._worker_make_row();
ALTER TABLE vectorstore.job ALTER COLUMN origin SET DEFAULT vectorstore._worker_own();
