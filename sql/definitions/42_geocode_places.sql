-- Places and landmarks the geocoder knows by name (match type 'place'): the police stations and
-- the city's neighborhood statistical areas ('Patterson Park', 'Druid Hill Park', 'Inner
-- Harbor'), an area answered at a point inside it (ST_PointOnSurface). A deployment adds its own
-- landmarks (schools, hospitals, malls) with a UNION here.
CREATE OR REPLACE VIEW geo_places AS
    SELECT upper(name) AS name, kind, geom FROM stations
    UNION ALL
    SELECT upper(name), 'neighborhood', ST_PointOnSurface(geom)::geometry(Point, 4326) FROM neighborhoods;

-- Places whose name is like the text (pg_trgm), most similar first.
CREATE OR REPLACE FUNCTION geocode_places(q text, min_sim float8 DEFAULT 0.5)
RETURNS TABLE (name text, lon float8, lat float8, sim float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT p.name, ST_X(p.geom), ST_Y(p.geom), similarity(p.name, upper(q))::float8 AS sim
    FROM geo_places p
    WHERE similarity(p.name, upper(q)) >= min_sim
    ORDER BY sim DESC LIMIT 5;
END $$;
