"""Vector tiles (MVT) for every catalog layer, H3 hexbins, TileJSON and the tile cache."""
from services.tiles.routes import router

__all__ = ["router"]
