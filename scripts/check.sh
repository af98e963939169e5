#!/bin/bash
# The test runner behind `make check`: unit tests (plain and ASan+UBSan), a
# short run of every fuzz harness on its corpus, and the scenario tests in
# network namespaces (against the ASan+UBSan build of iphttps).  Ends with
# one line "N passed, N failed[, N skipped]" counting every test case.
#   scripts/check.sh [--only unit|fuzz|scenarios] [-k PYTEST_EXPR]
set -u
cd "$(dirname "$0")/.."
O=${O:-build}
only="" kexpr=""
while [ $# -gt 0 ]; do
	case "$1" in
	--only) only=$2; shift 2 ;;
	-k) kexpr=$2; shift 2 ;;
	*) echo "check.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
passed=0 failed=0 skipped=0
failures=()
logdir=$O/check-logs
mkdir -p "$logdir"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:print_summary=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

want() { [ -z "$only" ] || [ "$only" = "$1" ]; }

# One cmocka binary: count its cases from its summary lines.
run_unit() {
	local bin=$1 tag=$2 log rc p f
	log=$logdir/$(basename "$bin").$tag.log
	"$bin" >"$log" 2>&1
	rc=$?
	if [ $rc = 77 ]; then
		skipped=$((skipped + 1))
		printf '  %-34s %-5s skipped (%s)\n' "$(basename "$bin")" "$tag" "$(tail -n 1 "$log")"
		return
	fi
	# (stdout and stderr share the log: a summary may not start its line)
	p=$(grep -o '\[  PASSED  \] [0-9]* test' "$log" | tail -n 1 | tr -dc '0-9')
	f=$(grep -o '\[  FAILED  \] [0-9]* test' "$log" | tail -n 1 | tr -dc '0-9')
	p=${p:-0} f=${f:-0}
	if [ $rc != 0 ] && [ "$f" = 0 ]; then f=1; fi   # crashed or a sanitizer fired
	if [ $rc = 0 ] && [ "$p" = 0 ]; then f=1; fi    # ran no test at all
	passed=$((passed + p)); failed=$((failed + f))
	printf '  %-34s %-5s %3d passed, %d failed\n' "$(basename "$bin")" "$tag" "$p" "$f"
	if [ "$f" != 0 ]; then failures+=("$bin ($tag): see $log"); tail -n 30 "$log" | sed 's/^/      /'; fi
}

if want unit; then
	echo "== unit tests (cmocka), plain and ASan+UBSan"
	for b in "$O"/unit/test_*; do [ -x "$b" ] && run_unit "$b" plain; done
	for b in "$O"/unit-san/test_*; do [ -x "$b" ] && run_unit "$b" asan; done
fi

if want fuzz; then
	echo "== fuzz harnesses: a short run each on its corpus (libFuzzer, ASan+UBSan)"
	for b in "$O"/fuzz/fuzz_*; do
		[ -x "$b" ] || continue
		name=$(basename "$b")
		corpus=fuzz/corpus/$name
		log=$logdir/$name.log
		work=$(mktemp -d)
		[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null
		if "$b" -max_total_time=${FUZZ_SECONDS:-5} -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix="$logdir/$name-" "$work" >"$log" 2>&1; then
			passed=$((passed + 1)); printf '  %-34s ok (%s)\n' "$name" "$(grep -o 'Done [0-9]* runs' "$log" | tail -n 1)"
		else
			failed=$((failed + 1)); failures+=("$name: see $log")
			printf '  %-34s FAILED\n' "$name"; tail -n 20 "$log" | sed 's/^/      /'
		fi
		rm -rf "$work"
	done
fi

if want scenarios; then
	echo "== scenario tests (pytest, network namespaces, real processes; iphttps under ASan+UBSan)"
	if [ "$(id -u)" != 0 ]; then
		echo "  scenario tests need root (network namespaces, TUN): not run"
		skipped=$((skipped + 1))
	else
		xml=$logdir/scenarios.xml
		export IPHTTPS_BIN=${IPHTTPS_BIN:-$PWD/$O/iphttps-san}
		# Three files at a time (pytest-xdist): most of a scenario's time is
		# spent waiting on daemons and timers, not on the CPU; a file's
		# tests stay together so that they share their topology.
		args=(-q -p no:cacheprovider -n "${SCENARIO_JOBS:-3}" --dist loadfile --durations=25
		      --junitxml="$xml" -o junit_family=xunit2)
		[ -n "$kexpr" ] && args+=(-k "$kexpr")
		timeout ${SCENARIO_TIMEOUT:-1020} /usr/bin/python3 -m pytest "${args[@]}" tests/scenarios
		rc=$?
		if [ -f "$xml" ]; then
			read -r sp sf ss < <(/usr/bin/python3 - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = [r] if r.tag == "testsuite" else list(r)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
k = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - k, f, k)
PY
)
			passed=$((passed + sp)); failed=$((failed + sf)); skipped=$((skipped + ss))
			[ "$sf" != 0 ] && failures+=("scenarios: $sf failed (pytest output above)")
		fi
		if [ $rc != 0 ] && [ $rc != 1 ] && [ $rc != 5 ]; then
			failed=$((failed + 1)); failures+=("pytest exited $rc")
		fi
	fi
fi

echo
for f in "${failures[@]+"${failures[@]}"}"; do echo "FAILED: $f"; done
if [ $skipped -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $failed = 0 ]
