/*
 * G.722 at 64 kbit/s, 16 kHz audio, as stateful encoder and decoder objects (the codec is
 * ADPCM: each direction of each call needs its own state, carried from frame to frame).
 * Backed by libspandsp. `destroy()` frees the state at once; a finalizer frees it otherwise.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>

#include <spandsp/telephony.h>
#include <spandsp/g722.h>

#include "common.h"

typedef struct {
  g722_encode_state_t *enc;
  g722_decode_state_t *dec;
} g722_obj_t;

static void g722_release(g722_obj_t *obj) {
  if (obj->enc != NULL) g722_encode_free(obj->enc);
  if (obj->dec != NULL) g722_decode_free(obj->dec);
  obj->enc = NULL;
  obj->dec = NULL;
}

static void g722_finalize(napi_env env, void *data, void *hint) {
  g722_obj_t *obj = data;
  g722_release(obj);
  free(obj);
}

static napi_value construct(napi_env env, napi_callback_info info, bool encoder) {
  napi_value self;
  g722_obj_t *obj;
  napi_value new_target = NULL;
  NAPI_CALL(env, napi_get_new_target(env, info, &new_target));
  if (new_target == NULL) {
    napi_throw_type_error(env, NULL, "G.722 codec constructors need `new`");
    return NULL;
  }
  NAPI_CALL(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  obj = calloc(1, sizeof *obj);
  if (obj == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (encoder)
    obj->enc = g722_encode_init(NULL, 64000, 0);
  else
    obj->dec = g722_decode_init(NULL, 64000, 0);
  if (obj->enc == NULL && obj->dec == NULL) {
    free(obj);
    napi_throw_error(env, NULL, "g722 state allocation failed");
    return NULL;
  }
  if (napi_type_tag_object(env, self, encoder ? &KM_TAG_G722_ENCODER : &KM_TAG_G722_DECODER) != napi_ok ||
      napi_wrap(env, self, obj, g722_finalize, NULL, NULL) != napi_ok) {
    g722_release(obj);
    free(obj);
    km_throw_last_error(env);
    return NULL;
  }
  return self;
}

static napi_value encoder_new(napi_env env, napi_callback_info info) { return construct(env, info, true); }
static napi_value decoder_new(napi_env env, napi_callback_info info) { return construct(env, info, false); }

/* Fetches `this`'s state and arguments; throws unless it is a live object of the right class. */
static g722_obj_t *self_state(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, bool encoder) {
  napi_value self;
  g722_obj_t *obj;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) {
    km_throw_last_error(env);
    return NULL;
  }
  obj = km_unwrap_tagged(env, self, encoder ? &KM_TAG_G722_ENCODER : &KM_TAG_G722_DECODER,
                         encoder ? "G722Encoder" : "G722Decoder");
  if (obj == NULL) return NULL;
  if ((encoder ? (void *)obj->enc : (void *)obj->dec) == NULL) {
    napi_throw_error(env, "KALEM_NATIVE_DESTROYED", "G.722 codec object used after destroy()");
    return NULL;
  }
  return obj;
}

/* encode(pcm16k: Int16Array): Uint8Array — one byte per two samples at 64 kbit/s. */
static napi_value encode(napi_env env, napi_callback_info info) {
  size_t argc = 1, n = 0;
  napi_value argv[1], result;
  void *in = NULL, *out = NULL;
  g722_obj_t *obj = self_state(env, info, &argc, argv, true);
  if (obj == NULL) return NULL;
  if (!km_get_typed(env, argv[0], napi_int16_array, "pcm (Int16Array)", &in, &n)) return NULL;
  if (n % 2 != 0) {
    napi_throw_range_error(env, NULL, "G.722 encodes an even number of samples");
    return NULL;
  }
  result = km_new_typed(env, napi_uint8_array, n / 2, &out);
  if (result == NULL) { km_throw_last_error(env); return NULL; }
  g722_encode(obj->enc, out, in, (int)n);
  return result;
}

/* decode(payload: Uint8Array): Int16Array at 16 kHz — two samples per byte. */
static napi_value decode(napi_env env, napi_callback_info info) {
  size_t argc = 1, n = 0;
  napi_value argv[1], result;
  void *in = NULL, *out = NULL;
  int produced;
  g722_obj_t *obj = self_state(env, info, &argc, argv, false);
  if (obj == NULL) return NULL;
  if (!km_get_typed(env, argv[0], napi_uint8_array, "payload (Uint8Array)", &in, &n)) return NULL;
  result = km_new_typed(env, napi_int16_array, n * 2, &out);
  if (result == NULL) { km_throw_last_error(env); return NULL; }
  produced = g722_decode(obj->dec, out, in, (int)n);
  if (produced != (int)(n * 2)) {
    napi_throw_error(env, NULL, "g722_decode produced an unexpected number of samples");
    return NULL;
  }
  return result;
}

static napi_value destroy_tagged(napi_env env, napi_callback_info info, bool encoder) {
  napi_value self;
  g722_obj_t *obj;
  NAPI_CALL(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  obj = km_unwrap_tagged(env, self, encoder ? &KM_TAG_G722_ENCODER : &KM_TAG_G722_DECODER,
                         encoder ? "G722Encoder" : "G722Decoder");
  if (obj != NULL) g722_release(obj);
  return NULL;
}

static napi_value encoder_destroy(napi_env env, napi_callback_info info) { return destroy_tagged(env, info, true); }
static napi_value decoder_destroy(napi_env env, napi_callback_info info) { return destroy_tagged(env, info, false); }

napi_status km_init_g722(napi_env env, napi_value exports) {
  napi_value enc_class, dec_class;
  napi_status st;
  napi_property_descriptor enc_props[] = {
      {"encode", NULL, encode, NULL, NULL, NULL, napi_default_method, NULL},
      {"destroy", NULL, encoder_destroy, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_property_descriptor dec_props[] = {
      {"decode", NULL, decode, NULL, NULL, NULL, napi_default_method, NULL},
      {"destroy", NULL, decoder_destroy, NULL, NULL, NULL, napi_default_method, NULL},
  };
  st = napi_define_class(env, "G722Encoder", NAPI_AUTO_LENGTH, encoder_new, NULL, 2, enc_props, &enc_class);
  if (st != napi_ok) return st;
  st = napi_define_class(env, "G722Decoder", NAPI_AUTO_LENGTH, decoder_new, NULL, 2, dec_props, &dec_class);
  if (st != napi_ok) return st;
  st = napi_set_named_property(env, exports, "G722Encoder", enc_class);
  if (st != napi_ok) return st;
  return napi_set_named_property(env, exports, "G722Decoder", dec_class);
}
