#!/bin/sh
# The outage drills at full length: the broker away for 30 s, the database
# for 60 s, the server restarted and killed mid-day, a late backlog, clock
# faults, and 100 shops at once for PASSANT_E2E_MINUTES (default 10). Each
# compares what the server took and reported with a run without the fault.
set -eu
cd "$(dirname "$0")/.."
export PASSANT_TEST_MQTT=${PASSANT_TEST_MQTT:-tcp://127.0.0.1:1883}
export PASSANT_TEST_POSTGRES=${PASSANT_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
run() { go test -count=1 -v -timeout 30m -run "^$1\$" ./e2e 2>&1 | grep -v 'should not be run as root' | grep -E '^(--- |    |FAIL|ok)'; }
PASSANT_E2E_OUTAGE=30s run TestBrokerRestart
PASSANT_E2E_OUTAGE=60s run TestDatabaseOutage
run TestServerCrashAndRestart
run TestSpooledBacklog
run TestClockFaultsShownInSensorsView
run TestReplayEqualsLive
run TestPrivacyNoMACAnywhere
PASSANT_E2E_SITES=${PASSANT_E2E_SITES:-100} PASSANT_E2E_MINUTES=${PASSANT_E2E_MINUTES:-10} run TestManySites
