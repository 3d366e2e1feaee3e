# The hwe image for docker and podman users:
#   docker build -t hwe:dev --build-arg HWE_COMMIT=$(git rev-parse --short=12 HEAD) .
# It holds what `npm run image` (scripts/image.ts) builds without a container engine: Debian
# bookworm with kmod and dash, Node.js 24, production node_modules, dist/src, and one link per
# program name in /usr/local/bin. tools/image/README.md describes the layers and the entry points.

ARG NODE_VERSION=24.22.3

FROM docker.io/library/node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY bin bin
COPY src src
COPY test test
COPY bench bench
COPY scripts scripts
RUN npm run build \
    && rm -rf dist/test dist/bench dist/scripts dist/.tsbuildinfo \
    && find dist -name '*.test.js' -delete && find dist -name '*.map' -delete \
    && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && sed -i '1s|.*|#!/usr/local/bin/node|' bin/hwe \
    && sed -i '1s|.*|#!/usr/local/bin/node --lite-mode|' dist/nfd-worker/nfd-worker.cjs

FROM docker.io/library/debian:bookworm-slim
ARG HWE_COMMIT=unknown
RUN apt-get update \
    && apt-get install -y --no-install-recommends kmod \
    && rm -rf /var/lib/apt/lists/* \
    && echo 'hwe:x:65532:65532:hwe:/nonexistent:/usr/sbin/nologin' >> /etc/passwd \
    && echo 'hwe:x:65532:' >> /etc/group
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /src/package.json /opt/hwe/package.json
COPY --from=build /src/node_modules /opt/hwe/node_modules
COPY --from=build /src/dist /opt/hwe/dist
COPY --from=build /src/bin/hwe /opt/hwe/bin/hwe
# one link per program name of src/cli/programs.ts
RUN names=$(node --input-type=module -e "const m = await import('/opt/hwe/dist/src/cli/programs.js'); \
      console.log(Object.keys(m.PROGRAM_ALIASES).join(' '))") \
    && for p in hwe $names; do ln -s /opt/hwe/bin/hwe /usr/local/bin/$p; done \
    && ln -sf /opt/hwe/dist/nfd-worker/nfd-worker.cjs /usr/local/bin/nfd-worker
ENV HWE_COMMIT=${HWE_COMMIT} NODE_ENV=production
LABEL org.opencontainers.image.title=hwe org.opencontainers.image.revision=${HWE_COMMIT} \
      org.opencontainers.image.licenses=Apache-2.0
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/hwe"]
CMD ["--help"]
