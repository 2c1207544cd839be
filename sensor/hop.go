package sensor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Hopper moves a monitor-mode interface across channels, Dwell on each.
// Phones probe on every channel in turn, so hopping over 1, 6 and 11 hears
// most of them while a fixed channel hears about a third as many frames.
type Hopper struct {
	Iface    string
	Channels []int
	Dwell    time.Duration // default 250 ms
	// Set tunes the interface; default SetChannel (the iw command).
	Set func(ctx context.Context, iface string, ch int) error
	Log *slog.Logger

	current atomic.Int32
}

// ParseChannels reads a channel list such as "1,6,11".
func ParseChannels(s string) ([]int, error) {
	var chs []int
	for _, f := range strings.Split(s, ",") {
		ch, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || ch < 1 || ch > 233 {
			return nil, fmt.Errorf("sensor: channel list %q: want numbers such as 1,6,11", s)
		}
		chs = append(chs, ch)
	}
	return chs, nil
}

// SetChannel runs `iw dev IFACE set channel CH`.
func SetChannel(ctx context.Context, iface string, ch int) error {
	out, err := exec.CommandContext(ctx, "iw", "dev", iface, "set", "channel", strconv.Itoa(ch)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("sensor: iw dev %s set channel %d: %w: %s", iface, ch, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Current returns the channel last tuned to; 0 before the first.
func (h *Hopper) Current() int { return int(h.current.Load()) }

// Run hops until ctx is done. It fails at once when the first channel
// cannot be set (no iw, no permission); later failures are logged and the
// hop goes on.
func (h *Hopper) Run(ctx context.Context) error {
	if len(h.Channels) == 0 {
		return errors.New("sensor: no channels to hop")
	}
	set, dwell, log := h.Set, h.Dwell, h.Log
	if set == nil {
		set = SetChannel
	}
	if dwell <= 0 {
		dwell = 250 * time.Millisecond
	}
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(dwell)
	defer t.Stop()
	for i := 0; ; i++ {
		ch := h.Channels[i%len(h.Channels)]
		if err := set(ctx, h.Iface, ch); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if i == 0 {
				return err
			}
			log.Warn("sensor: channel hop failed", "err", err)
		} else {
			h.current.Store(int32(ch))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
