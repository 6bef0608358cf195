build-s32/obj/template.o: src/template.c include/template.h \
 include/text.h
include/template.h:
include/text.h:
