build-s32/obj/service.o: src/service.c include/service.h
include/service.h:
