#!/usr/bin/env bash
# im_livechat_ext developer commands.
#
#   ./dev.sh run     set up what is missing, build a demo database with the
#                    module and its demo data, serve Odoo on http://localhost:8069
#   ./dev.sh test    set up what is missing, then on fresh databases run the
#                    module's tests and tours and stock Odoo's im_livechat and
#                    website_livechat suites with the module installed
#   ./dev.sh bench   routing benchmark, module side by side with stock Odoo 18
#   ./dev.sh stress  N visitors at once against a multi-worker Odoo, with and
#                    without the module
#   ./dev.sh lifecycle  install, use, upgrade, uninstall, reinstall on one
#                    database (also a stage of `test`)
#   ./dev.sh odoo ARGS  odoo-bin ARGS with this repository's addons path and
#                    this machine's database and filestore options
#   ./dev.sh setup   only the set-up (PostgreSQL, Odoo 18, Python environment)
#
# Environment (all optional):
#   ODOO_SRC    Odoo 18.0 source: a directory or an archive URL/path
#               (default /opt/odoo/18.0, else Odoo's official 18.0 archive)
#   IMLE_HOME   where the virtual environment and a downloaded Odoo live
#               (default ~/.cache/im_livechat_ext)
#   DB_NAME     demo database of `run` (default livechat_demo)
#   HTTP_PORT   port of `run` (default 8069)
#   PGHOST, PGPORT, PGUSER, PGPASSWORD   PostgreSQL connection (libpq defaults)
#   TEST_SUITES any of lint,package,lifecycle,ext,stock,website (default: all)
#   TEST_TAGS   the module's tests to run in the ext stage (Odoo --test-tags,
#               default /im_livechat_ext), e.g. /im_livechat_ext:TestRouting
#   TEST_HTTP_PORT  port of the test server (default 8069)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMLE_HOME="${IMLE_HOME:-$HOME/.cache/im_livechat_ext}"
VENV="$IMLE_HOME/venv"
OFFICIAL_ARCHIVE="https://nightly.odoo.com/18.0/nightly/src/odoo_18.0.latest.tar.gz"

say() { printf '\033[1m[im_livechat_ext]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[im_livechat_ext] ERROR:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "need root to run: $* (install it yourself, then run this command again)"; fi
}

apt_install() {
    # Installs Debian packages that are missing; quiet when all are there.
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing system packages: ${missing[*]} (no apt-get here: install them yourself)"
    say "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------
ensure_postgres() {
    export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-$(id -un)}"
    if ! command -v pg_isready >/dev/null; then
        apt_install postgresql postgresql-client
    fi
    if ! pg_isready -q; then
        say "PostgreSQL does not answer on $PGHOST:$PGPORT, starting it"
        if ! command -v pg_lsclusters >/dev/null; then apt_install postgresql; fi
        local version
        version="$(pg_lsclusters -h | awk 'NR==1{print $1}')"
        [ -n "$version" ] || die "no PostgreSQL cluster found; create one with pg_createcluster"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start \
            || as_root pg_ctlcluster "$version" main start
        for _ in $(seq 1 30); do pg_isready -q && break; sleep 1; done
        pg_isready -q || die "PostgreSQL still does not answer on $PGHOST:$PGPORT"
    fi
    if ! psql -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
        say "creating PostgreSQL role $PGUSER"
        as_root su postgres -c "createuser --superuser '$PGUSER'" \
            || die "cannot connect to PostgreSQL as $PGUSER (set PGUSER/PGPASSWORD)"
    fi
}

# --------------------------------------------------------------------------
# Odoo 18.0 source
# --------------------------------------------------------------------------
check_odoo_dir() {
    [ -f "$1/odoo/release.py" ] && [ -d "$1/addons/im_livechat" ] \
        && grep -q "version_info = (18, 0" "$1/odoo/release.py"
}

ensure_odoo_src() {
    local src="${ODOO_SRC:-}"
    if [ -z "$src" ]; then
        if check_odoo_dir /opt/odoo/18.0; then src=/opt/odoo/18.0; else src="$OFFICIAL_ARCHIVE"; fi
    fi
    if [ -d "$src" ]; then
        check_odoo_dir "$src" || die "ODOO_SRC=$src is not an Odoo 18.0 source tree (odoo/release.py, addons/im_livechat)"
        ODOO_DIR="$(cd "$src" && pwd)"
    else
        ODOO_DIR="$IMLE_HOME/odoo-18.0"
        if ! check_odoo_dir "$ODOO_DIR"; then
            say "getting Odoo 18.0 from $src"
            local archive="$IMLE_HOME/odoo-18.0.tar.gz"
            mkdir -p "$IMLE_HOME"
            if [ -f "$src" ]; then cp "$src" "$archive"; else
                curl -fL --retry 2 -o "$archive" "$src" || die "Odoo 18.0 is not installed and could not be downloaded from $src.
Get Odoo 18.0 Community source (https://github.com/odoo/odoo/tree/18.0 or $OFFICIAL_ARCHIVE)
and run again with ODOO_SRC=/path/to/odoo-18.0 (or put it in /opt/odoo/18.0)."
            fi
            rm -rf "$ODOO_DIR.tmp" && mkdir -p "$ODOO_DIR.tmp"
            tar -xf "$archive" -C "$ODOO_DIR.tmp" || die "$archive is not a readable archive"
            local top
            top="$(dirname "$(find "$ODOO_DIR.tmp" -maxdepth 3 -path '*/odoo/release.py' | head -n1)")"
            [ -n "$top" ] && [ "$top" != "." ] || die "no Odoo source in $src"
            rm -rf "$ODOO_DIR" && mv "$(dirname "$top")" "$ODOO_DIR" && rm -rf "$ODOO_DIR.tmp" "$archive"
            check_odoo_dir "$ODOO_DIR" || die "$src does not hold Odoo 18.0"
        fi
    fi
    export ODOO_DIR
}

# --------------------------------------------------------------------------
# Python environment
# --------------------------------------------------------------------------
pick_python() {
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.10 python3; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null || continue
        if "$candidate" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))'; then
            echo "$candidate"; return 0
        fi
    done
    die "Odoo 18 needs Python 3.10, 3.11 or 3.12; none found (set PYTHON=...)"
}

ensure_venv() {
    apt_install libpq-dev libldap2-dev libsasl2-dev build-essential
    local stamp="$VENV/.im_livechat_ext-stamp"
    local wanted
    wanted="$(cat "$ODOO_DIR/requirements.txt" "$REPO/requirements.txt" | sha1sum | cut -c1-16)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then return 0; fi
    local python
    python="$(pick_python)"
    say "building the Python environment in $VENV (a few minutes, once)"
    [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV"
    local pip=("$VENV/bin/python" -m pip install -q)
    "${pip[@]}" --upgrade pip wheel "setuptools<70"
    # Facts of these machines: cbor2 5.4.2 builds as version 0.0.0, 5.4.6 is
    # the same API; psycopg2 and python-ldap build from source against the
    # system headers with the setuptools above.
    sed -e 's/^cbor2==5\.4\.2/cbor2==5.4.6/' "$ODOO_DIR/requirements.txt" > "$IMLE_HOME/odoo-requirements.txt"
    grep -E '^(psycopg2|python-ldap)==' "$IMLE_HOME/odoo-requirements.txt" > "$IMLE_HOME/source-builds.txt" || true
    "${pip[@]}" --no-build-isolation -r "$IMLE_HOME/source-builds.txt"
    "${pip[@]}" -r "$IMLE_HOME/odoo-requirements.txt" -r "$REPO/requirements.txt"
    echo "$wanted" > "$stamp"
}

ensure_chromium() {
    command -v chromium >/dev/null || command -v google-chrome >/dev/null || command -v chromium-browser >/dev/null \
        || apt_install chromium
    command -v chromium >/dev/null || command -v google-chrome >/dev/null || command -v chromium-browser >/dev/null \
        || die "browser tours need Chromium; install it (Debian: apt-get install chromium)"
}

setup() {
    mkdir -p "$IMLE_HOME"
    ensure_postgres
    ensure_odoo_src
    ensure_venv
    ADDONS_PATH="$ODOO_DIR/addons,$REPO"
    ODOO_DATA_DIR="$IMLE_HOME/filestore"
    export ADDONS_PATH ODOO_DATA_DIR
    say "Odoo: $ODOO_DIR  Python: $VENV/bin/python  PostgreSQL: $PGUSER@$PGHOST:$PGPORT"
}

# tools/odoo_runner.py runs Odoo for every command and tool: the odoo-bin
# command line, databases, logs and the warnings stock Odoo logs anyway.
runner() { "$VENV/bin/python" "$REPO/tools/odoo_runner.py" "$@"; }
odoo() { runner odoo -- "$@"; }
drop_db() { runner drop-db "$1"; }

# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------
cmd_run() {
    setup
    local db="${DB_NAME:-livechat_demo}" port="${HTTP_PORT:-8069}"
    if psql -d "$db" -Atqc "select 1 from ir_module_module where name='im_livechat_ext' and state='installed'" 2>/dev/null | grep -q 1; then
        say "updating im_livechat_ext in the existing database $db"
        odoo -d "$db" -u im_livechat_ext --stop-after-init --log-level=warn
    else
        say "creating the demo database $db with im_livechat_ext and its demo data"
        drop_db "$db"
        odoo -d "$db" -i im_livechat_ext --stop-after-init --log-level=warn
    fi
    # the demo activates its visitors' and operators' languages: every
    # installed module's words in them, stock's included
    local langs
    langs="$(psql -d "$db" -Atqc "select string_agg(code, ',' order by code) from res_lang where active and code <> 'en_US'")"
    if [ -n "$langs" ]; then
        say "loading the translations of every installed module in $langs"
        odoo -d "$db" --load-language="$langs" --stop-after-init --log-level=warn
    fi
    local channel
    channel="$(psql -d "$db" -Atqc "select res_id from ir_model_data where module='im_livechat_ext' and name='im_livechat_channel_routing'")"
    cat <<EOF

  Odoo is starting on http://localhost:$port  (login admin / password admin)
    Live Chat > Configuration > Expertise       the expertises and their operators
    Live Chat > Channels                         Join / Leave; Configure Channel > Routing
    Live Chat > Report > Sessions History        who got each chat and why (Routing Reason)
    avatar > Preferences                         Online Chat Name, Languages, Live Chat Expertise
    http://localhost:$port/im_livechat/support/${channel:-1}  a visitor talking to the Routing Bot
      (log in as livechat_claire / livechat_claire in another browser to be the Billing expert online)
  Ctrl+C stops it.

EOF
    odoo -d "$db" --http-port="$port" --http-interface=127.0.0.1 --db-filter="^$db\$" --log-level=info
}

# The hooks of .pre-commit-config.yaml, as a contributor runs them: ruff,
# pylint-odoo, OCA's module and translation checks, prettier, XML, README.
run_lint() {
    say "lint: pre-commit run --all-files (.pre-commit-config.yaml)"
    # prettier's Node.js environment is built on the system's node and npm
    command -v npm >/dev/null || apt_install nodejs npm
    if (cd "$REPO" && PATH="$VENV/bin:$PATH" pre-commit run --all-files --show-diff-on-failure --color=never); then
        runner record --results "$RESULTS" --label lint --line "$(printf '%-8s %s' lint clean)"
    else
        runner record --results "$RESULTS" --label lint --line "$(printf '%-8s %s' lint 'FAILED (see above)')" --failed 1
    fi
}

lifecycle() { "$VENV/bin/python" "$REPO/tools/lifecycle_check.py" "$@"; }

cmd_test() {
    setup
    ensure_chromium
    local suites="${TEST_SUITES:-lint,package,lifecycle,ext,stock,website}"
    local stamp; stamp="$(date +%s)"
    local logs="$IMLE_HOME/logs/$stamp" expect=()
    mkdir -p "$logs"
    RESULTS="$logs/results.jsonl"; : > "$RESULTS"
    # a stage that stops before recording its result is counted as a failure by `summary`
    if [[ ",$suites," == *",lint,"* ]]; then expect+=(lint); run_lint; fi
    if [[ ",$suites," == *",package,"* ]]; then
        expect+=(package)
        runner run-package --db "imle_wheel_$stamp" --log "$logs/package.log" --results "$RESULTS" || true
    fi
    if [[ ",$suites," == *",lifecycle,"* ]]; then
        expect+=(lifecycle)
        say "lifecycle: install, use, upgrade, uninstall, reinstall on imle_lifecycle_$stamp (log: $logs/lifecycle.log)"
        lifecycle --db "imle_lifecycle_$stamp" --log "$logs/lifecycle.log" --results "$RESULTS" || true
        drop_db "imle_lifecycle_$stamp"
    fi
    if [[ ",$suites," == *",ext,"* || ",$suites," == *",stock,"* ]]; then
        local tags=""
        # TEST_TAGS narrows the module's tests, e.g. /im_livechat_ext:TestRouting.test_capacity_limited
        [[ ",$suites," == *",ext,"* ]] && tags="${TEST_TAGS:-/im_livechat_ext}"
        # ExternalTestSuite.test_external_livechat (im_livechat's HOOT suite)
        # fails in this Chromium with or without the module: see README.rst.
        [[ ",$suites," == *",stock,"* ]] && tags="${tags:+$tags,}/im_livechat,-/im_livechat:ExternalTestSuite.test_external_livechat"
        expect+=(livechat)
        runner run-suite --label livechat --db "imle_test_$stamp" --modules im_livechat_ext --tags "$tags" \
            --log "$logs/livechat.log" --results "$RESULTS" || true
    fi
    if [[ ",$suites," == *",website,"* ]]; then
        # website_livechat installed too: the module's suite again, and the
        # stock website_livechat suite
        expect+=(website)
        runner run-suite --label website --db "imle_testweb_$stamp" --modules im_livechat_ext,website_livechat \
            --tags "/im_livechat_ext,im_livechat_ext_website/im_livechat_ext,/website_livechat" \
            --log "$logs/website.log" --results "$RESULTS" || true
    fi
    local IFS=,
    runner summary --results "$RESULTS" --expect "${expect[*]}"
}

cmd_bench() {
    setup
    PYTHONPATH="$REPO/tools" "$VENV/bin/python" "$REPO/tools/measure/bench_routing.py" --odoo-dir "$ODOO_DIR" --addons-path "$ADDONS_PATH" "$@"
}

cmd_stress() {
    setup
    PYTHONPATH="$REPO/tools" "$VENV/bin/python" "$REPO/tools/measure/stress_livechat.py" --odoo-dir "$ODOO_DIR" --addons-path "$ADDONS_PATH" "$@"
}

case "${1:-}" in
    run) shift; cmd_run "$@" ;;
    test) shift; cmd_test "$@" ;;
    bench) shift; cmd_bench "$@" ;;
    stress) shift; cmd_stress "$@" ;;
    lifecycle) shift; setup; lifecycle "$@" ;;
    odoo) shift; setup; odoo "$@" ;;
    setup) shift; setup ;;
    *) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
