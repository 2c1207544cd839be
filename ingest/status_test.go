package ingest

import (
	"encoding/json"
	"testing"
)

func TestParseStatus(t *testing.T) {
	for _, c := range []struct {
		in            string
		ok, partial   bool
		captured, txs int64
	}{
		{`{"v":1,"state":"online","version":"0.3.0","started":1764849000000,"captured":120034,"published":119990,"dropped":44}`, true, false, 120034, 0},
		{`{"v":1,"state":"online","captured":5,"tx":{"dev":"00000000000000a1","every_ms":30000,"sent":7}}`, true, false, 5, 7},
		{`{"v":1,"state":"online","captured":5,"tx":{"dev":"not hex","every_ms":30000}}`, true, true, 5, 0},
		{`{"v":1,"state":"online","captured":5,"tx":7}`, true, true, 5, 0},
		{`{"v":2,"state":"online"}`, false, false, 0, 0},
		{`{"state":"online"}`, false, false, 0, 0},
		{`{"v":1,"captured":"many"}`, false, false, 0, 0},
		{`not json`, false, false, 0, 0},
	} {
		st, partial, err := ParseStatus([]byte(c.in))
		if (err == nil) != c.ok || (partial != nil) != c.partial || st.Captured != c.captured {
			t.Errorf("%s: %+v, partial %v, err %v", c.in, st, partial, err)
			continue
		}
		var sent int64
		if st.Tx != nil {
			sent = st.Tx.Sent
		}
		if sent != c.txs {
			t.Errorf("%s: tx %+v", c.in, st.Tx)
		}
	}
}

// FuzzParseStatus: any payload gives a v1 status or an error, never a
// panic; a status read whole says again what it was read from.
func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(`{"v":1,"state":"online","captured":5,"published":4,"dropped":1}`))
	f.Add([]byte(`{"v":1,"state":"offline","tx":{"dev":"00000000000000a1","next":"00000000000000b2","every_ms":30000,"sent":9}}`))
	f.Add([]byte(`{"v":1,"tx":{"dev":1}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		st, partial, err := ParseStatus(payload)
		if err != nil {
			return
		}
		if st.V != 1 {
			t.Fatalf("accepted version %d", st.V)
		}
		if partial != nil && st.Tx != nil {
			t.Fatalf("a bad tx was kept: %+v", st.Tx)
		}
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		again, partial2, err := ParseStatus(b)
		if err != nil || partial2 != nil {
			t.Fatalf("%s: read back: %v %v", b, err, partial2)
		}
		if b2, _ := json.Marshal(again); string(b2) != string(b) {
			t.Fatalf("read back differs:\n %s\n %s", b, b2)
		}
	})
}

// TestParseStatusKeyHeld: the epoch-key fields of the status are read, and
// one that does not read loses only itself (as a bad "tx" does).
func TestParseStatusKeyHeld(t *testing.T) {
	st, partial, err := ParseStatus([]byte(`{"v":1,"state":"online","captured":5,"beyond_key":12,"clock_trusted":false}`))
	if err != nil || partial != nil || st.BeyondKey != 12 || st.ClockTrusted == nil || *st.ClockTrusted {
		t.Fatalf("%+v, partial %v, err %v", st, partial, err)
	}
	st, partial, err = ParseStatus([]byte(`{"v":1,"state":"online","captured":5,"beyond_key":"many","clock_trusted":"yes","tx":{"dev":"00000000000000a1","every_ms":30000,"sent":7}}`))
	if err != nil || partial == nil || st.Captured != 5 || st.BeyondKey != 0 || st.ClockTrusted != nil || st.Tx == nil {
		t.Fatalf("bad extensions: %+v, partial %v, err %v", st, partial, err)
	}
	t.Log(partial)
}
