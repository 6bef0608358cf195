build-new/obj/names.o: src/names.c include/names.h
include/names.h:
