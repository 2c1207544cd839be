//go:build linux

package sensor

import (
	"golang.org/x/sys/unix"
)

// clockSynced reads the kernel's NTP state (adjtimex with no modes: any
// user may): synchronised when the call says not TIME_ERROR, the status
// lacks STA_UNSYNC and the maximum error (µs) is under MaxClockError.
func clockSynced() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil || state == unix.TIME_ERROR || tx.Status&unix.STA_UNSYNC != 0 {
		return false
	}
	return int64(tx.Maxerror) >= 0 && int64(tx.Maxerror) < MaxClockError.Microseconds()
}
