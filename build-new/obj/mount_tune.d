build-new/obj/mount_tune.o: src/mount_tune.c include/mount_tune.h
include/mount_tune.h:
