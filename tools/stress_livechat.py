"""Concurrency stress test of /im_livechat/get_session under a real
multi-worker Odoo on loopback, with and without im_livechat_ext.

For each flavour it builds a fresh database (stock ``im_livechat`` or
``im_livechat_ext``), adds operators who are online, starts Odoo with several
workers on 127.0.0.1, opens N visitors at once, then checks: no HTTP 5xx,
every visitor got a session or the stock "no operator" answer, with the
module no operator above ``max_sessions``, and every session row consistent.
Requests are bounded in count and time; the server is stopped at the end.

Run it through ``./dev.sh stress [--visitors 60] [--operators 10] [--max-sessions 5]``.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import odoo_runner


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--odoo-dir", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--visitors", type=int, default=60)
    parser.add_argument("--operators", type=int, default=10)
    parser.add_argument("--max-sessions", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8179)
    parser.add_argument("--timeout", type=float, default=60, help="seconds for one request")
    return parser.parse_args()


def odoo_cmd(args, db, *extra):
    return odoo_runner.Odoo(args.odoo_dir, args.addons_path).command("-d", db, "--without-demo=all", *extra)


def prepare(args, db, module):
    odoo_runner.drop_db(db, check=True)
    subprocess.run(odoo_cmd(args, db, "-i", module, "--stop-after-init", "--log-level=warn"), check=True)
    import odoo  # noqa: PLC0415 (Odoo comes from --odoo-dir, configured in main)
    from odoo import SUPERUSER_ID, Command, api  # noqa: PLC0415

    registry = odoo.modules.registry.Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        group = env.ref("im_livechat.im_livechat_group_user")
        operators = (
            env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                [
                    {"name": f"Stress operator {i}", "login": f"stress_op_{i}", "groups_id": [Command.link(group.id)]}
                    for i in range(args.operators)
                ]
            )
        )
        env["bus.presence"].create([{"user_id": user.id, "status": "online"} for user in operators])
        values = {"name": "Stress", "user_ids": [Command.set(operators.ids)]}
        if "max_sessions_mode" in env["im_livechat.channel"]._fields:
            values.update(max_sessions_mode="limited", max_sessions=args.max_sessions)
        channel = env["im_livechat.channel"].create(values)
        cr.commit()
        return channel.id


def wait_for(port, deadline):
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/web/health", timeout=2)
            return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    return False


def visit(port, channel_id, index, timeout):
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "call",
            "id": index,
            "params": {"channel_id": channel_id, "anonymous_name": f"Visitor {index}"},
        }
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/im_livechat/get_session",
        data=body,
        headers={"Content-Type": "application/json", "Accept-Language": ["fr-FR", "es-ES", "de-DE"][index % 3]},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
            if "error" in payload:
                return ("error", payload["error"].get("data", {}).get("name"))
            result = payload["result"]
            return ("session", result["discuss.channel"][0]["id"]) if result else ("no operator", None)
    except urllib.error.HTTPError as error:
        return (f"http {error.code}", None)
    except (urllib.error.URLError, OSError) as error:
        return ("network", str(error))


def check(args, db, channel_id, outcomes, with_module):
    import odoo  # noqa: PLC0415
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    problems = []
    with odoo.modules.registry.Registry(db).cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        sessions = env["discuss.channel"].search([("livechat_channel_id", "=", channel_id)])
        answered = {value for kind, value in outcomes if kind == "session"}
        if set(sessions.ids) != answered:
            problems.append(f"{len(sessions)} session rows for {len(answered)} sessions answered")
        for session in sessions:
            if session.livechat_operator_id not in session.channel_member_ids.partner_id:
                problems.append(f"session {session.id}: its operator is not a member")
        loads = {}
        for session in sessions:
            loads[session.livechat_operator_id.id] = loads.get(session.livechat_operator_id.id, 0) + 1
        if with_module and loads and max(loads.values()) > args.max_sessions:
            problems.append(f"an operator has {max(loads.values())} sessions > max {args.max_sessions}")
        return problems, loads


def run(args, flavour, module):
    import odoo  # noqa: PLC0415 (configured in main)

    db = f"stress_{flavour}"
    print(f"[{flavour}] preparing {db} with {module}...", flush=True)
    channel_id = prepare(args, db, module)
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
        warm_up = visit(args.port, channel_id, -1, args.timeout)  # loads the workers' registry
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.visitors) as pool:
            outcomes = list(pool.map(lambda i: visit(args.port, channel_id, i, args.timeout), range(args.visitors)))
        elapsed = time.perf_counter() - start
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        _out, errors = server.communicate(timeout=60)
    problems, loads = check(args, db, channel_id, [warm_up, *outcomes], module == "im_livechat_ext")
    kinds = {}
    for kind, _value in outcomes:
        kinds[kind] = kinds.get(kind, 0) + 1
    bad = {kind: count for kind, count in kinds.items() if kind not in ("session", "no operator")}
    if bad:
        problems.append(f"unexpected answers: {bad}")
    server_errors = [line for line in errors.splitlines() if " ERROR " in line or " CRITICAL " in line]
    if server_errors:
        problems.append(f"{len(server_errors)} ERROR lines in the server log, first: {server_errors[0][:200]}")
    print(
        f"[{flavour}] {args.visitors} visitors at once in {elapsed:.2f}s = {args.visitors / elapsed:.1f} req/s; "
        f"answers {kinds}; sessions per operator max {max(loads.values()) if loads else 0}",
        flush=True,
    )
    odoo.sql_db.close_db(db)
    odoo_runner.drop_db(db)
    return args.visitors / elapsed, problems


def main():
    args = parse_args()
    sys.path.insert(0, args.odoo_dir)
    import odoo  # noqa: PLC0415 (Odoo comes from --odoo-dir)

    odoo.tools.config.parse_config([f"--addons-path={args.addons_path}", "--log-level=warn"])
    results = {}
    failed = False
    for flavour, module in (("stock", "im_livechat"), ("ext", "im_livechat_ext")):
        rate, problems = run(args, flavour, module)
        results[flavour] = rate
        for problem in problems:
            print(f"[{flavour}] PROBLEM: {problem}")
        failed |= bool(problems)
    print(f"requests per second: stock {results['stock']:.1f}, im_livechat_ext {results['ext']:.1f}")
    print("stress: " + ("FAILED" if failed else "all checks passed"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
