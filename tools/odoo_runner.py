"""Runs Odoo for every tool of this repository: the one place that builds the
``odoo-bin`` command line, drops databases, reads Odoo's log and knows which
warnings stock Odoo logs anyway.

From a tool (``tools/`` is on ``sys.path`` when a tool runs as a script)::

    import odoo_runner
    odoo = odoo_runner.Odoo(odoo_dir, addons_path)
    odoo_runner.drop_db(db)
    odoo.run("-d", db, "-i", "im_livechat", "--stop-after-init", check=True)

From ``dev.sh`` (where Odoo is comes from ``--odoo-dir``, ``--addons-path`` and
``--data-dir``, or from ``$ODOO_DIR``, ``$ADDONS_PATH`` and ``$ODOO_DATA_DIR``)::

    odoo_runner.py odoo ARGS...          odoo-bin ARGS with this machine's options
    odoo_runner.py drop-db DB            drop a database and its filestore
    odoo_runner.py run-suite ...         install modules on a fresh database, run tests
    odoo_runner.py run-package ...       build the wheel, install the module from it
    odoo_runner.py record ...            add one line to the results of a test run
    odoo_runner.py summary ...           print the results, "tests: N passed, N failed"

The stages write their result line to a results file (one JSON object a
line); ``summary`` adds them up and exits non-zero on any failure.
"""

import argparse
import dataclasses
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODULE = "im_livechat_ext"

# One line of Odoo's log: "2026-11-25 06:04:01,123 4242 WARNING db logger: message"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) ")
# The totals Odoo's test runner logs at the end of a run with --test-tags
TEST_TOTALS = re.compile(r"odoo\.tests\.(?:result|stats|runner): (\d+) failed, (\d+) error\(s\) of (\d+) tests")

# What stock Odoo logs on these machines with or without the module. The flag
# says whether the line comes from Odoo serving HTTP (the bus and its
# longpolling, as in test runs with browser tours): a run without an HTTP
# server (--no-http, the lifecycle check) has no reason to log those, so there
# they are not known warnings but problems.
KNOWN_WARNINGS = (
    ("unaccent", False),
    ("geoip", False),
    ("GeoIP", False),
    ("wkhtmltopdf", False),
    ("Running as user", False),
    ("longpolling", True),
    ("Accessing the bus", True),
)


def known_warning(line, http=True):
    """Whether stock Odoo logs this line anyway (``http``: Odoo served HTTP)."""
    return any(pattern in line for pattern, served_over_http in KNOWN_WARNINGS if http or not served_over_http)


@dataclasses.dataclass
class LogReport:
    """What a run's output says: test totals, ERROR/CRITICAL lines, and the
    WARNING or worse lines that are not known warnings."""

    tests: int = 0
    failed: int = 0
    errors: int = 0
    error_lines: list = dataclasses.field(default_factory=list)
    unknown_lines: list = dataclasses.field(default_factory=list)


def read_log(text, http=True):
    report = LogReport()
    for line in text.splitlines():
        totals = TEST_TOTALS.search(line)
        if totals:  # the last one counts
            report.failed, report.errors, report.tests = (int(value) for value in totals.groups())
        match = LOG_LINE.match(line)
        if not match or match["level"] in ("DEBUG", "INFO"):
            continue
        if match["level"] in ("ERROR", "CRITICAL"):
            report.error_lines.append(line)
        if not known_warning(line, http):
            report.unknown_lines.append(line)
    return report


# --------------------------------------------------------------------------
# Odoo and its databases
# --------------------------------------------------------------------------
@dataclasses.dataclass
class Odoo:
    """Odoo 18 source, addons path and filestore; PostgreSQL from the libpq
    variables (PGHOST, PGPORT, PGUSER, PGPASSWORD), as psql and dropdb."""

    odoo_dir: str
    addons_path: str
    data_dir: str = None

    @classmethod
    def from_args(cls, args):
        return cls(args.odoo_dir, args.addons_path, args.data_dir)

    def command(self, *args, subcommand=None):
        """The ``odoo-bin`` command line: the only place that builds it."""
        cmd = [sys.executable, str(Path(self.odoo_dir) / "odoo-bin")]
        if subcommand:
            cmd.append(subcommand)
        cmd.append(f"--addons-path={self.addons_path}")
        for option, variable in (
            ("--db_host", "PGHOST"),
            ("--db_port", "PGPORT"),
            ("--db_user", "PGUSER"),
            ("--db_password", "PGPASSWORD"),
        ):
            if os.environ.get(variable):
                cmd.append(f"{option}={os.environ[variable]}")
        if self.data_dir:
            cmd.append(f"--data-dir={self.data_dir}")
        return cmd + list(args)

    def run(self, *args, subcommand=None, stdin=None, log=None, check=False):
        """Runs odoo-bin to its end; returns (exit code, output). ``log``: a
        path (written as Odoo runs) or an open file that gets the command and
        its whole output; without it the output goes to this process's own."""
        cmd = self.command(*args, subcommand=subcommand)
        if log is None:
            return subprocess.run(cmd, input=stdin, text=True, check=check).returncode, ""
        if isinstance(log, (str, Path)):
            with open(log, "a") as handle:
                handle.write(f"$ {shlex.join(cmd)}\n")
                handle.flush()
                offset = handle.tell()
                result = subprocess.run(cmd, input=stdin, stdout=handle, stderr=subprocess.STDOUT, text=True)
            output = Path(log).read_bytes()[offset:].decode(errors="replace")
        else:
            result = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            output = result.stdout
            log.write(f"$ {shlex.join(cmd)}\n{output}\n")
            log.flush()
        if check and result.returncode:
            raise subprocess.CalledProcessError(result.returncode, cmd, output)
        return result.returncode, output

    def popen(self, *args, **kwargs):
        """Starts an Odoo server that keeps running (the caller stops it)."""
        return subprocess.Popen(self.command(*args), **kwargs)

    def exec(self, *args):
        """Becomes odoo-bin (``./dev.sh run``: Ctrl+C goes to Odoo itself)."""
        cmd = self.command(*args)
        os.execv(cmd[0], cmd)


def drop_db(db, data_dir=None, check=False):
    """Drops the database when it exists, and its filestore under ``data_dir``;
    ``check``: fail when it cannot (someone is connected to it)."""
    subprocess.run(["dropdb", "--if-exists", db], check=check, stderr=None if check else subprocess.DEVNULL)
    if data_dir:
        shutil.rmtree(Path(data_dir) / "filestore" / db, ignore_errors=True)


