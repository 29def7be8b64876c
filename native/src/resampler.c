/*
 * The stateful speex resampler (libspeexdsp), one object per stream direction. The filter
 * history is kept between calls, so a stream cut into 20 ms frames comes out exactly as if it
 * had been resampled in one block: no clicks at frame edges.
 */
#include <stdlib.h>
#include <string.h>

#include <speex/speex_resampler.h>

#include "common.h"

typedef struct {
  SpeexResamplerState *st;
  int32_t in_rate;
  int32_t out_rate;
  int16_t *scratch; /* output scratch, grown on demand and reused between frames */
  size_t scratch_cap;
} resampler_t;

static void resampler_release(resampler_t *r) {
  if (r->st != NULL) speex_resampler_destroy(r->st);
  free(r->scratch);
  r->st = NULL;
  r->scratch = NULL;
  r->scratch_cap = 0;
}

static void resampler_finalize(napi_env env, void *data, void *hint) {
  resampler_release(data);
  free(data);
}

/* new Resampler(inRate, outRate, quality) */
static napi_value resampler_new(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  int32_t in_rate, out_rate, quality;
  int err = 0;
  resampler_t *r;
  napi_value new_target = NULL;
  NAPI_CALL(env, napi_get_new_target(env, info, &new_target));
  if (new_target == NULL) {
    napi_throw_type_error(env, NULL, "Resampler needs `new`");
    return NULL;
  }
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "Resampler(inRate, outRate, quality) needs three arguments");
    return NULL;
  }
  if (!km_get_int(env, argv[0], "inRate", 1000, 384000, &in_rate) ||
      !km_get_int(env, argv[1], "outRate", 1000, 384000, &out_rate) ||
      !km_get_int(env, argv[2], "quality", 0, 10, &quality))
    return NULL;
  r = calloc(1, sizeof *r);
  if (r == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  r->in_rate = in_rate;
  r->out_rate = out_rate;
  r->st = speex_resampler_init(1, (spx_uint32_t)in_rate, (spx_uint32_t)out_rate, quality, &err);
  if (r->st == NULL || err != RESAMPLER_ERR_SUCCESS) {
    resampler_release(r);
    free(r);
    napi_throw_error(env, NULL, speex_resampler_strerror(err));
    return NULL;
  }
  if (napi_type_tag_object(env, self, &KM_TAG_RESAMPLER) != napi_ok ||
      napi_wrap(env, self, r, resampler_finalize, NULL, NULL) != napi_ok) {
    resampler_release(r);
    free(r);
    km_throw_last_error(env);
    return NULL;
  }
  return self;
}

static resampler_t *self_state(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  resampler_t *r;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) {
    km_throw_last_error(env);
    return NULL;
  }
  r = km_unwrap_tagged(env, self, &KM_TAG_RESAMPLER, "Resampler");
  if (r == NULL) return NULL;
  if (r->st == NULL) {
    napi_throw_error(env, "KALEM_NATIVE_DESTROYED", "Resampler used after destroy()");
    return NULL;
  }
  return r;
}

/* process(pcm: Int16Array): Int16Array — all input is consumed; history stays in the state. */
static napi_value process(napi_env env, napi_callback_info info) {
  size_t argc = 1, n = 0, need, produced = 0, consumed = 0;
  napi_value argv[1], result;
  void *in = NULL, *out = NULL;
  resampler_t *r = self_state(env, info, &argc, argv);
  if (r == NULL) return NULL;
  if (!km_get_typed(env, argv[0], napi_int16_array, "pcm (Int16Array)", &in, &n)) return NULL;
  /* Expected output plus slack for the fractional phase carried between calls. */
  need = (size_t)(((uint64_t)n * (uint64_t)r->out_rate) / (uint64_t)r->in_rate) + 16;
  if (need > r->scratch_cap) {
    int16_t *grown = realloc(r->scratch, need * sizeof(int16_t));
    if (grown == NULL) {
      napi_throw_error(env, NULL, "out of memory");
      return NULL;
    }
    r->scratch = grown;
    r->scratch_cap = need;
  }
  while (consumed < n) {
    spx_uint32_t in_len = (spx_uint32_t)(n - consumed);
    spx_uint32_t out_len = (spx_uint32_t)(r->scratch_cap - produced);
    int err = speex_resampler_process_int(r->st, 0, (const spx_int16_t *)in + consumed, &in_len,
                                          r->scratch + produced, &out_len);
    if (err != RESAMPLER_ERR_SUCCESS) {
      napi_throw_error(env, NULL, speex_resampler_strerror(err));
      return NULL;
    }
    consumed += in_len;
    produced += out_len;
    if (in_len == 0 && out_len == 0) break; /* no progress: never spin */
    if (produced >= r->scratch_cap && consumed < n) {
      int16_t *grown = realloc(r->scratch, r->scratch_cap * 2 * sizeof(int16_t));
      if (grown == NULL) {
        napi_throw_error(env, NULL, "out of memory");
        return NULL;
      }
      r->scratch = grown;
      r->scratch_cap *= 2;
    }
  }
  result = km_new_typed(env, napi_int16_array, produced, &out);
  if (result == NULL) { km_throw_last_error(env); return NULL; }
  if (produced > 0) memcpy(out, r->scratch, produced * sizeof(int16_t));
  return result;
}

/* reset(): clears the filter history (for a new talkspurt after an SSRC change). */
static napi_value reset(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  resampler_t *r = self_state(env, info, &argc, NULL);
  if (r == NULL) return NULL;
  speex_resampler_reset_mem(r->st);
  return NULL;
}

/* inputLatency(): the filter delay, in input samples. */
static napi_value input_latency(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value result;
  resampler_t *r = self_state(env, info, &argc, NULL);
  if (r == NULL) return NULL;
  NAPI_CALL(env, napi_create_int32(env, speex_resampler_get_input_latency(r->st), &result));
  return result;
}

/* outputLatency(): the filter delay, in output samples. */
static napi_value output_latency(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value result;
  resampler_t *r = self_state(env, info, &argc, NULL);
  if (r == NULL) return NULL;
  NAPI_CALL(env, napi_create_int32(env, speex_resampler_get_output_latency(r->st), &result));
  return result;
}

static napi_value destroy(napi_env env, napi_callback_info info) {
  napi_value self;
  resampler_t *r;
  NAPI_CALL(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  r = km_unwrap_tagged(env, self, &KM_TAG_RESAMPLER, "Resampler");
  if (r != NULL) resampler_release(r);
  return NULL;
}

napi_status km_init_resampler(napi_env env, napi_value exports) {
  napi_value cls;
  napi_status st;
  napi_property_descriptor props[] = {
      {"process", NULL, process, NULL, NULL, NULL, napi_default_method, NULL},
      {"reset", NULL, reset, NULL, NULL, NULL, napi_default_method, NULL},
      {"inputLatency", NULL, input_latency, NULL, NULL, NULL, napi_default_method, NULL},
      {"outputLatency", NULL, output_latency, NULL, NULL, NULL, napi_default_method, NULL},
      {"destroy", NULL, destroy, NULL, NULL, NULL, napi_default_method, NULL},
  };
  st = napi_define_class(env, "Resampler", NAPI_AUTO_LENGTH, resampler_new, NULL,
                         sizeof props / sizeof props[0], props, &cls);
  if (st != napi_ok) return st;
  return napi_set_named_property(env, exports, "Resampler", cls);
}
