package locate

// LinkCandidate is one live track that the linker weighed for a new
// randomised pseudonym, and how far it got (TrackerOptions.LinkTrace): a
// diagnostic, for counting why the pseudonyms of one phone were not linked
// (sim's TestSplitReasons, docs/locate.md "Street splits").
type LinkCandidate struct {
	Track string // the candidate's name; "" for the closing record
	// Stage is where the candidate dropped out or was scored: "later" (it
	// sent at or after the burst), "window" (silent longer than
	// LinkWindow), "scan-unfit" (another address of the scan that fits
	// far worse than another phone would), "scan", "speed" (the phone
	// could not have walked to the fix), "seq" (sequence continuity),
	// "rhythm" (its silence does not fit the model's rhythm), "loose"
	// (weighed by its likelihood ratio); "end" closes the list.
	Stage string
	Dt    float64 // its silence, s
	D     float64 // distance from the track to the burst's fix, m
	Sig2  float64 // their combined variance, m²
	LLR   float64 // sameLLR ("loose", "rhythm", "speed", "scan-unfit")
	Side  float64 // the side prior added to LLR for a loose link
	N     int     // "end": the loose candidates compared (the bar's n)
	Into  string  // "review": the track the scan moved to
}

// note hands a candidate to the LinkTrace hook, if any.
func (t *Tracker) note(tr *track, stage string, dt, d, sig2, l, side float64) {
	if t.opt.LinkTrace == nil {
		return
	}
	t.opt.LinkTrace(LinkCandidate{Track: t.name(tr.num), Stage: stage, Dt: dt, D: d, Sig2: sig2, LLR: l, Side: side})
}
