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

// IsOpen reports whether the shop is open at local time t.
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
