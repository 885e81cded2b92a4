"""Every map layer, declared once. A layer is data; the servers (OGC API, tiles, web legend,
access control) read it. Adding a layer = one Layer(...) here (and, if needed, one SQL view)."""
from __future__ import annotations

from dataclasses import dataclass, field


# Who may read a layer (services/auth enforces it in tiles, TileJSON, OGC, /api/layers and /api/live;
# admin reads every layer). Plate data also needs a stated purpose on every read.
EVERYONE = ("viewer", "analyst", "supervisor", "gis", "cad")
PLATE_READERS = ("analyst", "supervisor")
TASK_READERS = ("viewer", "analyst", "supervisor")


@dataclass(frozen=True)
class Property:
    name: str
    type: str = "string"         # string, integer, number, boolean, datetime (JSON Schema-ish)
    description: str = ""


@dataclass(frozen=True)
class Style:
    color: str                   # CSS colour for the legend and the default MapLibre paint
    kind: str = "circle"         # circle, line, fill, symbol, heatmap
    icon: str | None = None      # an emoji/short glyph for the feed panel and legend
    outline: str | None = None
    by: str | None = None        # a property that picks the colour (units by status, incidents by priority)...
    categories: tuple[tuple[str, str, str], ...] = ()  # ...as (value, CSS colour, legend label); else `color`
    label: str | None = None     # a property drawn as a map label (street and place names)...
    label_minzoom: int = 13      # ...from this zoom on


@dataclass(frozen=True)
class Layer:
    id: str                      # no dots: QGIS fails on dotted collection ids
    title: str
    description: str
    source: str                  # table or view in PostGIS
    geometry_type: str | None    # Point, LineString, Polygon, MultiPolygon; None: a non-spatial collection
    #                              (OGC only: no tiles, not on the map)
    properties: tuple[Property, ...]
    style: Style
    id_column: str = "id"
    geometry_column: str = "geom"
    time_column: str | None = None
    group: str = "reference"     # events, assets, reference, analysis
    minzoom: int = 0
    maxzoom: int = 22
    tile_feature_cap: int = 10_000   # features per vector tile, at most
    thin_below_zoom: int | None = None  # below this zoom, point tiles are thinned (one per grid cell)
    roles: tuple[str, ...] = EVERYONE  # roles that may read it (admin: every layer)
    event_kind: str | None = None    # for layers over `events`: its kind
    large: bool = False              # big, growing tables: no count(*) per OGC page (resulttype=hits counts)
    aggregate: str | None = None     # "h3": counts of events per H3 cell (hexagons from h3_cells), not rows
    cache_s: int | None = None       # seconds a cached tile may be served without a write notice (None: until one)
    keywords: tuple[str, ...] = field(default_factory=tuple)

    @property
    def spatial(self) -> bool:
        """Drawn on maps and tiled; a non-spatial layer is an OGC collection of records only."""
        return self.geometry_type is not None


P = Property
EVENT_COMMON = (P("feed_id", "string", "the feed's own id"), P("observed_at", "datetime"),
                P("received_at", "datetime"), P("district"), P("beat"), P("loc_method", "string",
                "given, camera, geocoded, failed or none (a tip that named no place)"))

# CAD priority 1 (most urgent) to 4; the map, the feed and the legend share these.
PRIORITY_COLOURS = (("1", "#ff2b2b", "P1"), ("2", "#ff922b", "P2"), ("3", "#fcc419", "P3"), ("4", "#74c0fc", "P4"))

