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
import random
import signal
import subprocess
import sys

import fixtures
import odoo_runner
from stress_report import FLAVOURS, print_ratios, print_table
from stress_server import VISITOR_LANGUAGES, Server, copy_db, forget_db, last_session_id, odoo_cmd, reset, template_of


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
