build-s256/obj/readahead.o: src/readahead.c include/readahead.h
include/readahead.h:
