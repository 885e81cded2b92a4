"""Pure geospatial logic: address parsing and matching, H3 cells, camera view cones, tile math."""
