"""One typed settings object for the whole server; every knob is an RTCC_* environment variable."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RTCC_", env_file=None, extra="ignore")

    # Database. Unset means "start and use the project-local PostGIS cluster" (services.localdb).
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    pg_port: int = 54329  # port of the project-local cluster on 127.0.0.1
    pg_dir: Path = ROOT / ".local" / "pg"  # data directory of the project-local cluster
    pg_dbname: str = "rtcc"
    pool_min: int = 2
    pool_max: int = 16
    # Seconds a request waits for a pooled connection; when the database is down the wait ends in
    # a 503 (with Retry-After) after this long rather than hanging the client.
    pool_timeout_s: float = 5.0
    retry_after_s: int = 5  # Retry-After (seconds) of a 503 answered while the database is unavailable

    # HTTP
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 50 * 1024 * 1024  # POST /api/ingest bodies above this answer 413

    # Agency
    agency_name: str = "Baltimore Police Department (demo)"
    timezone: str = "America/New_York"  # naive timestamps in feeds are read in this zone
    # Accepted time window (services/timewindow.py): stored times lie between this many years back
    # and this many days ahead of now; anything else is rejected with a reason.
    accept_years_back: int = 20
    accept_days_ahead: float = 1.0
    # Service area as lon/lat bbox (degrees): positions outside are rejected at ingest.
    service_area: tuple[float, float, float, float] = (-76.75, 39.15, -76.45, 39.40)

    # Data
    data_dir: Path = ROOT / "data" / "baltimore"
    h3_resolutions: tuple[int, ...] = (7, 8, 9, 10)

    # Proximity
    unit_max_age_s: int = 300  # unit positions older than this are stale
    camera_default_range_m: float = 150.0  # range of cameras with no published heading/range
    nearest_radius_m: float = 1500.0
    nearest_cameras: int = 5  # cameras in an answer unless asked otherwise
    nearest_units: int = 5  # units in an answer unless asked otherwise
    unit_candidates: int = 10  # nearest available units routed per answer (at least the number asked)
    unit_radius_m: float = 20000.0  # units farther than this (metres, straight line) are not considered
    route_snap_max_m: float = 250.0  # a point farther than this from any street gets a straight-line ETA
    recent_radius_m: float = 500.0  # recent context: events within this many metres...
    recent_minutes: float = 60.0  # ...and this many minutes before the incident

    # Tiles
    tile_cache_mb: int = 256  # rendered tiles kept per server process (MiB); 0 turns the cache off
    tile_cache_max_age_s: int = 3600  # a cached tile is re-rendered after this long even with no write
    #                                   notice (edits made outside the server); Layer.cache_s overrides
    tile_browser_max_age_s: int = 300  # Cache-Control max-age of reference layers (streets, districts)


    # Alerts and their delivery (services/alerts)
    public_url: str | None = None  # base of links in messages (map deep link /#alert=ID); default http://host:port
    channels: list[dict] = []  # channels seeded at start-up: [{"name", "kind", "url", ...}] (JSON)
    outbox_worker: bool = True  # deliver from this process (several processes share the outbox safely)
    outbox_workers: int = 2  # sending threads per process (a slow receiver holds one)
    outbox_max_attempts: int = 6  # a delivery failing this often is dead-lettered with its last error
    outbox_backoff_s: float = 1.0  # retry n waits backoff * 2^(n-1) seconds...
    outbox_backoff_max_s: float = 300.0  # ...at most this long
    outbox_timeout_s: float = 5.0  # seconds a receiver may take to answer one delivery
    alert_proximity_wait_s: float = 1.5  # a delivery waits at most this long for the alert's cameras/units answer
    cap_sender: str = "rtcc@agency.example"  # CAP 1.2 <sender>
    smtp_from: str = "rtcc@agency.example"  # From: of email deliveries

@lru_cache
def get_settings() -> Settings:
    return Settings()


def database_url() -> str:
    """The DSN in force: DATABASE_URL, or the project-local cluster over TCP."""
    s = get_settings()
    if s.database_url:
        return s.database_url
    return f"postgresql://rtcc@127.0.0.1:{s.pg_port}/{s.pg_dbname}"
