package pipeline

// frameTable remembers the last n frames seen, keyed by (dev, seq), and
// forgets the oldest first: what a map with a ring of its keys in insertion
// order does (the clock's and the quarantine's frame matching), without the
// general map's hashing and probing of groups. The entries live in a ring;
// an open-addressing index (linear probing, 4n to 8n slots) finds a key's
// slot. A forgotten frame's index entry is not deleted: a probe takes an
// entry only when its ring slot holds the key (the ring's keys are
// distinct), and after n insertions the index is rebuilt from the ring, so
// it holds at most 2n entries.
type frameTable struct {
	keys  []frameKey
	vals  []frameSeen
	n     int     // capacity
	head  int     // the oldest slot once full
	idx   []int32 // ring slot + 1; 0: empty
	mask  uint64
	added int // entries put in the index since it was last rebuilt
}

func newFrameTable(n int) *frameTable {
	size := 1
	for size < 4*n {
		size <<= 1
	}
	return &frameTable{keys: make([]frameKey, 0, n), vals: make([]frameSeen, 0, n), n: n,
		idx: make([]int32, size), mask: uint64(size - 1)}
}

// home is where k's search starts: dev is a keyed hash already, seq mixed in.
func (t *frameTable) home(k frameKey) uint64 {
	h := (uint64(k.dev) ^ uint64(k.seq)*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	return (h >> 32) & t.mask
}

// get returns what was remembered of k.
func (t *frameTable) get(k frameKey) (frameSeen, bool) {
	for i := t.home(k); ; i = (i + 1) & t.mask {
		s := t.idx[i]
		if s == 0 {
			return frameSeen{}, false
		}
		if t.keys[s-1] == k {
			return t.vals[s-1], true
		}
	}
}

// add remembers k, which must not be remembered already, forgetting the
// oldest frame when n are.
func (t *frameTable) add(k frameKey, v frameSeen) {
	var slot int
	if len(t.keys) < t.n {
		slot = len(t.keys)
		t.keys = append(t.keys, k)
		t.vals = append(t.vals, v)
	} else {
		slot = t.head
		t.keys[slot], t.vals[slot] = k, v
		t.head = (t.head + 1) % t.n
	}
	if t.added >= t.n {
		t.rebuild()
		return
	}
	t.insert(slot)
}

// insert puts ring slot s in the index.
func (t *frameTable) insert(s int) {
	i := t.home(t.keys[s])
	for t.idx[i] != 0 {
		i = (i + 1) & t.mask
	}
	t.idx[i] = int32(s + 1)
	t.added++
}

// rebuild indexes the ring's frames afresh, without the forgotten ones.
func (t *frameTable) rebuild() {
	clear(t.idx)
	t.added = 0
	for s := range t.keys {
		t.insert(s)
	}
	t.added = 0
}
