build-new/obj/daemon.o: src/daemon.c include/daemon.h
include/daemon.h:
