# Sluice: multi-stage build on the Node 24 LTS image, running as a non-root user.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
# Plain JavaScript in dist/: running the TypeScript sources would cost each process about 28 MB more.
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin/sluice.js ./bin/
COPY config ./config
RUN mkdir -p /var/lib/sluice && chown node:node /var/lib/sluice
USER node
VOLUME ["/var/lib/sluice"]
EXPOSE 2525 8025
# SIGTERM reaches node directly (exec form): in-flight transactions finish before the container stops.
STOPSIGNAL SIGTERM
# bin/sluice.js starts `serve` again in the same process with the gateway's memory settings (V8 heap
# flags, MALLOC_ARENA_MAX), as it does however it is started.
CMD ["node", "bin/sluice.js", "serve", "-c", "/app/config/sluice.yaml"]
