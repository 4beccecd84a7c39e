#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 5s;
# FUZZTIME_<Target>, e.g. FUZZTIME_FuzzWriteRoutes=30s, sets one target's)
# and stops at the first failure. go test -fuzz takes one package and one
# target per run, so the targets are listed first (go test -list) and run
# one at a time. A failing input is written to the package's
# testdata/fuzz/<Target>/, where it stays as a regression seed that plain
# go test runs. .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-5s}"

# go test -list prints a package's matching names, then "ok  <package>".
# -run '^$' keeps TestMains that check what a full run did (httpapi's
# contract codes) from failing a run that only lists.
listing="$(go test -list '^Fuzz' -run '^$' ./...)"
targets="$(awk '
	/^Fuzz/ { names[++n] = $1; next }
	/^ok[ \t]/ { for (i = 1; i <= n; i++) print $2, names[i]; n = 0 }
' <<<"$listing")"
if [ -z "$targets" ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

start=$SECONDS
while read -r pkg name; do
	own="FUZZTIME_${name}"
	t="${!own:-$fuzztime}"
	echo "fuzz: $name ($pkg) for $t"
	# On a loaded machine the fuzzing engine itself can stop a short run
	# with "context deadline exceeded" and no failing input (its workers
	# miss the coordinator's deadline). That says nothing of the code: run
	# the target again, once. A real failure writes its input and fails.
	if ! out="$(go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" "$pkg" 2>&1)"; then
		echo "$out"
		if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
			echo "fuzz: $name: the engine timed out without a failing input; running it again"
			go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" "$pkg"
		else
			exit 1
		fi
	else
		echo "$out" | tail -3
	fi
done <<<"$targets"
echo "fuzz: $(wc -l <<<"$targets") targets passed in $((SECONDS - start))s"
