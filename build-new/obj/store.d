build-new/obj/store.o: src/store.c include/store.h include/log.h
include/store.h:
include/log.h:
