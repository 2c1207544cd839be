package locate

import (
	"math"
	"time"
)

// Walking in the store. sameLLR scores a candidate as if the phone had
// stood still since its track's last burst: its RSSI per sensor barely
// changed, and its fix lies within the two fixes' spread. Shoppers walk
// 10 to 20 m between the scans of a phone that takes a new address for
// every scan (every 20 to 90 s), and then their own track fits worse than
// no track at all: their next scan starts a track of its own (a second
// visitor), or goes to another phone of the model that stands where the
// shopper went. So in the store a candidate's evidence is a mixture of the
// phone that stood (sameLLR) and one that walked (its signal says nothing,
// its fix spreads with the walk: walkLLR), in proportion to how likely the
// phone was to walk: walkShare, less for a track that has stood at one
// place for long (staff at the till), whose anchor keeps where and since
// when.

const (
	walkShare = 0.3  // prior share of walks between two scans in the store
	walkSpeed = 0.25 // m/s: the walk's spread grows with the silence at this rate
	// walkSettle is the time constant with which a track that stands at
	// one place walks less.
	walkSettle = 10 * time.Minute
	anchorR    = 4.0             // m: a track within this of its anchor stands there
	anchorAway = 2 * time.Minute // off its anchor this long, a track settles anew
)

// anchor is where a track has stood, and since when.
type anchor struct {
	x, y        float64
	n           int32
	since, away int64 // ms; away: since when it has been off it (0: on it)
}

// keepAnchor moves tr's anchor with its position at now: a running mean
// while the track stays within anchorR of it, a new one once the track has
// been off it for anchorAway.
func (t *Tracker) keepAnchor(tr *track, now int64) {
	a := &tr.anc
	x, y := tr.x.p, tr.y.p
	if a.n == 0 {
		*a = anchor{x: x, y: y, n: 1, since: now}
		return
	}
	if math.Hypot(x-a.x, y-a.y) <= anchorR {
		k := 1 / float64(min(a.n+1, 20))
		a.x += k * (x - a.x)
		a.y += k * (y - a.y)
		a.n++
		a.away = 0
		return
	}
	if a.away == 0 {
		a.away = now
	} else if now-a.away > anchorAway.Milliseconds() {
		*a = anchor{x: x, y: y, n: 1, since: now}
	}
}

// walkLLR returns the evidence that b (its fix d from tr, their combined
// variance sig2, after dt s of silence) comes from tr's phone, l by
// sameLLR, as a mixture of the phone having stood and having walked:
//
//	log((1−w) e^l + w e^lw),  lw = log(vo/vw) − d²/(2 vw) + d²/(2 vo)
//
// with vw = sig2 + 1 + (walkSpeed·dt)² and vo = posSpreadM² + sig2 + 1
// (another phone's spread, as in sameLLR), and w = walkShare, times
// exp(−t/walkSettle) for a track that has stood at its anchor for t.
func (t *Tracker) walkLLR(tr *track, l, d, sig2, dt float64, now int64) float64 {
	w := walkShare
	if a := &tr.anc; a.n > 0 && a.away == 0 {
		w *= math.Exp(-float64(now-a.since) / float64(walkSettle.Milliseconds()))
	}
	vw := sig2 + 1 + (walkSpeed*dt)*(walkSpeed*dt)
	vo := posSpreadM*posSpreadM + sig2 + 1
	lw := math.Log(vo/vw) - d*d/(2*vw) + d*d/(2*vo)
	a, b := math.Log(1-w)+l, math.Log(w)+lw
	m := math.Max(a, b)
	return m + math.Log(math.Exp(a-m)+math.Exp(b-m))
}
