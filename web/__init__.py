"""Web pages and read-only endpoints."""
