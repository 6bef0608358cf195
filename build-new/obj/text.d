build-new/obj/text.o: src/text.c include/text.h include/names.h
include/text.h:
include/names.h:
