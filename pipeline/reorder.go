package pipeline

import (
	"container/heap"

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
type frameHeap []frame

func (h frameHeap) Len() int { return len(h) }
func (h frameHeap) Less(i, j int) bool {
	if h[i].t != h[j].t {
		return h[i].t < h[j].t
	}
	return h[i].order < h[j].order
}
func (h frameHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *frameHeap) Push(x any)   { *h = append(*h, x.(frame)) }
func (h *frameHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	*h = old[:len(old)-1]
	return f
}

func (h *frameHeap) push(f frame) { heap.Push(h, f) }
func (h *frameHeap) pop() frame   { return heap.Pop(h).(frame) }
