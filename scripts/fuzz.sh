#!/bin/sh
# Runs every fuzz target of the project for FUZZTIME each (default 3m) and
# keeps the corpus: the inputs Go's fuzzer found interesting are copied from
# the build cache into <package>/testdata/fuzz/<Target>/ (where failing
# inputs land too), so later runs and `go test` start from them.
#
#   scripts/fuzz.sh                 # all targets, 3 minutes each
#   FUZZTIME=30s scripts/fuzz.sh wire sensor
set -eu
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-3m}
KEEP=${KEEP:-200}   # corpus files kept per target (newest first)
cache=$(go env GOCACHE)/fuzz/$(go list -m)
pkgs=${*:-$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u | sed 's|^\./||')}
failed=0
for pkg in $pkgs; do
	for target in $(grep -h --include='*_test.go' -r '^func Fuzz' "$pkg" | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/' | sort -u); do
		echo "== $pkg $target ($FUZZTIME)"
		out=$(go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" "./$pkg" 2>&1) || true
		printf '%s\n' "$out" | tail -3
		if ! printf '%s\n' "$out" | grep -q '^ok'; then
			printf '%s\n' "$out" | grep -E '^\s+(---|[a-z_]+_test\.go)' | head -5
			echo "!! $pkg $target FAILED: the failing input is in $pkg/testdata/fuzz/$target"
			failed=1
		fi
		src=$cache/$pkg/$target
		if [ -d "$src" ]; then
			mkdir -p "$pkg/testdata/fuzz/$target"
			ls -t "$src" | head -n "$KEEP" | while read -r f; do cp -n "$src/$f" "$pkg/testdata/fuzz/$target/"; done
			echo "   corpus: $(ls "$pkg/testdata/fuzz/$target" | wc -l) inputs kept in $pkg/testdata/fuzz/$target"
		fi
	done
done
exit $failed
