build-new/obj/stream.o: src/stream.c src/stream_internal.h \
 include/stream.h include/store.h include/tasks.h include/api.h \
 include/config.h include/http.h include/status.h include/id_queue.h \
 include/readahead.h include/video_cache.h include/bitmap.h \
 include/clock.h include/log.h
src/stream_internal.h:
include/stream.h:
include/store.h:
include/tasks.h:
include/api.h:
include/config.h:
include/http.h:
include/status.h:
include/id_queue.h:
include/readahead.h:
include/video_cache.h:
include/bitmap.h:
include/clock.h:
include/log.h:
