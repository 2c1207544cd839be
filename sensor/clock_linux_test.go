//go:build linux

package sensor

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestTimexSynced: the kernel's answers that make a clock trusted, and
// those that do not (this container's kernel, unsynchronised, gives the
// second: TIME_ERROR, STA_UNSYNC, maxerror 16 s).
func TestTimexSynced(t *testing.T) {
	for _, c := range []struct {
		name          string
		state         int
		status, maxer int64
		want          bool
	}{
		{"synchronised by chrony", unix.TIME_OK, unix.STA_PLL, 120_000, true},
		{"leap second pending", unix.TIME_INS, unix.STA_PLL | unix.STA_INS, 5_000, true},
		{"never synchronised", unix.TIME_ERROR, unix.STA_UNSYNC, 16_000_000, false},
		{"unsync flag, state ok", unix.TIME_OK, unix.STA_UNSYNC, 1_000, false},
		{"error grown to the limit", unix.TIME_OK, 0, 16_000_000, false},
		{"error state only", unix.TIME_ERROR, 0, 1_000, false},
	} {
		if got := timexSynced(c.state, c.status, c.maxer); got != c.want {
			t.Errorf("%s: synced %v, want %v", c.name, got, c.want)
		}
	}
	t.Logf("this machine's clock: trusted %v", SystemClock{}.Trusted())
}
