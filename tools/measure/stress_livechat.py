"""Concurrency stress test of /im_livechat/get_session under a real
multi-worker Odoo on loopback, with and without im_livechat_ext.

Four flavours: stock ``im_livechat``, the module with an unlimited channel,
the module with ``max_sessions`` per operator, and the same with a waiting
line (visitors beyond the team's room wait in line instead of getting "no
operator"). Each flavour's database is prepared once (operators online, the
channel); each round copies it and, flavour after flavour (in an order shuffled
each round), starts Odoo with several workers on 127.0.0.1,
warms every worker with chat windows that open no session, opens N visitors
at once, stops the server and checks: no HTTP 5xx, every visitor got a
session or the stock "no operator" answer, no operator above the limit,
every session row consistent. It prints each burst (requests per second, p95
latency, the serialization retries Odoo logged), then the median of the
rounds and the module/stock ratio of each round: one burst of 60 visitors
lasts about two seconds, and this machine's noise moves it by a fifth.
Requests are bounded in count and time; the server is stopped at the end.

Then (``--alternations``, 0 to skip) a second phase measures the module/stock
ratio more finely: every flavour's server is up at once, on a copy of its
own, and the bursts alternate between them, a few seconds apart, in an order
shuffled each time; before each burst the sessions of the last one are
closed and the operators marked present again, so every burst meets the
same state. Restarting a server and copying its database each round takes
half a minute, during which this machine's speed drifts; here the bursts
compared are seconds apart, so each pair's ratio carries less of the drift.
It prints the median of those ratios with a 95 % bootstrap interval.

Visitors ask in turn for French, Spanish and German (Accept-Language). By
default only English is installed, so no language matches; with
``--languages`` those three are active and the operators speak them in turn,
so the module's routing matches languages (stock Odoo 18 reads only the
website's language cookie, which these visitors do not have).

Run it through ``./dev.sh stress [--rounds 5] [--alternations 20] [--visitors 60] [--operators 10]
[--max-sessions 5] [--languages]``.
"""

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import fixtures
import odoo_runner

# what the visitors ask for, in turn (and, with --languages, what the operators speak)
VISITOR_LANGUAGES = ("fr_FR", "es_ES", "de_DE")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--odoo-dir", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--rounds", type=int, default=5, help="bursts per flavour, flavours interleaved")
    parser.add_argument(
        "--alternations",
        type=int,
        default=20,
        help="bursts per flavour with every flavour's server up at once, alternating (0: none)",
    )
    parser.add_argument("--seed", type=int, default=18, help="the order of the flavours in each round")
    parser.add_argument("--visitors", type=int, default=60)
    parser.add_argument("--operators", type=int, default=10)
    parser.add_argument("--max-sessions", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8179)
    parser.add_argument("--timeout", type=float, default=60, help="seconds for one request")
    parser.add_argument(
        "--languages", action="store_true", help="activate the visitors' languages, operators speaking them in turn"
    )
    return parser.parse_args()


def odoo_cmd(args, db, *extra):
    return odoo_runner.Odoo(args.odoo_dir, args.addons_path).command("-d", db, "--without-demo=all", *extra)


def prepare(args, db, module, limited):
    """The flavour's database, copied by each round: the module, the operators online, the channel."""
    odoo_runner.drop_db(db, check=True)
    subprocess.run(odoo_cmd(args, db, "-i", module, "--stop-after-init", "--log-level=warn"), check=True)
    import odoo  # noqa: PLC0415 (Odoo comes from --odoo-dir, configured in main)
    from odoo import SUPERUSER_ID, Command, api  # noqa: PLC0415

    registry = odoo.modules.registry.Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        operators = fixtures.online_operators(env, args.operators, "Stress")
        if args.languages:
            for code in VISITOR_LANGUAGES:
                env["res.lang"]._activate_lang(code)
            for index, operator in enumerate(operators):
                operator.partner_id.lang = VISITOR_LANGUAGES[index % len(VISITOR_LANGUAGES)]
        values = {"name": "Stress", "user_ids": [Command.set(operators.ids)]}
        if limited:
            values.update(max_sessions_mode="limited", max_sessions=args.max_sessions)
        if limited == "line":
            # every simulated visitor comes from the loopback address and the
            # burst may exceed the line: the line's bounds would turn them away
            values.update(waiting_line=True, max_waiting=0, max_waiting_per_address=0)
        channel = env["im_livechat.channel"].create(values)
        cr.commit()
    odoo.sql_db.close_db(db)  # a template is copied only when nobody is connected to it
    return channel.id


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


