# Switchboard's production image: compiled JavaScript on Node 22, run as an unprivileged user.
#   podman build --isolation=chroot -t switchboard .     (or: docker build -t switchboard .)
# scripts/check-image.sh builds it and checks /healthz, an MP3 range request and a clean SIGTERM exit.
#
# The base is pinned by tag and digest (the multi-arch index digest of node:22-bookworm-slim):
# a rebuild gets the same bytes until someone moves the pin. Bump all three FROM lines together,
# e.g. with the digest `docker buildx imagetools inspect node:22-bookworm-slim` prints.

# --- build: every dependency (TypeScript), then tsc into dist/ ------------------------------
FROM node:22-bookworm-slim@sha256:43ac6c60b8f89723f746e8a92ce91abd5017e627ce1ddfe4238355d3a30b772c AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
RUN npm run build

# --- runtime dependencies only ---------------------------------------------------------------
FROM node:22-bookworm-slim@sha256:43ac6c60b8f89723f746e8a92ce91abd5017e627ce1ddfe4238355d3a30b772c AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# sodium-native (Ed25519 signature checks) ships prebuilt binaries for 13 platforms and two runtimes
# inside its npm package (no install script, no compiler): keep only this image's Node binary
# (linux-x64 or linux-arm64; glibc, as in bookworm), ≈ 14 MB less, and fail the build if it does not
# load (the app itself would fall back to node:crypto, slower, with one warning at start-up).
RUN node -e "const fs=require('fs'),p='node_modules/sodium-native/prebuilds',keep=process.platform+'-'+process.arch;for(const d of fs.readdirSync(p)){const f=p+'/'+d;if(d!==keep)fs.rmSync(f,{recursive:true});else for(const x of fs.readdirSync(f))if(!x.endsWith('.node'))fs.rmSync(f+'/'+x)}" \
 && node -e "require('sodium-native').crypto_sign_verify_detached"

# --- runtime: compiled output, production node_modules, templates and prompts ---------------
FROM node:22-bookworm-slim@sha256:43ac6c60b8f89723f746e8a92ce91abd5017e627ce1ddfe4238355d3a30b772c AS runtime
LABEL org.opencontainers.image.title="switchboard" \
      org.opencontainers.image.description="Open-source call-center server on Telnyx TeXML" \
      org.opencontainers.image.licenses="MIT"
ENV PORT=8080 \
    HOST=0.0.0.0
WORKDIR /app
# Owned by root and read-only to the app: the container also runs with a read-only root filesystem.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/web ./dist/web
COPY package.json ./
COPY texml ./texml
COPY audio ./audio
# The image's `node` user, by number: Kubernetes' runAsNonRoot can only verify a numeric user.
USER 1000:1000
EXPOSE 8080
# For docker/podman only (Kubernetes uses the chart's probes). Node 22 has fetch; no curl in -slim.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself (a shell would swallow it), so
# close-with-grace drains in-flight requests and the Slack outbox before exiting 0.
CMD ["node", "--enable-source-maps", "dist/src/server.js"]
