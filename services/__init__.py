"""The retail services of the demo, one Django app each (issue 4).

Each service declares its topics and event types in ``events.py``; the bus
discovers those modules at start-up (``eventbus.apps``).
"""
