package pipeline

import (
	"sort"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

// fuser groups the frames of one device, released in event-time order, into
// bursts: a probe burst lands on every sensor within milliseconds, and the
// frames of one scan follow each other closely; the next scan comes seconds
// later. A burst collects frames that follow the previous one by at most gap,
// for at most maxLen. Per sensor it averages the RSSI in dB, with 5 GHz frames
// moved to the 2.4 GHz band by the sensor's offset.
type fuser struct {
	gap, maxLen int64
	offset5     []float64 // per sensor
	open        map[wire.Dev]*openBurst
	closing     deadlineQueue
	ready       burstHeap
	free        []*openBurst
}

type openBurst struct {
	b      locate.Burst
	sum    []float64 // per sensor, dB
	count  []int
	last   int64
	closed bool
}

func newFuser(gap, maxLen int64, offset5 []float64) *fuser {
	return &fuser{gap: gap, maxLen: maxLen, offset5: offset5, open: make(map[wire.Dev]*openBurst)}
}

// add takes the next frame in event-time order.
func (f *fuser) add(fr *frame) {
	f.closeBefore(fr.t)
	ob := f.open[fr.obs.Dev]
	if ob != nil && fr.t-ob.b.T > f.maxLen {
		f.close(ob)
		ob = nil
	}
	if ob == nil {
		ob = f.alloc()
		ob.b.T = fr.t
		ob.b.Dev = fr.obs.Dev
		ob.b.Rand = fr.obs.Rand
		ob.b.SeqFirst = fr.obs.Seq
		f.open[fr.obs.Dev] = ob
	}
	rssi := fr.obs.RSSI
	if fr.obs.Band5GHz() {
		rssi -= f.offset5[fr.sensor]
	}
	ob.sum[fr.sensor] += rssi
	ob.count[fr.sensor]++
	ob.last = fr.t
	ob.b.End = fr.t
	if fr.obs.Seq >= 0 {
		if ob.b.SeqFirst < 0 {
			ob.b.SeqFirst = fr.obs.Seq
		}
		ob.b.SeqLast = fr.obs.Seq
	}
	if ob.b.FP == "" {
		ob.b.FP = fr.obs.FP
	}
	f.closing.push(deadline{ob.last + f.gap, ob.b.Dev, ob})
}

func (f *fuser) alloc() *openBurst {
	n := len(f.offset5)
	if k := len(f.free); k > 0 {
		ob := f.free[k-1]
		f.free = f.free[:k-1]
		clear(ob.sum)
		clear(ob.count)
		ob.b = locate.Burst{Readings: ob.b.Readings[:0], SeqFirst: -1, SeqLast: -1}
		ob.closed = false
		return ob
	}
	return &openBurst{sum: make([]float64, n), count: make([]int, n), b: locate.Burst{SeqFirst: -1, SeqLast: -1}}
}

// closeBefore closes the bursts that no frame at time t or later can join.
func (f *fuser) closeBefore(t int64) {
	for f.closing.head < len(f.closing.q) && f.closing.q[f.closing.head].at < t {
		d := f.closing.pop()
		// A burst is open (not closed) exactly while it is f.open's entry
		// for its dev, so an open d.ob of d.dev is f.open[d.dev] (one that
		// was closed, recycled and opened again for another dev is not).
		if d.ob.closed || d.ob.b.Dev != d.dev || d.ob.last+f.gap != d.at {
			continue // stale entry: the burst grew or was closed since
		}
		f.close(d.ob)
	}
}

func (f *fuser) close(ob *openBurst) {
	ob.closed = true
	delete(f.open, ob.b.Dev)
	ob.b.Readings = ob.b.Readings[:0]
	for s, c := range ob.count {
		if c > 0 {
			ob.b.Readings = append(ob.b.Readings, locate.Reading{Sensor: s, RSSI: ob.sum[s] / float64(c), N: c})
		}
	}
	f.ready.push(ob)
}

// closeAll closes every open burst (end of input), in a stable order.
func (f *fuser) closeAll() {
	obs := make([]*openBurst, 0, len(f.open))
	for _, ob := range f.open {
		obs = append(obs, ob)
	}
	sort.Slice(obs, func(i, j int) bool { return obs[i].b.Dev < obs[j].b.Dev })
	for _, ob := range obs {
		f.close(ob)
	}
	f.closing = deadlineQueue{q: f.closing.q[:0]}
}

// emit hands the closed bursts whose start is at most upTo to fn in order of
// (T, Dev), and recycles them. A burst that started at T is closed at the
// latest by T + maxLen + gap, so emitting up to cursor - maxLen - gap keeps
// the order of T exact.
func (f *fuser) emit(upTo int64, fn func(*locate.Burst)) {
	for len(f.ready) > 0 && f.ready[0].b.T <= upTo {
		ob := f.ready.pop()
		fn(&ob.b)
		f.free = append(f.free, ob)
	}
}

type deadline struct {
	at  int64
	dev wire.Dev
	ob  *openBurst
}

// deadlineQueue holds the open bursts' deadlines in the order they were
// pushed, which is the order of their times: add takes frames in
// event-time order and pushes the frame's time plus the fixed gap, so the
// times pushed never decrease and a first-in, first-out queue pops them as
// a heap by time would. (Among equal times a heap would pop by dev; the
// bursts closed then are independent of each other, and the ready heap
// orders them by (T, dev) whatever order they close in.)
type deadlineQueue struct {
	q    []deadline
	head int // q[head:] are waiting
}

func (d *deadlineQueue) push(v deadline) {
	if d.head > 0 && d.head == len(d.q) {
		d.q, d.head = d.q[:0], 0
	} else if d.head >= 1024 && 2*d.head >= len(d.q) {
		n := copy(d.q, d.q[d.head:])
		clear(d.q[n:]) // let the garbage collector have what they point to
		d.q, d.head = d.q[:n], 0
	}
	d.q = append(d.q, v)
}

// pop takes the oldest deadline out; the queue must not be empty.
func (d *deadlineQueue) pop() deadline {
	v := d.q[d.head]
	d.q[d.head] = deadline{}
	d.head++
	return v
}

// burstHeap orders the closed bursts by (T, dev).
type burstHeap = heap[*openBurst, byBurstTime]

type byBurstTime struct{}

func (byBurstTime) less(a, b **openBurst) bool {
	if (*a).b.T != (*b).b.T {
		return (*a).b.T < (*b).b.T
	}
	return (*a).b.Dev < (*b).b.Dev
}
