#!/bin/sh
# watch-folder.sh — turn a local inbox into finished videos.
#
#   $ examples/watch-folder.sh ~/inbox mnt ~/videos &
#   $ cp fox.json ~/inbox/                 # later: ~/videos/fox.mp4
#
# Every NAME.json / NAME.txt that appears in INBOX (already there, written
# and closed, or moved in) is copied into MNT/requests/ and moved to
# INBOX/.submitted/. A background job per request blocks on
# MNT/by-name/NAME/wait (no polling) and then moves the result to OUTBOX:
#   NAME.mp4       the video, when the task succeeded (written as
#                  NAME.mp4.part first, so watchers never see half a file)
#   NAME.failed    the final status and the API's error otherwise
#   NAME.rejected  the reason, when the request itself was refused
# Needs inotifywait (Debian: inotify-tools).
set -eu
[ $# -eq 3 ] || { echo "usage: $0 INBOX MNT OUTBOX" >&2; exit 2; }
inbox=$1 mnt=$2 outbox=$3
mkdir -p "$outbox" "$inbox/.submitted"

finish() {
    name=$1
    status=$(cat "$mnt/by-name/$name/wait")
    if [ "$status" = succeeded ]; then
        cp "$mnt/by-name/$name/video.mp4" "$outbox/$name.mp4.part"
        mv "$outbox/$name.mp4.part" "$outbox/$name.mp4"
    else
        { echo "$status"; cat "$mnt/by-name/$name/error" "$mnt/requests/$name.error" \
              2>/dev/null || true; } > "$outbox/$name.failed"
    fi
}

submit() {
    file=$1 base=$(basename "$1")
    name=${base%.*}
    [ -f "$file" ] || return 0
    if cp "$file" "$mnt/requests/$base" 2>/dev/null; then
        mv "$file" "$inbox/.submitted/"
        finish "$name" &
    else
        cat "$mnt/requests/$name.error" > "$outbox/$name.rejected" 2>/dev/null ||
            echo "cannot submit $base" > "$outbox/$name.rejected"
        mv "$file" "$inbox/.submitted/"
    fi
}

# Watch first, then take what is already there: nothing slips between.
inotifywait -m -q -e close_write -e moved_to --format '%f' "$inbox" > "$inbox/.events" &
watcher=$!
trap 'kill $watcher 2>/dev/null; wait' EXIT INT TERM
for f in "$inbox"/*.json "$inbox"/*.txt; do
    submit "$f"
done
tail -n +1 -f "$inbox/.events" | while read -r base; do
    case $base in
    *.json|*.txt) submit "$inbox/$base" ;;
    esac
done
