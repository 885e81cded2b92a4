-- How the city's address points sit against its centreline ranges, measured from the reference
-- itself (geocode_refresh_calibration in sql/definitions/41_geocode_match.sql) and used by range
-- interpolation: houses rarely fill a block's whole theoretical range (1500-1598) and stand back
-- from the corners, so the number's linear fraction of the range is mapped to a position along
-- the segment by range_a + range_b * fraction (least squares over the address points), moved by
-- at most max_shift_m metres from the linear position (on a long segment a fraction is many
-- metres), and the point is set offset_m metres from the centreline (the median distance of the
-- address points). One row; the defaults (0, 1, 0 m, 12 m) are plain linear interpolation, used
-- until enough points exist.
CREATE TABLE IF NOT EXISTS geocode_calibration (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    range_a     float8 NOT NULL DEFAULT 0,
    range_b     float8 NOT NULL DEFAULT 1,
    max_shift_m float8 NOT NULL DEFAULT 0,
    offset_m    float8 NOT NULL DEFAULT 12,
    points      integer NOT NULL DEFAULT 0        -- address points the figures come from
);
INSERT INTO geocode_calibration DEFAULT VALUES ON CONFLICT DO NOTHING;
-- geocode_range_point gained the calibrated parameter: the three-parameter form goes, or a call
-- with two arguments would be ambiguous.
DROP FUNCTION IF EXISTS geocode_range_point(int, int, float8);
