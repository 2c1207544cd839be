package wire

import (
	"math/rand/v2"
	"testing"
)

// TestCheckPlain: CheckPlain takes every valid batch as the encoder writes
// it with the usual numbers (a time of 1 to 15 digits, a channel of up to 7
// digits, a sequence number 0..4095), and of near misses of them only what
// DecodeBatch takes as plain, with the same sensor and count
// (comparePaths checks that).
func TestCheckPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	taken, missed := 0, 0
	for i := range 20000 {
		b := Batch{V: Version, Sensor: []string{"s1", "node-7_B", "x"}[rng.IntN(3)], Sent: 1 + rng.Int64N(1<<50)}
		if rng.IntN(2) == 0 {
			b.Boot, b.ID = 1+rng.Int64N(1<<45), 1+rng.Int64N(100)
		}
		for range rng.IntN(6) {
			o := Observation{T: 1 + rng.Int64N(999999999999999)>>rng.IntN(50), Dev: Dev(rng.Uint64()), RSSI: float64(-rng.IntN(121)),
				Seq: rng.IntN(4097) - 1, Ch: []int{0, 1, 6, 11, 36, 165, 1000}[rng.IntN(7)],
				Kind: []string{"", KindProbe, KindData, KindBLE}[rng.IntN(4)], Rand: rng.IntN(2) == 0,
				FP: []string{"", "9c1e22aa", "x", "a}b,c]"}[rng.IntN(4)]}
			b.Obs = append(b.Obs, o)
		}
		data := AppendBatch(nil, &b)
		near := i%3 == 0
		if near {
			data = nearMiss(rng, data)
		}
		comparePaths(t, data)
		sensor, n, ok := CheckPlain(data)
		switch {
		case ok:
			taken++
		case !near:
			t.Fatalf("CheckPlain did not take the encoder's %q", data)
		default:
			missed++
		}
		if ok && !near && (string(sensor) != b.Sensor || n != len(b.Obs)) {
			t.Fatalf("CheckPlain(%q) = %q %d", data, sensor, n)
		}
	}
	if taken < 13000 || missed == 0 {
		t.Errorf("CheckPlain took %d, missed %d near misses", taken, missed)
	}
}
