#!/bin/sh
# fuzz.sh BUILD SECONDS TARGET... — runs each libFuzzer target for SECONDS
# on its seed corpus (tests/fuzz/corpus/TARGET, read only) and a working
# corpus under BUILD/corpus/TARGET that grows across runs. Prints a line
# per target (runs, seconds, crashes) and exits 1 when any crashed; the
# crashing input is in BUILD/crashes/.
cd "$(dirname "$0")/.." || exit 1
build=$1 seconds=$2
shift 2
status=0
mkdir -p "$build/crashes/old"
for t in "$@"; do
    # Crashes of earlier runs are kept apart: only this run's count.
    mv "$build/crashes/$t-"* "$build/crashes/old/" 2>/dev/null
    mkdir -p "$build/corpus/$t"
    log="$build/crashes/$t.log"
    "$build/libfuzzer/$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -dict=tests/fuzz/json.dict \
        -artifact_prefix="$build/crashes/$t-" \
        "$build/corpus/$t" "tests/fuzz/corpus/$t" > "$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    took=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    crashes=$(ls "$build/crashes" | grep -c "^$t-")
    echo "fuzz $t: runs=${runs:-?} exec/s=${took:-?} seconds=$seconds crashes=$crashes rc=$rc"
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        tail -40 "$log"
        status=1
    fi
done
exit $status
