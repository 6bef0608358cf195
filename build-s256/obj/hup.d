build-s256/obj/hup.o: src/hup.c include/hup.h
include/hup.h:
