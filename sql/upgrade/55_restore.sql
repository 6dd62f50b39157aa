-- Dump and restore (issue 15, test/t/055_dump_restore.pl): the functions are
-- in 51_queue_functions.sql (_worker_identify, _worker_set_paused).
-- the row kept from 0.1.0 takes this database's identity now, so that a dump
-- taken before the new library's first worker starts is recognised as a copy
SELECT vectorstore._worker_identify();