def check(args, db, channel_id, outcomes, limited, after_id=0):
    """Problems of the sessions of one burst (those after session `after_id`)."""
    import odoo  # noqa: PLC0415
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    problems = []
    with odoo.modules.registry.Registry(db).cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        sessions = env["discuss.channel"].search([("livechat_channel_id", "=", channel_id), ("id", ">", after_id)])
        answered = {value for kind, value, _seconds in outcomes if kind == "session"}
        if set(sessions.ids) != answered:
            problems.append(f"{len(sessions)} session rows for {len(answered)} sessions answered")
        for session in sessions:
            if session.livechat_operator_id not in session.channel_member_ids.partner_id:
                problems.append(f"session {session.id}: its operator is not a member")
        loads = {}
        waiting = sessions.filtered("livechat_waiting_since") if limited == "line" else sessions.browse()
        for session in sessions - waiting:
            loads[session.livechat_operator_id.id] = loads.get(session.livechat_operator_id.id, 0) + 1
        if limited == "line" and len(sessions) - len(waiting) < min(len(sessions), args.operators * args.max_sessions):
            problems.append(f"{len(waiting)} visitors wait while operators have room")
        if limited and loads and max(loads.values()) > args.max_sessions:
            problems.append(f"an operator has {max(loads.values())} sessions > max {args.max_sessions}")
        return problems, loads


def assess(args, label, db, channel_id, limited, outcomes, elapsed, log_lines, after_id=0):
    """One burst's figures and problems, printed."""
    problems, loads = check(args, db, channel_id, outcomes, limited, after_id)
    kinds = {}
    for kind, _value, _seconds in outcomes:
        kinds[kind] = kinds.get(kind, 0) + 1
    latencies = sorted(seconds for _kind, _value, seconds in outcomes)
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    retries = sum("tries left, try again" in line for line in log_lines)
    # no visitor lost: everybody is served while an operator has room
    # (with a waiting line everybody gets a session)
    room = args.operators * args.max_sessions if limited and limited != "line" else args.visitors
    if kinds.get("session", 0) < min(args.visitors, room):
        problems.append(f"{kinds.get('session', 0)} sessions while operators had room for {min(args.visitors, room)}")
    if limited == "line" and kinds.get("no operator"):
        problems.append(f"{kinds['no operator']} visitors turned away although the channel has a waiting line")
    bad = {kind: count for kind, count in kinds.items() if kind not in ("session", "no operator")}
    if bad:
        problems.append(f"unexpected answers: {bad}")
    # a traceback outside the log (a process of the server dying as it
    # starts, e.g. the websocket one, which Odoo restarts without end) is an
    # error too: it takes the CPU the burst is measured on
    server_errors = [
        line
        for line in log_lines
        if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback (most recent call last)")
    ]
    if server_errors:
        problems.append(
            f"{len(server_errors)} ERROR lines or tracebacks in the server log, first: {server_errors[0][:200]}"
        )
    figures = {
        "req_s": args.visitors / elapsed,
        "p95_s": p95,
        "retries": retries,
        "http_5xx": sum(count for kind, count in kinds.items() if kind.startswith("http 5")),
        "sessions": kinds.get("session", 0),
        "no_operator": kinds.get("no operator", 0),
        "max_per_operator": max(loads.values()) if loads else 0,
    }
    print(
        f"[{label}] {args.visitors} visitors at once in {elapsed:.2f}s = {figures['req_s']:.1f} req/s, "
        f"p95 {p95:.2f}s, {retries} serialization retries; answers {kinds}; "
        f"sessions per operator max {figures['max_per_operator']}",
        flush=True,
    )
    for problem in problems:
        print(f"[{label}] PROBLEM: {problem}", flush=True)
    return figures, problems


