build-new/obj/template.o: src/template.c include/template.h \
 include/text.h
include/template.h:
include/text.h:
