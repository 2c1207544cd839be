package locate

import "fmt"

// CheckDevsOf checks devsOf against devs: every pseudonym's entry is on
// the list of the track it names.
func (t *Tracker) CheckDevsOf() error {
	for d, e := range t.devs {
		found := false
		for _, x := range t.devsOf[e.track] {
			found = found || x == d
		}
		if !found {
			return fmt.Errorf("pseudonym %v of track %d is not on its list %v", d, e.track, t.devsOf[e.track])
		}
	}
	return nil
}
