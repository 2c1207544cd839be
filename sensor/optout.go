package sensor

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// OptOut is a set of MAC addresses whose frames the sensor drops before
// anything else happens to them: no pseudonym, no observation, no count
// beyond "opted out".
type OptOut map[MAC]struct{}

// LoadOptOut reads an opt-out file: one MAC address per line (any of the
// forms ParseMAC reads), blank lines and # comments ignored. Its errors name
// the line, never its content.
func LoadOptOut(name string) (OptOut, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("sensor: opt-out file: %w", err)
	}
	defer f.Close()
	o, err := ReadOptOut(f)
	if err != nil {
		return nil, fmt.Errorf("sensor: opt-out file %s: %w", name, err)
	}
	return o, nil
}

// ReadOptOut reads the opt-out list from r.
func ReadOptOut(r io.Reader) (OptOut, error) {
	o := OptOut{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := ParseMAC(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		o[m] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return o, nil
}

// Has reports whether m opted out.
func (o OptOut) Has(m MAC) bool {
	_, ok := o[m]
	return ok
}
