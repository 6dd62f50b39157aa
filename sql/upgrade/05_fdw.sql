
-- The foreign data wrapper and the settings server (new in 0.2.0).
CREATE FUNCTION vectorstore.vectorstore_fdw_validator(text[], oid) RETURNS void
    AS 'MODULE_PATHNAME', 'vectorstore_fdw_validator' LANGUAGE C STRICT;
CREATE FOREIGN DATA WRAPPER vectorstore_fdw VALIDATOR vectorstore.vectorstore_fdw_validator;
CREATE SERVER vectorstore FOREIGN DATA WRAPPER vectorstore_fdw;
GRANT USAGE ON FOREIGN SERVER vectorstore TO PUBLIC;

COMMENT ON FUNCTION vectorstore.vectorstore_fdw_validator(text[], oid) IS
  'Internal: checks the options of vectorstore_fdw servers, user mappings, foreign tables and columns (no secrets in options).';
COMMENT ON FOREIGN DATA WRAPPER vectorstore_fdw IS
  'OpenAI-compatible vector store APIs; each server is a credential (where requests go and who may use it).';
COMMENT ON SERVER vectorstore IS
  'The settings credential (vectorstore.api_key, vectorstore.base_url); USAGE on it decides who may use it.';
