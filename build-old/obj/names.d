build-old/obj/names.o: src/names.c include/names.h
include/names.h:
