build-new/obj/link_estimate.o: src/link_estimate.c \
 include/link_estimate.h
include/link_estimate.h:
