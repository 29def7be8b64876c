/*
 * G.711 mu-law (PCMU) and A-law (PCMA) over whole frames, using libspandsp's inline
 * converters. Four functions plus "Into" variants that write into a caller-owned buffer, so
 * the per-frame path can run without allocating.
 */
#include <inttypes.h>
#include <stdbool.h>

#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>

#include "common.h"

typedef enum { LAW_ULAW, LAW_ALAW } law_t;

static void encode_block(law_t law, const int16_t *in, uint8_t *out, size_t n) {
  size_t i;
  if (law == LAW_ULAW)
    for (i = 0; i < n; i++) out[i] = linear_to_ulaw(in[i]);
  else
    for (i = 0; i < n; i++) out[i] = linear_to_alaw(in[i]);
}

static void decode_block(law_t law, const uint8_t *in, int16_t *out, size_t n) {
  size_t i;
  if (law == LAW_ULAW)
    for (i = 0; i < n; i++) out[i] = ulaw_to_linear(in[i]);
  else
    for (i = 0; i < n; i++) out[i] = alaw_to_linear(in[i]);
}

/* encode(pcm: Int16Array): Uint8Array */
static napi_value encode_new(napi_env env, napi_callback_info info, law_t law) {
  size_t argc = 1, n = 0;
  napi_value argv[1], result;
  void *in = NULL, *out = NULL;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!km_get_typed(env, argv[0], napi_int16_array, "pcm (Int16Array)", &in, &n)) return NULL;
  result = km_new_typed(env, napi_uint8_array, n, &out);
  if (result == NULL) { km_throw_last_error(env); return NULL; }
  encode_block(law, in, out, n);
  return result;
}

/* encodeInto(pcm: Int16Array, out: Uint8Array): number of bytes written */
static napi_value encode_into(napi_env env, napi_callback_info info, law_t law) {
  size_t argc = 2, n = 0, cap = 0;
  napi_value argv[2], result;
  void *in = NULL, *out = NULL;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!km_get_typed(env, argv[0], napi_int16_array, "pcm (Int16Array)", &in, &n) ||
      !km_get_typed(env, argv[1], napi_uint8_array, "out (Uint8Array)", &out, &cap))
    return NULL;
  if (cap < n) {
    napi_throw_range_error(env, NULL, "out is shorter than pcm");
    return NULL;
  }
  encode_block(law, in, out, n);
  NAPI_CALL(env, napi_create_uint32(env, (uint32_t)n, &result));
  return result;
}

/* decode(payload: Uint8Array): Int16Array */
static napi_value decode_new(napi_env env, napi_callback_info info, law_t law) {
  size_t argc = 1, n = 0;
  napi_value argv[1], result;
  void *in = NULL, *out = NULL;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!km_get_typed(env, argv[0], napi_uint8_array, "payload (Uint8Array)", &in, &n)) return NULL;
  result = km_new_typed(env, napi_int16_array, n, &out);
  if (result == NULL) { km_throw_last_error(env); return NULL; }
  decode_block(law, in, out, n);
  return result;
}

/* decodeInto(payload: Uint8Array, out: Int16Array): number of samples written */
static napi_value decode_into(napi_env env, napi_callback_info info, law_t law) {
  size_t argc = 2, n = 0, cap = 0;
  napi_value argv[2], result;
  void *in = NULL, *out = NULL;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!km_get_typed(env, argv[0], napi_uint8_array, "payload (Uint8Array)", &in, &n) ||
      !km_get_typed(env, argv[1], napi_int16_array, "out (Int16Array)", &out, &cap))
    return NULL;
  if (cap < n) {
    napi_throw_range_error(env, NULL, "out is shorter than payload");
    return NULL;
  }
  decode_block(law, in, out, n);
  NAPI_CALL(env, napi_create_uint32(env, (uint32_t)n, &result));
  return result;
}

static napi_value ulaw_encode(napi_env env, napi_callback_info i) { return encode_new(env, i, LAW_ULAW); }
static napi_value alaw_encode(napi_env env, napi_callback_info i) { return encode_new(env, i, LAW_ALAW); }
static napi_value ulaw_encode_into(napi_env env, napi_callback_info i) { return encode_into(env, i, LAW_ULAW); }
static napi_value alaw_encode_into(napi_env env, napi_callback_info i) { return encode_into(env, i, LAW_ALAW); }
static napi_value ulaw_decode(napi_env env, napi_callback_info i) { return decode_new(env, i, LAW_ULAW); }
static napi_value alaw_decode(napi_env env, napi_callback_info i) { return decode_new(env, i, LAW_ALAW); }
static napi_value ulaw_decode_into(napi_env env, napi_callback_info i) { return decode_into(env, i, LAW_ULAW); }
static napi_value alaw_decode_into(napi_env env, napi_callback_info i) { return decode_into(env, i, LAW_ALAW); }

napi_status km_init_g711(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"ulawEncode", NULL, ulaw_encode, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ulawEncodeInto", NULL, ulaw_encode_into, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ulawDecode", NULL, ulaw_decode, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ulawDecodeInto", NULL, ulaw_decode_into, NULL, NULL, NULL, napi_enumerable, NULL},
      {"alawEncode", NULL, alaw_encode, NULL, NULL, NULL, napi_enumerable, NULL},
      {"alawEncodeInto", NULL, alaw_encode_into, NULL, NULL, NULL, napi_enumerable, NULL},
      {"alawDecode", NULL, alaw_decode, NULL, NULL, NULL, napi_enumerable, NULL},
      {"alawDecodeInto", NULL, alaw_decode_into, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
