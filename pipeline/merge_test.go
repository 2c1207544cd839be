package pipeline_test

import (
	"testing"
	"time"

	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

type merges struct {
	seen  map[string]int64 // track: last position time
	gone  map[string]bool  // merged away
	n     int
	fails []string
}

func (m *merges) Position(p wire.Position) {
	if m.gone[p.Track] {
		m.fails = append(m.fails, "position of merged track "+p.Track)
	}
	m.seen[p.Track] = p.T
}

func (m *merges) Advance(int64) {}

func (m *merges) Merge(from, into string, t int64) {
	m.n++
	if _, ok := m.seen[from]; !ok || from == into {
		m.fails = append(m.fails, "merge of unseen track "+from)
	}
	if _, ok := m.seen[into]; !ok {
		m.fails = append(m.fails, "merge into unseen track "+into)
	}
	if m.seen[from] > t {
		m.fails = append(m.fails, "merge before the last position of "+from)
	}
	m.gone[from] = true
}

// The tracker's deferred links reach a Merger by the tracks' stable names,
// and a merged track gets no position after its merge.
func TestPipelineMerges(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a shop: not in -short")
	}
	shop := simtest.Shop(t, "large", sim.Config{Seed: 1})
	site := shop.Site()
	h := &merges{seen: map[string]int64{}, gone: map[string]bool{}}
	p, err := pipeline.New(pipeline.Config{Site: site}, h)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	simtest.Run(t, shop, from, from.Add(90*time.Minute), nil, func(_ string, b *wire.Batch) error {
		if len(b.Obs) == 0 {
			return nil
		}
		return p.Accept(b.Obs[len(b.Obs)-1].T, b, wire.Drops{})
	})
	p.Flush()
	if h.n == 0 {
		t.Error("no merges in 90 min of a simulated supermarket")
	}
	for _, f := range h.fails {
		t.Error(f)
	}
	t.Logf("%d merges of %d tracks", h.n, len(h.seen))
}
