
---------------------------------------------------------------------------
-- The foreign data wrapper: servers are where requests go (fdw_options.c)
---------------------------------------------------------------------------
CREATE FUNCTION vectorstore.vectorstore_fdw_validator(text[], oid) RETURNS void
    AS 'MODULE_PATHNAME', 'vectorstore_fdw_validator' LANGUAGE C STRICT;
-- A vector store as a table (fdw.c): the handler plans and runs searches.
CREATE FUNCTION vectorstore.vectorstore_fdw_handler() RETURNS fdw_handler
    AS 'MODULE_PATHNAME', 'vectorstore_fdw_handler' LANGUAGE C STRICT;
CREATE FOREIGN DATA WRAPPER vectorstore_fdw HANDLER vectorstore.vectorstore_fdw_handler
    VALIDATOR vectorstore.vectorstore_fdw_validator;
-- The settings credential (vectorstore.api_key, vectorstore.base_url). As in
-- 0.1.0 every role may use it; REVOKE USAGE ON FOREIGN SERVER vectorstore
-- FROM PUBLIC keeps it for superusers and the roles granted it.
CREATE SERVER vectorstore FOREIGN DATA WRAPPER vectorstore_fdw;
GRANT USAGE ON FOREIGN SERVER vectorstore TO PUBLIC;

COMMENT ON FUNCTION vectorstore.vectorstore_fdw_validator(text[], oid) IS
  'Internal: checks the options of vectorstore_fdw servers, user mappings, foreign tables and columns (no secrets in options).';
COMMENT ON FOREIGN DATA WRAPPER vectorstore_fdw IS
  'OpenAI-compatible vector store APIs; each server is a credential (where requests go and who may use it).';
COMMENT ON SERVER vectorstore IS
  'The settings credential (vectorstore.api_key, vectorstore.base_url); USAGE on it decides who may use it.';

COMMENT ON FUNCTION vectorstore.vectorstore_fdw_handler() IS
  'Internal: the handler of vectorstore_fdw (search tables: WHERE becomes the search''s filters, LIMIT its max_num_results).';
