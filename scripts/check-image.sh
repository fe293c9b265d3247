#!/usr/bin/env bash
# Builds the production image with podman and checks it the way Kubernetes will run it:
# read-only root filesystem, no capabilities, the image's non-root user.
#   1. GET /healthz answers 200;
#   2. GET /audio/greeting.mp3 with Range: bytes=0-99 answers 206 with 100 bytes of audio/mpeg;
#   3. POST /texml/inbound answers a TeXML document;
#   4. SIGTERM: the container exits 0 within the grace period (the app drains for up to 25 s).
# Not part of CI (it needs podman and the node:22-bookworm-slim base image).
#
#   scripts/check-image.sh                 # build localhost/switchboard:check, then check it
#   IMAGE=my/switchboard:1.0 SKIP_BUILD=1 scripts/check-image.sh   # check an existing image
#
# Environment: IMAGE (tag to build/check), SKIP_BUILD=1, GRACE_SECONDS (default 30),
# PODMAN_RUNTIME (default runc), KEEP=1 (leave the container for inspection).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/switchboard:check}
GRACE_SECONDS=${GRACE_SECONDS:-30}
PODMAN_RUNTIME=${PODMAN_RUNTIME:-runc}
# The base exactly as the Dockerfile pins it (tag@digest).
BASE_IMAGE=$(sed -n 's/^FROM \(node:22-bookworm-slim@sha256:[0-9a-f]\{64\}\).*/\1/p' Dockerfile | head -n 1)
[ -n "$BASE_IMAGE" ] || { printf 'check-image: the Dockerfile does not pin node:22-bookworm-slim by digest\n' >&2; exit 1; }
NAME="switchboard-check-$$"

say() { printf 'check-image: %s\n' "$*"; }
fail() {
  printf 'check-image: FAIL: %s\n' "$*" >&2
  if podman container exists "$NAME" 2>/dev/null; then
    printf -- '--- container log ---\n' >&2
    podman logs "$NAME" 2>&1 | tail -n 40 >&2 || true
  fi
  exit 1
}

if ! command -v podman >/dev/null 2>&1; then
  say "podman is not installed, so the image cannot be built or run here."
  say "Install it (Debian/Ubuntu: apt-get install -y podman runc) or build with: docker build -t switchboard ."
  exit 2
fi
command -v curl >/dev/null 2>&1 || { say "curl is needed (apt-get install -y curl)"; exit 2; }

# podman options that work inside containers and sandboxes, where systemd and cgroup v2
# delegation are usually missing and raising rlimits is not allowed (runc: "error setting
# rlimit ... operation not permitted"): ask for limits at or below the current hard ones.
hard_nofile=$(ulimit -Hn)
[ "$hard_nofile" = unlimited ] && hard_nofile=65536
[ "$hard_nofile" -gt 65536 ] && hard_nofile=65536
RUN_OPTS=(--runtime "$PODMAN_RUNTIME" --cgroup-manager=cgroupfs
  --ulimit "nofile=$hard_nofile:$hard_nofile" --ulimit nproc=4096:4096)

cleanup() {
  if [ "${KEEP:-}" != 1 ]; then podman rm -f "$NAME" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

if [ "${SKIP_BUILD:-}" != 1 ]; then
  if ! podman image exists "$BASE_IMAGE" && ! podman image exists "docker.io/library/$BASE_IMAGE"; then
    say "base image $BASE_IMAGE is not present; pulling it"
    podman pull "docker.io/library/$BASE_IMAGE" ||
      fail "cannot pull $BASE_IMAGE (no registry reachable?). Load or build it locally first, e.g. podman load -i node-22-bookworm-slim.tar"
  fi
  say "building $IMAGE"
  # --format docker keeps HEALTHCHECK (the OCI format has no such field).
  podman build --isolation=chroot --format docker -t "$IMAGE" . || fail "podman build failed"
fi

user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
case "${user%%:*}" in
  '' | 0 | root) fail "the image runs as '${user:-root}', not as a non-root user" ;;
  *[!0-9]*) fail "the image's USER '$user' is not numeric (Kubernetes runAsNonRoot cannot verify it)" ;;
esac
say "image user: $user"

# Host networking: no CNI/netavark setup needed; the app listens on a free loopback port.
port=$(node -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
base="http://127.0.0.1:$port"
say "starting $NAME on $base"
# podman's stderr is kept for failures only: without systemd it complains that it cannot schedule
# the HEALTHCHECK timer, which is harmless (the check below runs it by hand).
runlog=$(mktemp)
podman run -d --name "$NAME" "${RUN_OPTS[@]}" \
  --network host --read-only --tmpfs /tmp --cap-drop=ALL --security-opt no-new-privileges \
  -e PORT="$port" -e HOST=127.0.0.1 -e PUBLIC_URL=https://switchboard.example.com \
  -e AGENTS='Alice=sip:alice@sip.telnyx.com,Bob=sip:bob@sip.telnyx.com' \
  "$IMAGE" >/dev/null 2>"$runlog" || {
  cat "$runlog" >&2
  fail "podman run failed"
}
rm -f "$runlog"

for _ in $(seq 1 100); do
  if curl -fsS "$base/healthz" >/dev/null 2>&1; then break; fi
  [ "$(podman inspect --format '{{.State.Running}}' "$NAME")" = true ] || fail "the container stopped at start"
  sleep 0.2
done
health=$(curl -sS -o /dev/null -w '%{http_code}' "$base/healthz") || fail "/healthz unreachable"
[ "$health" = 200 ] || fail "/healthz answered $health"
say "ok  GET /healthz -> 200"

if [ -n "$(podman image inspect --format '{{if .HealthCheck}}yes{{end}}' "$IMAGE" 2>/dev/null)" ]; then
  podman healthcheck run "$NAME" >/dev/null 2>&1 || fail "the image's HEALTHCHECK reports unhealthy"
  say "ok  HEALTHCHECK -> healthy"
fi

headers=$(mktemp)
status=$(curl -sS -o /dev/null -D "$headers" -w '%{http_code} %{size_download}' -H 'Range: bytes=0-99' "$base/audio/greeting.mp3")
[ "$status" = "206 100" ] || fail "GET /audio/greeting.mp3 with Range: bytes=0-99 answered '$status' (want 206 with 100 bytes)"
grep -qi '^content-type: audio/mpeg' "$headers" || fail "the MP3 is not served as audio/mpeg"
grep -qi '^content-range: bytes 0-99/' "$headers" || fail "no Content-Range: bytes 0-99/..."
rm -f "$headers"
say "ok  GET /audio/greeting.mp3 Range: bytes=0-99 -> 206, 100 bytes, audio/mpeg"

texml=$(curl -sS -X POST -H 'content-type: application/x-www-form-urlencoded' \
  --data 'CallSid=v3:check-image&From=%2B13125550123&To=%2B13125550100&CallStatus=ringing' "$base/texml/inbound")
case "$texml" in
  *'<Response>'*'<Dial'*'</Response>'*) say "ok  POST /texml/inbound -> TeXML with <Dial>" ;;
  *) fail "POST /texml/inbound did not answer a TeXML <Dial>: $texml" ;;
esac

say "sending SIGTERM"
started=$(date +%s)
podman kill --signal TERM "$NAME" >/dev/null
code=$(timeout "$GRACE_SECONDS" podman wait "$NAME") || fail "still running ${GRACE_SECONDS}s after SIGTERM"
took=$(($(date +%s) - started))
[ "$code" = 0 ] || fail "exited with code $code after SIGTERM (want 0)"
podman logs "$NAME" 2>&1 | grep -q 'shutting down' || fail "no 'shutting down' in the log: SIGTERM did not reach Node?"
say "ok  SIGTERM -> exit 0 after ${took}s (grace ${GRACE_SECONDS}s)"
say "all checks passed for $IMAGE"
