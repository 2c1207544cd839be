#!/bin/sh
# The load run: simulated sensors publish PASSANT_LOAD_RATE observations/s
# (default 50,000) for PASSANT_LOAD_SECONDS (default 600) through the
# machine's Mosquitto (PASSANT_TEST_MQTT) to one server storing in
# PostgreSQL (PASSANT_TEST_POSTGRES, or the embedded store when unset). It
# prints every 10 s what was sent, taken and stored, the lag and the heap,
# and at the end the figures; then the ingest comparison with mosquitto_sub
# (a burst; PASSANT_COMPARE_RATE=N publishes it as a stream of N
# observations/s instead).
set -eu
cd "$(dirname "$0")/.."
export PASSANT_TEST_MQTT=${PASSANT_TEST_MQTT:-tcp://127.0.0.1:1883}
export PASSANT_TEST_POSTGRES=${PASSANT_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
export PASSANT_LOAD_RATE=${PASSANT_LOAD_RATE:-50000}
export PASSANT_LOAD_SECONDS=${PASSANT_LOAD_SECONDS:-600}
export PASSANT_LOAD_SITES=${PASSANT_LOAD_SITES:-10}
export PASSANT_COMPARE_BATCHES=${PASSANT_COMPARE_BATCHES:-3000}
go test -count=1 -v -timeout 60m -run '^(TestLoad|TestIngestVsSubscriber)$' ./e2e 2>&1 |
	grep -v 'should not be run as root' | grep -E '^(=== RUN|--- |    |PASS|FAIL|ok)'
