-- The view behind the `tips` map layer (layers/catalog.py): tips and social-media leads.
-- The reporter of an anonymous tip is never stored (services/ingest/feeds.py drops it).
CREATE OR REPLACE VIEW tips AS
    SELECT id, feed_id, observed_at, received_at, attrs->>'source' AS source, attrs->>'text' AS text,
           attrs->>'credibility' AS credibility, COALESCE((attrs->>'anonymous')::boolean, false) AS anonymous,
           attrs->>'case_number' AS case_number, address, district, beat, loc_method, loc_score, h3_r9, geom
    FROM events WHERE kind = 'tip';
