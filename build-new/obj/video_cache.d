build-new/obj/video_cache.o: src/video_cache.c include/video_cache.h \
 include/store.h include/bitmap.h include/clock.h include/log.h \
 include/strmap.h
include/video_cache.h:
include/store.h:
include/bitmap.h:
include/clock.h:
include/log.h:
include/strmap.h:
