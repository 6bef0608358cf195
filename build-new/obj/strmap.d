build-new/obj/strmap.o: src/strmap.c include/strmap.h
include/strmap.h:
