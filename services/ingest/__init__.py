"""Ingest: one pipeline for every feed (parse → validate → geocode → H3/district → COPY → NOTIFY)."""
