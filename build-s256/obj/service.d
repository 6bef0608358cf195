build-s256/obj/service.o: src/service.c include/service.h
include/service.h:
