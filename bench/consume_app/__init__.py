"""The consumer benchmark's topics, event types and no-op handlers."""
