#!/bin/sh
# check-layers.sh — data flows one way: FUSE glue -> tree -> modules ->
# store/api -> http. Fails (exit 1) when a file includes a header its layer
# may not, or when the FUSE layer names the wire (api_*, http_*). Run by
# make check (make layering).
cd "$(dirname "$0")/.." || exit 1
status=0

# forbid FILES HEADERS WHY: none of FILES may #include any of HEADERS.
forbid() {
    for f in $1; do
        [ -f "$f" ] || continue
        for h in $2; do
            if grep -q "^#include \"$h\"" "$f"; then
                echo "layering: $f includes $h ($3)"
                status=1
            fi
        done
    done
}

FUSE="src/fs.c src/fs_notify.c src/fs_internal.h src/nodes.c src/tree.c src/tree_internal.h
      src/tree_xattr.c src/tree_status.c include/fs.h include/tree.h include/nodes.h"
MODULES="src/inbox.c src/outbox.c src/tasks.c src/tasks_poller.c src/tasks_import.c src/tasks_internal.h src/stream.c
         src/stream_fill.c src/stream_internal.h
         src/video_cache.c src/assets.c src/assets_tree.c src/assets_internal.h src/task_body.c
         src/readahead.c src/events.c src/report.c include/report.h src/export.c include/export.h include/inbox.h include/outbox.h include/tasks.h include/stream.h
         include/video_cache.h include/assets.h include/task_body.h include/events.h include/readahead.h"
UP_FROM_MODULES="fs.h tree.h fs_internal.h nodes.h"

forbid "$FUSE" "api.h http.h" "the FUSE layer knows no wire: ask tasks"
forbid "$MODULES" "$UP_FROM_MODULES" "modules do not call back up into the FUSE layer"
forbid "src/video_cache.c include/video_cache.h" "stream.h readahead.h tasks.h api.h http.h" \
       "the cache knows nothing of fetching: stream.c uses it"
forbid "src/readahead.c include/readahead.h" "stream.h video_cache.h tasks.h api.h http.h store.h" \
       "the read-ahead rule is pure"
forbid "src/link_estimate.c include/link_estimate.h" "http.h api.h stream.h store.h log.h clock.h" \
       "the link estimate is pure: http.c feeds it"
forbid "src/store.c include/store.h" \
       "api.h http.h tasks.h stream.h outbox.h inbox.h assets.h video_cache.h tree.h fs.h" \
       "the store is below every module"
forbid "src/api.c include/api.h" \
       "fs.h tree.h store.h tasks.h stream.h outbox.h inbox.h assets.h video_cache.h" \
       "the API module is below the modules and beside the store"
forbid "src/http.c include/http.h" \
       "api.h store.h tasks.h stream.h outbox.h inbox.h assets.h tree.h fs.h config.h" \
       "http is the bottom: it knows no API"

# The FUSE layer asks modules, never the wire, even through another header.
for f in $FUSE; do
    [ -f "$f" ] || continue
    if grep -nE '\b(api|http)_[a-z_]+\s*\(' "$f" | grep -vE '^[0-9]+:\s*(/\*|\* |\*$)'; then
        echo "layering: $f calls the wire (above): ask tasks, stream or the outbox instead"
        status=1
    fi
done
[ $status -eq 0 ] && echo "layering: ok"
exit $status
