# syntax=docker/dockerfile:1
# Tollgate's container image, in two stages:
#   build    the dev dependencies, the compiled dist/ (tsc, Manager, SDK), and `npm pack`;
#   runtime  Node 20 slim with the packed gateway installed --omit=dev: what test/package/
#            install.test.ts installs into an empty directory and runs Kong's Key
#            Authentication guide against.
# docker build -t tollgate .
# docker run -d --name tollgate -p 8000:8000 -p 8443:8443 -p 127.0.0.1:8001:8001 \
#   -e TOLLGATE_ADMIN_LISTEN=0.0.0.0:8001 -v tollgate-data:/var/lib/tollgate tollgate

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY sdk/package.json sdk/
# Scripts wait for the sources: `prepare` builds, and there is nothing to build yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build \
 && mkdir /pack \
 && npm pack --ignore-scripts --pack-destination /pack \
 && npm pack --ignore-scripts --pack-destination /pack --workspace sdk

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    TOLLGATE_PREFIX=/var/lib/tollgate
COPY --from=build /pack/tollgate-*.tgz /tmp/
RUN npm install --global --omit=dev --no-audit --no-fund /tmp/tollgate-*.tgz \
 && rm /tmp/tollgate-*.tgz \
 && npm cache clean --force \
 && mkdir -p /var/lib/tollgate \
 && chown node:node /var/lib/tollgate
# The node image's unprivileged user (uid 1000); the default ports need no privileges.
USER node
WORKDIR /var/lib/tollgate
# The prefix: the LMDB store, the pid file, generated certificates and key-auth's pepper.
VOLUME ["/var/lib/tollgate"]
# Proxy (HTTP, HTTPS), Admin API (HTTP, HTTPS), Manager (HTTP, HTTPS). As in Kong's image, the
# Admin API and the Manager listen on 127.0.0.1 unless TOLLGATE_ADMIN_LISTEN and
# TOLLGATE_ADMIN_GUI_LISTEN say otherwise: publish them only where the trusted are.
EXPOSE 8000 8443 8001 8444 8002 8445
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["tollgate", "health"]
CMD ["tollgate", "start"]
