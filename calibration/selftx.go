package calibration

import (
	"sort"
	"strings"
)

// linkMean is one link of a sensor at a refit: an anchor (under all its
// pseudonyms) in one band, the mean of its frames in the window.
type linkMean struct {
	anchor string // anchorKey
	band5  bool
	mean   float64 // dB, less the anchor's TxDB
	d      float64 // m
}

// baseKey names a link's baseline: receiving sensor, anchor, band.
type baseKey struct {
	sensor int
	anchor string
	band5  bool
}

// linkMeans drops sensor i's expired samples and returns its links at now,
// in a fixed order. One datum per link (anchor, band): the mean of its
// frames. A link's shadowing does not change while nothing moves, so its
// thousand frames are one measurement, not a thousand. Under f.mu.
func (f *SelfFitter) linkMeans(i int, now int64) []linkMean {
	type acc struct {
		sum, d float64
		n      int
	}
	sums := map[baseKey]*acc{}
	var order []baseKey
	keep := f.samples[i][:0]
	for _, x := range f.samples[i] {
		a := f.anchors[x.anchor]
		if x.t < now-f.window || a == nil {
			continue // expired, or no longer an anchor
		}
		keep = append(keep, x)
		if x.t > now {
			continue
		}
		k := baseKey{i, anchorKey(a, x.anchor), x.band5}
		s := sums[k]
		if s == nil {
			s = &acc{d: x.s.D}
			sums[k] = s
			order = append(order, k)
		}
		s.sum += x.s.RSSI
		s.n++
	}
	f.samples[i] = keep
	sort.Slice(order, func(a, b int) bool {
		if order[a].anchor != order[b].anchor {
			return order[a].anchor < order[b].anchor
		}
		return !order[a].band5 && order[b].band5
	})
	out := make([]linkMean, len(order))
	for k, key := range order {
		s := sums[key]
		out[k] = linkMean{anchor: key.anchor, band5: key.band5, mean: s.sum / float64(s.n), d: s.d}
	}
	return out
}

// txChanges estimates how much the transmit gain of each anchor that is a
// sensor of the site has changed since its links were first seen, dB by
// anchor key. A sensor's antenna knocked askew, or a shelf put in front of
// it, weakens what it sends as much as what it hears: every link to that
// sensor then loses the same, and without this the sensors hearing it
// would show part of its loss as drift of their own.
//
// Each link's change since its baseline (its mean at the first refit that
// had it) is δ_ij = r_i + t_j: the receiver's change plus the
// transmitter's. r and t are found by alternating medians (robust to a
// link that changed on its own, a shelf between two sensors), with the
// median t over the sensor anchors held at 0: most transmitters did not
// change. Fixed anchors (a printer) have t = 0. Under f.mu.
func (f *SelfFitter) txChanges(links [][]linkMean) map[string]float64 {
	if f.base == nil {
		f.base = map[baseKey]float64{}
	}
	type change struct {
		sensor int
		anchor string
		delta  float64
	}
	var changes []change
	receivers := map[string]int{}
	for i, ls := range links {
		for _, l := range ls {
			k := baseKey{i, l.anchor, l.band5}
			b, ok := f.base[k]
			if !ok {
				f.base[k] = l.mean
				continue
			}
			changes = append(changes, change{i, l.anchor, l.mean - b})
			if f.sensorAnchor(l.anchor) {
				receivers[l.anchor]++
			}
		}
	}
	t := map[string]float64{}
	if len(receivers) == 0 {
		return t
	}
	r := make([]float64, len(links))
	for range 8 {
		per := make([][]float64, len(links))
		for _, c := range changes {
			per[c.sensor] = append(per[c.sensor], c.delta-t[c.anchor])
		}
		for i := range r {
			r[i] = 0
			if len(per[i]) > 0 {
				r[i] = median(per[i])
			}
		}
		byAnchor := map[string][]float64{}
		for _, c := range changes {
			if receivers[c.anchor] >= 2 {
				byAnchor[c.anchor] = append(byAnchor[c.anchor], c.delta-r[c.sensor])
			}
		}
		var ts []float64
		for a, v := range byAnchor {
			t[a] = median(v)
			ts = append(ts, t[a])
		}
		if len(ts) > 0 {
			m := median(ts)
			for a := range byAnchor {
				t[a] -= m
			}
		}
	}
	return t
}

// sensorAnchor reports whether an anchor key names a sensor of the site.
func (f *SelfFitter) sensorAnchor(key string) bool {
	id, ok := strings.CutPrefix(key, "id:")
	if !ok {
		return false
	}
	_, ok = f.sensors[id]
	return ok
}
