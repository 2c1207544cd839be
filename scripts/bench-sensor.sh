#!/usr/bin/env bash
# Times `passant sensor` against tshark on the same capture of at least 1M
# frames, made by appending the bundled captures (sensor/testdata/captures)
# to each other many times with mergecap. Needs tshark and mergecap
# (Debian: tshark, wireshark-common).
#
#   scripts/bench-sensor.sh [FRAMES]      # default 1000000
#
# PASSANT=/path/to/passant uses that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
want=${1:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bin=${PASSANT:-$work/passant}
[ -n "${PASSANT:-}" ] || go build -o "$bin" ./cmd/passant

# One pass over every bundled capture, then enough copies of it.
caps=(sensor/testdata/captures/*.pcap)
mergecap -a -F pcap -w "$work/set.pcap" "${caps[@]}"
per=$(capinfos -c -M "$work/set.pcap" | awk '/Number of packets/ {print $NF}')
copies=$(( (want + per - 1) / per ))
args=()
for _ in $(seq "$copies"); do args+=("$work/set.pcap"); done
mergecap -a -F pcap -w "$work/big.pcap" "${args[@]}"
frames=$(( per * copies ))
echo "capture: $frames frames ($copies copies of the $per frames of ${#caps[@]} bundled captures), $(du -h "$work/big.pcap" | cut -f1)"

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }

cat "$work/big.pcap" >/dev/null # warm the page cache for both
export PASSANT_SITE_KEY=bench-site-key
p=$(secs "$bin" sensor --pcap "$work/big.pcap" --fast --jsonl /dev/null --sensor bench --log-level warn)
t=$(secs tshark -r "$work/big.pcap" -Y wlan.fc.type_subtype==4 -T fields -e wlan.sa -e radiotap.dbm_antsignal)

printf 'passant sensor --fast --jsonl /dev/null : %6.2f s  %9.0f frames/s\n' "$p" "$(echo "$frames / $p" | bc -l)"
printf 'tshark -Y wlan.fc.type_subtype==4 ...  : %6.2f s  %9.0f frames/s\n' "$t" "$(echo "$frames / $t" | bc -l)"
printf 'ratio: passant is %.1f times as fast as tshark\n' "$(echo "$t / $p" | bc -l)"
