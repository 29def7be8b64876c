#!/usr/bin/env bash
# `make test`: the whole suite through node-tap. A CI log is often read from its tail only, where
# tap's summary gives counts but not names; so on failure the failed assertions (each `not ok`
# line with the diagnostics under it, from any depth of subtest) are repeated at the very end.
set -uo pipefail
log="$(mktemp "${TMPDIR:-/tmp}/kalem-tap-XXXXXX")"
trap 'rm -f "$log"' EXIT
npx tap "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
  echo
  echo "=== make test failed (tap exit $rc). The failed assertions, repeated from above: ==="
  grep -E -A 14 '^[[:space:]]*not ok ' "$log" | head -n 400
fi
exit "$rc"
