#!/usr/bin/env bash
# Installs what ClientBase needs on a fresh machine: Debian packages when missing (Java, Maven, git,
# PostgreSQL, Node.js with npm, Chromium for the browser test), uv, the Python workspace, the dashboard's
# chart library (through npm), the Kafka jars (through Maven) and the FerretDB and Mailpit builds (through
# Go); reuses caches.
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '==> %s\n' "$*" >&2; }

apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        log "missing $* and no apt-get here: install them by hand"; exit 1
    fi
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    log "installing Debian packages: $*"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}

packages=()
command -v java >/dev/null 2>&1 || packages+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || packages+=(maven)
command -v git >/dev/null 2>&1 || packages+=(git)
# The stack runs Debian's PostgreSQL server binaries from /usr/lib/postgresql/<version>/bin (FerretDB's backend).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || packages+=(postgresql)
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
# The dashboard's browser test drives Debian's Chromium through Playwright (no browser download of its own).
[ -x /usr/bin/chromium ] || packages+=(chromium)
[ ${#packages[@]} -eq 0 ] || apt_install "${packages[@]}"

# PostgreSQL refuses to run as root: a root stack runs it as this unprivileged user (Debian's package makes it).
pg_user=${CLIENTBASE_POSTGRES_USER:-postgres}
if [ "$(id -u)" -eq 0 ] && ! id "$pg_user" >/dev/null 2>&1; then
    log "creating the system user $pg_user to run PostgreSQL"
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$pg_user"
fi

java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
if [ "${java_major:-0}" -lt 17 ]; then
    log "Kafka 4 needs Java 17 or newer, found ${java_major:-none}"; exit 1
fi

if ! command -v go >/dev/null 2>&1; then
    log "Go 1.24.3 or newer is needed to build FerretDB and Mailpit (Debian's golang is too old); install Go and retry"; exit 1
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    log "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1
fi

uv_version=$(cat deploy/uv-version.txt)
if ! command -v uv >/dev/null 2>&1 || [ "$(uv --version | awk '{print $2}')" != "$uv_version" ]; then
    log "installing uv $uv_version"
    "$python" -m pip install --quiet --disable-pip-version-check "uv==$uv_version"
fi

log "syncing the Python workspace"
uv sync --quiet --python "$python"

# The chart library the metrics dashboard serves, at the exact version its package.json pins; reinstalled
# when node_modules is missing or older than package.json.
assets=services/metrics/dashboard-assets
if [ ! -d "$assets/node_modules" ] || [ "$assets/package.json" -nt "$assets/node_modules" ]; then
    log "installing the dashboard's chart library with npm"
    (cd "$assets" && npm install --no-package-lock --omit=dev --no-audit --no-fund --loglevel=error)
    touch "$assets/node_modules"
fi

log "preparing the Kafka jars and the FerretDB and Mailpit builds (cached)"
uv run --no-sync clientbase-stack prepare
