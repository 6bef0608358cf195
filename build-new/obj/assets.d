build-new/obj/assets.o: src/assets.c src/assets_internal.h \
 include/assets.h include/api.h include/config.h include/http.h \
 include/status.h include/profile.h include/store.h include/strmap.h \
 include/clock.h include/names.h include/log.h include/text.h
src/assets_internal.h:
include/assets.h:
include/api.h:
include/config.h:
include/http.h:
include/status.h:
include/profile.h:
include/store.h:
include/strmap.h:
include/clock.h:
include/names.h:
include/log.h:
include/text.h:
