/*
 * Shared helpers of the kalem_media addon. Every exported function checks its arguments and
 * throws a JavaScript TypeError instead of touching memory it was not given: the TypeScript
 * wrapper (src/media/native.ts) is the only caller, but a wrong call must never crash the daemon.
 */
#ifndef KALEM_MEDIA_COMMON_H
#define KALEM_MEDIA_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <node_api.h>

/*
 * Bumped whenever the JavaScript-visible interface of the addon changes. src/media/native.ts
 * holds the same number and refuses a build whose number differs (a stale native/build).
 */
#define KALEM_MEDIA_ABI_VERSION 1

/* Returns NULL from the enclosing function after throwing when a N-API call fails. */
#define NAPI_CALL(env, call)                                                    \
  do {                                                                          \
    if ((call) != napi_ok) {                                                    \
      km_throw_last_error(env);                                                 \
      return NULL;                                                              \
    }                                                                           \
  } while (0)

void km_throw_last_error(napi_env env);

/*
 * Reads argument `v` as a typed array of type `want`; on mismatch throws a TypeError naming
 * `what` and returns 0. On success stores the data pointer and element count and returns 1.
 */
int km_get_typed(napi_env env, napi_value v, napi_typedarray_type want, const char *what,
                 void **data, size_t *length);

/* Creates a new typed array of `length` elements; stores its data pointer. NULL on failure. */
napi_value km_new_typed(napi_env env, napi_typedarray_type type, size_t length, void **data);

/* Reads an integer argument within [min, max] or throws a TypeError naming `what`. */
int km_get_int(napi_env env, napi_value v, const char *what, int32_t min, int32_t max, int32_t *out);

/*
 * Type tags (N-API 8) stamped on every wrapped object, so a method borrowed onto an object of
 * another class (`G722Decoder.prototype.decode.call(resampler)`) is a TypeError, never a
 * reinterpretation of someone else's state.
 */
extern const napi_type_tag KM_TAG_G722_ENCODER;
extern const napi_type_tag KM_TAG_G722_DECODER;
extern const napi_type_tag KM_TAG_RESAMPLER;

/* Unwraps `self` if it carries `tag`; otherwise throws a TypeError naming `what`. */
void *km_unwrap_tagged(napi_env env, napi_value self, const napi_type_tag *tag, const char *what);

/* Registration hooks of each part (one concept per file). */
napi_status km_init_g711(napi_env env, napi_value exports);
napi_status km_init_g722(napi_env env, napi_value exports);
napi_status km_init_resampler(napi_env env, napi_value exports);

#endif
