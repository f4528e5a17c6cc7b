#!/usr/bin/env bash
# Starts a Docker engine by hand (no systemd on these machines) and waits until it answers.
# Idempotent: if an engine already answers on the socket, it is reused.
#
# Use:  source scripts/docker/start-dockerd.sh     (exports DOCKER_HOST into the calling shell)
#   or: eval "$(scripts/docker/start-dockerd.sh)"  (prints `export DOCKER_HOST=...` on stdout)
#
# Settings (environment): SOVEREIGN_DOCKER_ROOT (data root, default /var/lib/docker),
# SOVEREIGN_DOCKER_SOCK (default /var/run/docker.sock), SOVEREIGN_DOCKER_STORAGE (default overlay2, falls
# back to vfs when overlay2 cannot start), SOVEREIGN_DOCKER_LOG (default /var/log/sovereign-dockerd.log),
# SOVEREIGN_DOCKER_POOL (address pool of the engine's networks, default 172.30.0.0/16 in /24 steps: the
# deployment networks then live in one known range, which the test suite's no-egress guard is told about
# through SOVEREIGN_TEST_EGRESS_ALLOW).

_sov_docker_start() {
  local root="${SOVEREIGN_DOCKER_ROOT:-/var/lib/docker}"
  local sock="${SOVEREIGN_DOCKER_SOCK:-/var/run/docker.sock}"
  local storage="${SOVEREIGN_DOCKER_STORAGE:-overlay2}"
  local log="${SOVEREIGN_DOCKER_LOG:-/var/log/sovereign-dockerd.log}"
  local exec_root="/run/sovereign-docker"
  local pool="${SOVEREIGN_DOCKER_POOL:-172.30.0.0/16}"
  local host="unix://${sock}"

  _sov_docker_ping() { curl -fsS --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; }

  if _sov_docker_ping; then
    echo "docker: engine already answering on ${sock}" >&2
  else
    if ! command -v dockerd >/dev/null 2>&1; then
      echo "docker: dockerd is not installed (apt-get install -y --no-install-recommends docker.io)" >&2
      return 1
    fi
    mkdir -p "$root" "$exec_root" "$(dirname "$sock")" "$(dirname "$log")"
    local try
    for try in "$storage" vfs; do
      echo "docker: starting dockerd (storage driver ${try}, data root ${root}, log ${log})" >&2
      # The proxy variables point at a closed loopback port IN DOCKERD'S ENVIRONMENT ONLY: no registry is
      # reachable here, so an accidental pull must fail at once instead of hanging on a network timeout.
      # --iptables=false etc.: no NAT or forwarding is set up by the engine; isolation of the deployments
      # comes from internal networks (no gateway route), see docs/deploy.md.
      HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY= \
        setsid dockerd --data-root "$root" --exec-root "$exec_root" --pidfile "$exec_root/dockerd.pid" \
        -H "$host" --storage-driver="$try" --iptables=false --ip-forward=false --ip-masq=false \
        --default-address-pool "base=${pool},size=24" \
        >>"$log" 2>&1 </dev/null &
      local i
      for i in $(seq 1 60); do
        if _sov_docker_ping; then break; fi
        if ! kill -0 $! 2>/dev/null; then break; fi
        sleep 0.5
      done
      if _sov_docker_ping; then break; fi
      echo "docker: dockerd with ${try} did not come up; last log lines:" >&2
      tail -n 15 "$log" >&2 || true
      [ "$try" = vfs ] && return 1
    done
    echo "docker: engine ready on ${sock}" >&2
  fi
  export DOCKER_HOST="$host"
  echo "export DOCKER_HOST=${host}"
  # The test harness refuses every connection outside loopback unless told otherwise; the deployment
  # tests talk to containers on the engine's private bridge addresses.
  case ",${SOVEREIGN_TEST_EGRESS_ALLOW:-}," in
    *",${pool},"*) ;;
    *) export SOVEREIGN_TEST_EGRESS_ALLOW="${SOVEREIGN_TEST_EGRESS_ALLOW:+${SOVEREIGN_TEST_EGRESS_ALLOW},}${pool}" ;;
  esac
  echo "export SOVEREIGN_TEST_EGRESS_ALLOW=${SOVEREIGN_TEST_EGRESS_ALLOW}"
}

_sov_docker_start
