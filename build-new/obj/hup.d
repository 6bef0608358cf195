build-new/obj/hup.o: src/hup.c include/hup.h
include/hup.h:
