package locate

import "math"

// Linking without sequence continuity. Many phones restart their sequence
// number with every new MAC, and several phones of one model (one
// fingerprint) are often about at once. Three things still tell the same
// phone from another of its model:
//
//   - its rhythm: a model probes at intervals within a range of its own
//     (learned per fingerprint from the bursts of pseudonyms seen more than
//     once), so a track silent for less than the model's shortest interval
//     is another phone, and one silent far longer has most likely left;
//   - its signal: the RSSI a sensor hears from one phone changes slowly
//     between bursts (the phone's transmit offset stays, shadowing is
//     correlated over metres), while another phone's differs by its own
//     offset and path;
//   - its position, as before.
//
// sameLLR scores a candidate track as a log-likelihood ratio of "the same
// phone" against "another phone of the model"; the best candidate above
// minLooseLLR continues the track.

const (
	// fadeDB is the per-frame fading of RSSI, dB, as in the locator's
	// noise model (σᵢ² = 4² + 4²/Nᵢ).
	fadeDB = 4.0
	// sigSameDB is the change of one sensor's RSSI between bursts of one
	// phone beyond the fading, dB.
	sigSameDB = 2.0
)

const (
	rhythmBins = 300 // one-second bins of intervals, up to 5 min
	rhythmMin  = 20  // intervals seen before the rhythm is trusted
	// rhythmFPs bounds the fingerprints whose rhythm is learned (1.2 KB
	// each; some phones change their fingerprint with every burst): when
	// full, those with fewer than rhythmMin intervals are forgotten.
	rhythmFPs = 2048
)

const (
	// minLooseLLR is the evidence (log-likelihood ratio, with the side
	// prior) needed to link without sequence continuity; minScanLLR the
	// least for another address of the same scan; storeBonus the log
	// prior odds of a continuation when the track and the burst are both
	// in the store.
	minLooseLLR = 3.5
	minScanLLR  = -10.0
	storeBonus  = 8.0
	sigOtherDB  = 9.0  // difference between two phones of a model at one sensor, dB
	posSpreadM  = 15.0 // spread of another phone's position around the track, m
	// A silence fits the rhythm from 0.9 of its shortest interval to 1.1
	// of its longest.
	rhythmLowFrac = 0.9
	rhythmHiFrac  = 1.1
)

// rhythm is a histogram of the intervals between bursts of one pseudonym,
// per fingerprint, with its 2nd and 98th percentiles.
type rhythm struct {
	bins   [rhythmBins]uint32
	n      uint32
	lo, hi float64 // seconds, valid once n >= rhythmMin
	// addresses of one scan linked by the scan rule, and of them those
	// whose first sequence number continued the scan's last (seqCounts)
	scanPairs, scanSeq uint32
}

// learnRhythm adds the interval dt (ms) between two bursts of one pseudonym
// of fingerprint fp.
func (t *Tracker) learnRhythm(fp string, dt int64) {
	s := dt / 1000
	if dt < 2000 || s >= rhythmBins {
		return
	}
	r := t.rhythmOf(fp)
	if r == nil {
		return
	}
	r.bins[s]++
	r.n++
	if r.n < rhythmMin {
		return
	}
	lo, hi := uint32(math.Ceil(0.02*float64(r.n))), uint32(math.Ceil(0.98*float64(r.n)))
	var c uint32
	r.lo = 0
	for i := range r.bins {
		if c < lo && c+r.bins[i] >= lo {
			r.lo = float64(i)
		}
		c += r.bins[i]
		if c >= hi {
			r.hi = float64(i + 1)
			break
		}
	}
}

// rhythmOf returns fingerprint fp's rhythm, made on first use; nil when
// the table is full of fingerprints that have taught it enough.
func (t *Tracker) rhythmOf(fp string) *rhythm {
	r := t.rhythm[fp]
	if r == nil {
		if len(t.rhythm) >= rhythmFPs {
			for k, x := range t.rhythm {
				if x.n < rhythmMin && x.scanPairs < rhythmMin {
					delete(t.rhythm, k)
				}
			}
			if len(t.rhythm) >= rhythmFPs {
				return nil
			}
		}
		r = &rhythm{}
		t.rhythm[fp] = r
	}
	return r
}

// learnScanSeq counts, for fingerprint fp, an address linked to the scan
// of another by the scan rule, and whether its first sequence number
// continued that one's last (gap, mod 4096).
func (t *Tracker) learnScanSeq(fp string, gap int) {
	r := t.rhythmOf(fp)
	if r == nil {
		return
	}
	r.scanPairs++
	if gap > 0 && gap <= t.opt.SeqGap {
		r.scanSeq++
	}
}

