build-new/obj/events.o: src/events.c include/events.h include/status.h
include/events.h:
include/status.h:
