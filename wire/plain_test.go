package wire

import (
	"encoding/json"
	"testing"
)

// TestDecodeBatchPlain: a payload is plain (may be journaled verbatim)
// exactly when it is one line holding only the contract's fields, every
// observation kept and compact; its verbatim journal line reads back as
// the batch.
func TestDecodeBatchPlain(t *testing.T) {
	const head = `{"v":1,"sensor":"s1","boot":5,"id":2,"sent":9,"obs":[`
	const ob = `{"t":10,"dev":"3f9a0c1d2e4b5a69","rssi":-67,"ch":6,"kind":"data","rand":true,"seq":12,"fp":"9c1e22aa"}`
	cases := []struct {
		name, in string
		plain    bool
	}{
		{"encoded", head + ob + `,` + ob + `]}`, true},
		{"no obs", head + `]}`, true},
		{"spaces", ` {"v":1, "sensor":"s1", "sent":9, "obs":[ ` + ob + ` ]} `, true},
		{"contract example", contractBatch, false}, // line breaks
		{"line break", head + ob + "\n]}", false},
		{"carriage return", head + ob + "]}\r", false},
		{"unknown key", `{"v":1,"sensor":"s1","mac":"00:11:22:33:44:55","sent":9,"obs":[` + ob + `]}`, false},
		{"unknown key in obs", head + `{"t":10,"dev":"3f9a0c1d2e4b5a69","rssi":-67,"mac":"00:11:22:33:44:55"}]}`, false},
		{"recv in a batch", `{"v":1,"sensor":"s1","sent":9,"recv":1,"obs":[]}`, false},
		{"fraction", head + `{"t":10,"dev":"3f9a0c1d2e4b5a69","rssi":-67.5}]}`, false},
		{"dropped", head + ob + `,{"t":10,"dev":"XYZ","rssi":-67}]}`, false},
		{"not an object", head + ob + `,7]}`, false},
	}
	for _, c := range cases {
		b, d, plain, err := DecodeBatch([]byte(c.in))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if plain != c.plain {
			t.Errorf("%s: plain %v, want %v", c.name, plain, c.plain)
		}
		if !plain {
			continue
		}
		line := AppendJournalPayload(nil, 1234, []byte(c.in))
		if !json.Valid(line) {
			t.Fatalf("%s: journal line %q is not JSON", c.name, line)
		}
		recv, b2, d2, err := ParseLine(line)
		if err != nil || recv != 1234 || d2 != d || !sameBatch(&b, &b2) {
			t.Errorf("%s: journal line read back as %d %+v %+v %v, want %+v %+v", c.name, recv, b2, d2, err, b, d)
		}
	}
}

func sameBatch(a, b *Batch) bool {
	if a.V != b.V || a.Sensor != b.Sensor || a.Boot != b.Boot || a.ID != b.ID || a.Sent != b.Sent || len(a.Obs) != len(b.Obs) {
		return false
	}
	for i := range a.Obs {
		if a.Obs[i] != b.Obs[i] {
			return false
		}
	}
	return true
}

// plainKeys are the keys a plain payload may hold.
var plainKeys = map[string]bool{"v": true, "sensor": true, "boot": true, "id": true, "sent": true, "obs": true}
var plainObsKeys = map[string]bool{"t": true, "dev": true, "rssi": true, "ch": true, "kind": true, "rand": true, "seq": true, "fp": true}

// checkPlain fails when a payload DecodeBatch calls plain holds a line break
// or a key the contract does not name, or reads back otherwise from its
// journal line.
func checkPlain(t *testing.T, data []byte, b *Batch, d Drops) {
	t.Helper()
	for _, c := range data {
		if c == '\n' || c == '\r' {
			t.Fatalf("plain payload with a line break: %q", data)
		}
	}
	var m struct {
		Obs []map[string]json.RawMessage `json:"obs"`
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil || json.Unmarshal(data, &m) != nil {
		t.Fatalf("plain payload does not decode with encoding/json: %q", data)
	}
	for k := range top {
		if !plainKeys[k] {
			t.Fatalf("plain payload with key %q: %q", k, data)
		}
	}
	for _, o := range m.Obs {
		for k := range o {
			if !plainObsKeys[k] {
				t.Fatalf("plain payload with observation key %q: %q", k, data)
			}
		}
	}
	recv, b2, d2, err := ParseLine(AppendJournalPayload(nil, 42, data))
	if err != nil || recv != 42 || d2 != d || !sameBatch(b, &b2) {
		t.Fatalf("journal line of plain payload %q read back as %+v %+v %v", data, b2, d2, err)
	}
}
