/*
 * kalem_media: the N-API addon for the per-frame media hot path.
 *
 * Why native at all: every call moves 50 frames a second in each direction, and each frame is
 * decoded, resampled (8/16/48 kHz <-> 24 kHz for the speech model) and encoded. Debian's
 * libspandsp (G.711, G.722) and libspeexdsp (the speex resampler most VoIP stacks use) are
 * well-kept, tested DSP; binding them is cheaper and safer than re-deriving filters by hand.
 * N-API (not V8's C++ API) keeps the binary ABI-stable across Node releases.
 */
#include <stdio.h>
#include <string.h>

#include "common.h"

void km_throw_last_error(napi_env env) {
  const napi_extended_error_info *info = NULL;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  napi_get_last_error_info(env, &info);
  napi_throw_error(env, "KALEM_NATIVE",
                   info != NULL && info->error_message != NULL ? info->error_message
                                                               : "N-API call failed");
}

int km_get_typed(napi_env env, napi_value v, napi_typedarray_type want, const char *what,
                 void **data, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type;
  char msg[160];
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) != napi_ok ||
      type != want) {
    snprintf(msg, sizeof msg, "%s has the wrong type", what);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

napi_value km_new_typed(napi_env env, napi_typedarray_type type, size_t length, void **data) {
  size_t elem = type == napi_int16_array ? 2 : 1;
  napi_value buffer, array;
  void *raw = NULL;
  if (napi_create_arraybuffer(env, length * elem, &raw, &buffer) != napi_ok) return NULL;
  if (napi_create_typedarray(env, type, length, buffer, 0, &array) != napi_ok) return NULL;
  *data = raw;
  return array;
}

int km_get_int(napi_env env, napi_value v, const char *what, int32_t min, int32_t max, int32_t *out) {
  napi_valuetype t;
  double d = 0;
  char msg[160];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number ||
      napi_get_value_double(env, v, &d) != napi_ok || d != (double)(int32_t)d || d < min || d > max) {
    snprintf(msg, sizeof msg, "%s must be an integer in [%d, %d]", what, (int)min, (int)max);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  *out = (int32_t)d;
  return 1;
}

const napi_type_tag KM_TAG_G722_ENCODER = {0x6b616c656d2d6737ULL, 0x3232656e636f6465ULL};
const napi_type_tag KM_TAG_G722_DECODER = {0x6b616c656d2d6737ULL, 0x32326465636f6465ULL};
const napi_type_tag KM_TAG_RESAMPLER = {0x6b616c656d2d7265ULL, 0x73616d706c657221ULL};

void *km_unwrap_tagged(napi_env env, napi_value self, const napi_type_tag *tag, const char *what) {
  bool matches = false;
  void *data = NULL;
  char msg[160];
  if (napi_check_object_type_tag(env, self, tag, &matches) != napi_ok || !matches ||
      napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    snprintf(msg, sizeof msg, "not a %s", what);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  return data;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value version;
  NAPI_CALL(env, napi_create_int32(env, KALEM_MEDIA_ABI_VERSION, &version));
  NAPI_CALL(env, napi_set_named_property(env, exports, "abiVersion", version));
  NAPI_CALL(env, km_init_g711(env, exports));
  NAPI_CALL(env, km_init_g722(env, exports));
  NAPI_CALL(env, km_init_resampler(env, exports));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