def forget_db(db):
    import odoo  # noqa: PLC0415 (configured in main)

    odoo.modules.registry.Registry.delete(db)  # the next copy has the same name
    odoo.sql_db.close_db(db)
    odoo_runner.drop_db(db)


def run(args, round_no, flavour, channel_id, limited):
    """One round of `flavour`: a fresh copy, a fresh server, one burst."""
    db = f"stress_{flavour}"
    copy_db(template_of(flavour), db)
    server = Server(args, db, args.port, channel_id, flavour)
    with server:
        outcomes, elapsed = server.burst()
    label = f"{flavour}, round {round_no}"
    figures, problems = assess(args, label, db, channel_id, limited, outcomes, elapsed, server.new_log_lines())
    if server.failed_warm_ups:
        problems.append(f"chat windows opened before the burst failed: {server.failed_warm_ups}")
        print(f"[{label}] PROBLEM: {problems[-1]}", flush=True)
    forget_db(db)
    return figures, problems


def alternate(args, channels, order):
    """The second phase: every flavour's server up at once, on its own copy;
    `args.alternations` times, each flavour's burst in a shuffled order, each
    after a reset. Returns each flavour's figures and whether a problem
    showed."""
    rounds = {flavour: [] for flavour, _module, _limited in FLAVOURS}
    failed = False
    servers, dbs = {}, []
    try:
        for index, (flavour, _module, _limited) in enumerate(FLAVOURS):
            db = f"stress_alt_{flavour}"
            dbs.append(db)
            copy_db(template_of(flavour), db)
            # each server on its own pair of ports (HTTP, then websocket)
            servers[flavour] = Server(args, db, args.port + 2 * (index + 1), channels[flavour], flavour).__enter__()
            if servers[flavour].failed_warm_ups:
                print(f"[{flavour}] PROBLEM: chat windows failed: {servers[flavour].failed_warm_ups}", flush=True)
                failed = True
        for alternation in range(1, args.alternations + 1):
            for flavour, _module, limited in order.sample(FLAVOURS, len(FLAVOURS)):
                server = servers[flavour]
                reset(server.db, server.channel_id)
                after_id = last_session_id(server.db)
                # what the server logged since its last burst (or its start) is
                # read with this burst's lines: an error there is a problem too
                outcomes, elapsed = server.burst()
                figures, problems = assess(
                    args,
                    f"{flavour}, alternating {alternation}",
                    server.db,
                    server.channel_id,
                    limited,
                    outcomes,
                    elapsed,
                    server.new_log_lines(),
                    after_id,
                )
                rounds[flavour].append(figures)
                failed |= bool(problems)
    finally:
        for server in servers.values():
            server.stop()
        for db in dbs:
            forget_db(db)
    for flavour, server in servers.items():
        # what was logged after the last burst, as the server stopped
        late = [line for line in server.new_log_lines() if " ERROR " in line or " CRITICAL " in line]
        if late:
            print(f"[{flavour}] PROBLEM: {len(late)} ERROR lines after the last burst, first: {late[0][:200]}")
            failed = True
    return rounds, failed


FLAVOURS = (
    ("stock", "im_livechat", False),
    ("ext_unlimited", "im_livechat_ext", False),
    ("ext_limited", "im_livechat_ext", True),
    ("ext_line", "im_livechat_ext", "line"),
)
MODULE_FLAVOURS = {"ext_unlimited": "unlimited", "ext_limited": "limited", "ext_line": "limited with a waiting line"}


def template_of(flavour):
    """The database each round of `flavour` copies."""
    return f"stress_{flavour}_template"


def median(values):
    return statistics.median(values) if values else float("nan")


def bootstrap_interval(values, seed, draws=2000):
    """A 95 % interval of the median of `values` (resampled with replacement)."""
    draw = random.Random(seed)
    medians = sorted(statistics.median(draw.choices(values, k=len(values))) for _ in range(draws))
    return medians[int(draws * 0.025)], medians[int(draws * 0.975) - 1]


