
-- A vector store as a table (new in 0.2.0): the handler of vectorstore_fdw
-- (05_fdw.sql created the wrapper and server "vectorstore") and the search
-- table of a sync's store. The same definitions as sql/install/05_fdw.sql
-- and sql/install/70_fdw.sql.
CREATE FUNCTION vectorstore.vectorstore_fdw_handler() RETURNS fdw_handler
    AS 'MODULE_PATHNAME', 'vectorstore_fdw_handler' LANGUAGE C STRICT;
-- (no foreign table can use the wrapper yet: quiet the warning that says
-- a new handler changes existing tables)
SET client_min_messages = error;
ALTER FOREIGN DATA WRAPPER vectorstore_fdw HANDLER vectorstore.vectorstore_fdw_handler;
SET client_min_messages = warning;
COMMENT ON FUNCTION vectorstore.vectorstore_fdw_handler() IS
  'Internal: the handler of vectorstore_fdw (search tables: WHERE becomes the search''s filters, LIMIT its max_num_results).';
CREATE FUNCTION vectorstore.vs_sync_search_table_create(sync_name text, table_name text DEFAULT NULL,
                                                        server name DEFAULT 'vectorstore')
RETURNS regclass LANGUAGE plpgsql AS $$
DECLARE
    s record;
    c text;
    typ text;
    col text;
    cols text := '';
    tname text;
    fixed text[] := ARRAY['query', 'file_id', 'filename', 'score', 'content', 'rank', 'attributes',
                          'raw', 'max_num_results', 'rewrite_query', 'ranker'];
BEGIN
    IF sync_name IS NULL OR server IS NULL THEN
        RAISE EXCEPTION 'sync_name and server must not be null' USING ERRCODE = '22004';
    END IF;
    SELECT y.source, y.vector_store_id, y.attribute_columns INTO s
      FROM vectorstore.syncs y WHERE y.name OPERATOR(pg_catalog.=) sync_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sync "%" does not exist', sync_name USING ERRCODE = '42704';
    END IF;
    FOREACH c IN ARRAY COALESCE(s.attribute_columns, '{}'::text[]) LOOP
        -- the source's type where a search table column can have it (and a
        -- text column's collation: "C" lets string order be sent), else text
        SELECT CASE WHEN a.atttypid OPERATOR(pg_catalog.=) ANY
                         ('{text,varchar,int2,int4,int8,numeric,float8,bool,timestamptz}'::pg_catalog.regtype[])
                    THEN pg_catalog.format_type(a.atttypid, NULL)
                    WHEN a.atttypid OPERATOR(pg_catalog.=) 'float4'::pg_catalog.regtype
                    THEN 'double precision'
                    ELSE 'text' END
               OPERATOR(pg_catalog.||)
               CASE WHEN a.atttypid OPERATOR(pg_catalog.=) ANY ('{text,varchar}'::pg_catalog.regtype[])
                         AND a.attcollation OPERATOR(pg_catalog.<>) t.typcollation
                    THEN ' COLLATE ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(n.nspname)
                         OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(co.collname)
                    ELSE '' END
          INTO typ
          FROM pg_catalog.pg_attribute a
          JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
          LEFT JOIN pg_catalog.pg_collation co ON co.oid OPERATOR(pg_catalog.=) a.attcollation
          LEFT JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) co.collnamespace
         WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(s.source) AND a.attname OPERATOR(pg_catalog.=) c
           AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
        IF typ IS NULL THEN
            RAISE EXCEPTION 'column "%" of the source of sync "%" does not exist', c, sync_name
                USING ERRCODE = '42703';
        END IF;
        col := CASE WHEN c OPERATOR(pg_catalog.=) ANY (fixed) THEN c OPERATOR(pg_catalog.||) '_attribute' ELSE c END;
        cols := cols OPERATOR(pg_catalog.||) pg_catalog.format(', %I %s', col, typ);
        IF col OPERATOR(pg_catalog.<>) c THEN
            cols := cols OPERATOR(pg_catalog.||) pg_catalog.format(' OPTIONS (attribute %L)', c);
        END IF;
    END LOOP;
    tname := pg_catalog.quote_ident(COALESCE(table_name, sync_name OPERATOR(pg_catalog.||) '_search'));
    EXECUTE pg_catalog.format('CREATE FOREIGN TABLE %s (query text, file_id text, filename text, '
                   'score double precision, content text, rank integer, attributes jsonb, '
                   'max_num_results integer%s) SERVER %I OPTIONS (vector_store_id %L)',
                   tname, cols, server, s.vector_store_id);
    RETURN pg_catalog.to_regclass(tname);
END $$;

COMMENT ON FUNCTION vectorstore.vs_sync_search_table_create(text, text, name) IS
  'Create the search table (a foreign table of vectorstore_fdw) of a sync''s vector store, with a column for each synced attribute typed as in the source table. table_name defaults to <sync>_search.';
