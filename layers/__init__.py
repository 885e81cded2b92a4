"""The layer catalog: every map layer declared once. OGC collections, tiles, TileJSON, the web
legend and access rules all derive from these declarations (see layers/catalog.py)."""
from layers.catalog import CATALOG, Layer, Property, Style, get_layer

__all__ = ["CATALOG", "Layer", "Property", "Style", "get_layer"]
