package sensor

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/passant/passant/wire"
)

// FuzzDecoder feeds arbitrary bytes to the frame decoder (seeded with the
// frames of every bundled capture): it must not panic, and what it calls
// a good frame must make a contract-valid observation.
func FuzzDecoder(f *testing.F) {
	for _, name := range captures(f) {
		src, err := OpenFiles([]string{name}, true)
		if err != nil {
			f.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			data, _, err := src.Next(context.Background())
			if err != nil {
				break
			}
			f.Add(bytes.Clone(data))
		}
		src.Close()
	}
	f.Add([]byte{0, 0, 8, 0, 0, 0, 0, 0})
	d := NewDecoder(DecoderOptions{Data: true})
	ci := gopacket.CaptureInfo{Timestamp: time.UnixMilli(1764850000001)}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fr Frame
		var rt radiotap
		rt.DecodeFromBytes(data, gopacket.NilDecodeFeedback) // must not panic
		if d.Decode(data, ci, &fr) != OK {
			return
		}
		if fr.RSSI < -128 || fr.RSSI > 127 || fr.Seq < 0 || fr.Seq > 4095 || fr.T != 1764850000001 ||
			fr.FP != "" && len(fr.FP) != 8 || fr.Kind != wire.KindProbe && fr.Kind != wire.KindData {
			t.Fatalf("implausible frame %+v", fr)
		}
	})
}

// FuzzBatchRoundTrip builds batches the way the sensor does (Batcher,
// wire.AppendBatch) from fuzzed observations and checks that the
// contract's decoder reads back exactly what was written.
func FuzzBatchRoundTrip(f *testing.F) {
	f.Add(int64(1764850000001), uint64(0x3f9a0c1d2e4b5a69), int8(-67), uint8(6), true, int16(1234), uint32(0x9c1e22aa), uint8(3), false)
	f.Add(int64(1), uint64(0), int8(-120), uint8(0), false, int16(-1), uint32(0), uint8(1), true)
	f.Add(int64(1<<50), uint64(1<<63), int8(0), uint8(165), true, int16(4095), uint32(1), uint8(200), false)
	f.Fuzz(func(t *testing.T, t0 int64, dev uint64, rssi int8, ch uint8, rnd bool, seq int16, fp uint32, n uint8, data bool) {
		if t0 <= 0 || t0 > 1<<52 || rssi > 0 || rssi < -120 || seq < -1 || seq > 4095 {
			return // outside what a sensor sends
		}
		b := NewBatcher(BatcherConfig{Sensor: "s-1_x", Boot: 1764849000000, MaxObs: max(1, int(n))})
		var want []wire.Observation
		var got []wire.Observation
		check := func(bt *wire.Batch) {
			if bt == nil {
				return
			}
			enc := wire.AppendBatch(nil, bt)
			dec, drops, err := wire.ParseBatch(enc)
			if err != nil || drops.Total() != 0 {
				t.Fatalf("%s: %v, drops %+v", enc, err, drops)
			}
			if dec.Sensor != bt.Sensor || dec.Boot != bt.Boot || dec.ID != bt.ID || dec.Sent != bt.Sent || dec.V != 1 {
				t.Fatalf("header %+v, want %+v", dec, bt)
			}
			got = append(got, dec.Obs...)
		}
		kind := wire.KindProbe
		if data {
			kind = wire.KindData
		}
		fps := ""
		if fp != 0 {
			fps = wire.FormatFP([4]byte{byte(fp >> 24), byte(fp >> 16), byte(fp >> 8), byte(fp)})
		}
		for i := range int(n) + 1 {
			o := wire.Observation{T: t0 + int64(i)*97, Dev: wire.Dev(dev + uint64(i)), RSSI: float64(rssi), Ch: int(ch),
				Kind: kind, Rand: rnd, Seq: int(seq), FP: fps}
			want = append(want, o)
			check(b.Add(o, o.T))
		}
		check(b.Flush(t0 + 1<<20))
		if len(got) != len(want) {
			t.Fatalf("%d observations back, want %d", len(got), len(want))
		}
		for i := range want {
			w, g := want[i], got[i]
			if g.Kind == "" {
				g.Kind = wire.KindProbe
			}
			if g != w {
				t.Fatalf("observation %d: got %+v, want %+v", i, g, w)
			}
		}
	})
}