CATALOG: tuple[Layer, ...] = (
    Layer("cad_incidents", "CAD incidents", "Computer-aided dispatch incidents (and historical crime "
          "records in the demo city)", "cad_incidents", "Point",
          EVENT_COMMON + (P("type"), P("priority", "integer"), P("address"), P("description"),
                          P("loc_score", "number")),
          Style("#e03131", "circle", "🚨", by="priority", categories=PRIORITY_COLOURS),
          time_column="observed_at", group="events", event_kind="cad_incident", thin_below_zoom=13, large=True),
    Layer("calls", "911 calls", "Calls for service", "calls", "Point",
          EVENT_COMMON + (P("type"), P("priority", "integer"), P("address"), P("loc_score", "number")),
          Style("#f08c00", "circle", "📞"), time_column="observed_at", group="events",
          event_kind="call", thin_below_zoom=13, large=True),
    Layer("gunshots", "Gunshot detections", "Acoustic gunshot detection alerts", "gunshots", "Point",
          EVENT_COMMON + (P("rounds", "integer"), P("confidence", "number"), P("address"),
                          P("loc_score", "number")),
          Style("#862e9c", "circle", "💥"), time_column="observed_at", group="events",
          event_kind="gunshot", thin_below_zoom=13, large=True),
    Layer("alpr_reads", "ALPR reads", "Automated licence-plate reader reads (personal data: audited)",
          "alpr_reads", "Point",
          EVENT_COMMON + (P("plate"), P("state"), P("camera_id"), P("confidence", "number")),
          Style("#1971c2", "circle", "🚗"), time_column="observed_at", group="events",
          event_kind="alpr_read", thin_below_zoom=14, large=True, roles=PLATE_READERS),
    Layer("tips", "Tips and leads", "Tips and social-media leads (phone, web form, social media, walk-in); "
          "personal data: analysts only", "tips", "Point",
          EVENT_COMMON + (P("source", "string", "phone, web, social, walkin, text, email or other"), P("text"),
                          P("credibility", "string", "unverified, low, medium or high"),
                          P("anonymous", "boolean"), P("case_number"), P("address"), P("loc_score", "number")),
          Style("#e64980", "circle", "💬"), time_column="observed_at", group="events",
          event_kind="tip", roles=PLATE_READERS),
    Layer("units", "Patrol units", "Current position and status of patrol units (AVL)", "units_current",
          "Point", (P("callsign"), P("type"), P("status"), P("district"), P("heading_deg", "number"),
                    P("speed_kmh", "number"), P("observed_at", "datetime"), P("position_age_s", "integer"),
                    P("incident_id"), P("incident_event_id", "integer")),
          Style("#2f9e44", "symbol", "🚓", by="status", categories=(
              ("available", "#40c057", "available"), ("enroute", "#fab005", "en route"),
              ("onscene", "#fa5252", "on scene"), ("busy", "#be4bdb", "busy"), ("offduty", "#868e96", "off duty"))),
          time_column="observed_at", group="assets", cache_s=5),
    Layer("cameras", "Cameras", "Agency, partner and registered private cameras", "cameras", "Point",
          (P("name"), P("kind"), P("owner"), P("project"), P("heading_deg", "number"), P("fov_deg", "number"),
           P("range_m", "number"), P("stream_url"), P("snapshot_url"), P("contact"), P("status")),
          Style("#0c8599", "circle", "📷"), group="assets"),
    Layer("camera_cones", "Camera view cones", "What each camera can see: heading ± fov/2 out to its "
          "range (a circle for cameras with no heading)", "camera_cones", "Polygon",
          (P("name"), P("kind"), P("owner"), P("project"), P("heading_deg", "number"), P("fov_deg", "number"),
           P("range_m", "number"), P("status")),
          Style("#0c8599", "fill", None, "#0b7285"), group="assets", minzoom=13),
    # District names from one zoom in: at the city view their glyphs and placement cost a tenth of the
    # first render (bench/map_render.py).
    Layer("districts", "Police districts", "Police district boundaries", "districts", "MultiPolygon",
          (P("name"), P("abbr")), Style("#495057", "line", label="name", label_minzoom=12), group="reference"),
    Layer("beats", "Police posts (beats)", "Police post boundaries (derived in the demo city)", "beats",
          "MultiPolygon", (P("district"), P("derived", "boolean")), Style("#868e96", "line"),
          group="reference", minzoom=11),
    Layer("streets", "Streets", "Street centrelines with address ranges", "streets", "LineString",
          (P("fullname"), P("type"), P("subtype"), P("sha_class"), P("l_from", "integer"), P("l_to", "integer"),
           P("r_from", "integer"), P("r_to", "integer"), P("speed_kmh", "number")),
          Style("#adb5bd", "line", label="fullname", label_minzoom=14), group="reference", minzoom=10,
          tile_feature_cap=50_000),
    Layer("neighborhoods", "Neighbourhoods", "Neighbourhood statistical areas", "neighborhoods",
          "MultiPolygon", (P("name"), P("type")), Style("#ced4da", "line", label="name", label_minzoom=13),
          group="reference", minzoom=13),  # 278 outlines are a grey web at the city view
    Layer("parks", "Parks", "Parks and open space (the city's neighbourhood areas of that type)", "parks",
          "MultiPolygon", (P("name"),), Style("#2b8a3e", "fill", label="name", label_minzoom=13), group="reference"),
    Layer("water", "Water", "Harbour and river water inside the city limit (the limit less its land areas)",
          "water", "MultiPolygon", (), Style("#1c3d5a", "fill"), group="reference", cache_s=86_400),
    Layer("stations", "Police stations", "Headquarters and district stations", "stations", "Point",
          (P("name"), P("kind"), P("district"), P("address")), Style("#343a40", "symbol", "🏛"),
          group="reference"),
    Layer("tasks", "RTCC tasks", "Requests worked by the RTCC that have a location (services/tasks.py)",
          "task_locations", "Point",
          (P("created_at", "datetime"), P("closed_at", "datetime"), P("status"), P("title"), P("analyst"),
           P("requested_by"), P("incident_ids", "string", "comma-separated event ids"),
           P("activity_types", "string", "comma-separated activity codes"), P("crime_type"), P("outcome"),
           P("minutes_spent", "integer", "minutes")),
          Style("#f59f00", "symbol", "📋"), time_column="created_at", group="analysis", roles=TASK_READERS),
    Layer("geofences", "Geofences", "Zones drawn or uploaded for alert rules (services/alerts/geofences.py)",
          "geofence_areas", "MultiPolygon",
          (P("name"), P("owner"), P("active_hours", "string", "local HH:MM-HH:MM, or always"),
           P("buffer_m", "number", "metres"), P("active", "boolean"), P("created_by"),
           P("created_at", "datetime")),
          Style("#e8590c", "fill", None, "#d9480f"), group="analysis", cache_s=5),
    Layer("sites", "Sites", "Places the agency watches (schools, hospitals, ...): targets of "
          "'within N m of' alert rules", "sites", "Point",
          (P("name"), P("kind", "string", "school, hospital, ..."), P("address")),
          Style("#5f3dc4", "symbol", "🏫"), group="reference"),
    # Events the feeds could not locate (geocoding failed): records, not features, until an analyst
    # places them (POST /api/events/{id}/location). Spatial collections never hold them.
    Layer("unlocated_events", "Events without a location", "Incidents, calls, gunshots and tips whose address "
          "could not be geocoded (or that came with none): place them on the map to fix them", "unlocated_events", None,
          (P("feed_id", "string", "the feed's own id"), P("kind"), P("observed_at", "datetime"),
           P("received_at", "datetime"), P("type"), P("priority", "integer"), P("address"), P("description"),
           P("loc_score", "number", "best geocoder score (below the match threshold)")),
          Style("#868e96", "circle", "❔"), time_column="observed_at", group="events",
          roles=("analyst", "supervisor")),  # those who may place them (events:locate)
    # Aggregate: event counts per H3 cell. Tiles pick the resolution from the zoom (7..10) and take
    # datetime/kinds; the view is the all-time resolution-8 count (for OGC clients).
    Layer("event_hexbins", "Event density (H3 hexbins)", "Count of events per H3 cell over a time window "
          "and optional kinds; resolution follows the zoom", "event_hexbins", "Polygon",
          (P("h3", "string", "H3 cell index"), P("res", "integer", "H3 resolution"),
           P("count", "integer", "events in the cell")),
          Style("#f03e3e", "heatmap"), id_column="cell", group="analysis", aggregate="h3", large=True),
)

_BY_ID = {layer.id: layer for layer in CATALOG}
assert all("." not in layer.id for layer in CATALOG), "layer ids must not contain dots (QGIS)"


def get_layer(layer_id: str) -> Layer | None:
    return _BY_ID.get(layer_id)


_BY_KIND = {layer.event_kind: layer for layer in CATALOG if layer.event_kind}


def layer_for_kind(kind: str | None) -> Layer | None:
    """The event layer of an event kind (alpr_read -> alpr_reads)."""
    return _BY_KIND.get(kind) if kind else None
