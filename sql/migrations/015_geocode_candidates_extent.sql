-- geocode_search_candidates replaced geocode_candidates (its result gained extent_m, and a
-- function's result type cannot be replaced in place).
DROP FUNCTION IF EXISTS geocode_candidates(int[], text[], int[], int[], int[], int[], text[], text[], text[], text[], text[]);
