package sensor

import (
	"log/slog"
	"time"
)

// keyGuard decides whether a frame past the epoch of the key a node holds
// may move the key forward. The move is for good: the Pseudonymizer
// forgets the old key and the key file is rewritten (forward secrecy), so
// a frame stamped by a clock that reads wrong (a Raspberry Pi whose RTC
// reads years ahead at boot, before NTP corrects it) would leave the node
// with a future key, dropping everything once the clock is put right. So
// the key moves only
//
//   - on a trusted clock (Clock.Trusted: the kernel says synchronised, or
//     the node was told its clock is right);
//   - once that clock itself has reached the new epoch (a frame stamped up
//     to MaxAhead ahead of it does not move the key early).
//
// A trusted clock may move it several epochs at once: a node switched off
// for longer than an epoch, on a synchronised clock, picks up where the
// present is (until 2026-12-06 it moved one epoch at a time and such a
// node dropped every frame until it was given the current key).
//
// A frame that may not move the key is dropped and counted
// (NodeStats.BeyondKey), not held: its time came from the clock that is
// not trusted, so once the clock is corrected it would be stamped wrong
// anyway, and holding it would keep raw MAC addresses in memory for as
// long as the clock stays unsynchronised (an offline node: for ever).
type keyGuard struct {
	clock  Clock
	period time.Duration
	log    *slog.Logger

	trusted   bool
	checkedAt time.Time // when trusted was asked, by the clock
	told      [2]bool   // a reason already logged
}

// The reasons a frame may not move the key.
const (
	heldUntrusted = iota // the clock is not trusted
	heldEarly            // the trusted clock has not reached the epoch
)

// trustEvery is how often the guard asks the clock whether it is trusted
// while frames come past the key's epoch.
const trustEvery = time.Second

// mayMove reports whether a frame at t (Unix ms), at or past keyEnd (when
// the held key's epoch ends), may move the key to t's epoch.
func (g *keyGuard) mayMove(t, keyEnd int64) bool {
	now := g.clock.Now()
	if !g.trusted || now.Sub(g.checkedAt) >= trustEvery || now.Before(g.checkedAt) {
		g.trusted, g.checkedAt = g.clock.Trusted(), now
	}
	if !g.trusted {
		g.tell(heldUntrusted, "sensor: the clock is not synchronised: frames past the epoch key's epoch are dropped "+
			"until it is (or run with --clock-trusted)", "key_until", time.UnixMilli(keyEnd).UTC())
		return false
	}
	// The clock must have reached the epoch the frame moves the key to,
	// not only the end of the held key's: a frame stamped epochs ahead
	// (within MaxAhead) would leave the clock's own epoch behind the key.
	if now.UnixMilli() < max(keyEnd, Epoch(t, g.period)*g.period.Milliseconds()) {
		g.tell(heldEarly, "sensor: frames stamped past the epoch key's epoch before the clock reached it are dropped",
			"key_until", time.UnixMilli(keyEnd).UTC())
		return false
	}
	return true
}

func (g *keyGuard) tell(reason int, msg string, args ...any) {
	if g.told[reason] {
		return
	}
	g.told[reason] = true
	g.log.Warn(msg, args...)
}
