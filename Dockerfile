# syntax=docker/dockerfile:1
# One image for every mode: MODE=api|worker|all selects what the container runs.
ARG NODE_VERSION=24

# --- build: compile TypeScript to dist/ with the dev dependencies
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# onnxruntime-node's CPU binaries are in its tarball; its install script only fetches CUDA.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- production dependencies only
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime
FROM node:${NODE_VERSION}-bookworm-slim
# tini is PID 1: it forwards SIGTERM to node (graceful shutdown) and reaps zombies.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    MODE=all \
    API_HOST=0.0.0.0 \
    API_PORT=8000 \
    WORKER_HEALTH_PORT=8001
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
COPY --chown=node:node config ./config
# Models: mount a volume at /app/models, or bake a folder in with
#   docker build --build-arg MODELS=path/to/models .
ARG MODELS=models
COPY --chown=node:node ${MODELS} ./models
USER node
EXPOSE 8000 8001
# Liveness on the port the mode serves: the API's, or a worker's health port.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p = process.env.MODE === 'worker' ? process.env.WORKER_HEALTH_PORT : process.env.API_PORT; fetch('http://127.0.0.1:' + p + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/bootstrap/main.js"]
