-- Every object of the vectorstore extension as one normalized line, for
-- comparing an updated database with a fresh install (test/t/090_upgrade.pl).
-- Lines are "kind|identity|property=value"; object order is irrelevant (the
-- output is sorted), but the order of a composite type's or a view's columns
-- and a function's arguments is part of the line.
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'vectorstore'),
members AS (
    SELECT d.classid, d.objid
    FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
nsp AS (SELECT oid FROM pg_namespace WHERE nspname = 'vectorstore'),
fn AS (
    SELECT p.*, p.oid::regprocedure::text AS ident
    FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM nsp)),
rel AS (
    SELECT c.*, c.oid::regclass::text AS ident
    FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM nsp))
SELECT line FROM (
    -- membership: everything in the schema belongs to the extension
    SELECT 'member|' || pg_describe_object(m.classid, m.objid, 0) AS line FROM members m
    WHERE m.classid <> 'pg_namespace'::regclass
    UNION ALL
    SELECT 'function|' || ident || '|' || concat_ws(' ',
        'returns=' || pg_get_function_result(oid),
        'args=' || pg_get_function_arguments(oid),
        'kind=' || prokind::text, 'lang=' || (SELECT lanname FROM pg_language l WHERE l.oid = prolang),
        'volatile=' || provolatile::text, 'parallel=' || proparallel::text, 'strict=' || proisstrict,
        'secdef=' || prosecdef, 'leakproof=' || proleakproof, 'cost=' || procost, 'rows=' || prorows,
        'support=' || prosupport::text, 'config=' || coalesce(proconfig::text, '-'),
        'acl=' || coalesce(proacl::text, '-'),
        'comment=' || coalesce(obj_description(oid, 'pg_proc'), '-'),
        'src=' || md5(prosrc), 'bin=' || coalesce(probin, '-'))
    FROM fn
    UNION ALL
    SELECT 'relation|' || ident || '|' || concat_ws(' ',
        'kind=' || relkind::text, 'rls=' || relrowsecurity, 'forcerls=' || relforcerowsecurity,
        'options=' || coalesce(reloptions::text, '-'), 'acl=' || coalesce(relacl::text, '-'),
        'comment=' || coalesce(obj_description(oid, 'pg_class'), '-'),
        'view=' || coalesce(md5(pg_get_viewdef(oid)), '-'),
        'viewcols=' || CASE WHEN relkind = 'v' THEN (SELECT string_agg(attname, ',' ORDER BY attnum)
            FROM pg_attribute WHERE attrelid = rel.oid AND attnum > 0 AND NOT attisdropped) ELSE '-' END)
    FROM rel WHERE relkind NOT IN ('i', 'c', 'S')
    UNION ALL
    SELECT 'sequence|' || ident || '|' || concat_ws(' ', 'acl=' || coalesce(relacl::text, '-'),
        'type=' || s.seqtypid::regtype, 'owned_by=' || coalesce((SELECT d.refobjid::regclass || '.' || a.attname
            FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.objid = rel.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')), '-'))
    FROM rel JOIN pg_sequence s ON s.seqrelid = rel.oid
    UNION ALL
    -- table and view columns (by name: an updated table may order them differently)
    SELECT 'column|' || rel.ident || '.' || a.attname || '|' || concat_ws(' ',
        'type=' || format_type(a.atttypid, a.atttypmod), 'notnull=' || a.attnotnull,
        'default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-'),
        'identity=' || a.attidentity::text, 'generated=' || a.attgenerated::text,
        'acl=' || coalesce(a.attacl::text, '-'),
        'comment=' || coalesce(col_description(rel.oid, a.attnum), '-'))
    FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE rel.relkind IN ('r', 'v', 'p', 'f', 'm')
    UNION ALL
    SELECT 'constraint|' || rel.ident || '.' || co.conname || '|' || pg_get_constraintdef(co.oid)
    FROM rel JOIN pg_constraint co ON co.conrelid = rel.oid
    UNION ALL
    SELECT 'index|' || i.indexrelid::regclass::text || '|' || pg_get_indexdef(i.indexrelid)
    FROM rel JOIN pg_index i ON i.indrelid = rel.oid
    UNION ALL
    SELECT 'trigger|' || rel.ident || '.' || t.tgname || '|' || pg_get_triggerdef(t.oid)
    FROM rel JOIN pg_trigger t ON t.tgrelid = rel.oid AND NOT t.tgisinternal
    UNION ALL
    SELECT 'policy|' || rel.ident || '.' || p.polname || '|' || concat_ws(' ',
        'cmd=' || p.polcmd::text, 'permissive=' || p.polpermissive, 'roles=' || p.polroles::text,
        'using=' || coalesce(pg_get_expr(p.polqual, p.polrelid), '-'),
        'check=' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '-'))
    FROM rel JOIN pg_policy p ON p.polrelid = rel.oid
    UNION ALL
    -- types: composite ones with their attributes in order
    SELECT 'type|' || t.oid::regtype::text || '|' || concat_ws(' ', 'kind=' || t.typtype::text,
        'attrs=' || coalesce((SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
            FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '-'),
        'comment=' || coalesce(obj_description(t.oid, 'pg_type'), '-'),
        'colcomments=' || coalesce((SELECT string_agg(a.attname || ':' || col_description(t.typrelid, a.attnum), ',' ORDER BY a.attname)
            FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND col_description(t.typrelid, a.attnum) IS NOT NULL), '-'))
    FROM pg_type t WHERE t.typnamespace = (SELECT oid FROM nsp)
      AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
      AND t.typname NOT LIKE '\_%'
    UNION ALL
    -- tables whose rows pg_dump keeps
    SELECT 'config_dump|' || c::regclass::text || '|' || coalesce(
        (SELECT e.extcondition[i] FROM pg_extension e, generate_subscripts(e.extconfig, 1) i
         WHERE e.extname = 'vectorstore' AND e.extconfig[i] = c), '-')
    FROM pg_extension e2, unnest(e2.extconfig) c WHERE e2.extname = 'vectorstore'
    UNION ALL
    SELECT 'schema|vectorstore|acl=' || coalesce(nspacl::text, '-') || ' comment=' ||
        coalesce(obj_description(oid, 'pg_namespace'), '-')
    FROM pg_namespace WHERE nspname = 'vectorstore'
    UNION ALL
    SELECT 'fdw|' || w.fdwname || '|' || concat_ws(' ', 'handler=' || w.fdwhandler::regproc,
        'validator=' || w.fdwvalidator::regproc, 'acl=' || coalesce(w.fdwacl::text, '-'),
        'comment=' || coalesce(obj_description(w.oid, 'pg_foreign_data_wrapper'), '-'))
    FROM pg_foreign_data_wrapper w JOIN members m ON m.classid = 'pg_foreign_data_wrapper'::regclass AND m.objid = w.oid
    UNION ALL
    SELECT 'server|' || s.srvname || '|' || concat_ws(' ', 'options=' || coalesce(s.srvoptions::text, '-'),
        'acl=' || coalesce(s.srvacl::text, '-'),
        'comment=' || coalesce(obj_description(s.oid, 'pg_foreign_server'), '-'))
    FROM pg_foreign_server s JOIN members m ON m.classid = 'pg_foreign_server'::regclass AND m.objid = s.oid
) x
ORDER BY line;
