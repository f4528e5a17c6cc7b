#!/usr/bin/env bash
# Installs Debian's Docker engine (docker.io 20.10) and starts it by hand for the deployment suites.
# Sourced by .ci/run (`source .ci/docker.sh`): it exports DOCKER_HOST and SOVEREIGN_TEST_EGRESS_ALLOW (the
# engine's private address pool, for the test suite's no-egress guard) into the calling shell. Run directly it
# prints `export DOCKER_HOST=...` on stdout, so `eval "$(.ci/docker.sh)"` works too.
# Nothing is pulled: there is no registry here; the suites build their images locally (docs/deploy.md).

_sov_ci_docker() {
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
    echo "docker: installing docker.io and curl" >&2
    # Another process may hold the dpkg lock on these machines: wait for it instead of failing.
    apt-get -o DPkg::Lock::Timeout=1200 update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=1200 install -y -qq --no-install-recommends \
      docker.io curl ca-certificates >&2
  fi
  # shellcheck source=/dev/null
  source "$here/scripts/docker/start-dockerd.sh" >/dev/null
  echo "export DOCKER_HOST=${DOCKER_HOST}"
  echo "export SOVEREIGN_TEST_EGRESS_ALLOW=${SOVEREIGN_TEST_EGRESS_ALLOW}"
}

_sov_ci_docker
