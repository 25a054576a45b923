"""The bus's REST API, /api/v1/ (DRF + drf-spectacular; docs/api.md)."""
