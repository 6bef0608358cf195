#!/bin/sh
# Installs the Debian packages seedancefs needs to build, test and demo,
# only when one is missing (apt-get update first, as a fresh machine needs).
# --bench adds the peers make bench compares with (httpdirfs, rclone).
set -e
PKGS="build-essential pkg-config libfuse3-dev fuse3 libcurl4-openssl-dev libcjson-dev libssl-dev
      libmicrohttpd-dev libsqlite3-dev ffmpeg python3-pytest curl inotify-tools man-db rsync attr"
# Media tools the tests read the videos with; without their recommends
# (mpv would pull in a desktop's worth).
MEDIA="gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
       gstreamer1.0-plugins-base-apps gstreamer1.0-libav mpv mediainfo"
[ "$1" = "--bench" ] && PKGS="$PKGS httpdirfs rclone"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
media=""
for p in $MEDIA; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        media="$media $p"
done
[ -z "$missing$media" ] && exit 0
echo "installing:$missing$media"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
[ -z "$missing" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
[ -z "$media" ] ||
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $media
