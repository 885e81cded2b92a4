-- The server connects as rtcc_app, a role that can read and write data but owns nothing: it cannot
-- change the schema, rewrite the audit log or drop tables. Migrations and the CLI run as the owner.
-- (Roles are cluster-wide; an owner without CREATEROLE skips this and sets RTCC_APP_DATABASE_URL.)
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rtcc_app') THEN
        BEGIN
            CREATE ROLE rtcc_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
        EXCEPTION
            WHEN duplicate_object THEN NULL;  -- a concurrent migration of another database made it
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'cannot create role rtcc_app: set RTCC_APP_DATABASE_URL to a least-privilege role';
                RETURN;
        END;
    END IF;
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO rtcc_app', current_database());
    GRANT USAGE ON SCHEMA public TO rtcc_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO rtcc_app;
    GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO rtcc_app;
    -- tables the owner creates later (other migrations, event partitions) get the same grants
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO rtcc_app;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO rtcc_app;
    -- the audit log: append and read only; its head is moved by the (SECURITY DEFINER) chain trigger
    REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM rtcc_app;
    REVOKE ALL ON audit_head FROM rtcc_app;
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations, schema_definitions FROM rtcc_app;
END $$;
-- Ingest creates a month's partition on demand as the owner (rtcc_ensure_event_partitions is
-- SECURITY DEFINER, sql/definitions/10_events.sql), so the server needs no DDL rights.
