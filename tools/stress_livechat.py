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

Visitors ask in turn for French, Spanish and German (Accept-Language). By
default only English is installed, so no language matches; with
``--languages`` those three are active and the operators speak them in turn,
so the module's routing matches languages (stock Odoo 18 reads only the
website's language cookie, which these visitors do not have).

Run it through ``./dev.sh stress [--rounds 5] [--visitors 60] [--operators 10] [--max-sessions 5] [--languages]``.
"""

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
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
            values.update(waiting_line=True)
        channel = env["im_livechat.channel"].create(values)
        cr.commit()
    odoo.sql_db.close_db(db)  # a template is copied only when nobody is connected to it
    return channel.id


def copy_db(template, db):
    """A copy of the flavour's database, its operators present as of now (the
    module applies the channel's inactivity timeout to that time)."""
    odoo_runner.drop_db(db, check=True)
    subprocess.run(["createdb", "-T", template, db], check=True)
    subprocess.run(
        [
            "psql",
            "-d",
            db,
            "-qc",
            "UPDATE bus_presence SET last_poll = now() at time zone 'utc', last_presence = now() at time zone 'utc'",
        ],
        check=True,
    )


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


def check(args, db, channel_id, outcomes, limited):
    import odoo  # noqa: PLC0415
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    problems = []
    with odoo.modules.registry.Registry(db).cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        sessions = env["discuss.channel"].search([("livechat_channel_id", "=", channel_id)])
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


def run(args, round_no, flavour, template, channel_id, limited):
    import odoo  # noqa: PLC0415 (configured in main)

    db = f"stress_{flavour}"
    copy_db(template, db)
    server = subprocess.Popen(
        odoo_cmd(
            args,
            db,
            f"--workers={args.workers}",
            "--max-cron-threads=0",
            "--http-interface=127.0.0.1",
            f"--http-port={args.port}",
            f"--gevent-port={args.port + 1}",
            f"--db-filter=^{db}$",
            "--log-level=warn",
            # Odoo logs each serialization failure it retries here
            "--log-handler=odoo.service.model:INFO",
            "--limit-time-real=120",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        if not wait_for(args.port, time.time() + 120):
            raise SystemExit(f"[{flavour}] Odoo did not answer on 127.0.0.1:{args.port}")
        # every worker loads its caches on chat windows that open no session
        warm_count = 4 * args.workers
        with ThreadPoolExecutor(max_workers=warm_count) as pool:
            warm_ups = list(
                pool.map(lambda i: visit(args.port, channel_id, -1 - i, args.timeout, False), range(warm_count))
            )
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.visitors) as pool:
            outcomes = list(pool.map(lambda i: visit(args.port, channel_id, i, args.timeout), range(args.visitors)))
        elapsed = time.perf_counter() - start
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        _out, errors = server.communicate(timeout=60)
    problems, loads = check(args, db, channel_id, outcomes, limited)
    failed_warm_ups = [kind for kind, _value, _seconds in warm_ups if kind not in ("session", "no operator")]
    if failed_warm_ups:
        problems.append(f"chat windows opened before the burst failed: {failed_warm_ups}")
    kinds = {}
    for kind, _value, _seconds in outcomes:
        kinds[kind] = kinds.get(kind, 0) + 1
    latencies = sorted(seconds for _kind, _value, seconds in outcomes)
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    retries = sum("tries left, try again" in line for line in errors.splitlines())
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
        for line in errors.splitlines()
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
        f"[{flavour}, round {round_no}] {args.visitors} visitors at once in {elapsed:.2f}s = "
        f"{figures['req_s']:.1f} req/s, "
        f"p95 {p95:.2f}s, {retries} serialization retries; answers {kinds}; "
        f"sessions per operator max {figures['max_per_operator']}",
        flush=True,
    )
    odoo.modules.registry.Registry.delete(db)  # the next round's copy has the same name
    odoo.sql_db.close_db(db)
    odoo_runner.drop_db(db)
    return figures, problems


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


def main():
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
    try:
        order = random.Random(args.seed)
        for round_no in range(1, args.rounds + 1):
            # flavours in a new order each round (seeded): the machine's drift,
            # and whatever one burst leaves behind, weigh on all of them alike
            for flavour, _module, limited in order.sample(FLAVOURS, len(FLAVOURS)):
                figures, problems = run(args, round_no, flavour, template_of(flavour), channels[flavour], limited)
                rounds[flavour].append(figures)
                for problem in problems:
                    print(f"[{flavour}, round {round_no}] PROBLEM: {problem}")
                failed |= bool(problems)
    finally:
        for flavour, _module, _limited in FLAVOURS:
            odoo_runner.drop_db(template_of(flavour))
    print()
    languages = "the visitors' languages active" if args.languages else "English only"
    print(
        f"median of {args.rounds} rounds, {languages} (retries, 5xx, no operator: all rounds; max/operator: the most)"
    )
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
    print(f"module / stock, each round's bursts side by side (max {args.max_sessions} sessions per operator):")
    for flavour, label in MODULE_FLAVOURS.items():
        speed = [ext["req_s"] / stock["req_s"] for ext, stock in zip(rounds[flavour], rounds["stock"], strict=True)]
        p95 = [ext["p95_s"] / stock["p95_s"] for ext, stock in zip(rounds[flavour], rounds["stock"], strict=True)]
        print(
            f"  {label}: req/s {median(speed):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in speed)}), "
            f"p95 {median(p95):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in p95)})"
        )
    retries = sum(r["retries"] for runs in rounds.values() for r in runs)
    requests = args.visitors * args.rounds * len(FLAVOURS)
    print(f"serialization retries: {retries} of {requests} requests ({100 * retries / requests:.1f} %)")
    print("stress: " + ("FAILED" if failed else "all checks passed"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
