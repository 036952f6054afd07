#!/usr/bin/env bash
# Installs the two software WebGPU adapters that Dawn (npm `webgpu`) drives on a machine
# without a GPU, so the WebGPU engine's tests run in CI instead of skipping:
#   llvmpipe    Mesa's CPU rasteriser through EGL + OpenGL ES (Dawn backend=opengles).
#               libgl1-mesa-dri holds the driver itself (swrast_dri.so); libegl-mesa0 does
#               not depend on it, so it is named.
#   SwiftShader Chromium's Vulkan-on-CPU ICD through the Vulkan loader (Dawn backend=vulkan).
#               /usr/lib/chromium/{libvk_swiftshader.so,vk_swiftshader_icd.json} ship in
#               chromium-common: a quarter of the download of `chromium`, whose browser and GTK
#               stack we do not need. Nothing depends on libvulkan1 here, so it is named.
# The device module (src/engines/webgpu/device.ts) sets the variables each adapter needs
# (VK_DRIVER_FILES, EGL_PLATFORM=surfaceless, LIBGL_ALWAYS_SOFTWARE=1) while it opens one.
# Deliberately not installed: mesa-vulkan-drivers. Debian 12's lavapipe (Mesa 22.3) is too
# old for Dawn, and an installed ICD would be enumerated beside the ones chosen.
# Idempotent: installs (after apt-get update) only when a package is missing; checks always run.
set -euo pipefail

packages=(libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri libvulkan1 chromium-common)
swiftshader_icd=/usr/lib/chromium/vk_swiftshader_icd.json

source "$(dirname "$0")/apt.sh"

missing="$(apt_missing "${packages[@]}")"
if [ -n "$missing" ]; then
  echo "install-adapters: installing $missing"
  apt_install "${packages[@]}"
else
  echo "install-adapters: already installed: ${packages[*]}"
fi

fail() {
  echo "install-adapters: $1" >&2
  exit 1
}
[ -f "$swiftshader_icd" ] || fail "$swiftshader_icd missing after installing chromium-common"
# Captured once and matched as text: see apt.sh on `| grep -q` under pipefail.
linker_cache="$(PATH="$PATH:/usr/sbin:/sbin" ldconfig -p)"
[[ $linker_cache == *$'\tlibvulkan.so.1 ('* ]] || fail 'libvulkan.so.1 missing after installing libvulkan1'
[[ $linker_cache == *$'\tlibEGL.so.1 ('* ]] || fail 'libEGL.so.1 missing after installing libegl1'
compgen -G '/usr/lib/*/dri/swrast_dri.so' >/dev/null ||
  fail 'Mesa swrast_dri.so (llvmpipe) missing after installing libgl1-mesa-dri'
if apt_installed mesa-vulkan-drivers; then
  echo 'install-adapters: note: mesa-vulkan-drivers (lavapipe) is installed; Dawn cannot use it' >&2
fi
echo "install-adapters: ready: SwiftShader ($swiftshader_icd) and Mesa llvmpipe"
