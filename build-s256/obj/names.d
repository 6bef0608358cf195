build-s256/obj/names.o: src/names.c include/names.h
include/names.h:
