package wire

// Report is report.json: footfall over [From, To), Unix ms. Ratios and
// medians are nil (JSON null) when their denominator is zero.
type Report struct {
	Site   string      `json:"site"`
	From   int64       `json:"from"`
	To     int64       `json:"to"`
	Totals Totals      `json:"totals"`
	Hours  []Hour      `json:"hours"`
	Zones  []ZoneStat  `json:"zones"`
	Paths  []PathStat  `json:"paths"`
	Days   []Day       `json:"days,omitempty"`  // extension: per local day
	Extra  *ReportMore `json:"extra,omitempty"` // extension
}

// Totals are the figures over the whole report.
type Totals struct {
	Passersby    int          `json:"passersby"`
	Visitors     int          `json:"visitors"`
	Staff        int          `json:"staff"`
	CaptureRate  *float64     `json:"capture_rate"`
	DwellMedianS *float64     `json:"dwell_median_s"`
	New          int          `json:"new"`
	Returning    int          `json:"returning"`
	Bounces      int          `json:"bounces"`
	DwellBuckets DwellBuckets `json:"dwell_buckets"`
	Transactions *int         `json:"transactions,omitempty"`
	Conversion   *float64     `json:"conversion,omitempty"`
	// Extensions.
	Visits     int      `json:"visits"`
	BounceRate *float64 `json:"bounce_rate"`
	Estimate
	// ReturningEst is the returning visitors estimated among all visitors
	// from the share among those whose phone keeps its address (the only
	// ones that can be recognised on another day); nil when there are
	// none.
	ReturningEst *float64 `json:"returning_est"`
}

// Estimate holds the estimates beside the contract's counts (extension):
// passers-by as people, not tracks, where one phone under several random
// addresses counts once in expectation (footfall's passerWeights), the
// capture rate with it, and the median dwell door to door: with the time
// before a visit's first fix and after its last (footfall's
// visitEstimate), over the visitors whose first store visit cannot be a
// piece of another track's phone (footfall's markHandoffs).
type Estimate struct {
	PassersbyEst    float64  `json:"passersby_est"`
	CaptureRateEst  *float64 `json:"capture_rate_est"`
	DwellMedianEstS *float64 `json:"dwell_median_est_s"`
}

// DwellBuckets count visits by dwell, as shops know them.
type DwellBuckets struct {
	LT5m    int `json:"lt5m"`
	M5to20  int `json:"5to20m"`
	M20to60 int `json:"20to60m"`
	H1to6   int `json:"1to6h"`
	GT6h    int `json:"gt6h"`
}

// Add counts one dwell of d seconds.
func (b *DwellBuckets) Add(d float64) {
	switch {
	case d < 5*60:
		b.LT5m++
	case d < 20*60:
		b.M5to20++
	case d < 60*60:
		b.M20to60++
	case d < 6*3600:
		b.H1to6++
	default:
		b.GT6h++
	}
}

// Hour is one local clock hour.
type Hour struct {
	Start         int64    `json:"start"`
	Passersby     int      `json:"passersby"`
	Visitors      int      `json:"visitors"`
	CaptureRate   *float64 `json:"capture_rate"`
	DwellMedianS  *float64 `json:"dwell_median_s"`
	OccupancyMax  int      `json:"occupancy_max"`
	OccupancyMean float64  `json:"occupancy_mean"`
	Transactions  *int     `json:"transactions,omitempty"`
	Conversion    *float64 `json:"conversion,omitempty"`
	// Extensions.
	Staff int  `json:"staff"`
	Open  bool `json:"open"`
	Estimate
}

// Day is one local day (extension).
type Day struct {
	Date         string   `json:"date"` // YYYY-MM-DD, local
	Start        int64    `json:"start"`
	Passersby    int      `json:"passersby"`
	Visitors     int      `json:"visitors"`
	Staff        int      `json:"staff"`
	CaptureRate  *float64 `json:"capture_rate"`
	DwellMedianS *float64 `json:"dwell_median_s"`
	New          int      `json:"new"`
	Returning    int      `json:"returning"`
	Transactions *int     `json:"transactions,omitempty"`
	Conversion   *float64 `json:"conversion,omitempty"`
	Estimate
	ReturningEst *float64 `json:"returning_est"` // as in Totals
}

// ZoneStat counts the visits to one zone.
type ZoneStat struct {
	Zone         string   `json:"zone"`
	Visits       int      `json:"visits"`
	DwellMedianS *float64 `json:"dwell_median_s"`
}

// PathStat counts the moves of tracks from one zone to another.
type PathStat struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Count int    `json:"count"`
}

// ReportMore holds figures beyond the contract's.
type ReportMore struct {
	Loyalty      map[string]int `json:"loyalty,omitempty"` // first-time, occasional, weekly, daily
	BusiestHours []int64        `json:"busiest_hours,omitempty"`
	BusiestDays  []string       `json:"busiest_days,omitempty"`
	Sequences    []Sequence     `json:"sequences,omitempty"`
}

// Sequence is a common sequence of zones visited.
type Sequence struct {
	Zones []string `json:"zones"`
	Count int      `json:"count"`
}

// Ratio returns num/den, or nil when den is 0.
func Ratio(num, den float64) *float64 {
	if den == 0 {
		return nil
	}
	r := num / den
	return &r
}
