"""OGC API - Tiles for every collection, rendered in this process by services/tiles.

pygeoapi's stock MVT-proxy provider fetched each tile over HTTP from the URL in its configuration,
whose host came from the request's Host header: a request naming another host made the server call
it (SSRF). This provider keeps the proxy's tile-set metadata and links but never fetches anything.
"""
from __future__ import annotations

import re

from pygeoapi.provider.mvt_proxy import MVTProxyProvider
from pygeoapi.provider.tile import ProviderTileNotFoundError

from geo import tiles as T
from layers.catalog import get_layer
from services import audit
from services.ogc.context import caller

_LAYER = re.compile(r"/tiles/([^/]+)/\{z\}")


class RTCCTileProvider(MVTProxyProvider):
    def __init__(self, provider_def):
        super().__init__(provider_def)
        m = _LAYER.search(self.data)
        self.layer = get_layer(m.group(1)) if m else None

    def __repr__(self) -> str:
        return f"<RTCCTileProvider {self.layer.id if self.layer else '?'}>"

    def get_tiles(self, layer=None, tileset=None, z=None, y=None, x=None, format_=None):
        from services.tiles.routes import render_tile
        try:
            z, y, x = int(z), int(y), int(x)
        except (TypeError, ValueError):
            raise ProviderTileNotFoundError("tile indices must be integers") from None
        if self.layer is None or not T.valid_tile(z, x, y):
            raise ProviderTileNotFoundError(f"no tile {z}/{y}/{x}")
        who = caller()
        on_conn = None
        if self.layer.event_kind in audit.PERSONAL_KINDS:  # the mount checked the purpose; one row per tile
            lyr = self.layer

            def on_conn(conn):
                audit.write(conn, who.principal.name, who.principal.role or None, "ogc.tiles",
                            f"collections/{lyr.id}/tiles", {"layer": lyr.id, "tile": [z, x, y], "via": "ogc"},
                            who.client, who.purpose)
        return render_tile(self.layer, z, x, y, on_conn)