// seqCounts says whether sequence continuity says anything of fingerprint
// fp's phones: not when its phones, changing their address within a scan,
// were seen to start each address on a fresh sequence number (fewer than
// one in ten of at least rhythmMin such addresses continued the one
// before): iPhones, which take a new MAC and sequence number for every
// channel; their continuity with another address is chance.
func (t *Tracker) seqCounts(fp string) bool {
	r := t.rhythm[fp]
	return r == nil || r.scanPairs < rhythmMin || 10*r.scanSeq >= r.scanPairs
}

// rhythmFits says whether a silence of dt ms fits the probing rhythm of
// fingerprint fp: within the learned range of its intervals (with 10% to
// spare), or within NoSeqWindow while the rhythm is unknown.
func (t *Tracker) rhythmFits(fp string, dt int64) bool {
	s := float64(dt) / 1000
	r := t.rhythm[fp]
	if r == nil || r.n < rhythmMin {
		return s <= t.opt.NoSeqWindow.Seconds()
	}
	return s >= rhythmLowFrac*r.lo && s <= rhythmHiFrac*r.hi
}

// keepSignature keeps b's RSSI and frames per sensor as the track's
// signature; with scan set (b is another burst of the scan the signature
// came from: phones that change their address with every channel) the
// two are pooled, each sensor's mean weighted by its frames, so that the
// signature of a scan holds all its frames rather than its last channel's.
func (t *Tracker) keepSignature(tr *track, b *Burst, scan bool) {
	nan := float32(math.NaN())
	if tr.rssi == nil {
		tr.rssi = make([]float32, t.sensors)
		tr.frames = make([]uint8, t.sensors)
		scan = false
	}
	if !scan {
		for i := range tr.rssi {
			tr.rssi[i] = nan
		}
	}
	for _, r := range b.Readings {
		if r.Sensor < 0 || r.Sensor >= len(tr.rssi) {
			continue
		}
		n := min(max(r.N, 1), 255)
		if v := tr.rssi[r.Sensor]; scan && v == v {
			n0 := int(tr.frames[r.Sensor])
			n1 := min(n, 255-n0)
			if n1 <= 0 {
				continue
			}
			tr.rssi[r.Sensor] = float32((float64(v)*float64(n0) + r.RSSI*float64(n1)) / float64(n0+n1))
			tr.frames[r.Sensor] = uint8(n0 + n1)
			continue
		}
		tr.rssi[r.Sensor] = float32(r.RSSI)
		tr.frames[r.Sensor] = uint8(n)
	}
}

// sameLLR is the log-likelihood ratio of b coming from the phone of track
// tr against another phone of its model: per sensor that heard both
// bursts, an RSSI change of N(0, sigSameDB² + f) against a difference of
// N(0, sigOtherDB² + f), f = fadeDB²(1/n₀ + 1/n₁) the per-frame fading
// left in the two bursts' means of n₀ and n₁ frames (real single-sensor
// captures differ by 10–15 dB between the channels of one scan); and the
// distance d from the track to b's fix under N(0, sig2 + 1 m²) per axis
// (sig2 their combined variance) against the spread of another phone's
// position, posSpreadM more.
func (t *Tracker) sameLLR(tr *track, b *Burst, d, sig2 float64) float64 {
	var l float64
	if tr.rssi != nil {
		for _, r := range b.Readings {
			if r.Sensor < 0 || r.Sensor >= len(tr.rssi) {
				continue
			}
			v := tr.rssi[r.Sensor]
			if v != v {
				continue
			}
			f := fadeDB * fadeDB * (1/float64(max(tr.frames[r.Sensor], 1)) + 1/float64(max(r.N, 1)))
			vs, vo := sigSameDB*sigSameDB+f, sigOtherDB*sigOtherDB+f
			e := r.RSSI - float64(v)
			l += 0.5*math.Log(vo/vs) - e*e/(2*vs) + e*e/(2*vo)
		}
	}
	vs := sig2 + 1
	vo := posSpreadM*posSpreadM + vs
	return l + math.Log(vo/vs) - d*d/(2*vs) + d*d/(2*vo)
}

// rhythmAbove says whether a silence of dt ms is not shorter than the
// shortest interval of fingerprint fp's rhythm (true while unknown).
func (t *Tracker) rhythmAbove(fp string, dt int64) bool {
	r := t.rhythm[fp]
	return r == nil || r.n < rhythmMin || float64(dt)/1000 >= rhythmLowFrac*r.lo
}

// sidePrior is the log prior odds of a continuation over a new phone by
// where the track and the burst are: phones come into range on the street
// and through the door, not in the middle of the store, so a new
// pseudonym in the store, where a silent track of its model was, most
// likely continues it.
func (t *Tracker) sidePrior(tr *track) float64 {
	return storeBonus * tr.side[SideStore] * t.post[SideStore]
}
