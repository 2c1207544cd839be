package sim

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestAccuracyTable prints the accuracy and linking tables of every layout
// (PASSANT_ACCURACY=hours to run; the figures in docs/locate.md).
func TestAccuracyTable(t *testing.T) {
	h, err := strconv.ParseFloat(os.Getenv("PASSANT_ACCURACY"), 64)
	if err != nil {
		t.Skip("set PASSANT_ACCURACY=<hours> to print the accuracy tables")
	}
	var rs []*Accuracy
	for _, l := range Layouts() {
		r, err := RunAccuracy(context.Background(), l, Config{Seed: 1}, h, nil)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	var b strings.Builder
	WriteTable(&b, rs)
	b.WriteString("\n")
	WriteBreakdown(&b, rs)
	b.WriteString("\n")
	WriteLinking(&b, rs)
	t.Log("\n" + b.String())
}
