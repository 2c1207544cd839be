// Package footfall computes the shop metrics of the contract's "Footfall
// definitions" from tracked positions and till receipts: passers-by,
// visitors, staff, dwell, new and returning visitors, capture rate,
// occupancy and conversion, per local hour and day.
package footfall

// TrackDay summarises one track on one local day: what classifying it as
// passer-by, visitor or staff needs. Summaries are what storage keeps, so a
// month's report is built from them, not from positions.
type TrackDay struct {
	Site  string
	Day   string // local date, YYYY-MM-DD
	Track string
	First int64 // first detection (any fix) that day, Unix ms
	Last  int64 // last detection that day
	Fixes int
	// FP and Rand are the capability fingerprint and the randomised-MAC
	// flag of the track's first address that day ("" and false when not
	// known): what Estimate needs to find one phone under several tracks.
	FP   string
	Rand bool
	// Open is true while the day may still grow: the counter's watermark
	// has not passed the day's end and the input has not ended. Figures
	// from open days are provisional.
	Open bool
	// KnownStaff marks an open day of a track that was staff on one of the
	// days before (Counter.KnownStaff: a printer, a TV, a staff phone that
	// keeps its address). The day's provisional figures count it as staff
	// from its first fix; once the day is over (not Open, and never
	// stored) it is classified by the contract's rule alone.
	KnownStaff bool
}

// Visit is one stay of a track in a zone: in the store (Zone is the store
// zone's id) or in an area.
type Visit struct {
	Site  string
	Track string
	Zone  string
	// Start and End of a store visit are its first fix in the store and
	// its last before a gap of visit_gap_s, Unix ms. An area visit that
	// begins (ends) with a move inside the store begins (ends) halfway
	// between the fixes before and after the move.
	Start int64
	End   int64
	Fixes int
	// Door to door (store visits; an extension, 0 when unknown): Before
	// is the track's last fix confidently outside the store before the
	// visit, Enter the first fix after it inside the store's outline
	// (at or before Start: fixes there may be held out by the entry
	// rule), After the first fix confidently outside after End.
	Before, Enter, After int64
	// Open is true while the visit may still grow (no gap of visit_gap_s
	// yet); a later summary of the same Track, Zone and Start supersedes it.
	Open bool
}

// Dwell returns the visit's length in seconds.
func (v Visit) Dwell() float64 { return float64(v.End-v.Start) / 1000 }

// Transaction is one till receipt.
type Transaction struct {
	Site   string
	T      int64 // Unix ms
	Amount float64
	// HasAmount is false when the import had no amount column.
	HasAmount bool
	ID        string // the till's receipt id, when given; dedupes re-imports
}