def module_state(db, module=MODULE):
    found = subprocess.run(
        ["psql", "-d", db, "-Atqc", "SELECT state FROM ir_module_module WHERE name = %s" % f"'{module}'"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip()


def add_arguments(parser):
    """The options that say where Odoo is, with dev.sh's variables as defaults."""
    environ = os.environ.get
    parser.add_argument("--odoo-dir", default=environ("ODOO_DIR"), required=not environ("ODOO_DIR"))
    parser.add_argument("--addons-path", default=environ("ADDONS_PATH"), required=not environ("ADDONS_PATH"))
    parser.add_argument("--data-dir", default=environ("ODOO_DATA_DIR"))


# --------------------------------------------------------------------------
# Results of a test run (dev.sh test)
# --------------------------------------------------------------------------
def record(results, label, line, passed=0, failed=0):
    """Prints a stage's result line and adds it to the results file."""
    print(line, flush=True)
    if results:
        with open(results, "a") as handle:
            handle.write(json.dumps({"label": label, "line": line, "passed": passed, "failed": failed}) + "\n")


def summary(results, expected=()):
    rows = []
    if os.path.exists(results):
        with open(results) as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
    passed = sum(row["passed"] for row in rows)
    failed = sum(row["failed"] for row in rows)
    print()
    for row in rows:
        print(row["line"])
    for label in expected:
        if label not in {row["label"] for row in rows}:
            print(f"{label:<8} did not finish (see above)")
            failed += 1
    print(f"tests: {passed} passed, {failed} failed")
    return 1 if failed else 0


def run_suite(odoo, label, db, modules, tags, log, results, http_port):
    """Installs ``modules`` on a fresh database with the tests of ``tags``,
    records the totals; any test failing, an ERROR logged (during the
    installation too), Odoo failing, or no test at all fails the stage."""
    drop_db(db, odoo.data_dir)
    print(f"{label}: installing {modules} on fresh database {db} and running tests {tags} (log: {log})", flush=True)
    started = time.monotonic()
    Path(log).write_text("")
    rc, output = odoo.run(
        *("-d", db, "-i", modules, f"--test-tags={tags}", "--stop-after-init", "--log-level=test"),
        *(f"--http-port={http_port}", "--max-cron-threads=0"),
        log=log,
    )
    report = read_log(output)
    for line in report.unknown_lines[:40]:
        print(line)
    bad = report.failed + report.errors
    passed = report.tests - bad
    failed = bad
    if report.tests == 0:
        print(f"{label} ran no test: that is a failure")
        failed += 1
    elif bad == 0 and (rc or report.error_lines):
        failed += 1  # install errors or errors logged outside a test still fail the run
    line = (
        f"{label:<8} {report.tests:4d} tests  {passed:4d} passed  {report.failed:3d} failed  "
        f"{report.errors:3d} errors  {time.monotonic() - started:3.0f}s  "
        f"(odoo exit {rc}, {len(report.error_lines)} ERROR log lines)"
    )
    record(results, label, line, passed, failed)
    drop_db(db, odoo.data_dir)


def run_package(odoo, db, log, results):
    """Builds the wheel (OCA's whool backend), installs it into a throwaway
    directory and has Odoo install the module from there, on a fresh database."""
    print(f"package: building the wheel and installing the module from it (log: {log})", flush=True)
    Path(log).write_text("")
    ok, wheel = False, "the wheel"
    with tempfile.TemporaryDirectory(prefix="imle-wheel-") as work:

        def pip(*args):
            with open(log, "a") as handle:
                command = [sys.executable, "-m", "pip", "-q", *args]
                return subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=False).returncode == 0

        if pip("wheel", "--no-deps", "-w", f"{work}/dist", str(REPO / MODULE)) and pip(
            "install", "--no-deps", "--target", f"{work}/site", *glob.glob(f"{work}/dist/*.whl")
        ):
            wheel = Path(glob.glob(f"{work}/dist/*.whl")[0]).name
            drop_db(db, odoo.data_dir)
            packaged = dataclasses.replace(odoo, addons_path=f"{odoo.odoo_dir}/addons,{work}/site/odoo/addons")
            rc, output = packaged.run(
                *("-d", db, "-i", MODULE, "--without-demo=all", "--stop-after-init", "--log-level=warn", "--no-http"),
                log=log,
            )
            ok = rc == 0 and not read_log(output).error_lines and module_state(db) == "installed"
    if ok:
        record(results, "package", f"{'package':<8} {wheel} builds, installs and loads")
    else:
        print("".join(Path(log).read_text().splitlines(keepends=True)[-30:]))
        record(results, "package", f"{'package':<8} FAILED (see {log})", failed=1)
    drop_db(db, odoo.data_dir)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    odoo_parser = commands.add_parser("odoo", help="run odoo-bin with this machine's options")
    add_arguments(odoo_parser)
    odoo_parser.add_argument("args", nargs=argparse.REMAINDER)
    drop = commands.add_parser("drop-db", help="drop a database and its filestore")
    drop.add_argument("--data-dir", default=os.environ.get("ODOO_DATA_DIR"))
    drop.add_argument("db")
    suite = commands.add_parser("run-suite", help="install modules on a fresh database and run tests")
    add_arguments(suite)
    for option in ("--label", "--db", "--modules", "--tags", "--log", "--results"):
        suite.add_argument(option, required=True)
    suite.add_argument("--http-port", default=os.environ.get("TEST_HTTP_PORT", "8069"))
    package = commands.add_parser("run-package", help="build the wheel and install the module from it")
    add_arguments(package)
    for option in ("--db", "--log", "--results"):
        package.add_argument(option, required=True)
    record_parser = commands.add_parser("record", help="add a result line")
    for option in ("--results", "--label", "--line"):
        record_parser.add_argument(option, required=True)
    record_parser.add_argument("--passed", type=int, default=0)
    record_parser.add_argument("--failed", type=int, default=0)
    summary_parser = commands.add_parser("summary", help="print the results and their totals")
    summary_parser.add_argument("--results", required=True)
    summary_parser.add_argument("--expect", default="", help="stages that must have recorded a result")
    args = parser.parse_args(argv)

    if args.command == "odoo":
        Odoo.from_args(args).exec(*(args.args[1:] if args.args[:1] == ["--"] else args.args))
    elif args.command == "drop-db":
        drop_db(args.db, args.data_dir)
    elif args.command == "run-suite":
        run_suite(
            Odoo.from_args(args), args.label, args.db, args.modules, args.tags, args.log, args.results, args.http_port
        )
    elif args.command == "run-package":
        run_package(Odoo.from_args(args), args.db, args.log, args.results)
    elif args.command == "record":
        record(args.results, args.label, args.line, args.passed, args.failed)
    elif args.command == "summary":
        return summary(args.results, [label for label in args.expect.split(",") if label])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
