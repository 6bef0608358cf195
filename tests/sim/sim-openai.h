/* sim-openai.h — the OpenAI Videos shape of the simulator's tasks, as
 * new-api gateways speak it (../shared/API.md "OpenAI Videos shape"): a
 * request becomes a Seedance task body, a Seedance task becomes a video
 * object. seedance-sim.c routes /v1/videos to these. */
#ifndef SIM_OPENAI_H
#define SIM_OPENAI_H

#include <cjson/cJSON.h>

/* {model, prompt, seconds (a string), size, metadata {resolution, ...,
 * content: [references]}} -> {model, content: [text, references...],
 * duration, ...}. NULL with *why and *param for a 400. A top-level
 * "duration" is ignored, as new-api does. Caller deletes. */
cJSON *openai_to_seedance(const cJSON *request, const char **why, const char **param);

/* The video object of a Seedance task object (the simulator's own view)
 * and the request it was made from; `progress` 0..100. Caller deletes. */
cJSON *openai_video_of(const cJSON *task, const cJSON *request, int progress);

#endif
