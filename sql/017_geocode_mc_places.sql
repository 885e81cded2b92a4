-- Two geocoder reference fixes.
-- 1. 'MC' joined to the word it prefixes: the city writes MC HENRY ST and MCHENRY ST, MC ALEER CT
--    and MCALEER; typed text mixes both too. geo.address.clean applies the same rule, and the
--    normalised keys are rebuilt here.
-- 2. Places by name (match type 'place'): besides the police stations, the city's 278
--    neighborhood statistical areas ('Patterson Park', 'Druid Hill Park', 'Inner Harbor'),
--    answered at a point inside the area (ST_PointOnSurface).
CREATE OR REPLACE FUNCTION geocode_clean(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(btrim(regexp_replace(regexp_replace(
        replace(replace(upper(coalesce(t, '')), '''', ''), '’', ''), '[.,;:"()]', ' ', 'g'), '\s+', ' ', 'g')),
        '\mMC (?=[A-Z]{3})', 'MC', 'g')
$$;

SELECT geocode_refresh_streets();
SELECT geocode_refresh_addresses();
SELECT geocode_refresh_intersections();

CREATE OR REPLACE VIEW geo_places AS
    SELECT upper(name) AS name, kind, geom FROM stations
    UNION ALL
    SELECT upper(name), 'neighborhood', ST_PointOnSurface(geom)::geometry(Point, 4326) FROM neighborhoods;
