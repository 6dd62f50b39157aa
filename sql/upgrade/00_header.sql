-- vectorstore 0.1.0 -> 0.2.0. Assembled from sql/upgrade/*.sql by the
-- Makefile; test/t/090_upgrade.pl updates a 0.1.0 database with it and
-- compares every object with a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION vectorstore UPDATE" to load this file. \quit

-- 0.1.0 databases keep their objects in schema "vectorstore" (the extension's
-- schema from the 0.1.0 control file); ALTER EXTENSION restores search_path.
SET search_path = vectorstore;
