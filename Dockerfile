# syntax=docker/dockerfile:1
# Downlink's container image: the TypeScript compiled once at build time (npm run build), run by
# plain Node with production dependencies only. PostgreSQL, NATS (with JetStream) and the MQTT
# broker run outside it: see docs/DEPLOY.md. Build: docker build -t downlink .

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY machines ./machines
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    DOWNLINK_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080
# /healthz answers 200 once serving; orchestrators that route traffic should probe /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM stops intake, answers pending waits and exits 0 (src/main.ts).
CMD ["node", "dist/src/main.js"]
