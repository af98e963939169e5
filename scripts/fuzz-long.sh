#!/bin/bash
# `make fuzz-long`: every libFuzzer harness for a set number of executions
# (FUZZ_RUNS, default 10 million each), two at a time (FUZZ_JOBS), each on
# a copy of its seed corpus, at low priority.  Prints one line per harness
# with the executions done, the time, and the findings (crash, leak,
# timeout or out-of-memory artifacts, kept in build/fuzz-long/), then
# "N passed, N failed".  FUZZ_MAX_SECONDS (default: none) stops each harness
# after that long: one stopped short of FUZZ_RUNS is marked and not passed.
# `make check` keeps its short runs (check.sh).
#   scripts/fuzz-long.sh [HARNESS...]
set -u
cd "$(dirname "$0")/.."
O=${O:-build}
RUNS=${FUZZ_RUNS:-10000000}
JOBS=${FUZZ_JOBS:-2}
MAXT=${FUZZ_MAX_SECONDS:-0}
out=$O/fuzz-long
mkdir -p "$out"
if [ $# -gt 0 ]; then names=("$@"); else
	names=(); for b in "$O"/fuzz/fuzz_*; do [ -x "$b" ] && names+=("$(basename "$b")"); done
fi

one() {
	local name=$1 work log t0 t1 runs finds rc note
	work=$(mktemp -d)
	log=$out/$name.log
	[ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name"/. "$work"/
	t0=$(date +%s)
	nice -n 19 "$O/fuzz/$name" -runs="$RUNS" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
		-max_total_time="$MAXT" -artifact_prefix="$out/$name-" "$work" >"$log" 2>&1
	rc=$?
	t1=$(date +%s)
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
	[ -n "$runs" ] || runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -n 1 | grep -o '[0-9]*')
	finds=$(ls "$out/$name-"* 2>/dev/null | wc -l)
	note=
	[ "${runs:-0}" -ge "$RUNS" ] || note=" (short of $RUNS)"     # stopped early: not a pass
	[ $rc = 0 ] || note="$note (exit $rc, see $log)"
	printf '%-20s %12s executions in %6d s, %d finding(s)%s\n' "$name" "${runs:-?}" $((t1 - t0)) "$finds" "$note"
	rm -rf "$work"
	[ $rc = 0 ] && [ "$finds" = 0 ] && [ "${runs:-0}" -ge "$RUNS" ]
}
export -f one
export O RUNS MAXT out

echo "== fuzz-long: ${#names[@]} harnesses, $RUNS executions each, $JOBS at a time"
for n in "${names[@]}"; do   # only the named harnesses' (a run of a few keeps the others')
	rm -f "$out/$n"-crash-* "$out/$n"-leak-* "$out/$n"-timeout-* "$out/$n"-oom-* 2>/dev/null
done
printf '%s\n' "${names[@]}" | xargs -P "$JOBS" -I{} bash -c 'one {}' >"$out/summary" 2>&1
cat "$out/summary"
passed=$(grep -c ' 0 finding(s)$' "$out/summary")
failed=$(( ${#names[@]} - passed ))
echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
