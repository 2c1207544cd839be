//go:build linux

package sensor

import (
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// afPacketInjector sends frames through a raw AF_PACKET socket bound to
// one interface, in pure Go (no libpcap, no cgo). The socket's protocol is
// 0, so it receives nothing.
type afPacketInjector struct {
	iface string
	fd    int
	addr  unix.SockaddrLinklayer
}

// OpenInjector opens iface for injection. It must be in monitor mode with
// radiotap headers (the capture interface may serve), and its driver must
// allow injection (docs/sensor.md lists some that do). It needs
// CAP_NET_RAW (root).
func OpenInjector(iface string) (Injector, error) { return openInjector(iface, true) }

// openInjector opens iface; without monitor it takes any interface (tests
// inject on the loopback interface).
func openInjector(iface string, monitor bool) (Injector, error) {
	typ, err := os.ReadFile("/sys/class/net/" + iface + "/type")
	if err != nil {
		return nil, fmt.Errorf("sensor: transmit interface %s: %w", iface, err)
	}
	if t := strings.TrimSpace(string(typ)); monitor && t != arphrdRadiotap {
		return nil, fmt.Errorf("sensor: transmit interface %s is not in monitor mode with radiotap headers "+
			"(link type %s, want %s); see docs/sensor.md", iface, t, arphrdRadiotap)
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("sensor: transmit interface %s: %w", iface, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sensor: transmit on %s: %w (it needs root or CAP_NET_RAW)", iface, err)
	}
	in := &afPacketInjector{iface: iface, fd: fd, addr: unix.SockaddrLinklayer{Ifindex: ifi.Index}}
	if err := unix.Bind(fd, &in.addr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sensor: transmit on %s: bind: %w", iface, err)
	}
	return in, nil
}

// Inject implements Injector.
func (in *afPacketInjector) Inject(frame []byte) error {
	if err := unix.Sendto(in.fd, frame, 0, &in.addr); err != nil {
		return fmt.Errorf("sensor: transmit on %s: %w", in.iface, err)
	}
	return nil
}

// Close implements Injector.
func (in *afPacketInjector) Close() error { return unix.Close(in.fd) }
