build-new/obj/id_queue.o: src/id_queue.c include/id_queue.h
include/id_queue.h:
