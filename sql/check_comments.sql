-- List the tables, views and columns that have no COMMENT ON.
--
-- Not a migration (no NNN_ prefix, so certvault-admin migrate ignores it).
-- The schema is fully documented when this returns no rows, e.g.
--   psql -X -v ON_ERROR_STOP=1 -tA -f sql/check_comments.sql "$CERTVAULT_DATABASE_URL"
-- prints nothing. Each row is: schema | relation | column (empty when the
-- relation itself lacks a comment) | kind (table, view, materialized view,
-- foreign table). System schemas and objects owned by extensions are skipped.

WITH relations AS (
    SELECT c.oid,
           n.nspname AS schema_name,
           c.relname AS relation_name,
           CASE c.relkind
                WHEN 'v' THEN 'view'
                WHEN 'm' THEN 'materialized view'
                WHEN 'f' THEN 'foreign table'
                ELSE 'table'
           END AS relation_kind
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND NOT c.relispartition
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
       AND NOT EXISTS (SELECT 1
                         FROM pg_depend d
                        WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid
                          AND d.deptype = 'e')
)
SELECT r.schema_name, r.relation_name, '' AS column_name, r.relation_kind
  FROM relations r
 WHERE obj_description(r.oid, 'pg_class') IS NULL
UNION ALL
SELECT r.schema_name, r.relation_name, a.attname::text, r.relation_kind
  FROM relations r
  JOIN pg_attribute a ON a.attrelid = r.oid
 WHERE a.attnum > 0
   AND NOT a.attisdropped
   AND col_description(r.oid, a.attnum) IS NULL
 ORDER BY 1, 2, 3;
