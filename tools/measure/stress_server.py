"""The stress test's Odoo and visitors (./dev.sh stress): a multi-worker
Odoo on loopback, visitors asking /im_livechat/get_session over real
HTTP, and the database copies and resets every burst starts from."""

import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import odoo_runner

# what the visitors ask for, in turn (and, with --languages, what the operators speak)
VISITOR_LANGUAGES = ("fr_FR", "es_ES", "de_DE")


def odoo_cmd(args, db, *extra):
    return odoo_runner.Odoo(args.odoo_dir, args.addons_path).command("-d", db, "--without-demo=all", *extra)


PRESENT_NOW = "UPDATE bus_presence SET last_poll = now() at time zone 'utc', last_presence = now() at time zone 'utc'"


def psql(db, *statements):
    """Run `statements` on `db`, each in a transaction of its own (VACUUM
    needs that), stopping at the first error (shown); their output, unaligned."""
    command = ["psql", "-d", db, "-Atq", "-v", "ON_ERROR_STOP=1"]
    for statement in statements:
        command += ["-c", statement]
    return subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout


def copy_db(template, db):
    """A copy of the flavour's database, its operators present as of now (the
    module applies the channel's inactivity timeout to that time)."""
    odoo_runner.drop_db(db, check=True)
    subprocess.run(["createdb", "-T", template, db], check=True)
    psql(db, PRESENT_NOW)


def reset(db, channel_id):
    """The state each alternating burst meets, that of the first: the last
    burst's sessions gone with their members and messages (stock counts
    every session of the last 24 hours), the bus emptied, no operator given
    a chat lately (the module's status rows), the operators present now;
    the tables vacuumed and analyzed, so that neither flavour meets
    another's dead rows."""
    sessions = f"SELECT id FROM discuss_channel WHERE livechat_channel_id = {int(channel_id)}"
    stamps = "UPDATE im_livechat_operator_status SET last_assignment_dt = NULL"
    psql(
        db,
        f"DELETE FROM mail_message WHERE model = 'discuss.channel' AND res_id IN ({sessions})",
        f"DELETE FROM discuss_channel WHERE id IN ({sessions})",
        "DELETE FROM bus_bus",
        f"DO $$ BEGIN IF to_regclass('im_livechat_operator_status') IS NOT NULL THEN {stamps}; END IF; END $$",
        PRESENT_NOW,
        "VACUUM ANALYZE discuss_channel, discuss_channel_member, mail_message, bus_bus, bus_presence",
    )


def last_session_id(db):
    return int(psql(db, "SELECT COALESCE(MAX(id), 0) FROM discuss_channel").strip())


def wait_for(port, deadline):
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/web/health", timeout=2)
            return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    return False


def visit(port, channel_id, index, timeout, persisted=True):
    """One visitor opening the chat (`persisted`: writing a first message,
    which gives them a session; otherwise only the chat window)."""
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "call",
            "id": index,
            "params": {"channel_id": channel_id, "anonymous_name": f"Visitor {index}", "persisted": persisted},
        }
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/im_livechat/get_session",
        data=body,
        headers={
            "Content-Type": "application/json",
            "Accept-Language": VISITOR_LANGUAGES[index % len(VISITOR_LANGUAGES)].replace("_", "-"),
        },
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
            if "error" in payload:
                return ("error", payload["error"].get("data", {}).get("name"), time.perf_counter() - start)
            result = payload["result"]
            outcome = ("session", result["discuss.channel"][0]["id"]) if result else ("no operator", None)
            return (*outcome, time.perf_counter() - start)
    except urllib.error.HTTPError as error:
        return (f"http {error.code}", None, time.perf_counter() - start)
    except (urllib.error.URLError, OSError) as error:
        return ("network", str(error), time.perf_counter() - start)


class Server:
    """Odoo with several workers serving `db` on 127.0.0.1:`port`, its every
    worker warmed up; its log goes to a file (a pipe left unread would
    block the server), read by `new_log_lines`."""

    def __init__(self, args, db, port, channel_id, flavour):
        self.args, self.db, self.port, self.channel_id, self.flavour = args, db, port, channel_id, flavour
        # appended to (the server writes at its end whatever this reads)
        self.log = tempfile.TemporaryFile("a+b")
        self.read_up_to = 0

    def __enter__(self):
        args = self.args
        self.process = subprocess.Popen(
            odoo_cmd(
                args,
                self.db,
                f"--workers={args.workers}",
                "--max-cron-threads=0",
                "--http-interface=127.0.0.1",
                f"--http-port={self.port}",
                f"--gevent-port={self.port + 1}",
                f"--db-filter=^{self.db}$",
                "--log-level=warn",
                # Odoo logs each serialization failure it retries here
                "--log-handler=odoo.service.model:INFO",
                "--limit-time-real=120",
            ),
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            start_new_session=True,
        )
        try:
            if not wait_for(self.port, time.time() + 120) or self.process.poll() is not None:
                # not ours that answered: the port taken, e.g. by a server left behind
                raise SystemExit(f"[{self.flavour}] Odoo did not answer on 127.0.0.1:{self.port}")
            # every worker loads its caches on chat windows that open no session
            warm_count = 4 * args.workers
            with ThreadPoolExecutor(max_workers=warm_count) as pool:
                warm_ups = list(
                    pool.map(
                        lambda i: visit(self.port, self.channel_id, -1 - i, args.timeout, False), range(warm_count)
                    )
                )
        except BaseException:
            self.stop()
            raise
        self.failed_warm_ups = [kind for kind, _value, _seconds in warm_ups if kind not in ("session", "no operator")]
        return self

    def __exit__(self, *_exc):
        self.stop()

    def stop(self):
        """Stop the server and its workers, killed if they do not stop."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
                self.process.wait(timeout=60)
                return
            except ProcessLookupError:
                return  # stopped already
            except subprocess.TimeoutExpired:
                continue

    def burst(self):
        """All visitors at once: their outcomes and the seconds it took."""
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=self.args.visitors) as pool:
            outcomes = list(
                pool.map(lambda i: visit(self.port, self.channel_id, i, self.args.timeout), range(self.args.visitors))
            )
        return outcomes, time.perf_counter() - start

    def new_log_lines(self):
        """The whole lines the server logged since the last call."""
        self.log.seek(self.read_up_to)
        text = self.log.read()
        text = text[: text.rfind(b"\n") + 1]  # a line being written is read next time
        self.read_up_to += len(text)
        return text.decode(errors="replace").splitlines()


def forget_db(db):
    import odoo  # noqa: PLC0415 (configured in main)

    odoo.modules.registry.Registry.delete(db)  # the next copy has the same name
    odoo.sql_db.close_db(db)
    odoo_runner.drop_db(db)


def template_of(flavour):
    """The database each round of `flavour` copies."""
    return f"stress_{flavour}_template"
