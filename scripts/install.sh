#!/bin/sh
# Install a built Kalem Gateway tree: `make install [PREFIX=/usr/local] [DESTDIR=] [SYSTEMDDIR=]`.
#
#   $PREFIX/lib/kalem/       dist/src, node_modules, native/build/Release, package.json
#   $PREFIX/bin/kalem        wrapper that execs node on dist/src/main.js
#   $PREFIX/share/kalem/     samples: kalem.example.toml, rtpengine.conf, drachtio files
#   $SYSTEMDDIR/kalem.service, $SYSTEMDDIR/rtpengine-daemon.service.d/kalem.conf
#   /etc/kalem/kalem.toml    from config/kalem.example.toml, only if it does not exist yet
#   /etc/rtpengine/rtpengine-kalem.conf   from config/rtpengine.conf, only if absent
#   /var/lib/kalem           the state directory (systemd's StateDirectory= owns it too)
#
# Safe to run again (upgrades replace the program, never configuration, keys or data).
# With DESTDIR (staging for a package) or when not run as root it creates no user and changes
# no owners, and says so. Environment: PREFIX, DESTDIR, SYSTEMDDIR, NODE (node binary to use),
# KALEM_SRC (tree to install from; default: this script's repository).
set -eu
umask 022

SRC=${KALEM_SRC:-$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
SYSTEMDDIR=${SYSTEMDDIR:-/etc/systemd/system}
CONFDIR=/etc/kalem
STATEDIR=/var/lib/kalem
RTPENGINE_CONF=/etc/rtpengine/rtpengine-kalem.conf
USER_NAME=kalem

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

# --- checks -------------------------------------------------------------------------------------
# PREFIX ends up inside systemd unit lines and a sed replacement: keep it a plain absolute path.
case $PREFIX in
  /*) ;;
  *) die "PREFIX must be an absolute path (got '$PREFIX')" ;;
esac
case $PREFIX$SYSTEMDDIR in
  *[!A-Za-z0-9/._+-]*) die "PREFIX and SYSTEMDDIR may only contain letters, digits and / . _ + -" ;;
esac
case $SYSTEMDDIR in
  /*) ;;
  *) die "SYSTEMDDIR must be an absolute path (got '$SYSTEMDDIR')" ;;
esac

for f in dist/src/main.js package.json node_modules native/build/Release/kalem_media.node \
         config/kalem.example.toml config/rtpengine.conf systemd/kalem.service \
         systemd/rtpengine-daemon.service.d/kalem.conf; do
  [ -e "$SRC/$f" ] || die "$SRC/$f is missing: run 'make build' first"
done

NODE=${NODE:-$(command -v node || true)}
[ -n "$NODE" ] || die "node not found in PATH; install Node.js 20 or set NODE=/path/to/node"
case $NODE in
  /*) ;;
  *) die "NODE must be an absolute path (got '$NODE')" ;;
esac
case $NODE in
  *[!A-Za-z0-9/._+-]*) die "NODE may only contain letters, digits and / . _ + - (got '$NODE')" ;;
esac
"$NODE" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  die "$NODE is older than Node.js 20"
case $NODE in
  /root/*|/home/*|/run/user/*)
    say "warning: $NODE lives under a home directory; kalem.service runs with ProtectHome=yes"
    say "         and will not see it. Install Node.js system-wide or set NODE=/usr/bin/node." ;;
esac

# Ownership needs root and the real system; a staged install leaves that to the package.
MANAGE_OWNERS=yes
if [ -n "$DESTDIR" ]; then
  MANAGE_OWNERS=no
  say "DESTDIR is set: staging into $DESTDIR; not creating user '$USER_NAME', not changing owners."
elif [ "$(id -u)" -ne 0 ]; then
  MANAGE_OWNERS=no
  say "not running as root: not creating user '$USER_NAME', not changing owners."
fi

LIBDIR=$PREFIX/lib/kalem
D_LIB=$DESTDIR$LIBDIR

# --- program ------------------------------------------------------------------------------------
# Build the new tree beside the old one and swap, so an upgrade never leaves a half-copied
# program behind and files removed from a release disappear from the install.
install -d -m 0755 "$DESTDIR$PREFIX/lib" "$DESTDIR$PREFIX/bin" "$DESTDIR$PREFIX/share/kalem"
rm -rf "$D_LIB.new" "$D_LIB.old"
install -d -m 0755 "$D_LIB.new/dist" "$D_LIB.new/native/build/Release"
cp -R "$SRC/dist/src" "$D_LIB.new/dist/src"
# Only the addon itself, not the compiler's intermediate files.
cp "$SRC"/native/build/Release/*.node "$D_LIB.new/native/build/Release/"
# node_modules as built (symlinks in .bin kept as symlinks).
cp -R -P "$SRC/node_modules" "$D_LIB.new/node_modules"
install -m 0644 "$SRC/package.json" "$D_LIB.new/package.json"
for f in README.md LICENSE; do
  if [ -f "$SRC/$f" ]; then install -m 0644 "$SRC/$f" "$D_LIB.new/$f"; fi
done
chmod -R u+rwX,go+rX,go-w "$D_LIB.new"
if [ -d "$D_LIB" ]; then mv "$D_LIB" "$D_LIB.old"; fi
mv "$D_LIB.new" "$D_LIB"
rm -rf "$D_LIB.old"
say "installed program to $D_LIB"

# The wrapper execs node, so node keeps the wrapper's PID: systemd's main PID, which is what
# Type=notify with NotifyAccess=main requires.
WRAPPER=$DESTDIR$PREFIX/bin/kalem
cat > "$WRAPPER.tmp" <<EOF
#!/bin/sh
# Kalem Gateway command; written by scripts/install.sh.
exec '$NODE' '$LIBDIR/dist/src/main.js' "\$@"
EOF
chmod 0755 "$WRAPPER.tmp"
mv "$WRAPPER.tmp" "$WRAPPER"
say "installed $WRAPPER"

# --- samples ------------------------------------------------------------------------------------
SHARE=$DESTDIR$PREFIX/share/kalem
install -m 0644 "$SRC/config/kalem.example.toml" "$SHARE/kalem.example.toml"
install -m 0644 "$SRC/config/rtpengine.conf" "$SHARE/rtpengine.conf"
for f in config/drachtio.conf.xml systemd/drachtio-server.service; do
  if [ -f "$SRC/$f" ]; then install -m 0644 "$SRC/$f" "$SHARE/$(basename "$f")"; fi
done

# --- systemd units ------------------------------------------------------------------------------
D_UNITS=$DESTDIR$SYSTEMDDIR
install -d -m 0755 "$D_UNITS" "$D_UNITS/rtpengine-daemon.service.d"
sed "s|@PREFIX@|$PREFIX|g" "$SRC/systemd/kalem.service" > "$D_UNITS/kalem.service.tmp"
chmod 0644 "$D_UNITS/kalem.service.tmp"
mv "$D_UNITS/kalem.service.tmp" "$D_UNITS/kalem.service"
install -m 0644 "$SRC/systemd/rtpengine-daemon.service.d/kalem.conf" \
  "$D_UNITS/rtpengine-daemon.service.d/kalem.conf"
say "installed $D_UNITS/kalem.service and $D_UNITS/rtpengine-daemon.service.d/kalem.conf"

# --- user ---------------------------------------------------------------------------------------
if [ "$MANAGE_OWNERS" = yes ]; then
  if getent passwd "$USER_NAME" >/dev/null 2>&1; then
    say "user $USER_NAME exists"
  else
    useradd --system --user-group --no-create-home --home-dir "$STATEDIR" \
      --shell /usr/sbin/nologin --comment "Kalem Gateway" "$USER_NAME"
    say "created system user $USER_NAME"
  fi
fi

# --- configuration and state --------------------------------------------------------------------
# /etc/kalem: root writes, the service reads through its group, nobody else looks in.
install -d -m 0750 "$DESTDIR$CONFDIR"
if [ -e "$DESTDIR$CONFDIR/kalem.toml" ]; then
  say "kept existing $DESTDIR$CONFDIR/kalem.toml (new sample: $SHARE/kalem.example.toml)"
else
  install -m 0640 "$SRC/config/kalem.example.toml" "$DESTDIR$CONFDIR/kalem.toml"
  say "installed $DESTDIR$CONFDIR/kalem.toml"
fi
install -d -m 0755 "$DESTDIR/etc/rtpengine"
if [ -e "$DESTDIR$RTPENGINE_CONF" ]; then
  say "kept existing $DESTDIR$RTPENGINE_CONF"
else
  install -m 0644 "$SRC/config/rtpengine.conf" "$DESTDIR$RTPENGINE_CONF"
  say "installed $DESTDIR$RTPENGINE_CONF"
fi
install -d -m 0700 "$DESTDIR$STATEDIR"
if [ "$MANAGE_OWNERS" = yes ]; then
  chown root:"$USER_NAME" "$CONFDIR" "$CONFDIR/kalem.toml"
  chmod 0750 "$CONFDIR"
  chown "$USER_NAME:$USER_NAME" "$STATEDIR"
  chmod 0700 "$STATEDIR"
fi

if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi

KALEM=$PREFIX/bin/kalem
cat <<EOF

Kalem Gateway is installed. Edit $CONFDIR/kalem.toml, then:

  $KALEM keys init --key-file $CONFDIR/master.key
  systemctl enable kalem
  systemctl start kalem

EOF
