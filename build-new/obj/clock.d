build-new/obj/clock.o: src/clock.c include/clock.h
include/clock.h:
