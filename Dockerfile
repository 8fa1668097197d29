# syntax=docker/dockerfile:1
# Tollgate's container image, in two stages:
#   build    the dev dependencies, the compiled dist/ (tsc, Manager, SDK), and the tarball
#            with its dependencies locked (scripts/pack.mjs);
#   runtime  Node 20 slim with that tarball extracted and `npm ci --omit=dev` in it: the
#            steps test/package/install.test.ts takes in an empty directory before running
#            Kong's Key Authentication guide against the result.
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
 && node scripts/pack.mjs --no-build --destination /pack

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    TOLLGATE_PREFIX=/var/lib/tollgate
COPY --from=build /pack/tollgate-*.tgz /tmp/
# The tarball's npm-shrinkwrap.json is package-lock.json's production part: `npm ci` in the
# extracted package installs exactly the versions the tests ran (`npm install -g` of a local
# tarball would resolve them afresh).
RUN mkdir -p /opt/tollgate \
 && tar -xzf /tmp/tollgate-*.tgz -C /opt/tollgate --strip-components=1 \
 && rm /tmp/tollgate-*.tgz \
 && cd /opt/tollgate \
 && npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && ln -s /opt/tollgate/bin/tollgate.js /usr/local/bin/tollgate \
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
