# Shared helpers for scripts/ and .ci/run (sourced, not run).

# Debian packages the tests start or call. Installed only when missing.
TEST_PACKAGES=(mosquitto mosquitto-clients openssl postgresql)

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
}
