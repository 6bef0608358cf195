build-new/obj/readahead.o: src/readahead.c include/readahead.h
include/readahead.h:
