//go:build !linux

package sensor

import (
	"context"
	"errors"

	"github.com/google/gopacket"
)

// LiveSource captures from a monitor-mode interface; only on Linux.
type LiveSource struct{}

// OpenLive fails: live capture needs Linux (AF_PACKET).
func OpenLive(iface string) (*LiveSource, error) {
	return nil, errors.New("sensor: live capture needs Linux; read capture files with --pcap")
}

// Next implements Source.
func (s *LiveSource) Next(context.Context) ([]byte, gopacket.CaptureInfo, error) {
	return nil, gopacket.CaptureInfo{}, errors.New("sensor: no live capture here")
}

// Now implements Source.
func (s *LiveSource) Now() int64 { return 0 }

// Close implements Source.
func (s *LiveSource) Close() error { return nil }
