#!/usr/bin/env bash
# Cache benchmarks for the README:
#
# 1. HIT throughput: sluice's cache plugin (memory store, and disk store)
#    against nginx's proxy_cache (1 worker), both in front of the same
#    nginx upstream, every request a HIT, measured with wrk in alternating
#    rounds; sluice runs with GOMAXPROCS=1 so that the comparison is per
#    core. Prints requests/s, p99 and the ratio sluice/nginx (median).
# 2. Memory: sluice's resident memory before and after its memory store
#    fills with 10,000 entries (1 KB bodies), and the cost per entry.
#
# Knobs (environment): ROUNDS (3), DURATION (10s), CONNS (64), ENTRIES
# (10000), BODY (1024), BIN (bin/sluice), PLUGIN_DIR (plugins), KEEP (1
# keeps the work dir). Needs nginx, wrk and curl (make deps), the binary
# and plugins/cache.wasm (make build plugins).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
ENTRIES=${ENTRIES:-10000}
BODY=${BODY:-1024}
NGINX=${NGINX:-/usr/sbin/nginx}
BIN=${BIN:-bin/sluice}
PLUGIN_DIR=${PLUGIN_DIR:-$PWD/plugins}

for t in "$NGINX" wrk curl "$BIN"; do
	command -v "$t" >/dev/null || { echo "bench-cache: $t not found (run make deps build)" >&2; exit 1; }
done
[ -f "$PLUGIN_DIR/cache.wasm" ] || { echo "bench-cache: $PLUGIN_DIR/cache.wasm missing (make plugins)" >&2; exit 1; }

NAME=bench-cache
. .ci/bench-lib.sh

UP=127.0.0.1:18091
NG=127.0.0.1:18092
SL=127.0.0.1:18093

body=$(head -c "$BODY" /dev/zero | tr '\0' 'x')
mkdir -p "$work/up" "$work/ng/cache" "$work/ng/tmp" "$work/disk"
# As root, nginx's workers would run as nobody and not reach the cache in
# the private work dir.
NG_USER=""
[ "$(id -u)" = 0 ] && NG_USER="user root;"
nginx_conf "$work/up" "$(cat <<EOF
	server {
		listen $UP reuseport;
		location / {
			default_type text/plain;
			add_header Cache-Control "max-age=3600";
			return 200 "$body";
		}
	}
EOF
)"
NG_PREFIX=$NG_USER nginx_conf "$work/ng" "$(cat <<EOF
	proxy_cache_path $work/ng/cache levels=1:2 keys_zone=bench:10m max_size=1g inactive=1h;
	proxy_temp_path $work/ng/tmp;
	upstream up { server $UP; keepalive 128; }
	server {
		listen $NG;
		location / {
			proxy_pass http://up;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_cache bench;
			proxy_cache_lock on;
			add_header X-Cache-Status \$upstream_cache_status;
		}
	}
EOF
)"

sluice_conf() { # $1 = the cache directory, $2 = trusted modules
	sluice_frame '["cache"]' "${2:-}"
	cat <<EOF

[plugins.cache]
category = "cache"
directory = "$1"
EOF
}

status_of() { curl -fsS -o /dev/null -D - "$1" | awk 'tolower($1)=="x-cache-status:" {print $2}' | tr -d '\r'; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

start_nginx

echo "### HIT throughput ($BODY-byte body)"
echo
printf '| case | nginx proxy_cache req/s | sluice req/s | ratio | nginx p99 ms | sluice p99 ms |\n|---|---|---|---|---|---|\n'
for c in memory disk trusted; do
	trusted="" label="$c store"
	case $c in
		memory) dir="memory://bench?max_size=100mb" ;;
		disk) dir="$work/disk?max_size=1gb" ;;
		# The memory store with the cache module in wasm_trusted_modules:
		# no per-callback time budget.
		trusted) dir="memory://bench?max_size=100mb"; trusted='"cache"'; label="memory store, cache trusted" ;;
	esac
	sluice_conf "$dir" "$trusted" >"$work/sluice-$c.toml"
	GOMAXPROCS=1 $PROXY_CPU "$BIN" run -c "$work/sluice-$c.toml" 2>"$work/sluice-$c.log" & spid=$!
	wait_port "$SL" || { cat "$work/sluice-$c.log" >&2; exit 1; }
	# Fill both caches, check that they hit, warm them up.
	for u in "http://$NG/" "http://$SL/"; do
		curl -fsS -o /dev/null "$u"
		s=$(status_of "$u")
		[ "$s" = HIT ] || { echo "bench-cache: $u answers x-cache-status $s, not HIT" >&2; cat "$work/sluice-$c.log" >&2; exit 1; }
	done
	compare "$label" "http://$NG/" "http://$SL/"
	kill "$spid"; wait "$spid" 2>/dev/null || true
done
echo
echo "wrk -t1 -c$CONNS -d$DURATION, $ROUNDS alternating rounds, median; sluice GOMAXPROCS=1, nginx 1 worker; $(nproc) cores; $(date -u +%F)"

echo
echo "### Memory of $ENTRIES entries ($BODY-byte bodies, memory store)"
echo
sluice_conf "memory://mem?max_size=1gb" | sed 's|^addr = "'"$SL"'"|&\nprometheus_metrics = "/metrics"|' >"$work/sluice-mem.toml"
GOMAXPROCS=1 $PROXY_CPU "$BIN" run -c "$work/sluice-mem.toml" 2>"$work/sluice-mem.log" & spid=$!
wait_port "$SL" || { cat "$work/sluice-mem.log" >&2; exit 1; }
sleep 1
before=$(rss_kb "$spid")
for ((i = 0; i < ENTRIES; i++)); do echo "url = \"http://$SL/m/$i\""; echo "output = \"/dev/null\""; done >"$work/urls"
$LOAD_CPU curl -fsS --no-progress-meter --parallel --parallel-max 16 -K "$work/urls" >/dev/null
s=$(status_of "http://$SL/m/$((ENTRIES - 1))")
[ "$s" = HIT ] || { echo "bench-cache: the last entry answers $s, not HIT" >&2; exit 1; }
s=$(status_of "http://$SL/m/0")
[ "$s" = HIT ] || { echo "bench-cache: the first entry answers $s, not HIT (evicted?)" >&2; exit 1; }
sleep 1
after=$(rss_kb "$spid")
# The store's own count, when the host exports it.
accounted=$( (curl -fsS "http://$SL/metrics" 2>/dev/null || true) | awk '/^sluice_cache_size_bytes\{directory="memory:\/\/mem"\}/ {print $2}')
kill "$spid"; wait "$spid" 2>/dev/null || true
printf '| entries | RSS before | RSS after | growth | per entry |\n|---|---|---|---|---|\n'
awk -v b="$before" -v a="$after" -v n="$ENTRIES" 'BEGIN {
	printf "| %d | %.1f MiB | %.1f MiB | %.1f MiB | %.0f bytes |\n", n, b/1024, a/1024, (a-b)/1024, (a-b)*1024/n }'
echo
echo "each entry: a $BODY-byte body, its response headers and key; RSS of the whole sluice process (VmRSS), Go heap headroom included"
[ -n "$accounted" ] && awk -v a="$accounted" -v n="$ENTRIES" 'BEGIN { printf "the store accounts %.1f MiB: %.0f bytes per entry\n", a/1048576, a/n }'
true
