/*
 * kalem_sys: the one system call Node cannot make itself. systemd's Type=notify readiness
 * protocol is a datagram on an AF_UNIX socket ($NOTIFY_SOCKET), and Node has no AF_UNIX
 * datagram sockets. Spawning `systemd-notify` does not work with NotifyAccess=main (the message
 * would come from a child) and races with its exit otherwise, so the daemon's own process sends
 * it from here. Kept apart from the media addon: this has nothing to do with the hot path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* notify(state: string): boolean — false when not under systemd ($NOTIFY_SOCKET unset). */
static napi_value Notify(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  char state[512];
  size_t len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], state, sizeof state, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "notify(state) needs a string of at most 511 bytes");
    return NULL;
  }
  const char *path = getenv("NOTIFY_SOCKET");
  if (path == NULL || path[0] == '\0') {
    napi_get_boolean(env, false, &result);
    return result;
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t plen = strlen(path);
  if (plen >= sizeof addr.sun_path || (path[0] != '/' && path[0] != '@')) {
    napi_throw_error(env, NULL, "NOTIFY_SOCKET is not a usable socket path");
    return NULL;
  }
  memcpy(addr.sun_path, path, plen);
  if (path[0] == '@') addr.sun_path[0] = '\0'; /* abstract namespace */
  socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  ssize_t sent = sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&addr, alen);
  int err = errno;
  close(fd);
  if (sent < 0) {
    napi_throw_error(env, NULL, strerror(err));
    return NULL;
  }
  napi_get_boolean(env, true, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "notify", NAPI_AUTO_LENGTH, Notify, NULL, &fn);
  napi_set_named_property(env, exports, "notify", fn);
  return exports;
}
