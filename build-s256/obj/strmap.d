build-s256/obj/strmap.o: src/strmap.c include/strmap.h
include/strmap.h:
