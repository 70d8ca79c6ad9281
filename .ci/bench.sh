#!/usr/bin/env bash
# make bench: sluice side by side with nginx (1 worker) in front of the same
# nginx upstream, measured with wrk in alternating rounds. sluice runs with
# GOMAXPROCS=1 so that the comparison is per core. Prints requests/s and p99
# per case and the ratio sluice/nginx (median of the rounds).
#
# Knobs (environment): ROUNDS (3), DURATION (10s), CONNS (64), CASES
# ("proxy plugins1 plugins5 plugins1-trusted plugins5-trusted"), STARTUP (1:
# also startup times and memory), KEEP (1 keeps the work dir).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
CASES=${CASES-proxy plugins1 plugins5 plugins1-trusted plugins5-trusted}
NGINX=${NGINX:-/usr/sbin/nginx}
BIN=${BIN:-bin/sluice}
PLUGIN_DIR=${PLUGIN_DIR:-$PWD/plugins}

for t in "$NGINX" wrk "$BIN"; do
	command -v "$t" >/dev/null || { echo "bench: $t not found (run make deps build)" >&2; exit 1; }
done

NAME=bench
. .ci/bench-lib.sh

UP=127.0.0.1:18081
NG=127.0.0.1:18082
SL=127.0.0.1:18083

mkdir -p "$work/up" "$work/ng"
nginx_conf "$work/up" "$(cat <<EOF
	server {
		listen $UP reuseport;
		location / { default_type text/plain; return 200 "hello from the upstream, a small response\n"; }
	}
EOF
)"
nginx_conf "$work/ng" "$(cat <<EOF
	upstream up { server $UP; keepalive 128; }
	server {
		listen $NG;
		location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }
	}
EOF
)"

plugin_list() {
	local n=$1 out=""
	for ((i = 1; i <= n; i++)); do out+="\"noop$i\","; done
	echo "[${out%,}]"
}
sluice_conf() { # $1 = number of no-op plugins, $2 = trusted modules
	sluice_frame "$(plugin_list "$1")" "${2:-}"
	for ((i = 1; i <= $1; i++)); do printf '\n[plugins.noop%d]\ncategory = "noop"\n' "$i"; done
}

start_nginx

[ -n "$CASES" ] && printf '| case | nginx req/s | sluice req/s | ratio | nginx p99 ms | sluice p99 ms |\n|---|---|---|---|---|---|\n'
for c in $CASES; do
	trusted=""
	case $c in
		proxy) n=0 ;;
		plugins1) n=1 ;;
		plugins5) n=5 ;;
		# The same with noop in wasm_trusted_modules (no callback budget).
		plugins1-trusted) n=1 trusted='"noop"' ;;
		plugins5-trusted) n=5 trusted='"noop"' ;;
		*) echo "bench: unknown case $c" >&2; exit 1 ;;
	esac
	if [ "$n" -gt 0 ] && [ ! -f "$PLUGIN_DIR/noop.wasm" ]; then
		echo "bench: $PLUGIN_DIR/noop.wasm missing (make plugins); skipping $c" >&2
		continue
	fi
	sluice_conf "$n" "$trusted" >"$work/sluice-$c.toml"
	GOMAXPROCS=1 $PROXY_CPU "$BIN" run -c "$work/sluice-$c.toml" 2>"$work/sluice-$c.log" & spid=$!
	wait_port "$SL" || { cat "$work/sluice-$c.log" >&2; exit 1; }
	compare "$c" "http://$NG/" "http://$SL/"
	kill "$spid"; wait "$spid" 2>/dev/null || true
done
echo
echo "wrk -t1 -c$CONNS -d$DURATION, $ROUNDS alternating rounds, median; sluice GOMAXPROCS=1; $(nproc) cores; $(date -u +%F)"

# Startup with every built-in plugin (one location each), from an empty and
# from a warm compilation cache, and the resident memory of the default
# config after some traffic.
if [ "${STARTUP:-1}" = 1 ]; then
	# configs/all-plugins.toml: every built-in plugin, each configured.
	n=$(grep -c '^category = ' configs/all-plugins.toml)
	sed -e "s#127.0.0.1:6488#$SL#" -e "s#127.0.0.1:6489#127.0.0.1:18085#" \
		-e "s#^plugin_dir = .*#plugin_dir = \"$PLUGIN_DIR\"\nwasm_cache_dir = \"$work/cache\"#" \
		configs/all-plugins.toml >"$work/startup.toml"
	start_ms() {
		local t0 t1
		t0=$(date +%s%N)
		"$BIN" run -c "$work/startup.toml" 2>"$work/startup.log" & local pid=$!
		for _ in $(seq 2000); do
			if curl -s -o /dev/null "http://$SL/ping/ping" 2>/dev/null; then break; fi
			kill -0 $pid 2>/dev/null || { cat "$work/startup.log" >&2; return 1; }
			sleep 0.01
		done
		t1=$(date +%s%N)
		kill $pid; wait $pid 2>/dev/null || true
		echo $(( (t1 - t0) / 1000000 ))
	}
	rm -rf "$work/cache"
	cold=$(start_ms) && warm=$(start_ms) && \
		echo "startup with every built-in plugin ($n plugins, configs/all-plugins.toml, $(nproc) VMs per module): cold compile cache ${cold} ms, warm ${warm} ms"

	sed -e "s#0.0.0.0:6188#$SL#" -e "s#127.0.0.1:6189#127.0.0.1:18084#" -e "s#\"../plugins\"#\"$PLUGIN_DIR\"#" \
		configs/default.toml >"$work/default.toml"
	"$BIN" run -c "$work/default.toml" >/dev/null 2>"$work/default.log" & dpid=$!
	wait_port "$SL"
	$LOAD_CPU wrk -t1 -c"$CONNS" -d3s "http://$SL/" >/dev/null
	rss=$(awk '/VmRSS/ {print $2}' /proc/$dpid/status)
	kill $dpid; wait $dpid 2>/dev/null || true
	echo "resident memory with configs/default.toml after 3s of load: $((rss / 1024)) MiB ($(nproc) VMs per module)"
fi
