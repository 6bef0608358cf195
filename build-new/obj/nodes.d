build-new/obj/nodes.o: src/nodes.c include/nodes.h include/strmap.h
include/nodes.h:
include/strmap.h:
