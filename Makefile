# Familiar entry points. The compose targets need Docker; the rest only Node.
COMPOSE ?= docker compose
MODEL ?= sentence-transformers/all-MiniLM-L6-v2

help: ## this list of targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: help start start-core start-api start-redis-mq start-monitor stop logs test bench models-pull lint build k8s-render

start: .env ## the whole stack: broker, store, API, workers, monitoring, with traces to Jaeger (unless the shell sets OTEL_EXPORTER_OTLP_ENDPOINT)
	OTEL_EXPORTER_OTLP_ENDPOINT=$${OTEL_EXPORTER_OTLP_ENDPOINT:-http://jaeger:4318} $(COMPOSE) -f compose.yaml --profile dashboards up -d --build

start-core: .env ## all but Grafana, Elasticsearch and Jaeger (the dashboards profile): broker, store, API, workers, Prometheus
	$(COMPOSE) -f compose.yaml up -d --build

start-api: .env ## API and workers (expects RabbitMQ and Redis)
	$(COMPOSE) -f compose.rr.yaml -f compose.api.yaml up -d --build api worker-use-lite worker-minilm-l6 worker-minilm-l12

start-redis-mq: .env ## RabbitMQ and Redis only
	$(COMPOSE) -f compose.rr.yaml up -d

start-monitor: .env ## Prometheus, Grafana, Elasticsearch and Jaeger
	$(COMPOSE) -f compose.mo.yaml --profile dashboards up -d

stop: ## stop the whole stack
	$(COMPOSE) -f compose.yaml --profile dashboards down

logs: ## follow the stack's logs
	$(COMPOSE) -f compose.yaml --profile dashboards logs -f --tail=100

test: ## the test suite (npm test)
	npm test

bench: ## the benchmark (npm run bench)
	npm run bench

models-pull: ## make models-pull MODEL=owner/name
	npm run models:pull -- $(MODEL)

lint: ## typecheck and lint, with the dependency rule
	npm run typecheck && npm run lint

build: ## compile TypeScript to dist/
	npm run build

k8s-render: ## the example overlay, as kubectl would apply it
	kubectl kustomize deploy/k8s/overlays/example

.env:
	@echo "Copy .env.example to .env and set the passwords first." >&2; exit 1
