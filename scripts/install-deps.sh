#!/usr/bin/env bash
# Installs, from Debian's packages, what building the BPF objects and booting test kernels need.
set -euo pipefail
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends clang llvm libbpf-dev bpftool qemu-system-x86 cpio >/dev/null
