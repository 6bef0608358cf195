build-s32/obj/daemon.o: src/daemon.c include/daemon.h
include/daemon.h:
