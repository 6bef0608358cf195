build-s32/obj/secret.o: src/secret.c include/secret.h
include/secret.h:
