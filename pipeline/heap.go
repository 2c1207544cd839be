package pipeline

// heap is a binary min-heap over a slice of T with container/heap's
// algorithm, typed so that no element is boxed in an interface on the way
// in or out. O orders the elements; it carries no state.
type heap[T any, O interface{ less(a, b *T) bool }] []T

func (h *heap[T, O]) push(v T) {
	var o O
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

// pop takes the least element out. The last element, which container/heap
// swaps to the top and down, waits in its slot instead while the children
// it would swap with move up into the hole (one copy per level instead of a
// swap's three: a frame is 104 bytes); the comparisons are the same, so the
// heap is laid out as container/heap lays it out. (A copy of it in a local
// variable would escape through the comparison and be allocated.)
func (h *heap[T, O]) pop() T {
	var o O
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
	var zero T
	s[n] = zero // let the garbage collector have what it points to
	*h = s[:n]
	return v
}
