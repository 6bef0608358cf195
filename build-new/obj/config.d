build-new/obj/config.o: src/config.c include/config.h include/log.h \
 /usr/include/fuse3/fuse_opt.h
include/config.h:
include/log.h:
/usr/include/fuse3/fuse_opt.h:
