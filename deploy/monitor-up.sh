#!/bin/sh
# monitor-up PHY IFACE: make IFACE a monitor-mode interface on PHY and bring
# it up, unless it exists already in monitor mode. Needs iw and ip.
set -eu
phy=${1:-phy0}
iface=${2:-mon0}
if [ -e "/sys/class/net/$iface" ]; then
    if [ "$(cat "/sys/class/net/$iface/type")" = 803 ]; then
        ip link set "$iface" up
        exit 0
    fi
    # An existing managed interface of that name: switch it over.
    ip link set "$iface" down
    iw dev "$iface" set type monitor
else
    iw phy "$phy" interface add "$iface" type monitor
fi
ip link set "$iface" up
