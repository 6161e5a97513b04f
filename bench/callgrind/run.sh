#!/usr/bin/env bash
# Instructions per proxied request, counted by valgrind's callgrind: a
# measure of the proxy's own user-space work that does not move with the
# host (the same binary and load give the same count within 0.1%), where
# req/s and CPU time on this shared VM move by 10-20% from one minute to
# the next. Use it to judge a change to the request path; use bench/proxy
# for throughput against nginx. See bench/README.md ("Instructions per
# request") and BENCHMARKS.md ("Tenth session").
#
#   bench/callgrind/run.sh [-bin PATH] [-nginx] [-plugins] [-cache] [-browser] [-seconds N] [-out DIR]
#
# It builds ./cmd/stargate (or takes -bin), starts a static nginx
# upstream answering 1 KB, runs Stargate under callgrind with one route to
# it, warms up with instrumentation off, then counts a wrk -t2 -c16 run
# of N seconds (default 10). With -nginx it also counts nginx proxy_pass
# (one worker, no master) in front of the same upstream. With -plugins it
# also counts a route with key-auth, limit-count and prometheus (the
# plugin-cost route of bench/proxy) in the same Stargate. With -cache,
# callgrind also simulates 32 KB L1 instruction and data caches and a
# 1 MB last level, and the cache misses per request are printed too: a
# program's footprint, which instructions alone do not show. Kernel work
# is not counted: callgrind sees user space only. With -browser every
# request carries the 13 fields a desktop browser sends with a page load
# (bench/proxy/browser-fields.txt, about 560 bytes: User-Agent, Accept*,
# Cookie, Referer, Sec-Fetch-*...) where wrk sends Host alone: the cost of
# a real client's head.
#
# Needs valgrind, nginx and wrk; installs them with apt-get when missing.
set -euo pipefail

bin="" with_nginx=0 with_plugins=0 seconds=10 out="" vg_cache=() fields=()
while [ $# -gt 0 ]; do
  case "$1" in
    -bin) bin="$2"; shift 2 ;;
    -nginx) with_nginx=1; shift ;;
    -plugins) with_plugins=1; shift ;;
    -cache) vg_cache=(--cache-sim=yes --I1=32768,8,64 --D1=32768,8,64 --LL=1048576,16,64); shift ;;
    -browser)
      # The fields bench/proxy -browser sends, one per line.
      while IFS= read -r f; do fields+=(-H "$f"); done <"$(dirname "$0")/../proxy/browser-fields.txt"
      shift ;;
    -seconds) seconds="$2"; shift 2 ;;
    -out) out="$2"; shift 2 ;;
    *) echo "usage: $0 [-bin PATH] [-nginx] [-plugins] [-cache] [-browser] [-seconds N] [-out DIR]" >&2; exit 2 ;;
  esac
done

need=()
command -v valgrind >/dev/null || need+=(valgrind)
command -v nginx >/dev/null || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

dir=${out:-$(mktemp -d /tmp/sg-callgrind.XXXXXX)}
mkdir -p "$dir"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# freeport prints a loopback port nothing listens on.
freeport() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

if [ -z "$bin" ]; then
  bin="$dir/stargate"
  go build -o "$bin" ./cmd/stargate
fi

body=$(head -c 1024 /dev/zero | tr '\0' 'x')
up=$(freeport)
# nginx_conf DIR MAIN HTTP writes DIR/nginx.conf with what both nginx
# instances share: MAIN lines at the top, HTTP lines inside http {}.
nginx_conf() {
  local d=$1
  mkdir -p "$d"
  cat >"$d/nginx.conf" <<EOF
$2
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path $d/cb; proxy_temp_path $d/p; fastcgi_temp_path $d/f;
    uwsgi_temp_path $d/u; scgi_temp_path $d/s;
$3
}
EOF
}

nginx_conf "$dir/up" "worker_processes 1;" \
  "    server { listen 127.0.0.1:$up; location / { default_type text/plain; return 200 \"$body\"; } }"
nginx -c "$dir/up/nginx.conf" >/dev/null 2>&1 &
pids+=($!)

# count NAME PORT PID: warm up, count one wrk run, print instructions per
# request; callgrind writes its dump next to the output file it was given.
# A dump file is named after its sequence number: outfile.1, outfile.2...
count() {
  local name=$1 port=$2 pid=$3 outfile=$4 seq=${5:-1} path=${6:-/x} res n ir
  local hdr=("${fields[@]}")
  if [ -n "${7:-}" ]; then hdr+=(-H "$7"); fi
  for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
  wrk -t2 -c16 -d4s "${hdr[@]}" "http://127.0.0.1:$port$path" >/dev/null
  callgrind_control -z "$pid" >/dev/null 2>&1
  callgrind_control -i on "$pid" >/dev/null 2>&1
  res=$(wrk -t2 -c16 -d"${seconds}s" "${hdr[@]}" "http://127.0.0.1:$port$path")
  callgrind_control -i off "$pid" >/dev/null 2>&1
  callgrind_control -d "$pid" >/dev/null 2>&1
  n=$(echo "$res" | awk '/requests in/{print $1}')
  sleep 1
  outfile="$outfile.$seq"
  ir=$(callgrind_annotate "$outfile" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
  if ! echo "$res" | grep -q "requests in" || echo "$res" | grep -q "Non-2xx"; then
    echo "$name: the counted run failed:" >&2
    echo "$res" >&2
    exit 1
  fi
  printf '%-10s %9d requests  %14d instructions  %7d per request\n' "$name" "$n" "$ir" $((ir / n))
  if [ ${#vg_cache[@]} -gt 0 ]; then
    # The totals line holds Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw.
    callgrind_annotate "$outfile" 2>/dev/null | awk -v n="$n" -v name="$name" '/PROGRAM TOTALS/{
      gsub(",", ""); gsub(/\([^)]*\)/, "")
      printf "%-10s per request: %d L1 instruction misses, %d L1 data misses (%d reads, %d writes)\n", name, $4/n, ($5+$6)/n, $5/n, $6/n }'
  fi
  callgrind_annotate "$outfile" 2>/dev/null | sed -n '/PROGRAM TOTALS/,+25p' | tail -20 >"$dir/$name.top.txt"
}

hp=$(freeport) ap=$(freeport) tp=$(freeport) dp=$(freeport)
mkdir -p "$dir/sg"
# Go's asynchronous preemption signals trip callgrind; the loops do not
# need them to make progress.
GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind "${vg_cache[@]}" --callgrind-out-file="$dir/sg/cg.out" --instr-atstart=no \
  "$bin" serve --data-dir "$dir/sg" --store bolt --http-listen "127.0.0.1:$hp" --admin-listen "127.0.0.1:$ap" \
  --https-listen "127.0.0.1:$tp" --dns-listen "127.0.0.1:$dp" --admin-key k --log-level warn >"$dir/sg/log" 2>&1 &
sgpid=$!
pids+=($sgpid)
for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$ap/readyz" && break; sleep 0.2; done
curl -sf -X PUT -H 'X-API-KEY: k' "http://127.0.0.1:$ap/apisix/admin/upstreams/u1" \
  -d "{\"type\":\"roundrobin\",\"nodes\":{\"127.0.0.1:$up\":1}}" >/dev/null
curl -sf -X PUT -H 'X-API-KEY: k' "http://127.0.0.1:$ap/apisix/admin/routes/r1" \
  -d '{"uri":"/*","upstream_id":"u1"}' >/dev/null
count stargate "$hp" "$sgpid" "$dir/sg/cg.out"
if [ "$with_plugins" = 1 ]; then
  curl -sf -X PUT -H 'X-API-KEY: k' "http://127.0.0.1:$ap/apisix/admin/consumers/bench" \
    -d '{"username":"bench","plugins":{"key-auth":{"key":"bench-key"}}}' >/dev/null
  curl -sf -X PUT -H 'X-API-KEY: k' "http://127.0.0.1:$ap/apisix/admin/routes/r2" \
    -d '{"uri":"/p","upstream_id":"u1","plugins":{"key-auth":{},"limit-count":{"count":1000000000,"time_window":60},"prometheus":{}}}' >/dev/null
  count plugins "$hp" "$sgpid" "$dir/sg/cg.out" 2 /p "apikey: bench-key"
fi

if [ "$with_nginx" = 1 ]; then
  np=$(freeport)
  nginx_conf "$dir/px" "worker_processes 1;
master_process off;" "    upstream backend { server 127.0.0.1:$up; keepalive 64; keepalive_requests 1000000; keepalive_timeout 120s; }
    server { listen 127.0.0.1:$np; location / {
        proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\";
        proxy_set_header Host \$http_host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_set_header X-Real-IP \$remote_addr; proxy_set_header X-Forwarded-Proto \$scheme;
        proxy_set_header X-Forwarded-Host \$http_host; } }"
  valgrind --tool=callgrind "${vg_cache[@]}" --callgrind-out-file="$dir/px/cg.out" --instr-atstart=no \
    nginx -c "$dir/px/nginx.conf" >"$dir/px/log" 2>&1 &
  ngpid=$!
  pids+=($ngpid)
  count nginx "$np" "$ngpid" "$dir/px/cg.out"
fi
echo "dumps and top functions in $dir" >&2
