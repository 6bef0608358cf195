build-s32/obj/events.o: src/events.c include/events.h include/status.h
include/events.h:
include/status.h:
