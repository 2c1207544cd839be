package heatmap

import (
	"testing"

	"github.com/passant/passant/wire"
)

// Forget drops an erased track's open fix and its logged spans, and keeps
// the tiles' occupancy and the other tracks' spans.
func TestForget(t *testing.T) {
	bounds := wire.Rect{{0, 0}, {10, 10}}
	tiles := NewTiles(bounds, 0.5)
	b := NewBuilder(tiles)
	b.Log = NewLog()
	for i := int64(0); i < 5; i++ {
		for _, tr := range []string{"ka", "kb"} {
			b.Add(&wire.Position{T: i * 1000, Track: tr, Dev: 7, X: 5, Y: 5, Err: 1})
		}
	}
	b.Log.Merge("kc", "ka")
	n := b.Log.Len()
	counted := b.Counted()
	b.Forget(func(tr string) bool { return tr == "ka" })
	b.Log.Forget(func(tr string) bool { return tr == "ka" })
	if _, ok := b.open["ka"]; ok || len(b.open) != 1 {
		t.Fatalf("open fixes %v", b.open)
	}
	if b.Counted() != counted {
		t.Fatalf("counted %d, %d before", b.Counted(), counted)
	}
	if b.Log.tracks["ka"] != nil || len(b.Log.alias) != 0 || b.Log.Len() != n/2 || len(b.Log.tracks["kb"]) != n/2 {
		t.Fatalf("log after: %d spans, ka %d, kb %d, aliases %v", b.Log.Len(), len(b.Log.tracks["ka"]), len(b.Log.tracks["kb"]), b.Log.alias)
	}
}
