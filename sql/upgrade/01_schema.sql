
-- The schema the library trusts (src/step.c, vs_extension_schema_problem).
-- 0.1.0's control file named schema "vectorstore", so PostgreSQL installed
-- into whatever schema of that name existed: one a database owner created
-- beforehand stays that role's, who could then rename it and put functions
-- of their own where the library, running as the extension's owner, looks
-- for its own. 0.2.0 creates its schema itself (a fresh install fails if
-- one exists). An update therefore:
--   1. refuses when the schema named vectorstore is not the one the
--      extension was installed into (renamed away and replaced);
--   2. refuses when the schema holds objects that are neither the
--      extension's nor a superuser's (someone else's functions, tables,
--      types or operators, among the extension's names), naming them;
--   3. gives the schema to the extension's owner.
DO $vs$
DECLARE
    ext_nsp pg_catalog.oid;
    ext_owner pg_catalog.name;
    foreign_objects text;
    schema_owner text;
    grantee text;
BEGIN
    SELECT e.extnamespace, r.rolname INTO ext_nsp, ext_owner
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) e.extowner
     WHERE e.extname OPERATOR(pg_catalog.=) 'vectorstore';
    IF pg_catalog.to_regnamespace('vectorstore') IS DISTINCT FROM ext_nsp THEN
        RAISE EXCEPTION 'schema "vectorstore" is not the schema extension vectorstore was installed into'
            USING ERRCODE = '42501',
                  DETAIL = pg_catalog.format('The extension is in schema %s.', ext_nsp::pg_catalog.regnamespace),
                  HINT = 'A superuser renames the schemas back (and looks at what the other one holds) before updating.';
    END IF;
    -- (pg_identify_object: names qualified whatever the search_path)
    SELECT pg_catalog.string_agg(i.type OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) i.identity, ', '
                                 ORDER BY i.identity)
      INTO foreign_objects
      FROM (SELECT 'pg_catalog.pg_class'::pg_catalog.regclass AS classid, c.oid AS objid, c.relowner AS owner
              FROM pg_catalog.pg_class c WHERE c.relnamespace OPERATOR(pg_catalog.=) ext_nsp
            UNION ALL
            SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid, p.proowner
              FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) ext_nsp
            UNION ALL
            SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid, t.typowner
              FROM pg_catalog.pg_type t
             WHERE t.typnamespace OPERATOR(pg_catalog.=) ext_nsp
               AND t.typrelid OPERATOR(pg_catalog.=) 0 AND t.typcategory OPERATOR(pg_catalog.<>) 'A'
            UNION ALL
            SELECT 'pg_catalog.pg_operator'::pg_catalog.regclass, o.oid, o.oprowner
              FROM pg_catalog.pg_operator o WHERE o.oprnamespace OPERATOR(pg_catalog.=) ext_nsp
            UNION ALL
            SELECT 'pg_catalog.pg_collation'::pg_catalog.regclass, co.oid, co.collowner
              FROM pg_catalog.pg_collation co WHERE co.collnamespace OPERATOR(pg_catalog.=) ext_nsp
            UNION ALL
            SELECT 'pg_catalog.pg_conversion'::pg_catalog.regclass, cv.oid, cv.conowner
              FROM pg_catalog.pg_conversion cv WHERE cv.connamespace OPERATOR(pg_catalog.=) ext_nsp) o
      JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) o.owner
      CROSS JOIN LATERAL pg_catalog.pg_identify_object(o.classid, o.objid, 0) i
     WHERE NOT r.rolsuper
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                        WHERE d.classid OPERATOR(pg_catalog.=) o.classid
                          AND d.objid OPERATOR(pg_catalog.=) o.objid
                          AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
                          AND d.deptype OPERATOR(pg_catalog.=) 'e');
    IF foreign_objects IS NOT NULL THEN
        RAISE EXCEPTION 'schema "vectorstore" holds objects that are neither the extension''s nor a superuser''s: %',
                        foreign_objects
            USING ERRCODE = '42501',
                  DETAIL = 'The extension runs its own functions in this schema with its owner''s rights.',
                  HINT = 'A superuser moves them to another schema or drops them, then updates.';
    END IF;
    -- CREATE is the extension owner's alone: a grant of it made by the
    -- schema's previous owner would survive the change of owner (PostgreSQL
    -- rewrites the grantor); USAGE grants, which roles need, are kept
    FOR grantee IN
        SELECT DISTINCT CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                             ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END
          FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
         WHERE n.oid OPERATOR(pg_catalog.=) ext_nsp AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
           AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner
    LOOP
        EXECUTE pg_catalog.format('REVOKE CREATE ON SCHEMA vectorstore FROM %s CASCADE', grantee);
        RAISE WARNING 'CREATE on schema "vectorstore" revoked from %', grantee;
    END LOOP;
    SELECT n.nspowner::pg_catalog.regrole::pg_catalog.text INTO schema_owner
      FROM pg_catalog.pg_namespace n WHERE n.oid OPERATOR(pg_catalog.=) ext_nsp;
    IF schema_owner OPERATOR(pg_catalog.<>) pg_catalog.quote_ident(ext_owner) THEN
        EXECUTE pg_catalog.format('ALTER SCHEMA vectorstore OWNER TO %I', ext_owner);
        RAISE WARNING 'schema "vectorstore" now belongs to %, the extension''s owner (it belonged to %)',
            ext_owner, schema_owner;
    END IF;
END
$vs$;
