#!/usr/bin/env bash
# The whole test suite, as CI runs it (`.ci/run` calls exactly this). Installs what the tests need
# when it is missing: Debian's `prometheus` package (`promtool`, and the server `fetch` is tested
# against on loopback), HashiCorp's HCL formatter and
# parser from npm (for generated Terraform) and a Python venv (notebooks). Everything is built once, in the release profile, and reused by the
# tests, the clippy pass and the benchmark smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  step "installing promtool and the Prometheus server (Debian package prometheus)"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
promtool --version | head -1

# openssl makes the private CA of the TLS fetch test.
if ! command -v openssl >/dev/null 2>&1; then
  step "installing openssl (Debian package openssl)"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -qq --no-install-recommends openssl >/dev/null
fi

# Headless Chromium opens the HTML report in the tests.
if ! command -v chromium >/dev/null 2>&1; then
  step "installing Chromium (Debian package chromium) for the report test"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null || echo "chromium could not be installed: the report test will say it skipped"
fi

# HashiCorp's HCL formatter and parser (WebAssembly builds of its Go code) judge generated Terraform.
if [ ! -d scripts/hcl/node_modules/@cdktf/hcl-tools ] || [ ! -d scripts/hcl/node_modules/@cdktf/hcl2json ]; then
  step "installing HashiCorp's HCL tools (npm: @cdktf/hcl-tools, @cdktf/hcl2json) into scripts/hcl"
  npm ci --prefix scripts/hcl --no-audit --no-fund --silent
fi

# prometheus-operator's PrometheusRule schema (compiled from its CRD) judges generated PrometheusRules.
if [ ! -d scripts/k8s/node_modules/@kubernetes-models/prometheus-operator ]; then
  step "installing prometheus-operator's CRD schema (npm: @kubernetes-models/prometheus-operator) into scripts/k8s"
  npm ci --prefix scripts/k8s --no-audit --no-fund --silent
fi

VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
  step "creating the Python venv ($VENV) for the notebooks"
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check -r scripts/requirements.txt
export ALERTLAB_PYTHON="$PWD/$VENV/bin/python"

step "cargo fmt --check"
cargo fmt --check

step "build (release profile, all targets)"
cargo build --release --all-targets

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --release --all-targets -- -D warnings

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --release --no-fail-fast
else
  cargo test --release --no-fail-fast
fi

step "notebooks on a real Jupyter kernel (nbclient + ipykernel)"
"$ALERTLAB_PYTHON" scripts/run_notebooks.py

step "benchmark smoke run (small; the full one is \`alertlab bench\`)"
./target/release/alertlab bench --series 50 --points 20160 --repeat 1
