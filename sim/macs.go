package sim

// EachMAC calls fn with the MAC address each phone present in the shop uses
// now: the raw identifiers the simulated sensors pseudonymise. It exists for
// privacy tests, which scan everything the system emits for these addresses
// (and their unkeyed hashes). Call it from the goroutine running the shop,
// e.g. from the Emit callback: every address a phone used for a burst is
// current at the next batch after that burst.
func (s *Shop) EachMAC(fn func(mac [6]byte)) {
	for _, p := range s.people {
		if p.phone == nil || p.phone.macs == 0 {
			continue
		}
		fn(p.phone.mac)
	}
}
