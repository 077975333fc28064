# Sourced by the interop scripts: a fresh HOME with a project directory in it (removed on
# exit, with every process whose pid is added to `pids` killed), free loopback ports, and
# mcptop's config file receiving OTLP on two of them.

home=$(mktemp -d)
project="$home/project"
mkdir -p "$project" "$home/.config/mcptop"
export HOME="$home" XDG_CONFIG_HOME="$home/.config"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$home"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# `[otlp] receive = true` on two free ports: sets $http_port and $grpc_port.
receive_otlp() {
    http_port=$(free_port) grpc_port=$(free_port)
    printf '[otlp]\nreceive = true\nhttp = "127.0.0.1:%s"\ngrpc = "127.0.0.1:%s"\n' \
        "$http_port" "$grpc_port" >"$home/.config/mcptop/config.toml"
}

# wait_for FILE PATTERN: up to 10 s for a line of FILE to match PATTERN (grep).
wait_for() {
    for _ in $(seq 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
