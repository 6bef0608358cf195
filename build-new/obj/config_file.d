build-new/obj/config_file.o: src/config_file.c include/config.h \
 /usr/include/fuse3/fuse_opt.h
include/config.h:
/usr/include/fuse3/fuse_opt.h:
