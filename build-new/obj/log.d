build-new/obj/log.o: src/log.c include/log.h include/secret.h
include/log.h:
include/secret.h:
