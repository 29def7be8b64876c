#!/bin/sh
# Remove what scripts/install.sh installed: `make uninstall [PREFIX=] [DESTDIR=] [SYSTEMDDIR=]`.
#
# Configuration and keys (/etc/kalem, /etc/rtpengine/rtpengine-kalem.conf) and data
# (/var/lib/kalem) stay, so a reinstall picks up where it left off. `PURGE=1` removes them as
# well, and the kalem user: the tenants' data and the master key are then gone for good.
set -eu

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
SYSTEMDDIR=${SYSTEMDDIR:-/etc/systemd/system}
PURGE=${PURGE:-0}
CONFDIR=/etc/kalem
STATEDIR=/var/lib/kalem
RTPENGINE_CONF=/etc/rtpengine/rtpengine-kalem.conf
USER_NAME=kalem

say() { printf '%s\n' "$*"; }
die() { printf 'uninstall.sh: %s\n' "$*" >&2; exit 1; }

# Refuse anything that could turn an rm -rf below into something unintended.
case $PREFIX in
  /*) ;;
  *) die "PREFIX must be an absolute path (got '$PREFIX')" ;;
esac
case $PREFIX$SYSTEMDDIR in
  *[!A-Za-z0-9/._+-]*) die "PREFIX and SYSTEMDDIR may only contain letters, digits and / . _ + -" ;;
esac

LIVE=no
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && [ "$(id -u)" -eq 0 ]; then LIVE=yes; fi

# Stop the service before its unit disappears; a stop drains calls (TimeoutStopSec).
if [ "$LIVE" = yes ] && [ -f "$SYSTEMDDIR/kalem.service" ]; then
  systemctl disable --now kalem.service || true
fi

rm -f "$DESTDIR$SYSTEMDDIR/kalem.service"
rm -f "$DESTDIR$SYSTEMDDIR/rtpengine-daemon.service.d/kalem.conf"
rmdir "$DESTDIR$SYSTEMDDIR/rtpengine-daemon.service.d" 2>/dev/null || true
rm -f "$DESTDIR$PREFIX/bin/kalem"
rm -rf "$DESTDIR$PREFIX/lib/kalem" "$DESTDIR$PREFIX/lib/kalem.new" "$DESTDIR$PREFIX/lib/kalem.old"
rm -rf "$DESTDIR$PREFIX/share/kalem"
say "removed the program, the wrapper, the samples and the systemd units"

if [ "$PURGE" = 1 ]; then
  rm -rf "$DESTDIR$CONFDIR" "$DESTDIR$STATEDIR"
  rm -f "$DESTDIR$RTPENGINE_CONF"
  say "PURGE=1: removed $CONFDIR (configuration and master key), $STATEDIR (data), $RTPENGINE_CONF"
  if [ -z "$DESTDIR" ] && [ "$(id -u)" -eq 0 ] && getent passwd "$USER_NAME" >/dev/null 2>&1; then
    userdel "$USER_NAME"
    say "removed user $USER_NAME"
  fi
else
  say "kept $CONFDIR (configuration and master key), $STATEDIR (data) and $RTPENGINE_CONF;"
  say "run with PURGE=1 to remove them too"
fi

if [ "$LIVE" = yes ]; then
  systemctl daemon-reload
fi
# Not restarted here: a running rtpengine keeps the gateway's settings until it is restarted.
say "rtpengine-daemon uses Debian's /etc/rtpengine/rtpengine.conf from its next restart"
