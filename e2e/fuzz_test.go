package e2e

import (
	"bytes"
	"testing"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/wire"
)

// FuzzJournalLine: any line of replay input or journal decodes or is
// refused without a panic, and a journal line that decodes is written back
// as it reads.
func FuzzJournalLine(f *testing.F) {
	b := wire.Batch{V: 1, Sensor: "s1", Boot: 5, ID: 7, Sent: 1764850000123,
		Obs: []wire.Observation{{T: 1764850000001, Dev: 0x3f9a0c1d2e4b5a69, RSSI: -67, Ch: 6, Kind: "probe", Rand: true, Seq: 1234, FP: "9c1e22aa"}}}
	f.Add(wire.AppendJournalLine(nil, 1764850000150, &b))
	f.Add(wire.AppendBatch(nil, &b))
	f.Add([]byte(`{"recv":1,"batch":{"v":1,"sensor":"s","sent":1,"obs":[]}}`))
	f.Add([]byte(`{"recv":1e99,"batch":{"v":1}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		recv, b, _, err := wire.ParseLine(line)
		if err != nil {
			return
		}
		out := wire.AppendJournalLine(nil, recv, &b)
		recv2, b2, _, err := wire.ParseLine(out)
		if err != nil {
			t.Fatalf("a decoded line does not decode once written: %v\n%s", err, out)
		}
		if recv2 != recv || !bytes.Equal(wire.AppendBatch(nil, &b2), wire.AppendBatch(nil, &b)) {
			t.Fatalf("round trip changed the line:\n%s\n%s", out, wire.AppendJournalLine(nil, recv2, &b2))
		}
	})
}

// FuzzIngestCheck: what the server does with any MQTT message on any topic
// of a known site: no panic; an accepted batch names its topic's sensor,
// holds at most 10,000 observations, each within the contract's ranges.
func FuzzIngestCheck(f *testing.F) {
	f.Add("s1", []byte(`{"v":1,"sensor":"s1","sent":1,"obs":[{"t":1,"dev":"0123456789abcdef","rssi":-50}]}`))
	f.Add("s2", []byte(`{"v":1,"sensor":"s1","sent":1,"obs":[]}`))
	f.Add("s1", []byte(`{"v":1,"sensor":"s1","sent":1,"obs":[{"t":1,"dev":"0123456789abcdef","rssi":1e999,"seq":4096}]}`))
	known := func(site, sensor string) bool { return site == "shop" && (sensor == "s1" || sensor == "s2") }
	f.Fuzz(func(t *testing.T, sensor string, payload []byte) {
		b, _, err := ingest.Check("shop", sensor, payload, known)
		if err != nil {
			return
		}
		if b.Sensor != sensor || !known("shop", sensor) {
			t.Fatalf("accepted a batch of %q on the topic of %q", b.Sensor, sensor)
		}
		if len(b.Obs) > 10_000 {
			t.Fatalf("accepted %d observations", len(b.Obs))
		}
		for _, o := range b.Obs {
			if !(o.RSSI >= -120 && o.RSSI <= 0) || o.Seq < -1 || o.Seq > 4095 {
				t.Fatalf("accepted an observation out of range: %+v", o)
			}
		}
	})
}
