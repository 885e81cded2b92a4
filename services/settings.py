"""One typed settings object for the whole server; every knob is an RTCC_* environment variable."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RTCC_", env_file=None, extra="ignore")

    # Database. Unset means "start and use the project-local PostGIS cluster" (services.dev.localdb).
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL", repr=False)
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
    # Accepted time window (services/query/times.py): stored times lie between this many years back
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
    proximity_live_minutes: float = 15.0  # incidents observed this recently (origin api/simulate) are
    #                                       answered before bulk loads and backfills

    # Live stream and bus (services/bus.py, services/live.py)
    live_buffer: int = 50_000  # recent SSE messages kept per process; a client further behind gets `resync`
    live_log_keep_hours: float = 24.0  # bus notices kept for resuming clients (hours)...
    live_log_keep_rows: int = 1_000_000  # ...and at most this many (pruned every minute)

    # Identity and access (services/auth). Secrets may also come from a file: RTCC_<NAME>_FILE.
    app_database_url: str | None = Field(default=None, repr=False)  # the server's least-privilege connection; unset: DATABASE_URL as app_db_role
    app_db_role: str = "rtcc_app"        # role the server connects as (created by sql/102); "" = DATABASE_URL's user
    admin_password: str | None = Field(default=None, repr=False)  # first start: the `admin` account's password
    demo_accounts: bool = True           # first start: one demo account per role (make run)
    session_hours: float = 12.0          # a browser session ends this long after sign-in
    cookie_secure: bool | None = None    # Secure cookies: None = when the request came over https
    auth_cache_s: float = 5.0            # a key or session is re-checked in the database after this long
    login_max_failures: int = 5          # failed sign-ins per user name (or client) within the window...
    login_window_s: int = 900            # ...before further attempts answer 429 for the rest of it
    cors_origins: tuple[str, ...] = ()   # web origins allowed to call the API from a browser (none: same-origin only)
    oidc_issuer: str | None = None       # OpenID Connect provider (discovery at ISSUER/.well-known/openid-configuration)
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = Field(default=None, repr=False)
    oidc_scopes: str = "openid profile email"
    oidc_name_claim: str = "preferred_username"  # claim giving the user name (falls back to sub)
    oidc_role_claim: str = "groups"      # claim holding group/role names (a list or a string)
    oidc_role_map: dict[str, str] = {}   # claim value -> RTCC role, e.g. {"rtcc-analysts": "analyst"}

    # Retention (services/retention.py): days kept per kind over its DEFAULT_DAYS, e.g. {"alpr_read": 60}
    retention_days: dict[str, int] = {}
    retention_interval_s: int = 3600     # the server's retention job runs this often (0: never)

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

    @model_validator(mode="before")
    @classmethod
    def _secret_files(cls, data):
        """RTCC_<NAME>_FILE: read a secret from a file (Docker/systemd credentials), never from argv."""
        if isinstance(data, dict):
            for name in SECRETS:
                path = os.environ.get(f"RTCC_{name.upper()}_FILE")
                if path and not os.environ.get(f"RTCC_{name.upper()}"):
                    data[name] = Path(path).read_text().strip()
        return data


SECRETS = ("admin_password", "oidc_client_secret", "app_database_url")


@lru_cache
def get_settings() -> Settings:
    return Settings()


def owner_database_url() -> str:
    """The schema owner's DSN (migrations, CLI, loaders): DATABASE_URL, or the project-local cluster."""
    s = get_settings()
    if s.database_url:
        return s.database_url
    return f"postgresql://rtcc@127.0.0.1:{s.pg_port}/{s.pg_dbname}"


def database_url() -> str:
    """The server's DSN: least privilege (sql/migrations/102_app_role.sql). RTCC_APP_DATABASE_URL, else the owner's
    database reached as RTCC_APP_DB_ROLE (trust or peer auth on the local and test clusters)."""
    s = get_settings()
    if s.app_database_url:
        return s.app_database_url
    owner = owner_database_url()
    if not s.app_db_role:
        return owner
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    d = conninfo_to_dict(owner)
    d.pop("password", None)
    d["user"] = s.app_db_role
    return make_conninfo(**d)
