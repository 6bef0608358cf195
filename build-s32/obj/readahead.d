build-s32/obj/readahead.o: src/readahead.c include/readahead.h
include/readahead.h:
