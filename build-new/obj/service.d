build-new/obj/service.o: src/service.c include/service.h
include/service.h:
