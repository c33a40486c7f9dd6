# Shared helpers for scripts/ and .ci/run (sourced, not run).

# Debian packages the tests start or call. Installed only when missing. (chromium: the web map
# test; nodejs/npm drive it through playwright-core; python3-venv: the reflection client.)
TEST_PACKAGES=(mosquitto mosquitto-clients openssl postgresql chromium)

apt_install_missing() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing Debian packages: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

ensure_test_packages() {
    [ ${#TEST_PACKAGES[@]} -eq 0 ] || apt_install_missing "${TEST_PACKAGES[@]}"
    command -v node >/dev/null && command -v npm >/dev/null || apt_install_missing nodejs npm
    command -v python3 >/dev/null || apt_install_missing python3 python3-venv
}

# The test clients nobody here wrote: playwright-core (npm, drives Debian's Chromium) and the
# Python reflection client grpc-requests (PyPI), pinned, in caches outside the clone.
export HEXPROOF_VENV="${HEXPROOF_VENV:-$HOME/.cache/hexproof-venv}"
export HEXPROOF_PYTHON="$HEXPROOF_VENV/bin/python"
ensure_test_clients() {
    if [ ! -d oracle/web/tests/node_modules/playwright-core ]; then
        npm ci --prefix oracle/web/tests --no-audit --no-fund --loglevel=error
    fi
    if ! "$HEXPROOF_PYTHON" -c 'import grpc_requests' 2>/dev/null; then
        python3 -m venv "$HEXPROOF_VENV" 2>/dev/null || {
            apt_install_missing python3-venv
            python3 -m venv "$HEXPROOF_VENV"
        }
        "$HEXPROOF_VENV/bin/pip" install -q --disable-pip-version-check \
            grpc-requests==0.1.21 grpcio==1.85.3 grpcio-reflection==1.85.1 protobuf==7.36.2
    fi
}
