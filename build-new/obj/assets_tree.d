build-new/obj/assets_tree.o: src/assets_tree.c src/assets_internal.h \
 include/assets.h include/api.h include/config.h include/http.h \
 include/status.h include/profile.h include/store.h include/strmap.h \
 include/clock.h include/names.h include/log.h
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
