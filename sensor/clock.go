package sensor

import "time"

// Clock is a node's wall clock, and whether it can be trusted. A node
// that holds only an epoch key moves the key past its epoch only on a
// trusted clock: the move is for good (the old key is forgotten and the
// key file rewritten), so a clock that reads years ahead at boot (a
// Raspberry Pi's bad RTC before NTP corrects it) must not make it.
type Clock interface {
	// Now is the wall clock.
	Now() time.Time
	// Trusted reports whether Now is known to be right: on Linux, the
	// kernel says the clock is synchronised (SystemClock).
	Trusted() bool
}

// SystemClock is the system's clock, trusted when the kernel reports it
// synchronised: on Linux adjtimex(2) without STA_UNSYNC and a maximum
// error under MaxClockError (chrony, ntpd and systemd-timesyncd set
// them); never on platforms without adjtimex, where a node whose clock
// is trusted says so with TrustedClock (`passant sensor --clock-trusted`).
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Trusted asks the kernel whether the clock is synchronised.
func (SystemClock) Trusted() bool { return clockSynced() }

// TrustedClock is the system's clock, trusted without asking the kernel:
// for nodes that know their clock is right by other means (a GPS clock,
// a platform without adjtimex) and for the simulator and tests.
type TrustedClock struct{}

// Now returns time.Now().
func (TrustedClock) Now() time.Time { return time.Now() }

// Trusted returns true.
func (TrustedClock) Trusted() bool { return true }

// MaxClockError is the largest maximum error (adjtimex's maxerror) of a
// synchronised clock that is trusted; the kernel itself marks a clock
// unsynchronised once the error it estimates reaches 16 s.
const MaxClockError = 16 * time.Second
