// Package e2e holds Passant's end-to-end and fault tests and the helpers
// they share: a private Mosquitto with persistence started on a free port,
// a TCP proxy that can cut a connection (to take PostgreSQL away), simulated
// shops publishing over MQTT like real sensors (QoS 1, in order, resent
// until the broker acknowledges), and a server run in-process or as the
// passant binary.
//
// Tests that need a broker or a database skip unless PASSANT_TEST_MQTT or
// PASSANT_TEST_POSTGRES is set; longer versions run from scripts/ with
// PASSANT_E2E_LONG and friends (see docs/reliability.md).
package e2e
