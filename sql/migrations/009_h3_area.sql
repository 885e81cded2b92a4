-- District and beat of whole H3 res-9 cells (~0.1 km²) that lie inside exactly one of them, so
-- ingest assigns most points with a hash join on h3_r9 and runs the exact point-in-polygon test
-- only near boundaries. Filled by services.demo.refresh_lookups() whenever reference data loads.
CREATE TABLE IF NOT EXISTS h3_area (
    cell            bigint PRIMARY KEY,     -- H3 res-9 cell (h3-py v4 integer form)
    district        text,                   -- the district covering the whole cell, else NULL
    beat            text                    -- the beat covering the whole cell, else NULL
);
