package wire

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Weekday names of the open hours, Monday first.
var dayNames = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// OpenHours are the opening hours per weekday range, local time:
// {"mon-fri":["09:00","20:00"],"sat":["10:00","18:00"]}.
type OpenHours map[string][2]string

func (o OpenHours) validate() error {
	var errs []error
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := parseDayRange(k); err != nil {
			errs = append(errs, fmt.Errorf("%q: %w", k, err))
			continue
		}
		v := o[k]
		a, err1 := parseClock(v[0])
		b, err2 := parseClock(v[1])
		if err1 != nil || err2 != nil || b <= a {
			errs = append(errs, fmt.Errorf("%q: want [\"HH:MM\",\"HH:MM\"] with opening before closing, got %q", k, v))
		}
	}
	return errors.Join(errs...)
}

// IsOpen reports whether the shop is open at local time t. It parses the
// ranges of t's weekday on every call (about 350 ns): for more than a few
// calls, Compile the hours once, where the site is loaded, and ask the
// Hours (about 14 ns, no allocation).
func (o OpenHours) IsOpen(t time.Time) bool {
	if len(o) == 0 {
		return true
	}
	wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
	min := t.Hour()*60 + t.Minute()
	for k, v := range o {
		days, err := parseDayRange(k)
		if err != nil || !days[wd] {
			continue
		}
		a, err1 := parseClock(v[0])
		b, err2 := parseClock(v[1])
		if err1 == nil && err2 == nil && min >= a && min < b {
			return true
		}
	}
	return false
}

// Hours are opening hours compiled for IsOpen: per weekday, Monday first,
// the ranges of minutes of the local day [from, to) when the shop is
// open. The zero Hours (a site without opening hours) is open at all
// times. Hours are read-only and safe for concurrent use.
type Hours struct {
	set  bool
	week [7][]minuteRange
}

type minuteRange struct{ from, to int }

// Compile parses the hours once. Ranges that do not parse (Site.Validate
// refuses them) are left out, as IsOpen always did.
func (o OpenHours) Compile() Hours {
	h := Hours{set: len(o) > 0}
	for k, v := range o {
		days, err := parseDayRange(k)
		if err != nil {
			continue
		}
		a, err1 := parseClock(v[0])
		b, err2 := parseClock(v[1])
		if err1 != nil || err2 != nil {
			continue
		}
		for d, on := range days {
			if on {
				h.week[d] = append(h.week[d], minuteRange{a, b})
			}
		}
	}
	return h
}

// IsOpen reports whether the shop is open at local time t.
func (h Hours) IsOpen(t time.Time) bool {
	if !h.set {
		return true
	}
	wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
	hh, mm, _ := t.Clock()
	m := hh*60 + mm
	for _, r := range h.week[wd] {
		if m >= r.from && m < r.to {
			return true
		}
	}
	return false
}

func parseDayRange(k string) ([7]bool, error) {
	var days [7]bool
	idx := func(n string) int {
		for i, d := range dayNames {
			if d == n {
				return i
			}
		}
		return -1
	}
	for _, part := range strings.Split(k, ",") {
		part = strings.TrimSpace(strings.ToLower(part))
		a, b, isRange := strings.Cut(part, "-")
		i, j := idx(a), idx(a)
		if isRange {
			j = idx(b)
		}
		if i < 0 || j < 0 {
			return days, fmt.Errorf("not a weekday or range of weekdays (mon..sun)")
		}
		for d := i; ; d = (d + 1) % 7 {
			days[d] = true
			if d == j {
				break
			}
		}
	}
	return days, nil
}

func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		if s == "24:00" {
			return 24 * 60, nil
		}
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}
