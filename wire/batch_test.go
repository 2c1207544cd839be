package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

const contractBatch = `{"v":1,"sensor":"s1","boot":1764849000000,"id":4711,"sent":1764850000123,
 "obs":[{"t":1764850000001,"dev":"3f9a0c1d2e4b5a69","rssi":-67,"ch":6,
         "kind":"probe","rand":true,"seq":1234,"fp":"9c1e22aa"}]}`

func TestParseBatchContractExample(t *testing.T) {
	b, d, err := ParseBatch([]byte(contractBatch))
	if err != nil {
		t.Fatal(err)
	}
	if d.Total() != 0 {
		t.Fatalf("drops %+v", d)
	}
	want := Batch{V: 1, Sensor: "s1", Boot: 1764849000000, ID: 4711, Sent: 1764850000123,
		Obs: []Observation{{T: 1764850000001, Dev: 0x3f9a0c1d2e4b5a69, RSSI: -67, Ch: 6, Kind: "probe", Rand: true, Seq: 1234, FP: "9c1e22aa"}}}
	if b.V != want.V || b.Sensor != want.Sensor || b.Boot != want.Boot || b.ID != want.ID || b.Sent != want.Sent || len(b.Obs) != 1 || b.Obs[0] != want.Obs[0] {
		t.Fatalf("got %+v\nwant %+v", b, want)
	}
	// Round trip through the encoder.
	enc := AppendBatch(nil, &b)
	b2, _, err := ParseBatch(enc)
	if err != nil || b2.Obs[0] != b.Obs[0] || b2.Sent != b.Sent {
		t.Fatalf("round trip: %v %+v", err, b2)
	}
}

