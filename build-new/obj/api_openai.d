build-new/obj/api_openai.o: src/api_openai.c include/api.h \
 include/config.h include/http.h include/status.h include/names.h \
 include/text.h
include/api.h:
include/config.h:
include/http.h:
include/status.h:
include/names.h:
include/text.h:
