#!/usr/bin/env bash
# Runs every leaf subtest on its own, on SQLite: `go test -run
# 'TestX/sqlite/one_case'` must pass alone for every case, so a failure can
# be run again by name and no case leans on one that ran before it.
# Usage: scripts/subtests.sh [packages...] (default ./...).
set -euo pipefail
cd "$(dirname "$0")/.."
unset JIFEN_TEST_POSTGRES JIFEN_TEST_NATS JIFEN_TEST_REPLICA_PRIMARY JIFEN_TEST_REPLICA_STANDBY
export JIFEN_TEST_BROWSER_REQUIRED=
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)
failed=0
total=0
for pkg in $(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' "${pkgs[@]}"); do
	bin="$work/pkg.test"
	go test -c -o "$bin" "$pkg" >/dev/null
	dir="$(go list -f '{{.Dir}}' "$pkg")"
	# Every test and subtest that runs, from one verbose run of the package.
	(cd "$dir" && "$bin" -test.v -test.run '^Test' 2>&1 || true) |
		sed -n 's/^ *=== RUN   //p' | sort -u >"$work/names"
	# Leaves: names no other name extends.
	python3 - "$work/names" >"$work/leaves" <<'PY'
import sys
names = [l.rstrip("\n") for l in open(sys.argv[1]) if "/" in l]
s = set(names)
for n in names:
    if not any(o.startswith(n + "/") for o in s):
        print(n)
PY
	while IFS= read -r name; do
		total=$((total + 1))
		# Each element of the name, as a regexp matching it exactly.
		pat="$(python3 -c 'import re,sys; print("/".join("^"+re.escape(p)+"$" for p in sys.argv[1].split("/")))' "$name")"
		if ! out="$(cd "$dir" && "$bin" -test.run "$pat" -test.count=1 2>&1)"; then
			echo "subtests: $pkg: $name fails alone:" >&2
			printf '%s\n' "$out" | tail -20 >&2
			failed=$((failed + 1))
		elif ! printf '%s\n' "$out" | grep -q '^PASS'; then
			echo "subtests: $pkg: $name: nothing ran for $pat" >&2
			failed=$((failed + 1))
		fi
	done <"$work/leaves"
done
echo "subtests: $total run alone, $failed failed"
[ "$failed" -eq 0 ]
