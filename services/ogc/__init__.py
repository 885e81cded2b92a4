"""OGC API - Features (and Tiles links) for every catalog layer: pygeoapi mounted at /ogc."""
from services.ogc.mount import ogc_app

__all__ = ["ogc_app"]
