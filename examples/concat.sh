#!/bin/sh
# concat.sh — join finished videos into one, straight from the mount.
#
#   $ examples/concat.sh mnt out.mp4 fox owl boat
#
# Waits for each task (by-name/NAME/wait), then runs ffmpeg's concat demuxer
# on MNT/by-name/NAME/video.mp4 without re-encoding (the clips of one model
# and resolution share a codec). Needs ffmpeg.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 MNT OUT.mp4 NAME..." >&2; exit 2; }
mnt=$(cd "$1" && pwd) out=$2
shift 2
list=$(mktemp)
trap 'rm -f "$list"' EXIT
for name in "$@"; do
    status=$(cat "$mnt/by-name/$name/wait")
    [ "$status" = succeeded ] || { echo "$0: $name: $status" >&2; exit 1; }
    printf "file '%s'\n" "$mnt/by-name/$name/video.mp4" >> "$list"
done
ffmpeg -loglevel error -y -f concat -safe 0 -i "$list" -c copy "$out"
