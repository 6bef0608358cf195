#!/bin/sh
# play.sh — wait for a task and play its video from the mount.
#
#   $ examples/play.sh mnt fox
#   $ PLAYER='mpv --fs' examples/play.sh mnt fox
#
# The video streams as it is read (seekable: the player's seeks become range
# reads), so playback starts before the whole file is cached. PLAYER
# defaults to mpv, else ffplay.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 MNT NAME" >&2; exit 2; }
mnt=$1 name=$2
status=$(cat "$mnt/by-name/$name/wait")
[ "$status" = succeeded ] || { echo "$0: $name: $status" >&2; exit 1; }
if [ -z "${PLAYER:-}" ]; then
    if command -v mpv >/dev/null; then PLAYER=mpv; else PLAYER='ffplay -autoexit'; fi
fi
exec $PLAYER "$mnt/by-name/$name/video.mp4"
