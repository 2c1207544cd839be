package sim

import (
	"context"
	"os"
	"testing"
)

func TestExperiment(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	cfg := Config{Seed: 1, Exponent: 2.5, ShadowDB: 1e-9, GainDB: 1e-9, TxDB: 1e-9, FadeDB: 1e-9, Offset5: -6, ClockMs: 1e-9}
	if os.Getenv("EXP") == "2" {
		cfg = Config{Seed: 1, Exponent: 2.5}
	}
	if os.Getenv("EXP") == "3" {
		cfg = Config{Seed: 1, ShadowDB: 1e-9, GainDB: 1e-9, TxDB: 1e-9, FadeDB: 1e-9, Offset5: -6, ClockMs: 1e-9}
	}
	var rs []*Accuracy
	for _, l := range []string{"small", "large"} {
		r, err := RunAccuracy(context.Background(), l, cfg, 2)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	WriteBreakdown(os.Stdout, rs)
}
