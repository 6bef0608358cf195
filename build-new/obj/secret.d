build-new/obj/secret.o: src/secret.c include/secret.h
include/secret.h:
