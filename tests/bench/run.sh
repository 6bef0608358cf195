#!/bin/sh
# make bench: every benchmark under tests/bench/, each printing its figures
# next to the limits measured in the same run.
set -e
cd "$(dirname "$0")/../.."
/usr/bin/python3 tests/bench/bench_stream.py "$@"
/usr/bin/python3 tests/bench/bench_link.py
/usr/bin/python3 tests/bench/bench_offline.py
/usr/bin/python3 tests/bench/bench_scale.py
