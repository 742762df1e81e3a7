#!/usr/bin/env bash
# Installs every Debian package Tessera needs to build, test, train and benchmark.
# Non-interactive and idempotent: when everything is present it changes nothing
# and does not touch the network. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  bazel-bootstrap          # Bazel 4.2, used offline (third_party/README.md)
  g++ pkg-config
  protobuf-compiler libprotobuf-dev
  protobuf-compiler-grpc libgrpc++-dev
  libabsl-dev
  libopenblas-dev          # sgemm for dense and conv layers
  libturbojpeg0-dev        # JPEG decode for image shards
  libgtest-dev libgmock-dev
  zlib1g-dev
  dataset-fashion-mnist    # /usr/share/datasets/fashion-mnist
  python3-numpy            # reads exported checkpoints (.npz) in tests
  python3-torch            # reference for bench/train_throughput
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
