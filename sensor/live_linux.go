//go:build linux

package sensor

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/pcapgo"
)

// arphrdRadiotap is the ARPHRD type of a Linux interface in monitor mode
// that delivers radiotap headers.
const arphrdRadiotap = "803"

// LiveSource captures from a Linux monitor-mode interface through an
// AF_PACKET socket (pcapgo.EthernetHandle), in pure Go: no libpcap, no cgo.
type LiveSource struct {
	iface string
	h     *pcapgo.EthernetHandle
}

// OpenLive opens iface, which must be in monitor mode (see docs/sensor.md).
// It needs CAP_NET_RAW (root).
func OpenLive(iface string) (*LiveSource, error) { return openLive(iface, true) }

// openLive opens iface; without monitor it takes any interface (for tests).
func openLive(iface string, monitor bool) (*LiveSource, error) {
	typ, err := os.ReadFile("/sys/class/net/" + iface + "/type")
	if err != nil {
		return nil, fmt.Errorf("sensor: interface %s: %w", iface, err)
	}
	if t := strings.TrimSpace(string(typ)); monitor && t != arphrdRadiotap {
		return nil, fmt.Errorf("sensor: interface %s is not in monitor mode with radiotap headers "+
			"(link type %s, want %s); e.g. `iw dev %s set type monitor` while it is down, or "+
			"`iw phy phy0 interface add mon0 type monitor` (docs/sensor.md)", iface, t, arphrdRadiotap, iface)
	}
	h, err := pcapgo.NewEthernetHandle(iface)
	if err != nil {
		return nil, fmt.Errorf("sensor: capture on %s: %w (it needs root or CAP_NET_RAW)", iface, err)
	}
	if err := h.SetCaptureLength(8192); err != nil {
		h.Close()
		return nil, fmt.Errorf("sensor: capture on %s: %w", iface, err)
	}
	return &LiveSource{iface: iface, h: h}, nil
}

// Next implements Source. A monitor-mode interface hears beacons ten times
// a second, so the blocking read returns often enough to notice ctx.
func (s *LiveSource) Next(ctx context.Context) ([]byte, gopacket.CaptureInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, gopacket.CaptureInfo{}, err
	}
	data, ci, err := s.h.ZeroCopyReadPacketData()
	if err != nil {
		return nil, ci, fmt.Errorf("sensor: capture on %s: %w", s.iface, err)
	}
	return data, ci, nil
}

// Now implements Source: the wall clock.
func (s *LiveSource) Now() int64 { return time.Now().UnixMilli() }

// Close implements Source.
func (s *LiveSource) Close() error {
	s.h.Close()
	return nil
}
