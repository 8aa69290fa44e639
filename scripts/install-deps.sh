#!/usr/bin/env bash
# Installs, from Debian's packages, what building the BPF objects and booting test kernels need. A
# download that fails is tried again (four tries, 5 s apart and doubling) before the script gives up and
# says which step failed.
set -euo pipefail
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# retry WHAT CMD...: run CMD until it succeeds, four times at most.
retry() {
  local what=$1 wait=5 attempt
  shift
  for attempt in 1 2 3 4; do
    if "$@"; then return 0; fi
    if [ "$attempt" = 4 ]; then break; fi
    echo "install-deps: $what failed (try $attempt of 4); trying again in ${wait}s" >&2
    sleep "$wait"
    wait=$((wait * 2))
  done
  echo "install-deps: $what failed 4 times; is Debian's package mirror reachable? (command: $*)" >&2
  return 1
}

retry "updating apt's package lists" $sudo apt-get update -qq
retry "installing clang, llvm, libbpf-dev, bpftool, qemu-system-x86 and cpio" \
  $sudo apt-get install -y -qq --no-install-recommends clang llvm libbpf-dev bpftool qemu-system-x86 cpio >/dev/null
