# node-gyp build of the media addon: G.711 and G.722 from libspandsp, the resampler from
# libspeexdsp (Debian: libspandsp-dev, libspeexdsp-dev). Build: `node-gyp rebuild --nodedir=/usr`.
{
  "targets": [
    {
      "target_name": "kalem_media",
      "sources": [
        "src/addon.c",
        "src/g711.c",
        "src/g722.c",
        "src/resampler.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=c11"],
      "libraries": ["-lspandsp", "-lspeexdsp"]
    },
    {
      "target_name": "kalem_sys",
      "sources": ["src/sd_notify.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=c11"]
    }
  ]
}
