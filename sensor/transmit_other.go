//go:build !linux

package sensor

import "errors"

// OpenInjector fails: injection needs Linux (AF_PACKET).
func OpenInjector(iface string) (Injector, error) {
	return nil, errors.New("sensor: transmitting (--transmit) needs Linux and a monitor-mode interface whose driver allows injection")
}
