package pipeline

import (
	"github.com/passant/passant/wire"
)

// frame is an observation waiting in the reorder buffer, its time already
// moved to the site's aligned clock.
type frame struct {
	t      int64
	order  uint64 // arrival order, the tie-break that keeps output stable
	sensor int32
	obs    wire.Observation
}

// frameHeap orders frames by (t, arrival).
type frameHeap = heap[frame, byTimeArrival]

type byTimeArrival struct{}

func (byTimeArrival) less(a, b *frame) bool {
	if a.t != b.t {
		return a.t < b.t
	}
	return a.order < b.order
}
