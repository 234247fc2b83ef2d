#!/usr/bin/env bash
# Sets cnnviz up on Debian/Ubuntu: the system libraries Qt needs, a virtual environment
# in .venv and cnnviz installed into it (editable, so it runs from this folder).
#   bash .ci/setup.sh          the app
#   bash .ci/setup.sh --test   the app plus what the tests need
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
if [ "${1:-}" = "--test" ]; then extras="[test]"; fi

# Qt's wheels need these: the first three to run at all (offscreen too), the rest for a real X window.
packages=(libgl1 libglib2.0-0 libfontconfig1 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
          libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libdbus-1-3)
python3 -c "import ensurepip" 2>/dev/null || packages+=(python3-venv)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "cnnviz setup: installing system packages: ${missing[*]}"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "cnnviz setup: system packages present"
fi

if [ ! -x .venv/bin/python ]; then
    echo "cnnviz setup: creating .venv"
    python3 -m venv .venv
fi
echo "cnnviz setup: installing cnnviz${extras} into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
echo "cnnviz setup: done"
