"""Publish at a steady rate for the console benchmark; log (time, total) pairs.

Run by bench/console.py in its own process (so the publisher's CPU does not
slow the measuring clients):
    python bench/_console_publisher.py RATE SECONDS LOGFILE
The log has one "unix_time total_published" line per batch.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BATCH_EVERY = 0.01  # seconds: 20 events per batch at 2,000/s


def main() -> None:
    rate, seconds, log_path = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from bench.consume_app.names import TOPIC, TYPE
    from bench.publish import make_data
    from eventbus import Outgoing, publish_many

    total = 0
    start = time.monotonic()
    with open(log_path, "w") as log:
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= seconds:
                break
            due = int(elapsed * rate) + 1 - total
            if due > 0:
                batch = [
                    Outgoing(TOPIC, TYPE, make_data(n), key=f"k{n % 5000}")
                    for n in range(total, total + due)
                ]
                publish_many(batch)
                total += due
                log.write(f"{time.time():.6f} {total}\n")
            time.sleep(BATCH_EVERY)


if __name__ == "__main__":
    main()
