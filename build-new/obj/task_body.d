build-new/obj/task_body.o: src/task_body.c include/task_body.h \
 include/names.h
include/task_body.h:
include/names.h:
