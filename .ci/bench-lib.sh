# Shared by .ci/bench.sh and .ci/bench-cache.sh (sourced, not run): the work
# dir and its cleanup, CPU pinning, and the alternating nginx/sluice rounds.
# Callers set ROUNDS, DURATION, CONNS and NAME (for messages) first.

work=$(mktemp -d "/tmp/sluice-$NAME.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] && echo "work dir: $work" || rm -rf "$work"
}
trap cleanup EXIT

# Two cores: the proxies get CPU 1, the upstream and wrk share CPU 0. With
# one core the pinning is skipped.
if [ "$(nproc)" -ge 2 ]; then PROXY_CPU="taskset -c 1"; LOAD_CPU="taskset -c 0"; else PROXY_CPU=""; LOAD_CPU=""; fi

# nginx_conf DIR BODY writes DIR/nginx.conf: one worker in the foreground,
# its pid and error log in DIR, no access log, long keep-alive, and BODY
# inside the http block. NG_PREFIX (e.g. "user root;") goes first.
nginx_conf() {
	cat >"$1/nginx.conf" <<EOF
${NG_PREFIX:-}
worker_processes 1;
daemon off;
pid $1/pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 1000000;
$2
}
EOF
}

# sluice_frame PLUGINS [TRUSTED] prints a sluice config with one server on
# $SL whose location proxies to $UP through PLUGINS (a TOML array), and
# TRUSTED (TOML strings) as wasm_trusted_modules. The caller appends the
# [plugins.X] tables.
sluice_frame() {
	cat <<EOF
[basic]
plugin_dir = "$PLUGIN_DIR"
log_level = "warn"
upstream_keepalive_pool_size = 256
wasm_trusted_modules = [${2:-}]

[servers.bench]
addr = "$SL"
locations = ["all"]

[locations.all]
upstream = "up"
plugins = $1

[upstreams.up]
addrs = ["$UP"]
EOF
}

# start_nginx starts the upstream ($work/up) and the peer proxy ($work/ng)
# on their cores and waits until both answer.
start_nginx() {
	$LOAD_CPU "$NGINX" -c "$work/up/nginx.conf" & pids+=($!)
	$PROXY_CPU "$NGINX" -c "$work/ng/nginx.conf" & pids+=($!)
	wait_port "$UP"
	wait_port "$NG"
}

# wait_port ADDR [PATH]: until something answers http://ADDR/PATH.
wait_port() {
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "http://$1/${2:-}" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "$NAME: nothing answers on $1" >&2
	return 1
}

# run_wrk URL -> "rps p99_ms"
run_wrk() {
	local out rps p99 errs
	out=$($LOAD_CPU wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$1")
	rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
	p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
	errs=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")
	[ -n "$errs" ] && echo "$NAME: wrk reported: $errs" >&2
	echo "$rps $p99"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# compare LABEL NGINX_URL SLUICE_URL: warm both, then ROUNDS alternating
# wrk runs; prints a table row with the medians and the median ratio.
compare() {
	local label=$1 ng=$2 sl=$3 r nr np sr sp
	$LOAD_CPU wrk -t1 -c"$CONNS" -d2s "$ng" >/dev/null
	$LOAD_CPU wrk -t1 -c"$CONNS" -d2s "$sl" >/dev/null
	: >"$work/ng.rps"; : >"$work/sl.rps"; : >"$work/ng.p99"; : >"$work/sl.p99"; : >"$work/ratio"
	for ((r = 1; r <= ROUNDS; r++)); do
		read -r nr np < <(run_wrk "$ng")
		read -r sr sp < <(run_wrk "$sl")
		echo "$nr" >>"$work/ng.rps"; echo "$np" >>"$work/ng.p99"
		echo "$sr" >>"$work/sl.rps"; echo "$sp" >>"$work/sl.p99"
		awk -v s="$sr" -v n="$nr" 'BEGIN {printf "%.3f\n", s/n}' >>"$work/ratio"
	done
	printf '| %s | %.0f | %.0f | %.2f | %.2f | %.2f |\n' "$label" \
		"$(median <"$work/ng.rps")" "$(median <"$work/sl.rps")" "$(median <"$work/ratio")" \
		"$(median <"$work/ng.p99")" "$(median <"$work/sl.p99")"
}
