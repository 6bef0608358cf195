build-new/obj/sign.o: src/sign.c include/sign.h include/text.h
include/sign.h:
include/text.h:
