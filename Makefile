# Kalem Gateway — the README's two commands: `make setup`, then `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := build

PREFIX ?= /usr/local
DESTDIR ?=
SYSTEMDDIR ?= /etc/systemd/system
PURGE ?= 0
NODE ?= node

# Debian packages the build and the test suite need (real peers, not mocks):
#   build-essential, python3      native modules (better-sqlite3, the media addon) via node-gyp
#   libspandsp-dev, libspeexdsp-dev  G.711/G.722 and the resampler linked by native/
#   rtpengine-daemon              media anchoring (SRTP ⇄ RTP)
#   sip-tester                    SIPp, for the SIP scenarios and benchmarks
#   baresip                       a TLS + SRTP user agent for end-to-end calls
#   espeak-ng, sox                speech files for audio tests
#   systemd                       systemd-analyze verify/security for the units
#   openssl                       throwaway certificates in TLS tests
#   libboost-log1.74.0 libboost-thread1.74.0 libboost-filesystem1.74.0 libcurl4 libssl3 zlib1g
#                                 runtime libraries of drachtio-server, which has no Debian
#                                 package: tests run the build of it in ../shared/drachtio/
#                                 (DRACHTIO_BIN, set by .ci/run) against the drachtio engine
DEBIAN_PACKAGES := build-essential python3 pkg-config libspandsp-dev libspeexdsp-dev rtpengine-daemon \
	sip-tester baresip espeak-ng sox systemd openssl ca-certificates \
	libboost-log1.74.0 libboost-thread1.74.0 libboost-filesystem1.74.0 libcurl4 libssl3 zlib1g

.PHONY: setup setup-debian setup-npm build native test run clean install uninstall fuzz

setup: setup-debian setup-npm native build

# Idempotent: installs only what is missing. Needs root (or sudo) for apt-get.
setup-debian:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "setup: Debian packages already installed"; exit 0; fi; \
	echo "setup: installing Debian packages:" $$missing; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	  echo "setup: need root to install: $$missing (run 'make setup' as root, or install them with apt-get)" >&2; exit 1; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$SUDO apt-get update -qq && \
	$$SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends $$missing

# npm blocks install scripts except for the packages under "allowScripts" in package.json; native
# modules build from source with node-gyp against the system's Node headers.
setup-npm:
	npm install --no-audit --no-fund

build:
	npx tsc -p tsconfig.json
	chmod +x dist/src/main.js

# The N-API media addon (G.711/G.722 via libspandsp, resampling via libspeexdsp), built with the
# node-gyp that ships inside npm, against the system Node headers (no header download).
NODE_GYP ?= $(shell dirname "$$(readlink -f "$$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js
ADDON := native/build/Release/kalem_media.node

native: $(ADDON) native/build/Release/kalem_sys.node

$(ADDON) native/build/Release/kalem_sys.node: native/binding.gyp $(wildcard native/src/*.c native/src/*.h)
	cd native && $(NODE) "$(NODE_GYP)" rebuild --nodedir=/usr

# Without DRACHTIO_BIN the real drachtio-server suite (test/drachtio-real/) is skipped, and says so.
test: build native
	@[ -n "$$DRACHTIO_BIN" ] || echo "make test: DRACHTIO_BIN is not set: the real drachtio-server suite (test/drachtio-real/) will NOT run"
	bash scripts/run-tests.sh

# A long parser fuzz run (make test runs a short one).
fuzz: build
	$(NODE) dist/test/fuzz/sip-parser-fuzz.js --iterations 1000000 --seed $${SEED:-42}

# Starts the daemon on the embedded defaults with data under ./var/ (a dev master key is made once).
# Logs are made readable by pino-pretty here only; the daemon itself (and production under
# systemd) writes JSON lines. pino-pretty ignores Ctrl-C and ends when the daemon has drained.
run: build
	@mkdir -p var && chmod 700 var
	@[ -f var/master.key ] || $(NODE) dist/src/main.js -c config/kalem.dev.toml keys init
	set -o pipefail; $(NODE) dist/src/main.js -c config/kalem.dev.toml serve | $(NODE) node_modules/pino-pretty/bin.js --translateTime SYS:HH:MM:ss.l --ignore pid,hostname,service

clean:
	rm -rf dist native/build

# Installs the build, the kalem wrapper, the units and a commented /etc/kalem/kalem.toml (never
# overwritten); creates the kalem user. See scripts/install.sh.
install: build
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) SYSTEMDDIR=$(SYSTEMDDIR) sh scripts/install.sh

# Leaves /etc/kalem (config, keys) and /var/lib/kalem (data) unless PURGE=1.
uninstall:
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) SYSTEMDDIR=$(SYSTEMDDIR) PURGE=$(PURGE) sh scripts/uninstall.sh
