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

// frameHeap orders frames by (t, arrival). It is heap's algorithm
// written out for frames (one push and one pop per observation): in the
// generic heap the comparison is called through the instantiation's
// dictionary, not inlined.
type frameHeap []frame

func (h *frameHeap) push(v frame) {
	var o byTimeArrival
	*h = append(*h, v)
	s := *h
	for j := len(s) - 1; j > 0; {
		i := (j - 1) / 2
		if !o.less(&s[j], &s[i]) {
			break
		}
		s[i], s[j] = s[j], s[i]
		j = i
	}
}

// pop is heap.pop for frames.
func (h *frameHeap) pop() frame {
	var o byTimeArrival
	s := *h
	n := len(s) - 1
	v := s[0]
	i := 0
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if j2 := j + 1; j2 < n && o.less(&s[j2], &s[j]) {
			j = j2
		}
		if !o.less(&s[j], &s[n]) {
			break
		}
		s[i] = s[j]
		i = j
	}
	s[i] = s[n]
	s[n] = frame{} // let the garbage collector have what it points to
	*h = s[:n]
	return v
}

type byTimeArrival struct{}

func (byTimeArrival) less(a, b *frame) bool {
	if a.t != b.t {
		return a.t < b.t
	}
	return a.order < b.order
}
