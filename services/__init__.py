"""The RTCC server: FastAPI application, ingest, OGC, tiles, proximity, live stream and CLI."""
