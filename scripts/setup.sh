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
  libdnnl-dev              # oneDNN's sgemm: the layers' single-threaded products (nn/gemm.h)
  libturbojpeg0-dev        # JPEG decode for image shards
  libpng-dev               # PNG inputs of tessera_records
  libjpeg62-turbo-dev      # libjpeg API: DCT-scaled, cropped decode (data/jpeg_decoder)
  libgtest-dev libgmock-dev
  zlib1g-dev
  libssl-dev               # libcrypto: bench/ps_transport times the TLS ciphers (TLS itself goes through gRPC)
  openssl                  # scripts/tessera_security.sh: the job's CA, certificate and token (docs/security.md)
  dataset-fashion-mnist    # /usr/share/datasets/fashion-mnist
  python3-numpy            # reads exported checkpoints (.npz) in tests; make_fashion_jpeg_tree.py; bench/scaling_model.py
  python3-matplotlib       # bench/plot_scaling.py: the plots of docs/scaling.md
  iproute2                 # ip, tc: bench/netns/ emulated hosts, test/netns_cluster_test
  util-linux               # setsid: bench/netns/emulate.sh starts each task in a session of its own
  python3-torch            # reference for bench/train_throughput
  libjemalloc2 libtcmalloc-minimal4  # allocators the PyTorch references try (bench/reference_env.sh)
  python3-pil              # scripts/make_fashion_jpeg_tree.py, make_photo_set.py write JPEG and PNG
  python3-torchvision      # reference pipeline in bench/jpeg_references.py (ImageFolder, DataLoader)
  libjpeg-turbo-progs      # tjbench: libjpeg-turbo's full-decode reference in bench/jpeg_references.py
  mate-backgrounds         # photographs for scripts/make_photo_set.py (/usr/share/backgrounds/mate/nature)
  python3-skimage          # more photographs for scripts/make_photo_set.py (skimage/data)
  openmpi-bin              # test/launch_mpirun_test, launch_pbs_test (mpirun)
  slurm-wlm munge          # test/launch_slurm_test starts a one-node Slurm
  libgcc-12-dev            # libasan, libubsan, libtsan: scripts/sanitizers.sh (--config=asan, tsan)
  clang libclang-rt-14-dev # libFuzzer and clang's sanitizers: scripts/fuzz.sh (--config=fuzz)
  llvm                     # llvm-symbolizer: source lines in sanitizer and fuzzer reports
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
# Packages such as munge and slurm-wlm would start system services on install;
# the tests start their own daemons, so keep the package scripts from starting
# any (policy-rc.d exit 101 = "not allowed"), unless the machine has a policy.
added_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d > /dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  added_policy=1
fi
remove_policy() { if [ -n "$added_policy" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi; }
trap remove_policy EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}"
echo "setup: done"
