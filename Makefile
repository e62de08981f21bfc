# cofre — build, demo and test entry points. `make demo` and `make test` are
# the two commands the README promises work on a fresh machine.

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN         := bin/cofre
# DuckDB's Arrow interface (cofre query) is behind this build tag in duckdb-go.
TAGS        := duckdb_arrow
export GOFLAGS := -tags=$(TAGS)

.PHONY: all build demo demo-platform demo-health test lint fmt-check vet staticcheck openapi unit e2e fuzz bench clean onnxruntime portal portal-test e2e-portal

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/cofre

# The main job: confidential analytics end to end on the simulated TEE
# (ROWS=N for another data set size; default 20 million).
demo: build
	./scripts/demo-analytics.sh $(BIN)

# The second scenario: confidential healthcare (portal, care API, Redis,
# diagnostics) on the simulated TEE; open the printed URL, Ctrl-C stops it.
demo-health: build onnxruntime portal
	$(BIN) health up

# The attestation tour: evidence, real vectors, tokens, the coordinator.
demo-platform: build
	./scripts/demo.sh $(BIN)

# Everything CI runs: lint, unit tests (which replay every committed fuzz
# seed corpus), and the end-to-end tests across processes.
test: lint unit spark-kms-test portal-test e2e deploy-test

lint: fmt-check vet staticcheck openapi

# OpenAPI documents must stay valid: they are the API's contract.
OPENAPI_VALIDATOR ?= openapi-spec-validator==0.9.0
openapi:
	@python3 -c 'import openapi_spec_validator' 2>/dev/null || python3 -m pip install -q "$(OPENAPI_VALIDATOR)"
	python3 scripts/check_openapi.py docs/api/*.yaml

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) -tags $(TAGS) ./...

unit: onnxruntime
	$(GO) test -race -count=1 ./...

# The hospital portal (TypeScript): built with npm from the lockfile, unit
# tests with Node's test runner.
portal:
	cd health/portal && npm ci --no-audit --no-fund && npm run build
portal-test: portal
	cd health/portal && npm test

# ONNX Runtime's shared library for cofre infer, from the npm registry
# (onnxruntime-node 1.24.3), sha256-pinned; never fetched at run time.
ORT_LIB := bin/onnxruntime/libonnxruntime.so.1
export COFRE_ONNXRUNTIME_LIB := $(CURDIR)/$(ORT_LIB)
onnxruntime: $(ORT_LIB)
$(ORT_LIB): scripts/fetch-onnxruntime.sh
	scripts/fetch-onnxruntime.sh bin/onnxruntime

# The browser driver of the healthcare e2e test (playwright-core, pinned by
# its lockfile; Chromium is Debian's).
e2e-portal:
	cd test/e2e/portal && npm ci --no-audit --no-fund

e2e: build spark-kms delta-jars onnxruntime portal e2e-portal
	COFRE_BIN=$(CURDIR)/$(BIN) COFRE_SPARK_KMS_JAR=$(CURDIR)/$(SPARK_KMS_JAR) \
		COFRE_DELTA_JARS=$(CURDIR)/$(DELTA_DIR)/delta-spark_2.12-$(DELTA_VERSION).jar,$(CURDIR)/$(DELTA_DIR)/delta-storage-$(DELTA_VERSION).jar \
		$(GO) test -count=1 -tags e2e,$(TAGS) ./test/e2e/...

# delta-spark for the Delta interoperability test, from Maven Central before
# the tests run (Spark's --packages would fetch at run time).
DELTA_VERSION ?= 3.3.2
DELTA_DIR     := bin/delta
.PHONY: delta-jars
delta-jars: $(DELTA_DIR)/delta-spark_2.12-$(DELTA_VERSION).jar
$(DELTA_DIR)/delta-spark_2.12-$(DELTA_VERSION).jar:
	for a in delta-spark_2.12 delta-storage; do \
		mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy -Dartifact=io.delta:$$a:$(DELTA_VERSION) -DoutputDirectory=$(CURDIR)/$(DELTA_DIR) || exit 1; \
	done

# cofre's parquet-java KmsClient for Spark (Java 17, Maven), and its unit tests.
SPARK_KMS_JAR := bin/cofre-spark-kms.jar
.PHONY: spark-kms spark-kms-test
spark-kms:
	cd spark/kms-client && mvn -q -B -DskipTests package
	mkdir -p bin && cp spark/kms-client/target/cofre-spark-kms-*.jar $(SPARK_KMS_JAR)

spark-kms-test:
	cd spark/kms-client && mvn -B test

# Short coverage-guided runs of every fuzz target (not part of `make test`).
FUZZTIME ?= 20s
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

bench: build
	$(GO) run ./bench/attest -runs 7
	bench/attestd/run.sh -c 8 -d 5s -runs 5
	bench/coordinator/run.sh -c 8 -d 5s -runs 5
	bench/sealfs/run.sh -runs 5
	$(GO) run ./bench/analytics -rows 100000000 -runs 5

# The Kubernetes deployment (deploy/): render the Helm chart for every values
# variant, validate each object against the Kubernetes schemas and check Pod
# Security and NetworkPolicies (deploy/test/run.sh). helm is built from the Go
# module proxy at a pinned version (go install pkg@version leaves cofre's
# go.mod alone); the schemas come bundled in a pinned PyPI package. Nothing is
# fetched while the checks run.
HELM_VERSION                ?= v3.22.0
HELM                        := bin/tools/helm-$(HELM_VERSION)
KUBERNETES_VALIDATE_VERSION ?= 1.37.0

$(HELM):
	GOBIN=$(CURDIR)/bin/tools/helm-build $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mv bin/tools/helm-build/helm $@ && rmdir bin/tools/helm-build

.PHONY: deploy-test
deploy-test: $(HELM)
	@python3 -c 'import importlib.metadata as m, sys; sys.exit(m.version("kubernetes-validate") != "$(KUBERNETES_VALIDATE_VERSION)")' 2>/dev/null \
		|| python3 -m pip install -q "kubernetes-validate==$(KUBERNETES_VALIDATE_VERSION)"
	HELM=$(CURDIR)/$(HELM) ./deploy/test/run.sh

clean:
	rm -rf bin
