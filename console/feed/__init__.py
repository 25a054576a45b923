"""The public WebSocket feed at /ws/v1/events (docs/api.md).

One reader thread per topic per Daphne process reads the log; events fan out
in process to every subscription (FIELD-NOTES: never ``group_send`` per
event). A subscription replays history from where it starts, then joins the
live fan-out with no gap and no duplicate at the seam.
"""
