-- Every object of the extension has a COMMENT, and so has every column of
-- its tables, views and composite types (sql/install/97_comments.sql and
-- the functions' own comments; a database updated from 0.1.0 gets the same
-- from sql/upgrade/97_comments.sql, which test/t/090_upgrade.pl compares).
-- Objects are found through pg_depend on the extension, so a new table,
-- view, type, sequence or function without a comment shows up here.
-- Sends no request.
CREATE TEMP VIEW vs_commentable AS
WITH m AS (
    SELECT d.classid, d.objid
    FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
    WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'vectorstore' AND d.deptype = 'e'
)
-- the extension's members (functions, tables, views, sequences, types, wrapper, server, ...)
SELECT pg_describe_object(m.classid, m.objid, 0) AS object,
       obj_description(m.objid, (SELECT c.relname FROM pg_class c WHERE c.oid = m.classid)) AS comment
FROM m WHERE m.classid <> 'pg_namespace'::regclass
UNION ALL
-- the columns of its tables and views
SELECT pg_describe_object('pg_class'::regclass, c.oid, a.attnum), col_description(c.oid, a.attnum)
FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
UNION ALL
-- the attributes of its composite types
SELECT pg_describe_object('pg_class'::regclass, t.typrelid, a.attnum), col_description(t.typrelid, a.attnum)
FROM m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid AND t.typtype = 'c'
JOIN pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
-- its schema (created by the script, or by the 0.1.0 control file)
SELECT 'schema vectorstore', obj_description(n.oid, 'pg_namespace')
FROM pg_namespace n WHERE n.nspname = 'vectorstore';

-- what has no comment (or an empty one): none
SELECT object AS without_comment FROM vs_commentable
WHERE coalesce(btrim(comment), '') = '' ORDER BY 1;

-- the check saw the objects it is about (not an empty list passing)
SELECT count(*) FILTER (WHERE object LIKE 'function %') > 50 AS functions_seen,
       count(*) FILTER (WHERE object LIKE 'table %') >= 8 AS tables_seen,
       count(*) FILTER (WHERE object LIKE 'view %') >= 8 AS views_seen,
       count(*) FILTER (WHERE object LIKE 'type %') >= 5 AS types_seen,
       count(*) FILTER (WHERE object LIKE 'sequence %') >= 2 AS sequences_seen,
       count(*) FILTER (WHERE object LIKE 'column %') > 200 AS columns_seen,
       count(*) FILTER (WHERE object = 'schema vectorstore') = 1 AS schema_seen
FROM vs_commentable;

DROP VIEW vs_commentable;
