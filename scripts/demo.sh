#!/bin/sh
# make demo: start the local simulator, mount, submit an example, show the
# result, then unmount and stop the simulator (also on Ctrl-C or failure).
set -eu
cd "$(dirname "$0")/.."
B=${SEEDANCEFS_BUILD:-build}
WORK=$(mktemp -d /tmp/seedancefs-demo.XXXXXX)
MNT=$WORK/mnt
SIM_PID=""
mkdir -p "$MNT"

cleanup() {
    mountpoint -q "$MNT" && fusermount3 -u "$MNT"
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

export SEEDANCE_SIM_KEY=demo-key
"$B/seedance-sim" --port 0 --video "$B/fixture.mp4" > "$WORK/sim.out" &
SIM_PID=$!
for _ in $(seq 50); do grep -q listening "$WORK/sim.out" && break; sleep 0.1; done
URL=$(sed -n 's/.*listening on //p' "$WORK/sim.out")
echo "== simulator at $URL"

echo "== mount: seedancefs $MNT -o api_url=$URL,state_dir=$WORK/state"
SEEDANCE_API_KEY=demo-key "$B/seedancefs" "$MNT" -o "api_url=$URL,state_dir=$WORK/state"

echo "== submit examples/fox.json"
cp examples/fox.json "$MNT/requests/"
ls -l "$MNT/by-name/"
printf '== status: '
while :; do
    s=$(cat "$MNT/by-name/fox/status")
    printf '%s ' "$s"
    case $s in succeeded|failed|cancelled|expired) break;; esac
    sleep 0.5
done
echo
ls -l "$MNT/by-name/fox/"
echo "== ffprobe $MNT/by-name/fox/video.mp4"
ffprobe -v error -show_entries format=duration,size:stream=codec_name,width,height \
    -of compact "$MNT/by-name/fox/video.mp4"
echo "== an invalid request fails cp with the reason"
echo '{"prompt": "x", "duration": 99}' > "$WORK/bad.json"
cp "$WORK/bad.json" "$MNT/requests/" || cat "$MNT/requests/bad.error"
echo "== done; unmounting"
