build-new/obj/assets_flow.o: src/assets_flow.c src/assets_internal.h \
 include/assets.h include/api.h include/config.h include/http.h \
 include/status.h include/profile.h include/store.h include/strmap.h \
 include/log.h include/names.h include/sign.h include/template.h \
 include/text.h
src/assets_internal.h:
include/assets.h:
include/api.h:
include/config.h:
include/http.h:
include/status.h:
include/profile.h:
include/store.h:
include/strmap.h:
include/log.h:
include/names.h:
include/sign.h:
include/template.h:
include/text.h:
