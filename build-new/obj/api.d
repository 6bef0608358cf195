build-new/obj/api.o: src/api.c include/api.h include/config.h \
 include/http.h include/status.h include/secret.h include/clock.h \
 include/names.h include/text.h include/log.h
include/api.h:
include/config.h:
include/http.h:
include/status.h:
include/secret.h:
include/clock.h:
include/names.h:
include/text.h:
include/log.h:
