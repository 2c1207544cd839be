package pipeline

import "github.com/passant/passant/wire"

// Forget drops a person from the pipeline's memory: the pseudonyms for
// which gone is true from the tracker's memory and its live tracks
// (locate.Tracker.Forget), from the frames waiting to be put in order or
// fused into bursts (a burst under way is emptied, so it locates
// nothing), and from the frames the clock alignment and the quarantine
// remember; and the tracks' names for which track is true. What the
// pipeline already gave its handlers is theirs to forget.
func (p *Pipeline) Forget(gone func(wire.Dev) bool, track func(name string) bool) {
	p.tracker.Forget(gone)
	for k, n := range p.names {
		if track(n) {
			delete(p.names, k)
		}
	}
	p.buf.forget(gone)
	p.fuse.forget(gone)
	if p.clock != nil {
		p.clock.recent.forget(gone)
	}
	if p.quar != nil {
		p.quar.recent.forget(gone)
	}
}

// forget drops the waiting frames of the pseudonyms for which gone is
// true (and the frames already taken, which the queues keep until they
// are reused).
func (r *reorder) forget(gone func(wire.Dev) bool) {
	for i := range r.runs {
		run := &r.runs[i]
		kept := 0
		for j := run.head; j < len(run.q); j++ {
			if gone(run.q[j].obs.Dev) {
				r.n--
				continue
			}
			run.q[kept] = run.q[j]
			kept++
		}
		clear(run.q[kept:])
		run.q, run.head = run.q[:kept], 0
	}
	late := r.late
	r.late = r.late[:0]
	for j := range late {
		f := late[j] // read before a push may write at j
		if gone(f.obs.Dev) {
			r.n--
			continue
		}
		r.late.push(f)
	}
	clear(late[len(r.late):])
	if gone(r.out.obs.Dev) {
		r.out = frame{}
	}
}

// forget empties the bursts under way and those closed and not yet
// located of the pseudonyms for which gone is true: they locate nothing.
func (f *fuser) forget(gone func(wire.Dev) bool) {
	for d, ob := range f.open {
		if gone(d) {
			clear(ob.count)
			clear(ob.sum)
		}
	}
	for _, ob := range f.ready {
		if gone(ob.b.Dev) {
			ob.b.Readings = ob.b.Readings[:0]
		}
	}
}

// forget drops the remembered frames of the pseudonyms for which gone is
// true: their slots keep a key no frame has (a sequence number of -1 is
// never remembered) until the ring reuses them.
func (t *frameTable) forget(gone func(wire.Dev) bool) {
	n := 0
	for s := range t.keys {
		if gone(t.keys[s].dev) {
			t.keys[s], t.vals[s] = frameKey{seq: -1}, frameSeen{}
			n++
		}
	}
	if n > 0 {
		t.rebuild()
	}
}
