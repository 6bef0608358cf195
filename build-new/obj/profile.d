build-new/obj/profile.o: src/profile.c include/profile.h include/names.h \
 include/template.h
include/profile.h:
include/names.h:
include/template.h:
