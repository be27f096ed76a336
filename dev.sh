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
    export ADDONS_PATH
    say "Odoo: $ODOO_DIR  Python: $VENV/bin/python  PostgreSQL: $PGUSER@$PGHOST:$PGPORT"
}

odoo() {
    "$VENV/bin/python" "$ODOO_DIR/odoo-bin" --addons-path="$ADDONS_PATH" \
        --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER" ${PGPASSWORD:+--db_password="$PGPASSWORD"} \
        --data-dir="$IMLE_HOME/filestore" "$@"
}

drop_db() { dropdb --if-exists "$1" >/dev/null 2>&1 || true; rm -rf "$IMLE_HOME/filestore/filestore/$1"; }

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

# Runs one Odoo test job on a fresh database; appends its totals to $SUMMARY.
run_suite() {
    local label="$1" db="$2" modules="$3" tags="$4"
    local log="$LOG_DIR/$label.log"
    drop_db "$db"
    say "$label: installing $modules on fresh database $db and running tests $tags (log: $log)"
    local started=$SECONDS rc=0
    odoo -d "$db" -i "$modules" --test-tags="$tags" --stop-after-init --log-level=test \
        --http-port="${TEST_HTTP_PORT:-8069}" --max-cron-threads=0 >"$log" 2>&1 || rc=$?
    local report
    report="$(grep -E 'odoo\.tests\.(result|stats|runner): [0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$log" | tail -n1 || true)"
    local failed=0 errors=0 total=0
    if [[ "$report" =~ ([0-9]+)\ failed,\ ([0-9]+)\ error\(s\)\ of\ ([0-9]+)\ tests ]]; then
        failed="${BASH_REMATCH[1]}"; errors="${BASH_REMATCH[2]}"; total="${BASH_REMATCH[3]}"
    fi
    local problems
    problems="$(grep -cE '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) ' "$log" || true)"
    grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL|WARNING) ' "$log" | grep -vE "$KNOWN_WARNINGS" | head -n 40 || true
    local bad=$((failed + errors))
    local passed=$((total - bad))
    printf '%-8s %4d tests  %4d passed  %3d failed  %3d errors  %3ds  (odoo exit %d, %d ERROR log lines)\n' \
        "$label" "$total" "$passed" "$failed" "$errors" $((SECONDS - started)) "$rc" "$problems" | tee -a "$SUMMARY"
    TOTAL_PASSED=$((TOTAL_PASSED + passed)); TOTAL_FAILED=$((TOTAL_FAILED + bad))
    if [ "$total" -eq 0 ]; then
        say "$label ran no test: that is a failure"; TOTAL_FAILED=$((TOTAL_FAILED + 1))
    elif [ "$bad" -eq 0 ] && { [ "$rc" -ne 0 ] || [ "$problems" -ne 0 ]; }; then
        # install errors or errors logged outside a test still fail the run
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
    fi
    drop_db "$db"
}

# Warnings that stock Odoo prints in these suites with or without the module.
KNOWN_WARNINGS='unaccent|geoip|GeoIP|wkhtmltopdf|longpolling|Running as user|Accessing the bus'

# Prettier for JavaScript and XML, from the npm registry, pinned
PRETTIER_PACKAGES=(prettier@3.10.1 @prettier/plugin-xml@3.4.2)
ensure_prettier() {
    local dir="$IMLE_HOME/node" stamp="$IMLE_HOME/node/.im_livechat_ext-stamp"
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${PRETTIER_PACKAGES[*]}" ] && return 0
    command -v npm >/dev/null || apt_install nodejs npm
    say "installing ${PRETTIER_PACKAGES[*]} into $dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "${PRETTIER_PACKAGES[@]}" >/dev/null \
        || die "could not install prettier from the npm registry"
    echo "${PRETTIER_PACKAGES[*]}" > "$stamp"
}

prettier() {
    local modules="$IMLE_HOME/node/node_modules"
    "$modules/.bin/prettier" --plugin="$modules/@prettier/plugin-xml/src/plugin.js" "$@"
}

# ruff, pylint-odoo, prettier and XML checks: the same as .pre-commit-config.yaml
run_lint() {
    local bin="$VENV/bin" failed=0
    say "lint: ruff, pylint-odoo, prettier (JS, XML), XML"
    ensure_prettier
    (cd "$REPO" && "$bin/ruff" check . && "$bin/ruff" format --check .) || failed=1
    (cd "$REPO" && "$bin/pylint" --rcfile=.pylintrc im_livechat_ext) || failed=1
    (cd "$REPO" && prettier --check --log-level=warn "im_livechat_ext/**/*.{js,xml}") || failed=1
    (cd "$REPO" && git ls-files '*.xml' | xargs "$bin/python" tools/check_xml.py) || failed=1
    (cd "$REPO" && "$bin/python" tools/gen_readme.py --check) || failed=1
    if [ "$failed" -eq 0 ]; then
        printf '%-8s %s\n' "lint" "clean" | tee -a "$SUMMARY"
    else
        printf '%-8s %s\n' "lint" "FAILED (see above)" | tee -a "$SUMMARY"
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
    fi
}

# Builds the wheel (OCA's whool backend), installs it into a throwaway
# directory and has Odoo install the module from there, on a fresh database.
run_package() {
    local dir="$IMLE_HOME/wheel-check-$1" db="imle_wheel_$1" log="$LOG_DIR/package.log"
    rm -rf "$dir" && mkdir -p "$dir/dist"
    say "package: building the wheel and installing the module from it (log: $log)"
    local ok=1
    {
        "$VENV/bin/pip" wheel -q --no-deps -w "$dir/dist" "$REPO/im_livechat_ext" \
        && "$VENV/bin/pip" install -q --no-deps --target "$dir/site" "$dir"/dist/*.whl \
        && drop_db "$db" \
        && ADDONS_PATH="$ODOO_DIR/addons,$dir/site/odoo/addons" odoo -d "$db" -i im_livechat_ext \
            --without-demo=all --stop-after-init --log-level=warn --http-port="${TEST_HTTP_PORT:-8069}"
    } >"$log" 2>&1 || ok=0
    if [ "$ok" -eq 1 ] && ! grep -qE '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) ' "$log" \
        && psql -d "$db" -Atqc "select state from ir_module_module where name='im_livechat_ext'" | grep -q installed; then
        printf '%-8s %s\n' "package" "$(basename "$dir"/dist/*.whl) builds, installs and loads" | tee -a "$SUMMARY"
    else
        tail -n 30 "$log"
        printf '%-8s %s\n' "package" "FAILED (see $log)" | tee -a "$SUMMARY"
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
    fi
    drop_db "$db"
    rm -rf "$dir"
}

# install, use, -u, uninstall (schema back to stock), stock use, reinstall
run_lifecycle() {
    local db="imle_lifecycle_$1" log="$LOG_DIR/lifecycle.log" started=$SECONDS out rc=0
    say "lifecycle: install, use, upgrade, uninstall, reinstall on $db (log: $log)"
    out="$(lifecycle --db "$db" --log "$log")" || rc=$?
    echo "$out"
    local passed=0 total=0
    if [[ "$out" =~ lifecycle:\ ([0-9]+)\ of\ ([0-9]+)\ steps\ passed ]]; then
        passed="${BASH_REMATCH[1]}"; total="${BASH_REMATCH[2]}"
    fi
    printf '%-8s %4d steps  %4d passed  %3d failed  %3ds\n' "lifecycle" "$total" "$passed" $((total - passed)) \
        $((SECONDS - started)) | tee -a "$SUMMARY"
    TOTAL_PASSED=$((TOTAL_PASSED + passed)); TOTAL_FAILED=$((TOTAL_FAILED + total - passed))
    if [ "$total" -eq 0 ] || { [ "$rc" -ne 0 ] && [ "$passed" -eq "$total" ]; }; then
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
    fi
    drop_db "$db"
}

lifecycle() {
    "$VENV/bin/python" "$REPO/tools/lifecycle_check.py" --odoo-dir "$ODOO_DIR" --addons-path "$ADDONS_PATH" \
        --data-dir "$IMLE_HOME/filestore" "$@"
}

cmd_test() {
    setup
    ensure_chromium
    local suites="${TEST_SUITES:-lint,package,lifecycle,ext,stock,website}"
    local stamp; stamp="$(date +%s)"
    LOG_DIR="$IMLE_HOME/logs/$stamp"; mkdir -p "$LOG_DIR"
    SUMMARY="$LOG_DIR/summary.txt"; : > "$SUMMARY"
    TOTAL_PASSED=0; TOTAL_FAILED=0
    [[ ",$suites," == *",lint,"* ]] && run_lint
    [[ ",$suites," == *",package,"* ]] && run_package "$stamp"
    [[ ",$suites," == *",lifecycle,"* ]] && run_lifecycle "$stamp"
    if [[ ",$suites," == *",ext,"* || ",$suites," == *",stock,"* ]]; then
        local tags=""
        [[ ",$suites," == *",ext,"* ]] && tags="/im_livechat_ext"
        # ExternalTestSuite.test_external_livechat (im_livechat's HOOT suite)
        # fails in this Chromium with or without the module: see README.rst.
        [[ ",$suites," == *",stock,"* ]] && tags="${tags:+$tags,}/im_livechat,-/im_livechat:ExternalTestSuite.test_external_livechat"
        run_suite "livechat" "imle_test_${stamp}" "im_livechat_ext" "$tags"
    fi
    if [[ ",$suites," == *",website,"* ]]; then
        # website_livechat installed too: the module's suite again, and the
        # stock website_livechat suite
        run_suite "website" "imle_testweb_${stamp}" "im_livechat_ext,website_livechat" \
            "/im_livechat_ext,im_livechat_ext_website/im_livechat_ext,/website_livechat"
    fi
    echo
    cat "$SUMMARY"
    echo "tests: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
    [ "$TOTAL_FAILED" -eq 0 ]
}

cmd_bench() {
    setup
    "$VENV/bin/python" "$REPO/tools/bench_routing.py" --odoo-dir "$ODOO_DIR" --addons-path "$ADDONS_PATH" "$@"
}

cmd_stress() {
    setup
    "$VENV/bin/python" "$REPO/tools/stress_livechat.py" --odoo-dir "$ODOO_DIR" --addons-path "$ADDONS_PATH" "$@"
}

case "${1:-}" in
    run) shift; cmd_run "$@" ;;
    test) shift; cmd_test "$@" ;;
    bench) shift; cmd_bench "$@" ;;
    stress) shift; cmd_stress "$@" ;;
    lifecycle) shift; setup; lifecycle "$@" ;;
    setup) shift; setup ;;
    *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
