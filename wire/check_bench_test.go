package wire

import (
	"math/rand/v2"
	"testing"
)

// burstBatch is a batch as TestIngestVsSubscriber's sensors publish it:
// 1,220 observations of 13-digit times, random pseudonyms, channel 6,
// randomised, with sequence numbers.
func burstBatch() []byte {
	rng := rand.New(rand.NewPCG(7, 8))
	b := Batch{V: Version, Sensor: "s-03", Boot: 1764849000000, ID: 17, Sent: 1764850000123}
	for i := range 1220 {
		b.Obs = append(b.Obs, Observation{T: 1764850000001 + int64(i%60), Dev: Dev(rng.Uint64()), RSSI: float64(-30 - rng.IntN(66)),
			Ch: 6, Kind: KindProbe, Rand: true, Seq: rng.IntN(4096)})
	}
	return AppendBatch(nil, &b)
}

// BenchmarkCheckBatch: the server's check of a plain payload
// (DecodeBatchInto into a reused buffer, the observations thrown away).
func BenchmarkCheckBatch(b *testing.B) {
	data := burstBatch()
	var scratch []Observation
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		bt, _, plain, err := DecodeBatchInto(data, scratch)
		if err != nil || !plain {
			b.Fatal(err, plain)
		}
		scratch = bt.Obs
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1220), "ns/obs")
}

// BenchmarkCheckPlain: the same payload through CheckPlain.
func BenchmarkCheckPlain(b *testing.B) {
	data := burstBatch()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, n, ok := CheckPlain(data); !ok || n != 1220 {
			b.Fatal(n, ok)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1220), "ns/obs")
}
