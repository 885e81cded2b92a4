-- geocode_reverse gained the hint_m and slack_m parameters: the four-parameter form goes, or a
-- call with four arguments would be ambiguous.
DROP FUNCTION IF EXISTS geocode_reverse(float8, float8, float8, float8);