def print_table(title, rounds):
    print(title)
    print(
        f"{'run':>14} | {'req/s':>6} | {'p95 s':>6} | {'retries':>7} | {'5xx':>3} | {'sessions':>8} | "
        f"{'no operator':>11} | max/operator"
    )
    for flavour, runs in rounds.items():
        print(
            f"{flavour:>14} | {median([r['req_s'] for r in runs]):>6.1f} | "
            f"{median([r['p95_s'] for r in runs]):>6.2f} | "
            f"{sum(r['retries'] for r in runs):>7} | {sum(r['http_5xx'] for r in runs):>3} | "
            f"{median([r['sessions'] for r in runs]):>8g} | {sum(r['no_operator'] for r in runs):>11} | "
            f"{max(r['max_per_operator'] for r in runs)}"
        )


def print_ratios(args, rounds, what, interval=False):
    """Each module flavour's burst over stock's of the same round; with
    `interval`, the 95 % interval of the median ratio (many rounds only)."""
    print(f"module / stock, {what} (max {args.max_sessions} sessions per operator):")
    for flavour, label in MODULE_FLAVOURS.items():
        speed = [ext["req_s"] / stock["req_s"] for ext, stock in zip(rounds[flavour], rounds["stock"], strict=True)]
        p95 = [ext["p95_s"] / stock["p95_s"] for ext, stock in zip(rounds[flavour], rounds["stock"], strict=True)]
        spread = ""
        if interval:
            low, high = bootstrap_interval(speed, args.seed)
            spread = f"95 % interval {low:.2f}-{high:.2f}; "
        print(
            f"  {label}: req/s {median(speed):.2f}x ({spread}rounds: {', '.join(f'{r:.2f}' for r in speed)}), "
            f"p95 {median(p95):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in p95)})"
        )


def stop_on_sigterm(_signum, _frame):
    """Stopped from outside (a timeout): the servers and databases are
    cleaned up on the way out, as on Ctrl-C."""
    raise SystemExit("stress: stopped (SIGTERM)")


def main():
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    args = parse_args()
    sys.path.insert(0, args.odoo_dir)
    import odoo  # noqa: PLC0415 (Odoo comes from --odoo-dir)

    odoo.tools.config.parse_config([f"--addons-path={args.addons_path}", "--log-level=warn"])
    channels = {}
    for flavour, module, limited in FLAVOURS:
        print(f"[{flavour}] preparing {template_of(flavour)} with {module}...", flush=True)
        channels[flavour] = prepare(args, template_of(flavour), module, limited)
    rounds = {flavour: [] for flavour, _module, _limited in FLAVOURS}
    failed = False
    order = random.Random(args.seed)
    try:
        for round_no in range(1, args.rounds + 1):
            # flavours in a new order each round (seeded): the machine's drift,
            # and whatever one burst leaves behind, weigh on all of them alike
            for flavour, _module, limited in order.sample(FLAVOURS, len(FLAVOURS)):
                figures, problems = run(args, round_no, flavour, channels[flavour], limited)
                rounds[flavour].append(figures)
                failed |= bool(problems)
        alternating = {}
        if args.alternations:
            alternating, alternating_failed = alternate(args, channels, order)
            failed |= alternating_failed
    finally:
        for flavour, _module, _limited in FLAVOURS:
            odoo_runner.drop_db(template_of(flavour))
    print()
    languages = "the visitors' languages active" if args.languages else "English only"
    totals = "retries, 5xx, no operator: all bursts; max/operator: the most"
    if args.rounds:
        print_table(f"median of {args.rounds} rounds, a fresh server each, {languages} ({totals})", rounds)
        print_ratios(args, rounds, "each round's bursts side by side")
    if alternating:
        print_table(f"median of {args.alternations} alternations, all servers up, {languages} ({totals})", alternating)
        print_ratios(args, alternating, "bursts alternating, seconds apart", interval=True)
    retries = sum(r["retries"] for phase in (rounds, alternating) for runs in phase.values() for r in runs)
    requests = args.visitors * (args.rounds + args.alternations) * len(FLAVOURS)
    print(f"serialization retries: {retries} of {requests} requests ({100 * retries / max(requests, 1):.1f} %)")
    print("stress: " + ("FAILED" if failed else "all checks passed"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
