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
	out  frame      // the last frame popped from late
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

// push adds a frame of sensor's with time t and arrival order order; order
// must be greater than every frame's pushed before.
func (r *reorder) push(t int64, order uint64, sensor int32, o *wire.Observation) {
	run := &r.runs[sensor]
	if run.head < len(run.q) && t < run.q[len(run.q)-1].t {
		r.late.push(frame{t: t, order: order, sensor: sensor, obs: *o})
	} else {
		f := run.grow()
		f.t, f.order, f.sensor, f.obs = t, order, sensor, *o
	}
	r.n++
}

// pop takes the least frame out when its time is at most upTo and returns
// it, nil when there is none. The frame is the buffer's: it stays as it is
// until the next push.
func (r *reorder) pop(upTo int64) *frame {
	var least *frame
	ri := -1
	// The least head by (t, arrival), chosen without a branch (flags and
	// masks: h replaces the least so far where m is all ones): which
	// queue holds it is about as good as random, and a branch on the
	// comparison was mispredicted often.
	var lt int64
	var lo uint64
	for i := range r.runs {
		run := &r.runs[i]
		if run.head == len(run.q) {
			continue
		}
		h := &run.q[run.head]
		t, o := h.t, h.order
		m := -(b2i(ri < 0) | b2i(t < lt) | b2i(t == lt)&b2i(o < lo)) // all ones: h is less
		ri ^= (ri ^ i) & m
		lt ^= (lt ^ t) & int64(m)
		lo ^= (lo ^ o) & uint64(m)
	}
	if ri >= 0 {
		run := &r.runs[ri]
		least = &run.q[run.head]
	}
	if len(r.late) > 0 && (least == nil || (byTimeArrival{}).less(&r.late[0], least)) {
		if r.late[0].t > upTo {
			return nil
		}
		r.out = r.late.pop()
		r.n--
		return &r.out
	}
	if least == nil || least.t > upTo {
		return nil
	}
	r.runs[ri].head++
	r.n--
	return least
}

// len returns the number of frames waiting.
func (r *reorder) len() int { return r.n }

// grow appends a slot to the queue and returns it. A popped frame's slot
// keeps its strings until it is overwritten (kinds and fingerprints are
// interned: nothing is held that would not be anyway).
func (q *frameRun) grow() *frame {
	if q.head > 0 && q.head == len(q.q) {
		q.q, q.head = q.q[:0], 0
	} else if q.head >= 256 && 2*q.head >= len(q.q) {
		n := copy(q.q, q.q[q.head:])
		q.q, q.head = q.q[:n], 0
	}
	if len(q.q) < cap(q.q) {
		q.q = q.q[:len(q.q)+1]
	} else {
		q.q = append(q.q, frame{})
	}
	return &q.q[len(q.q)-1]
}

// b2i is 1 for true, 0 for false (a SETcc, no branch).
func b2i(b bool) int {
	i := 0
	if b {
		i = 1
	}
	return i
}
