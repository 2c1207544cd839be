//go:build linux

package sensor

import (
	"golang.org/x/sys/unix"
)

// clockSynced reads the kernel's NTP state (adjtimex with no modes: any
// user may).
func clockSynced() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	return err == nil && timexSynced(state, int64(tx.Status), int64(tx.Maxerror))
}

// timexSynced reads adjtimex's answer: synchronised when the clock state
// is not TIME_ERROR, the status lacks STA_UNSYNC and the maximum error
// (µs) is under MaxClockError.
func timexSynced(state int, status, maxerror int64) bool {
	return state != unix.TIME_ERROR && status&unix.STA_UNSYNC == 0 &&
		maxerror >= 0 && maxerror < MaxClockError.Microseconds()
}