func TestParseBatchRejects(t *testing.T) {
	cases := []struct {
		name, in string
		want     error
	}{
		{"not json", `{"v":1,`, ErrNotJSON},
		{"array", `[1]`, ErrMissing},
		{"number", `0`, ErrMissing},
		{"junk", `x{`, ErrNotJSON},
		{"no v", `{"sensor":"s1","sent":1,"obs":[]}`, ErrMissing},
		{"no sensor", `{"v":1,"sent":1,"obs":[]}`, ErrMissing},
		{"no sent", `{"v":1,"sensor":"s1","obs":[]}`, ErrMissing},
		{"no obs", `{"v":1,"sensor":"s1","sent":1}`, ErrMissing},
		{"obs not array", `{"v":1,"sensor":"s1","sent":1,"obs":{}}`, ErrMissing},
		{"v2", `{"v":2,"sensor":"s1","sent":1,"obs":[]}`, ErrVersion},
		{"v string", `{"v":"1","sensor":"s1","sent":1,"obs":[]}`, ErrVersion},
		{"bad sensor", `{"v":1,"sensor":"s 1","sent":1,"obs":[]}`, ErrBadID},
		{"trailing", `{"v":1,"sensor":"s1","sent":1,"obs":[]} x`, ErrNotJSON},
		{"trailing comma", `{"v":1,"sensor":"s1","sent":1,"obs":[],}`, ErrNotJSON},
	}
	for _, c := range cases {
		_, _, err := ParseBatch([]byte(c.in))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	big := `{"v":1,"sensor":"s1","sent":1,"obs":[` + strings.Repeat(`{"t":1,"dev":"0000000000000001","rssi":-50},`, MaxObs) + `{"t":1,"dev":"0000000000000001","rssi":-50}]}`
	if _, _, err := ParseBatch([]byte(big)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("10001 observations: got %v", err)
	}
	huge := make([]byte, MaxBatchLen+1)
	if _, _, err := ParseBatch(huge); !errors.Is(err, ErrTooLarge) {
		t.Errorf("4 MiB + 1: got %v", err)
	}
}

func TestParseBatchDropsBadObservations(t *testing.T) {
	in := `{"v":1,"sensor":"s1","sent":5,"unknown":{"a":[1,2,{"b":null}]},"obs":[
	 {"t":10,"dev":"00000000000000aa","rssi":-50.5,"seq":4095},
	 {"dev":"00000000000000aa","rssi":-50},
	 {"t":10,"dev":"00000000000000AA","rssi":-50},
	 {"t":10,"dev":"00aa","rssi":-50},
	 {"t":10,"dev":"00000000000000aa","rssi":1},
	 {"t":10,"dev":"00000000000000aa","rssi":-121},
	 {"t":10,"dev":"00000000000000aa","rssi":-1e999},
	 {"t":10,"dev":"00000000000000aa","rssi":"x"},
	 {"t":10,"dev":"00000000000000aa","rssi":-50,"seq":4096},
	 {"t":10,"dev":"00000000000000aa","rssi":-50,"seq":-2},
	 7,
	 {"t":11,"dev":"00000000000000bb","rssi":0,"seq":-1,"ch":"x","kind":"ble"}]}`
	b, d, err := ParseBatch([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Obs) != 2 || b.Obs[0].Seq != 4095 || b.Obs[0].RSSI != -50.5 || b.Obs[1].Seq != -1 || b.Obs[1].Kind != KindBLE || b.Obs[1].Ch != 0 {
		t.Fatalf("kept %+v", b.Obs)
	}
	want := Drops{Missing: 2, BadDev: 2, BadRSSI: 3, BadSeq: 2, BadOther: 1}
	if d != want {
		t.Fatalf("drops %+v, want %+v", d, want)
	}
	if b.Obs[0].Kind != KindProbe {
		t.Fatalf("kind default: %q", b.Obs[0].Kind)
	}
}

func TestParseLineJournal(t *testing.T) {
	b, _, err := ParseBatch([]byte(contractBatch))
	if err != nil {
		t.Fatal(err)
	}
	line := AppendJournalLine(nil, 1764850000150, &b)
	recv, b2, _, err := ParseLine(line)
	if err != nil || recv != 1764850000150 || b2.Sensor != "s1" || len(b2.Obs) != 1 {
		t.Fatalf("journal: %v %d %+v", err, recv, b2)
	}
	recv, b3, _, err := ParseLine([]byte(contractBatch))
	if err != nil || recv != 0 || b3.ID != 4711 {
		t.Fatalf("plain: %v %d %+v", err, recv, b3)
	}
	if _, _, _, err := ParseLine([]byte(`{"recv":5,"batch":{"v":3,"sensor":"s1","sent":1,"obs":[]}}`)); !errors.Is(err, ErrVersion) {
		t.Fatalf("bad nested batch: %v", err)
	}
}

func TestLinesReusesBuffers(t *testing.T) {
	b, _, _ := ParseBatch([]byte(contractBatch))
	var in bytes.Buffer
	for i := 0; i < 3; i++ {
		in.Write(AppendBatch(nil, &b))
		in.WriteString("\n\n")
		in.Write(AppendJournalLine(nil, int64(100+i), &b))
		in.WriteString("\n")
	}
	in.WriteString("garbage\n")
	r := NewLines(&in)
	var l Line
	n, bad := 0, 0
	for r.Next(&l) {
		if l.Err != nil {
			bad++
			continue
		}
		n++
		if len(l.Batch.Obs) != 1 || l.Batch.Obs[0] != b.Obs[0] {
			t.Fatalf("line %d: %+v", l.No, l.Batch)
		}
	}
	if n != 6 || bad != 1 || r.Err() != nil {
		t.Fatalf("n=%d bad=%d err=%v", n, bad, r.Err())
	}
}

func TestAppendNumber(t *testing.T) {
	for f, want := range map[float64]string{-67: "-67", -67.5: "-67.5", 0: "0", 12.25: "12.25", math.NaN(): "null"} {
		if got := string(AppendNumber(nil, f)); got != want {
			t.Errorf("%v: got %s want %s", f, got, want)
		}
	}
	if got := string(AppendRounded(nil, -0.0001, 3)); got != "0" {
		t.Errorf("rounded -0: %s", got)
	}
}

// FuzzParseBatch checks the hand-written scanner against encoding/json: it
// accepts exactly valid JSON, never panics, and what it keeps encodes and
// decodes back to the same batch.
func FuzzParseBatch(f *testing.F) {
	f.Add([]byte(contractBatch))
	f.Add([]byte(`{"v":1,"sensor":"s1","sent":1,"obs":[{"t":1,"dev":"0000000000000001","rssi":-50.25,"x":"\u00e9\ud83d\ude00"}]}`))
	f.Add([]byte(`{"recv":1,"batch":{"v":1,"sensor":"s1","sent":1,"obs":[]}}`))
	f.Add([]byte(`{"v":1e0,"sensor":"a","sent":-0,"obs":[1,[],{}]}`))
	// compact observations as encoders write them (the fast path), with
	// edge values, duplicate keys and a fallback in the middle
	f.Add([]byte(`{"v":1,"sensor":"s1","sent":1,"obs":[{"t":1,"dev":"00000000000000ff","rssi":-50,"ch":6,"kind":"probe","rand":true,"seq":4095,"fp":"9c1e22aa"},` +
		`{"t":2,"dev":"00000000000000ff","rssi":-50,"ch":1001,"seq":-2,"fp":""},{"t":0,"dev":"x","rssi":-200,"t":5,"seq":7,"seq":9999,"rand":false},` +
		`{"t":-0,"dev":"00000000000000FF","rssi":-0,"ch":-1,"seq":-1},{"t":3,"dev":"00000000000000ff","rssi":-50.5,"seq":null,"fp":"9c1e22aa"},` +
		`{"t":4,"dev":"00000000000000ab","rssi":-61,"kind":"ble","x":1,"fp":"9c1e22ab"}]}`))
	f.Add([]byte(`{"v":1,"sensor":"s1","sent":1,"obs":[{"t":1,"dev":"00000000000000ff","rssi":-50},{"t":0012,"dev":"0"}]}`))
	// in the encoder's key order, with edge values and near misses
	f.Add([]byte(`{"v":1,"sensor":"s1","sent":1,"obs":[{"t":1764850000001,"dev":"3f9a0c1d2e4b5a69","rssi":-67,"ch":6,"kind":"ble","rand":true,"seq":1234,"fp":"9c1e22aa"},` +
		`{"t":999999999999999,"dev":"ffffffffffffffff","rssi":0},{"t":1,"dev":"0000000000000000","rssi":-120,"seq":-1},{"t":12,"dev":"0123456789abcdef","rssi":-121},` +
		`{"t":12345678,"dev":"0123456789abcdeg","rssi":-1,"ch":1001},{"t":123456789,"dev":"0123456789abcdef","rssi":-0,"seq":4096},` +
		`{"t":5,"dev":"0123456789abcdef","rssi":-5,"ch":-1,"kind":"","rand":true,"seq":0,"fp":""},{"t":5,"dev":"0123456789abcdef","rssi":-5,"rand":false},` +
		`{"t":5,"dev":"0123456789abcdef","rssi":-5,"fp":"a","seq":1},{"t":5,"dev":"0123456789ABCDEF","rssi":-5.5,"ch":1,"ch":2}]}`))
	// batch headers as the encoder writes them, and near misses
	f.Add([]byte(`{"v":1,"sensor":"s1","boot":1764850000000,"id":12,"sent":1764850000001,"obs":[{"t":1,"dev":"00000000000000ff","rssi":-50}]}`))
	f.Add([]byte(`{"v":1,"sensor":"s1","boot":0,"id":3,"sent":1,"obs":[]}`))
	f.Add([]byte(`{"v":1,"sensor":"s1","boot":5,"sent":1,"obs":[]}`))
	f.Add([]byte(`{"v":1,"sensor":"s 1","sent":1,"obs":[{"t":1,"dev":"00000000000000ff","rssi":-50},]}`))
	f.Add([]byte(`{"v":1,"sensor":"s1","sent":1234567890123456789,"obs":[{"t":1,"dev":"00000000000000ff","rssi":-50}]}x`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// the fast path for compact observations reads exactly what the
		// general one reads
		// (and so does the one for the encoder's key order)
		b, d, err := comparePaths(t, data)
		valid := json.Valid(data)
		if errors.Is(err, ErrNotJSON) && valid {
			t.Fatalf("rejected valid JSON: %v", err)
		}
		if err == nil && !valid {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		ParseLine(data)
		if err != nil {
			return
		}
		if _, _, plain, _ := DecodeBatch(data); plain {
			checkPlain(t, data, &b, d)
		}
		enc := AppendBatch(nil, &b)
		if !json.Valid(enc) {
			t.Fatalf("encoder wrote invalid JSON %q", enc)
		}
		b2, d2, err := ParseBatch(enc)
		if err != nil || d2.Total() != 0 || len(b2.Obs) != len(b.Obs) {
			t.Fatalf("round trip: %v %+v", err, d2)
		}
		for i := range b.Obs {
			if b.Obs[i] != b2.Obs[i] {
				t.Fatalf("obs %d: %+v != %+v", i, b.Obs[i], b2.Obs[i])
			}
		}
	})
}

// comparePaths parses data with the general path alone, with the fast path
// for compact observations and with both fast paths, fails unless all three
// read the same, and returns what they read.
func comparePaths(t *testing.T, data []byte) (Batch, Drops, error) {
	t.Helper()
	defer func() { noFastObs, noOrderedObs = false, false }()
	type result struct {
		b     Batch
		d     Drops
		err   error
		plain bool
	}
	var rs [3]result
	for i, m := range []struct{ noFast, noOrdered bool }{{true, true}, {false, true}, {false, false}} {
		noFastObs, noOrderedObs = m.noFast, m.noOrdered
		r := &rs[i]
		r.b, r.d, r.plain, r.err = DecodeBatch(data)
	}
	names := [3]string{"general path", "fast path", "ordered path"}
	g := &rs[0]
	for i := 1; i < 3; i++ {
		r := &rs[i]
		if (r.err == nil) != (g.err == nil) || (r.err != nil && r.err.Error() != g.err.Error()) || r.d != g.d ||
			r.b.V != g.b.V || r.b.Sensor != g.b.Sensor || r.b.Boot != g.b.Boot || r.b.ID != g.b.ID || r.b.Sent != g.b.Sent ||
			len(r.b.Obs) != len(g.b.Obs) {
			t.Fatalf("%s: %v %+v %d obs, general path: %v %+v %d obs", names[i], r.err, r.d, len(r.b.Obs), g.err, g.d, len(g.b.Obs))
		}
		for j := range r.b.Obs {
			if r.b.Obs[j] != g.b.Obs[j] {
				t.Fatalf("%s obs %d: %+v, general path %+v", names[i], j, r.b.Obs[j], g.b.Obs[j])
			}
		}
		// the ordered path takes only what the fast path would, so
		// plainness is theirs
		if i == 2 && r.plain != rs[1].plain {
			t.Fatalf("ordered path: plain %v, fast path %v", r.plain, rs[1].plain)
		}
	}
	// CheckPlain takes only what DecodeBatch takes as plain, with the
	// same sensor and count
	if sensor, n, ok := CheckPlain(data); ok {
		r := &rs[2]
		if r.err != nil || !r.plain || r.d.Total() != 0 || string(sensor) != r.b.Sensor || n != len(r.b.Obs) {
			t.Fatalf("CheckPlain took %q (sensor %q, %d obs); DecodeBatch: %v plain %v %+v sensor %q %d obs",
				data, sensor, n, r.err, r.plain, r.d, r.b.Sensor, len(r.b.Obs))
		}
	}
	// DecodeBatchInto, into a buffer that holds another batch's
	// observations, reads what DecodeBatch reads
	buf := []Observation{{T: 9, Dev: 9, RSSI: -9, Kind: KindBLE, FP: "x"}, {T: 8, Seq: 3}, {}}[:1]
	b, d, plain, err := DecodeBatchInto(data, buf)
	r := &rs[2]
	if (err == nil) != (r.err == nil) || (err != nil && err.Error() != r.err.Error()) || d != r.d || plain != r.plain ||
		b.V != r.b.V || b.Sensor != r.b.Sensor || b.Boot != r.b.Boot || b.ID != r.b.ID || b.Sent != r.b.Sent || len(b.Obs) != len(r.b.Obs) {
		t.Fatalf("into a buffer: %v %+v plain %v %d obs, DecodeBatch: %v %+v plain %v %d obs", err, d, plain, len(b.Obs), r.err, r.d, r.plain, len(r.b.Obs))
	}
	for j := range b.Obs {
		if b.Obs[j] != r.b.Obs[j] {
			t.Fatalf("into a buffer, obs %d: %+v, DecodeBatch %+v", j, b.Obs[j], r.b.Obs[j])
		}
	}
	return rs[2].b, rs[2].d, rs[2].err
}

func BenchmarkParseBatch(b *testing.B) {
	var batch Batch
	batch.V, batch.Sensor, batch.Sent, batch.Boot, batch.ID = 1, "s1", 1764850000123, 1764849000000, 1
	for i := 0; i < 500; i++ {
		batch.Obs = append(batch.Obs, Observation{T: 1764850000001 + int64(i), Dev: Dev(i * 7919), RSSI: -40 - float64(i%50), Ch: 6, Rand: i%2 == 0, Seq: i % 4096, FP: "9c1e22aa"})
	}
	data := AppendBatch(nil, &batch)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseBatch(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch.Obs)), "ns/obs")
}

func TestValidID(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	cases := []string{"", "a", "s1", "shop-12_B", strings.Repeat("x", 64), strings.Repeat("x", 65),
		"a b", "a/b", "é", "a\n", "\na", "+", "a.b", "Z9-_"}
	rng := rand.New(rand.NewPCG(5, 5))
	const alphabet = "aZ09_-./ \n\x00é+"
	for i := 0; i < 2000; i++ {
		b := make([]byte, rng.IntN(70))
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		if got, want := ValidID(c), re.MatchString(c); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", c, got, want)
		}
	}
}
