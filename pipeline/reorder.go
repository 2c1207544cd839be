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

// reorder is the reorder buffer: it gives back the frames pushed in order
// of (t, arrival), as one heap of all frames would. A sensor captures in
// order and its batches come in order, so its frames mostly come in order
// of time (only a change of its clock offset, or its coarse correction,
// can move one before the last): each sensor's frames wait in a queue of
// their own while they come in order, the few that do not in a heap, and
// the least frame is the least of the queues' first ones and the heap's.
// The keys (t, arrival) are distinct, so the order is the heap's exactly.
// A pop compares a handful of queue heads instead of sifting a 104-byte
// frame down a heap of about 60.
type reorder struct {
	runs []frameRun // per sensor, each in order of (t, arrival)
	late frameHeap  // frames that came before their sensor's last one
	n    int        // frames waiting
}

// frameRun is a first-in, first-out queue of frames.
type frameRun struct {
	q    []frame
	head int // q[head:] are waiting
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

func newReorder(sensors int) reorder {
	return reorder{runs: make([]frameRun, sensors)}
}

// push adds a frame; its arrival order must be greater than every frame's
// pushed before.
func (r *reorder) push(f *frame) {
	run := &r.runs[f.sensor]
	if run.head < len(run.q) && f.t < run.q[len(run.q)-1].t {
		r.late.push(*f)
	} else {
		run.push(f)
	}
	r.n++
}

// pop takes the least frame out into f when its time is at most upTo, and
// reports whether it did.
func (r *reorder) pop(upTo int64, f *frame) bool {
	var least *frame
	ri := -1
	for i := range r.runs {
		run := &r.runs[i]
		if run.head == len(run.q) {
			continue
		}
		if h := &run.q[run.head]; least == nil || h.t < least.t || (h.t == least.t && h.order < least.order) {
			least, ri = h, i
		}
	}
	if len(r.late) > 0 && (least == nil || (byTimeArrival{}).less(&r.late[0], least)) {
		if r.late[0].t > upTo {
			return false
		}
		*f = r.late.pop()
		r.n--
		return true
	}
	if least == nil || least.t > upTo {
		return false
	}
	*f = *least
	r.runs[ri].pop()
	r.n--
	return true
}

// len returns the number of frames waiting.
func (r *reorder) len() int { return r.n }

func (q *frameRun) push(f *frame) {
	if q.head > 0 && q.head == len(q.q) {
		q.q, q.head = q.q[:0], 0
	} else if q.head >= 256 && 2*q.head >= len(q.q) {
		n := copy(q.q, q.q[q.head:])
		q.q, q.head = q.q[:n], 0
	}
	q.q = append(q.q, *f)
}

// pop drops the first frame. Its slot keeps its strings until it is
// overwritten (kinds and fingerprints are interned: nothing is held that
// would not be anyway).
func (q *frameRun) pop() { q.head++ }
