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

func (h *heap[T, O]) pop() T {
	var o O
	s := *h
	n := len(s) - 1
	s[0], s[n] = s[n], s[0]
	for i := 0; ; {
		j := 2*i + 1
		if j >= n {
			break
		}
		if j2 := j + 1; j2 < n && o.less(&s[j2], &s[j]) {
			j = j2
		}
		if !o.less(&s[j], &s[i]) {
			break
		}
		s[i], s[j] = s[j], s[i]
		i = j
	}
	v := s[n]
	var zero T
	s[n] = zero // let the garbage collector have what it points to
	*h = s[:n]
	return v
}
