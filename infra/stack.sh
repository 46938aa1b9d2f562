# Shared by infra/run and infra/test: tools in a project-local venv, moto server, cleanup.
# Sourced, not executed.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
# Logs and state live under target/, which cargo lambda watch ignores.
STATE="$ROOT/target/local-stack"
mkdir -p "$STATE"

# Dummy credentials and a region: the AWS SDK needs both, even against moto.
export AWS_REGION=${AWS_REGION:-ap-southeast-3}
export AWS_DEFAULT_REGION=$AWS_REGION
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}
export PATH="$VENV/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs moto server, cfn-lint and cargo-lambda into .venv when requirements change.
ensure_tools() {
  local stamp="$VENV/.requirements.sha"
  local want
  want=$(sha256sum "$ROOT/infra/requirements.txt" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  say "installing local tools into .venv (moto server, cfn-lint, cargo-lambda)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/infra/requirements.txt"
  echo "$want" > "$stamp"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() { # port seconds what [log]: fails early when the last started process died
  local i pid=${PIDS[-1]:-}
  for ((i = 0; i < $2 * 10; i++)); do
    port_open "$1" && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      say "$3 exited; its log says:"; tail -n 20 "${4:-/dev/null}" >&2; return 1
    fi
    sleep 0.1
  done
  say "$3 did not open port $1 within $2 s"
  return 1
}

PIDS=()
# Starts a command in its own process group so cleanup stops all it spawned.
start_bg() { # log cmd...
  local log=$1; shift
  setsid "$@" >"$log" 2>&1 &
  PIDS+=("$!")
}

stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

# Runs a foreground step as a child the traps can stop: bash runs a trap only between
# commands, so a long step in the foreground would delay Ctrl-C/TERM until it ends.
STEP_PID=
run_step() {
  "$@" &
  STEP_PID=$!
  local rc=0
  wait "$STEP_PID" || rc=$?
  STEP_PID=
  return "$rc"
}

# EXIT trap: stop what was started, keep the script's own exit status.
on_exit() {
  local rc=$?
  [ -n "$STEP_PID" ] && kill -TERM "$STEP_PID" 2>/dev/null
  stop_all
  exit "$rc"
}

start_moto() { # port
  if port_open "$1"; then say "port $1 is taken (set MOTO_PORT)"; return 1; fi
  start_bg "$STATE/moto-$1.log" "$VENV/bin/python" "$ROOT/infra/moto-server" -H 127.0.0.1 -p "$1"
  wait_for_port "$1" 30 "moto server" "$STATE/moto-$1.log"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$1"
}
