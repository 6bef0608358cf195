#!/bin/sh
# export-watch.sh — run a command on every finished video, with export_dir.
#
#   $ seedancefs mnt -o api_url=...,export_dir=$HOME/videos
#   $ examples/export-watch.sh $HOME/videos 'ffmpeg -i "$1" -vf scale=320:-2 "$1.small.mp4"' &
#   $ cp examples/fox.json mnt/requests/      # later: the command runs on videos/fox.mp4
#
# seedancefs renames each finished video into DIR (one IN_MOVED_TO, never a
# partial file), so inotifywait sees it once, complete. COMMAND runs with
# the video's path as $1 (sh -c); failures (NAME.failed) are printed.
# Needs inotifywait (Debian: inotify-tools).
set -eu
[ $# -eq 2 ] || { echo "usage: $0 EXPORT_DIR COMMAND" >&2; exit 2; }
dir=$1 command=$2
inotifywait -m -q -e moved_to --format '%f' "$dir" | while IFS= read -r file; do
    case $file in
    *.mp4) sh -c "$command" sh "$dir/$file" || echo "$0: command failed on $file" >&2 ;;
    *.failed) echo "$file: $(tr '\n' ' ' < "$dir/$file")" >&2 ;;
    esac
done
