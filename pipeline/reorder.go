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

// frameHeap orders frames by (t, arrival): a binary heap (container/heap's
// algorithm, typed, so that a frame is not boxed in an interface).
type frameHeap []frame

func (h frameHeap) less(i, j int) bool {
	if h[i].t != h[j].t {
		return h[i].t < h[j].t
	}
	return h[i].order < h[j].order
}

func (h *frameHeap) push(f frame) {
	*h = append(*h, f)
	s := *h
	for j := len(s) - 1; j > 0; {
		i := (j - 1) / 2
		if !s.less(j, i) {
			break
		}
		s[i], s[j] = s[j], s[i]
		j = i
	}
}

func (h *frameHeap) pop() frame {
	s := *h
	n := len(s) - 1
	s[0], s[n] = s[n], s[0]
	for i := 0; ; {
		j := 2*i + 1
		if j >= n {
			break
		}
		if j2 := j + 1; j2 < n && s.less(j2, j) {
			j = j2
		}
		if !s.less(j, i) {
			break
		}
		s[i], s[j] = s[j], s[i]
		i = j
	}
	f := s[n]
	*h = s[:n]
	return f
}
