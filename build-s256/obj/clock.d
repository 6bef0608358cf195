build-s256/obj/clock.o: src/clock.c include/clock.h
include/clock.h:
