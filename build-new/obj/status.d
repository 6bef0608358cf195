build-new/obj/status.o: src/status.c include/status.h
include/status.h:
