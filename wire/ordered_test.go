package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestHexDev: the branch-free dev parser agrees with parseDev on every byte
// value at every position, and on random input.
func TestHexDev(t *testing.T) {
	base := []byte("0123456789abcdef")
	check := func(b []byte) {
		t.Helper()
		want, wok := parseDev(b)
		got, ok := hexDev(b)
		if ok != wok || (ok && got != want) {
			t.Fatalf("hexDev(%q) = %x %v, parseDev %x %v", b, got, ok, want, wok)
		}
	}
	for pos := range 16 {
		for c := range 256 {
			b := append([]byte(nil), base...)
			b[pos] = byte(c)
			check(b)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789abcdefABCDEFgz/:`G\x00\x80\xff"
	for range 200000 {
		b := make([]byte, 16)
		for j := range b {
			if rng.IntN(20) == 0 {
				b[j] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[j] = "0123456789abcdef"[rng.IntN(16)]
			}
		}
		check(b)
		binary.BigEndian.PutUint64(b, rng.Uint64())
		binary.BigEndian.PutUint64(b[8:], rng.Uint64())
		check(b)
		check(Dev(rng.Uint64()).appendHex(nil))
	}
}

// TestPosInt: posInt reads what plainInt reads for a positive integer of
// up to 15 digits followed by ','.
func TestPosInt(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const alphabet = "0123456789-,}.e x"
	for i := range 300000 {
		var b []byte
		switch i % 3 {
		case 0:
			b = strconv.AppendInt(nil, rng.Int64N(1<<62)>>rng.IntN(62), 10)
			b = append(b, ",}x"[rng.IntN(3)])
		default:
			b = make([]byte, rng.IntN(22))
			for j := range b {
				b[j] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		v, n := posInt(b)
		wv, wn := plainInt(b)
		want := wn > 0 && wv > 0 && b[wn] == ','
		if n > 15 {
			n = 0 // orderedObservation's limit, plainInt's
		}
		if (n > 0) != want || (n > 0 && (v != wv || n != wn)) {
			t.Fatalf("posInt(%q) = %d %d, plainInt %d %d", b, v, n, wv, wn)
		}
	}
}

// TestSmallNeg: smallNeg reads exactly the integer RSSIs that plainInt
// reads and the contract allows, except -0.
func TestSmallNeg(t *testing.T) {
	for v := -1000; v <= 1000; v++ {
		for _, end := range []string{",", "}", "", ".5", "x", "0"} {
			b := []byte(strconv.Itoa(v) + end)
			got, n := smallNeg(b)
			wv, wn := plainInt(b)
			want := wn > 0 && wv >= MinRSSI && wv <= MaxRSSI
			if (n > 0) != want || (n > 0 && (got != wv || n != wn)) {
				t.Fatalf("smallNeg(%q) = %d %d, plainInt %d %d", b, got, n, wv, wn)
			}
		}
	}
	for _, b := range []string{"-0,", "-00,", "-01,", "00,", "-,", "-", "", "-120}", "-121}", "-1200,"} {
		got, n := smallNeg([]byte(b))
		if want := b == "-120}"; (n > 0) != want || (want && got != -120) {
			t.Errorf("smallNeg(%q) = %d %d", b, got, n)
		}
	}
}

// TestOrderedObservation: observations as the encoder writes them, and
// near misses of them, read the same on all paths; the encoder's own are
// taken by the ordered path.
func TestOrderedObservation(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	taken := 0
	for range 20000 {
		o := Observation{T: rng.Int64N(1 << 50), Dev: Dev(rng.Uint64()), RSSI: float64(-rng.IntN(125)), Seq: rng.IntN(4200) - 2,
			Ch: rng.IntN(1010) - 2, Kind: []string{"", KindProbe, KindData, KindBLE, "other"}[rng.IntN(5)], Rand: rng.IntN(2) == 0,
			FP: []string{"", "9c1e22aa", "x"}[rng.IntN(3)]}
		if rng.IntN(4) == 0 {
			o.T = rng.Int64N(1000)
		}
		ob := AppendObservation(nil, &o)
		if rng.IntN(3) == 0 {
			// a near miss: one byte changed, removed or doubled
			j := rng.IntN(len(ob))
			switch rng.IntN(3) {
			case 0:
				ob[j] = `{}",:-0123456789abcdefx tr`[rng.IntN(26)]
			case 1:
				ob = append(ob[:j:j], ob[j+1:]...)
			case 2:
				ob = append(ob[:j+1:j+1], ob[j:]...)
			}
		}
		data := []byte(`{"v":1,"sensor":"s1","sent":1,"obs":[`)
		data = append(append(data, ob...), "]}"...)
		b, d, err := comparePaths(t, data)
		if err == nil && d.Total() == 0 && len(b.Obs) == 1 {
			var s scanner
			s.data = ob
			var bb Batch
			if s.orderedObservation(&bb) {
				taken++
				if s.pos != len(ob) || bb.Obs[0] != b.Obs[0] {
					t.Fatalf("ordered path read %q as %+v at %d", ob, bb.Obs, s.pos)
				}
			}
		}
	}
	if taken < 5000 {
		t.Errorf("ordered path took only %d observations", taken)
	}
}

// FuzzOrderedObservation: any observation, written by the encoder and then
// perhaps altered, reads the same on all paths.
func FuzzOrderedObservation(f *testing.F) {
	f.Add(int64(1764850000001), uint64(0x3f9a0c1d2e4b5a69), -67.0, 6, "data", true, 1234, "9c1e22aa", uint16(0), byte(0))
	f.Add(int64(1), uint64(0), 0.0, 0, "", false, -1, "", uint16(3), byte('F'))
	f.Fuzz(func(t *testing.T, tm int64, dev uint64, rssi float64, ch int, kind string, rnd bool, seq int, fp string, at uint16, c byte) {
		o := Observation{T: tm, Dev: Dev(dev), RSSI: rssi, Ch: ch, Kind: kind, Rand: rnd, Seq: seq, FP: fp}
		ob := AppendObservation(nil, &o)
		if at > 0 && int(at) <= len(ob) {
			ob[at-1] = c
		}
		data := []byte(`{"v":1,"sensor":"s1","sent":1,"obs":[`)
		data = append(append(data, ob...), ',')
		data = append(append(data, ob...), "]}"...)
		comparePaths(t, data)
	})
}

// TestOrderedBatch: batches as the encoder writes them, and near misses of
// their header, read the same on all paths; the encoder's own valid ones
// are taken by the ordered path whole.
func TestOrderedBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	taken := 0
	for range 20000 {
		b := Batch{V: 1, Sensor: []string{"s1", "node-7_B", "", "a b", "é"}[rng.IntN(5)], Sent: rng.Int64N(1 << 50)}
		if rng.IntN(2) == 0 {
			b.Boot, b.ID = rng.Int64N(1<<45), rng.Int64N(100)
		}
		if rng.IntN(5) == 0 {
			b.Sent = rng.Int64N(3) - 1
		}
		if rng.IntN(10) == 0 {
			b.V = 2
		}
		for range rng.IntN(4) {
			b.Obs = append(b.Obs, Observation{T: 1 + rng.Int64N(1<<50), Dev: Dev(rng.Uint64()), RSSI: float64(-rng.IntN(121)),
				Seq: rng.IntN(4096), Ch: rng.IntN(200), Rand: rng.IntN(2) == 0, FP: []string{"", "9c1e22aa"}[rng.IntN(2)]})
		}
		data := AppendBatch(nil, &b)
		if rng.IntN(3) == 0 {
			data = nearMiss(rng, data)
		}
		got, d, err := comparePaths(t, data)
		var s scanner
		s.data = data
		var bb Batch
		if s.orderedBatch(&bb) {
			taken++
			if s.pos < len(data) {
				// what follows the object is the caller's to check
				if err == nil {
					t.Fatalf("ordered batch read %q up to %d; DecodeBatch took it all", data, s.pos)
				}
				continue
			}
			if err != nil || d.Total() != 0 || bb.V != got.V || bb.Sensor != got.Sensor ||
				bb.Boot != got.Boot || bb.ID != got.ID || bb.Sent != got.Sent || len(bb.Obs) != len(got.Obs) {
				t.Fatalf("ordered batch read %q as %+v at %d; DecodeBatch %+v %v", data, bb, s.pos, got, err)
			}
		}
	}
	if taken < 3000 {
		t.Errorf("ordered path took only %d batches", taken)
	}
}

// TestLinesSharesSensorIDs: the lines of a replay share their sensors' id
// strings instead of allocating one per line.
func TestLinesSharesSensorIDs(t *testing.T) {
	in := `{"v":1,"sensor":"s1","sent":1,"obs":[]}` + "\n" + `{"v":1,"sensor":"s2","sent":1,"obs":[]}` + "\n" +
		`{"v":1,"sensor":"s1","sent":2,"obs":[{"t":1,"dev":"00000000000000ff","rssi":-50}]}` + "\n" +
		`{"v":1, "sensor":"s2","sent":2,"obs":[]}` + "\n"
	r := NewLines(strings.NewReader(in))
	var l Line
	var ids []string
	for r.Next(&l) {
		if l.Err != nil {
			t.Fatal(l.Err)
		}
		ids = append(ids, l.Batch.Sensor)
	}
	if len(ids) != 4 || ids[0] != "s1" || ids[1] != "s2" || unsafe.StringData(ids[0]) != unsafe.StringData(ids[2]) ||
		unsafe.StringData(ids[1]) != unsafe.StringData(ids[3]) {
		t.Fatalf("ids %q: not shared", ids)
	}
}

// TestLinesMatchesParseLine: Lines, which remembers fingerprints across
// lines, reads each line as ParseLine reads it alone; the fingerprints
// come from a pool larger than its memory (evictions) and of other lengths.
func TestLinesMatchesParseLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	pool := []string{"", "abc", "9c1e22aa0"}
	for i := range 700 {
		pool = append(pool, fmt.Sprintf("%08x", uint32(i)*2654435761))
	}
	var in []byte
	var want []Batch
	for i := range 3000 {
		b := Batch{V: 1, Sensor: "s1", Sent: int64(1 + i)}
		for range rng.IntN(6) {
			b.Obs = append(b.Obs, Observation{T: 1 + rng.Int64N(1<<42), Dev: Dev(rng.Uint64()), RSSI: float64(-rng.IntN(100)),
				Seq: rng.IntN(4096), Ch: rng.IntN(200), Rand: rng.IntN(2) == 0, FP: pool[rng.IntN(len(pool))]})
		}
		line := AppendBatch(nil, &b)
		_, got, _, err := ParseLine(line)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, got)
		in = append(append(in, line...), '\n')
	}
	r := NewLines(bytes.NewReader(in))
	var l Line
	n := 0
	for r.Next(&l) {
		if l.Err != nil {
			t.Fatal(l.Err)
		}
		if !reflect.DeepEqual(l.Batch, want[n]) && !(len(l.Batch.Obs) == 0 && len(want[n].Obs) == 0) {
			t.Fatalf("line %d: %+v, ParseLine %+v", l.No, l.Batch, want[n])
		}
		n++
	}
	if n != len(want) {
		t.Fatalf("%d lines of %d", n, len(want))
	}
}

// TestPlain8: plain8 says what plainString says of eight characters.
func TestPlain8(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	check := func(b []byte) {
		_, n := plainString(append(append([]byte{'"'}, b...), '"'))
		if got := plain8(binary.LittleEndian.Uint64(b)); got != (n == 10) {
			t.Fatalf("plain8(%q) = %v, plainString %d", b, got, n)
		}
	}
	b := make([]byte, 8)
	for c := range 256 {
		for j := range 8 {
			for k := range b {
				b[k] = "0123abcd"[k]
			}
			b[j] = byte(c)
			check(b)
			if j < 7 { // a byte that fails next to one that borrows
				b[j+1] = byte(rng.IntN(256))
				check(b)
			}
		}
	}
	for range 200000 {
		for k := range b {
			b[k] = byte(rng.IntN(256))
			if rng.IntN(2) == 0 {
				b[k] = byte(0x20 + rng.IntN(0x60))
			}
		}
		check(b)
	}
}

// TestShortInt: shortInt reads what plainInt reads.
func TestShortInt(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const alphabet = "0123456789-,}.e x"
	fast := 0
	for i := range 400000 {
		var b []byte
		switch i % 3 {
		case 0:
			b = strconv.AppendInt(nil, rng.Int64N(1<<40)>>rng.IntN(40)-rng.Int64N(2), 10)
			b = append(b, ",}x0"[rng.IntN(4)])
			for range rng.IntN(10) {
				b = append(b, alphabet[rng.IntN(len(alphabet))])
			}
		default:
			b = make([]byte, rng.IntN(14))
			for j := range b {
				b[j] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		v, n := shortInt(b)
		wv, wn := plainInt(b)
		if v != wv || n != wn {
			t.Fatalf("shortInt(%q) = %d %d, plainInt %d %d", b, v, n, wv, wn)
		}
		if n > 0 && len(b) >= 8 {
			fast++
		}
	}
	if fast < 10000 {
		t.Errorf("only %d integers where the eight bytes could be read", fast)
	}
}

// TestLinesAfterMatchesLines: NewLinesAfter of whole lines and a reader of
// the rest reads what NewLines reads of it all: line numbers, errors, blank
// and CRLF lines, and the limit (a line of maxLine-1 bytes is read, one of
// maxLine is rejected as too large and reading goes on after it).
func TestLinesAfterMatchesLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	type got struct {
		no   int
		err  string
		b    Batch
		next bool
	}
	read := func(r *Lines) ([]got, string) {
		var out []got
		var l Line
		for r.Next(&l) {
			g := got{no: l.No, b: l.Batch}
			if l.Err != nil {
				g.err = l.Err.Error()
			}
			g.b.Obs = append([]Observation(nil), l.Batch.Obs...)
			out = append(out, g)
		}
		if err := r.Err(); err != nil {
			return out, err.Error()
		}
		return out, ""
	}
	long := func(n int) string { return `"` + strings.Repeat("x", n-2) + `"` } // n bytes, not a batch
	for iter := range 60 {
		var lines []string
		for i := range 40 {
			switch rng.IntN(8) {
			case 0:
				lines = append(lines, "")
			case 1:
				lines = append(lines, " \t")
			case 2:
				lines = append(lines, "garbage")
			default:
				b := Batch{V: 1, Sensor: "s1", Sent: int64(1 + i)}
				for range rng.IntN(3) {
					b.Obs = append(b.Obs, Observation{T: 1 + rng.Int64N(1<<42), Dev: Dev(rng.Uint64()), RSSI: -50, Seq: rng.IntN(4096), FP: "9c1e22aa"})
				}
				s := string(AppendBatch(nil, &b))
				if rng.IntN(4) == 0 {
					s += "\r"
				}
				lines = append(lines, s)
			}
		}
		switch iter {
		case 1:
			lines[20] = long(maxLine - 1) // with its '\n', what the scanner holds
		case 2:
			lines[20] = long(maxLine) // one more: too large
		}
		in := strings.Join(lines, "\n")
		if rng.IntN(2) == 0 {
			in += "\n"
		}
		// mem: whole lines up to a random one
		cut := strings.LastIndexByte(in[:rng.IntN(len(in)+1)], '\n') + 1
		if iter == 1 || iter == 2 { // the long line in mem
			cut = len(strings.Join(lines[:22], "\n")) + 1
		}
		want, wantErr := read(NewLines(strings.NewReader(in)))
		have, haveErr := read(NewLinesAfter([]byte(in[:cut]), strings.NewReader(in[cut:])))
		if wantErr != haveErr || !reflect.DeepEqual(want, have) {
			t.Fatalf("input %d (mem %d of %d bytes): %d lines, err %q; NewLines %d lines, err %q",
				iter, cut, len(in), len(have), haveErr, len(want), wantErr)
		}
		if iter == 2 {
			rejected := false
			for _, g := range want {
				rejected = rejected || g.no == 21 && strings.Contains(g.err, "too large")
			}
			if wantErr != "" || !rejected || want[len(want)-1].no < 30 {
				t.Fatalf("a line of maxLine bytes: err %q, rejected %v, %d lines read", wantErr, rejected, len(want))
			}
		}
	}
}

// nearMiss returns data with one byte changed, removed or doubled.
func nearMiss(rng *rand.Rand, data []byte) []byte {
	j := rng.IntN(len(data))
	switch rng.IntN(3) {
	case 0:
		data[j] = `{}[]",:-0123456789abcdefx tr`[rng.IntN(28)]
	case 1:
		data = append(data[:j:j], data[j+1:]...)
	case 2:
		data = append(data[:j+1:j+1], data[j:]...)
	}
	return data
}
