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
	// fadePairs is the weight of the prior a = 0, b = fadeDB² (as pairs
	// of a scan's addresses) beside the fading learned from them
	// (learnFade).
	fadePairs = 200
	// fadeChannelShare is the share of the channels' part a of the
	// fading that sameLLR adds to the per-frame part (see learnFade).
	fadeChannelShare = 1.0 / 6
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
			// two addresses of one scan: one phone, place and moment,
			// other channels
			e := r.RSSI - float64(v)
			x := 1/float64(max(n0, 1)) + 1/float64(n)
			t.learnFade(x, math.Min(e*e, 9*(t.fadeA+t.fadeB*x)))
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
// N(0, sigOtherDB² + f), f = b(1/n₀ + 1/n₁) + a/6 the fading left in the
// two bursts' means of n₀ and n₁ frames, b per frame and a the channels'
// part, both learned from the addresses of one scan (learnFade; real
// single-sensor captures differ by 10–15 dB between the channels of one
// scan); and the
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
			f := t.fadeB*(1/float64(max(tr.frames[r.Sensor], 1))+1/float64(max(r.N, 1))) + fadeChannelShare*t.fadeA
			l += signalTerm(r.RSSI-float64(v), f)
		}
	}
	return l + placeTerm(d, sig2)
}

// signalTerm is one sensor's part of sameLLR: an RSSI change e of N(0,
// sigSameDB² + f) for the same phone against N(0, sigOtherDB² + f) for
// another, f the fading left in the two means.
func signalTerm(e, f float64) float64 {
	vs, vo := sigSameDB*sigSameDB+f, sigOtherDB*sigOtherDB+f
	return 0.5*math.Log(vo/vs) - e*e/(2*vs) + e*e/(2*vo)
}

// placeTerm is sameLLR's position term: the distance d from the track to
// the fix under N(0, sig2 + 1 m²) per axis against another phone's spread,
// posSpreadM more.
func placeTerm(d, sig2 float64) float64 {
	vs := sig2 + 1
	vo := posSpreadM*posSpreadM + vs
	return math.Log(vo/vs) - d*d/(2*vs) + d*d/(2*vo)
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

// learnFade learns the fading from two addresses of one scan (phones that
// take a new address per channel; keepSignature): y = e², the squared
// difference of a sensor's means of n₀ and n₁ frames, x = 1/n₀ + 1/n₁,
// fitted by least squares as y = a + b·x: b the per-frame fading, a the
// part that does not shrink with the frames (the channels differ by
// frequency-selective multipath: a per-channel offset per phone and
// sensor, docs/sim.md, Radio). Each y is clipped at 9× the fit's
// expectation. The prior is fadePairs pairs on a = 0, b = fadeDB², half
// at x = ½ and half at x = 2. sameLLR takes b per frame and
// fadeChannelShare of a: between a scan's pooled signature and one
// address of the next scan of a standing phone the channels' offsets
// partly cancel (the same channels, the same offsets).
func (t *Tracker) learnFade(x, y float64) {
	f := &t.fadeFit
	f[0]++
	f[1] += x
	f[2] += x * x
	f[3] += y
	f[4] += x * y
	t.solveFade()
}

// solveFade fits a and b from fadeFit and the prior (learnFade), a ≥ 0,
// b ≥ 1 dB².
func (t *Tracker) solveFade() {
	w := fadePairs / 2.0
	b0 := fadeDB * fadeDB
	n := t.fadeFit[0] + 2*w
	sx := t.fadeFit[1] + w*(0.5+2)
	sxx := t.fadeFit[2] + w*(0.25+4)
	sy := t.fadeFit[3] + w*b0*(0.5+2)
	sxy := t.fadeFit[4] + w*b0*(0.25+4)
	b := (n*sxy - sx*sy) / (n*sxx - sx*sx)
	a := (sy - b*sx) / n
	if a < 0 {
		a, b = 0, sxy/sxx
	}
	if b < 1 {
		b = 1
		a = math.Max(0, (sy-sx)/n)
	}
	t.fadeA, t.fadeB = a, b
}

// Fading returns the fading learned from the addresses of one scan
// (learnFade): the channels' part a and the per-frame fading b, as dB
// (√a, √b).
func (t *Tracker) Fading() (channelDB, frameDB float64) {
	return math.Sqrt(t.fadeA), math.Sqrt(t.fadeB)
}
