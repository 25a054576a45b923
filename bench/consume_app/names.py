"""Names the benchmark and its workers share (importable before Django is set up)."""

PARTITIONS = 4
TOPIC = "bench"  # phases 1 and 3: drains of pre-published events
TYPE = "bench.order_placed"
IDEM_TOPIC = "bench-idem"  # phase 2: drains with the idempotency record
IDEM_TYPE = "bench.order_recorded"
LATENCY_TOPIC = "bench-latency"  # phase 4: paced publishes, one at a time
LATENCY_TYPE = "bench.order_timed"
TOPICS = {TOPIC: PARTITIONS, IDEM_TOPIC: PARTITIONS, LATENCY_TOPIC: PARTITIONS}

WORKER_GROUP = "bench-worker"  # the real worker's group on TOPIC
LATENCY_GROUP = "bench-latency"  # the real worker's group on LATENCY_TOPIC
LATENCY_LIST = "bench:latency-ns"  # what the latency handler records
