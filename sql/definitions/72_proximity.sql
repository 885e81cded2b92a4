-- Proximity engine: what happened around a location, the whole answer for a point, and the queue
-- that computes, stores (proximity_results) and announces answers for incidents at ingest.

-- What happened around pt in the minutes before t_end: gunshots, calls, CAD incidents, and ALPR
-- reads of hotlisted plates, newest first. One index scan: box and time window together on
-- events_kind_geom_time (sql/migrations/051), all four kinds at once, hotlist reasons joined only
-- to ALPR reads, so only the events near the point are visited (~0.2 ms per answer with 2,000
-- events an hour, where a (kind, time) scan visits every event of the window across the city).
CREATE OR REPLACE FUNCTION rtcc_recent_events(pt geometry, t_end timestamptz, radius_m double precision,
                                              minutes double precision, exclude_id bigint DEFAULT NULL,
                                              lim integer DEFAULT 50)
RETURNS json LANGUAGE plpgsql STABLE
SET max_parallel_workers_per_gather = 0  -- a few rows: starting workers costs more than it saves
SET plan_cache_mode = force_generic_plan   -- a custom plan would plan every partition (the window
                                           -- bounds are not constants): ~28 ms; generic: ~0.4 ms
AS $fn$
BEGIN
    IF radius_m <= 0 OR minutes <= 0 OR lim <= 0 THEN
        RETURN '[]'::json;
    END IF;
    -- Static SQL: plpgsql caches the plan; partitions outside the window are pruned when it starts.
    RETURN (
        SELECT COALESCE(json_agg(json_build_object(
                   'id', e.id, 'kind', e.kind, 'observed_at', e.observed_at,
                   'distance_m', round(ST_Distance(e.geom::geography, pt::geography)::numeric, 1),
                   'type', e.type, 'priority', e.priority, 'address', e.address, 'plate', e.plate,
                   'hotlist', e.reason, 'lon', ST_X(e.geom), 'lat', ST_Y(e.geom))
                   ORDER BY e.observed_at DESC, e.id DESC), '[]'::json)
        FROM (
            SELECT e.id, e.kind, e.observed_at, e.geom, e.type, e.priority, e.address, e.plate, h.reason
            FROM events e
            LEFT JOIN LATERAL (SELECT hl.reason FROM hotlists hl
                               WHERE e.kind = 'alpr_read' AND hl.plate = e.plate
                                 AND (hl.state = '' OR hl.state = COALESCE(e.attrs->>'state', ''))
                               LIMIT 1) h ON true
            WHERE e.geom && rtcc_box_m(pt, radius_m) AND e.observed_at BETWEEN t_end - make_interval(secs => minutes * 60) AND t_end
              AND e.kind IN ('gunshot', 'call', 'cad_incident', 'alpr_read')
              AND (e.kind <> 'alpr_read' OR h.reason IS NOT NULL)
              AND ST_DWithin(e.geom::geography, pt::geography, radius_m) AND (exclude_id IS NULL OR e.id <> exclude_id)
            ORDER BY e.observed_at DESC, e.id DESC
            LIMIT lim
        ) e);
END $fn$;

-- The whole answer for a point, parameters as a JSON object (keys: cameras, radius_m,
-- default_range_m, units, routed, recent_m, recent_min, at, exclude_id; candidates, max_age_s,
-- unit_radius_m, snap_max_m are read by rtcc_unit_candidates). Without `routed` there are no units.
CREATE OR REPLACE FUNCTION rtcc_proximity(pt geometry, p jsonb) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN json_build_object(
        'cameras', rtcc_nearest_cameras(pt, (p->>'cameras')::integer, (p->>'radius_m')::float8,
                                        (p->>'default_range_m')::float8),
        'units', rtcc_rank_units(pt, (p->>'units')::integer, p->'routed'),
        'recent', rtcc_recent_events(pt, COALESCE((p->>'at')::timestamptz, now()), (p->>'recent_m')::float8,
                                     (p->>'recent_min')::float8, (p->>'exclude_id')::bigint));
END $$;

-- Compute, store and announce the answer for one event (the caller's transaction): removes its job
-- and publishes a "proximity" notice on the bus ({"event_id": ..., "kind": ...}; it holds the bus
-- lock until the caller commits, so commit right after). Returns false when the event no longer
-- exists or has no location. p.routed (the units' ETAs) is used, not stored. The worker that
-- queues and calls it: services/proximity/jobs.py.
CREATE OR REPLACE FUNCTION rtcc_proximity_run(ev bigint, p jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    e record;
    q jsonb;
    res json;
BEGIN
    SELECT x.id, x.kind, x.observed_at, x.geom, x.loc_method, x.loc_score, x.address INTO e
    FROM events x WHERE x.id = ev
      AND x.observed_at = COALESCE((SELECT j.observed_at FROM proximity_jobs j WHERE j.event_id = ev), x.observed_at);
    DELETE FROM proximity_jobs WHERE event_id = ev;
    IF e.id IS NULL OR e.geom IS NULL THEN
        RETURN false;
    END IF;
    q := p || jsonb_build_object('at', e.observed_at, 'exclude_id', e.id);
    res := rtcc_proximity(e.geom, q);
    INSERT INTO proximity_results (event_id, observed_at, kind, computed_at, params, result)
    VALUES (e.id, e.observed_at, e.kind, now(), q - 'routed',
            jsonb_build_object('location', jsonb_build_object(
                'lon', ST_X(e.geom), 'lat', ST_Y(e.geom),
                'source', CASE WHEN e.loc_method = 'geocoded' THEN 'geocoded' ELSE 'given' END,
                'loc_method', e.loc_method, 'loc_score', e.loc_score, 'address', e.address))
            || res::jsonb)
    ON CONFLICT (event_id) DO UPDATE SET observed_at = EXCLUDED.observed_at, kind = EXCLUDED.kind,
        computed_at = EXCLUDED.computed_at, params = EXCLUDED.params, result = EXCLUDED.result;
    PERFORM rtcc_live_publish('proximity', jsonb_build_object('event_id', e.id, 'kind', e.kind));
    RETURN true;
END $$;
