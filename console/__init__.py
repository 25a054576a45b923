"""The operator console: live dashboard, Channels consumers, REST API (issues 5, 6)."""
