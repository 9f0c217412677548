-- GIN jsonb_path_ops mirrors of FerretDB's B-tree indexes, installed in FerretDB's database at every start.
--
-- FerretDB v1 creates B-tree indexes on (_jsonb -> 'field') but filters with (_jsonb -> 'field') @> value,
-- which only a GIN index can serve. An event trigger gives every new B-tree index over top-level
-- `_jsonb -> 'field'` expressions a GIN twin on the same expressions, named <index>_gin, and drops the
-- twin with its index. FerretDB creates a collection's _id index with its own CREATE INDEX right after
-- CREATE TABLE, so that index is mirrored too. The schema name holds a `$`, which FerretDB refuses in
-- database names, so no MongoDB database can take it over.

CREATE SCHEMA IF NOT EXISTS "clientbase$gin";

CREATE OR REPLACE FUNCTION "clientbase$gin".mirror_name(index_name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT left(index_name, 59) || '_gin'
$$;

-- The key expressions of an index that FerretDB's filters can use: top-level `_jsonb -> 'field'`.
CREATE OR REPLACE FUNCTION "clientbase$gin".mirrorable_expressions(index_oid oid) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(expression ORDER BY position), '{}')
    FROM pg_index AS i
    CROSS JOIN LATERAL generate_series(1, i.indnkeyatts) AS position
    CROSS JOIN LATERAL pg_get_indexdef(i.indexrelid, position, true) AS expression
    WHERE i.indexrelid = index_oid
      AND expression ~ '^\(?_jsonb -> ''([^'']|'''')*''::text\)?$'
$$;

-- Create the GIN mirror of one B-tree index of a FerretDB collection; return its name, or NULL if none is due.
CREATE OR REPLACE FUNCTION "clientbase$gin".mirror_index(index_oid oid) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    target record;
    expressions text[];
    mirror text;
BEGIN
    SELECT index_class.relname AS index_name, table_class.relname AS table_name,
           namespace.nspname AS schema_name, method.amname AS method
      INTO target
      FROM pg_index AS i
      JOIN pg_class AS index_class ON index_class.oid = i.indexrelid
      JOIN pg_class AS table_class ON table_class.oid = i.indrelid
      JOIN pg_namespace AS namespace ON namespace.oid = table_class.relnamespace
      JOIN pg_am AS method ON method.oid = index_class.relam
     WHERE i.indexrelid = index_oid;
    -- Mirrors are GIN, so they never mirror themselves; FerretDB's own metadata tables are tiny.
    IF NOT FOUND OR target.method <> 'btree' OR target.table_name LIKE '\_ferretdb\_%' THEN
        RETURN NULL;
    END IF;
    expressions := "clientbase$gin".mirrorable_expressions(index_oid);
    IF cardinality(expressions) = 0 THEN
        RETURN NULL;
    END IF;
    mirror := "clientbase$gin".mirror_name(target.index_name);
    EXECUTE format(
        'CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin (%s)',
        mirror, target.schema_name, target.table_name,
        (SELECT string_agg(format('(%s) jsonb_path_ops', expression), ', ') FROM unnest(expressions) AS expression)
    );
    RETURN mirror;
END
$$;

-- Mirror every B-tree index that has no mirror yet, such as those made before this file was installed.
CREATE OR REPLACE FUNCTION "clientbase$gin".mirror_all() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    index_oid oid;
    created integer := 0;
BEGIN
    FOR index_oid IN
        SELECT i.indexrelid
          FROM pg_index AS i
          JOIN pg_class AS index_class ON index_class.oid = i.indexrelid
          JOIN pg_namespace AS namespace ON namespace.oid = index_class.relnamespace
         WHERE namespace.nspname NOT LIKE 'pg\_%' AND namespace.nspname NOT IN ('information_schema', 'clientbase$gin')
           AND NOT EXISTS (
               SELECT FROM pg_class AS existing
                WHERE existing.relnamespace = index_class.relnamespace
                  AND existing.relname = "clientbase$gin".mirror_name(index_class.relname::text))
    LOOP
        IF "clientbase$gin".mirror_index(index_oid) IS NOT NULL THEN
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;

CREATE OR REPLACE FUNCTION "clientbase$gin".on_create_index() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    command record;
BEGIN
    FOR command IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE object_type = 'index' LOOP
        PERFORM "clientbase$gin".mirror_index(command.objid);
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION "clientbase$gin".on_drop_index() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    dropped record;
BEGIN
    FOR dropped IN
        SELECT schema_name, object_name FROM pg_event_trigger_dropped_objects()
         WHERE object_type = 'index' AND object_name NOT LIKE '%\_gin'
    LOOP
        EXECUTE format('DROP INDEX IF EXISTS %I.%I', dropped.schema_name,
                       "clientbase$gin".mirror_name(dropped.object_name));
    END LOOP;
END
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'clientbase_gin_mirror_create') THEN
        CREATE EVENT TRIGGER clientbase_gin_mirror_create ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
            EXECUTE FUNCTION "clientbase$gin".on_create_index();
    END IF;
    IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'clientbase_gin_mirror_drop') THEN
        CREATE EVENT TRIGGER clientbase_gin_mirror_drop ON sql_drop WHEN TAG IN ('DROP INDEX')
            EXECUTE FUNCTION "clientbase$gin".on_drop_index();
    END IF;
    -- FerretDB's statements take the field name as a parameter; only a custom plan sees it and matches an index.
    EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', current_database());
END
$$;

SELECT "clientbase$gin".mirror_all();
