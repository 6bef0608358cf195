build-new/obj/http.o: src/http.c include/http.h include/clock.h \
 include/link_estimate.h include/log.h
include/http.h:
include/clock.h:
include/link_estimate.h:
include/log.h:
