# Sourced first by the RIOT scripts (tests/riot/run.sh, c2c.sh, submac_stress.sh), which need
# a RIOT checkout and root for their network namespace: without either they print why and
# skip (exit 0). Run through sudo, they still use the invoking user's Rust toolchain (sudo's
# PATH has no ~/.cargo/bin), and files the builds create in the checkout are given back to
# that user when the script ends (no root-owned files left in a user's checkout).

if [ -z "${RIOTBASE:-}" ]; then
    echo "SKIP: RIOTBASE not set"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (or CAP_NET_ADMIN) for a network namespace"
    exit 0
fi

if [ -n "${SUDO_USER:-}" ] && [ "${SUDO_UID:-0}" != 0 ]; then
    _sudo_home=$(getent passwd "$SUDO_USER" | cut -d: -f6)
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$_sudo_home/.cargo/bin/cargo" ]; then
        # The user's rustup toolchains and tools (cargo, c2rust); downloads go to root's
        # CARGO_HOME, never into the user's.
        export PATH="$_sudo_home/.cargo/bin:$PATH"
        export RUSTUP_HOME=${RUSTUP_HOME:-$_sudo_home/.rustup}
    fi
    _sudo_stamp=$(mktemp)
fi

# give_back DIR: hands files created under DIR since the script started back to the sudo user.
give_back() {
    [ -n "${_sudo_stamp:-}" ] || return 0
    find "$1" -xdev -uid 0 -newer "$_sudo_stamp" -exec chown -h "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" {} + 2>/dev/null
    return 0
}

# count_at_least <n> <pattern> <file> <seconds>: until <file> has <n> lines matching the
# extended regular expression <pattern>.
count_at_least() { # n pattern file seconds
    local i
    for i in $(seq "$(( $4 * 5 ))"); do
        [ "$(grep -Ec -- "$2" "$3" 2>/dev/null)" -ge "$1" ] && return 0
        sleep 0.2
    done
    return 1
}
