"""Unanswered chats in the peak hour (F18), part of ``./dev.sh bench``.

One operator of the team does not answer (a desk left without going away).
The seeded arrivals of the peak hour are replayed through the module twice,
without and with an unanswered timeout: every visitor writes on arrival, the
other operators answer after a short delay, and a chat ends some seconds
after its first answer. Each arrival, answer, end and reassignment run is a
transaction of its own, as in requests and in the scheduled action.

Prints, per run: visitors served, reassignments, visitors never answered, the
share of served visitors whose first answer took longer than the timeout (or
never came), first answer p50/p95.
"""

import statistics
import time

import peak_hour

TIMEOUT = 3  # seconds, the unanswered timeout of the run with F18 (and the bar of both)
ANSWER_DELAY = 1.0  # seconds an operator who answers takes to answer
FLAVOURS = (("ext_no_timeout", 0), ("ext_timeout", TIMEOUT))


def replay(registry, channel_id, operator_ids, silent_id, arrivals, timeout):
    """Replays the arrivals; returns the figures of one run."""
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    clock_start = time.monotonic()

    def now():
        return time.monotonic() - clock_start

    pending = list(enumerate(arrivals))
    arrived, first_answer, operator_of, answer_due, ends, handling_of = {}, {}, {}, {}, {}, {}
    counts = {"turned_away": 0, "reassigned": 0}

    def expect_answer(session_id, user_id):
        operator_of[session_id] = user_id
        answer_due.pop(session_id, None)
        if user_id != silent_id:
            answer_due[session_id] = now() + ANSWER_DELAY

    deadline = (arrivals[-1][0] if arrivals else 0) + 30
    while (pending or ends or answer_due) and now() < deadline:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            Session = env["discuss.channel"]
            channel = env["im_livechat.channel"].browse(channel_id)
            while pending and pending[0][1][0] <= now():
                index, (_at, lang, handling) = pending.pop(0)
                vals = channel.with_context(livechat_visitor_lang=lang)._get_livechat_discuss_channel_vals(
                    f"Visitor {index}", lang=lang
                )
                if not vals:
                    counts["turned_away"] += 1
                    cr.commit()
                    continue
                session = Session.create(vals)
                guest = env["mail.guest"].create({"name": f"Visitor {index}"})
                session.add_members(guest_ids=guest.ids, post_joined_message=False)
                session.with_user(env.ref("base.public_user")).with_context(guest=guest).message_post(
                    body="Hello, anybody there?", message_type="comment"
                )
                arrived[session.id], handling_of[session.id] = now(), handling
                expect_answer(session.id, session.livechat_operator_id.user_ids[:1].id)
                cr.commit()
            if timeout:
                # the scheduled action, which the module triggers to the second
                moved = Session._reassign_unanswered_sessions()
                cr.commit()
                if moved:
                    counts["reassigned"] += moved
                    for session_id in [sid for sid in arrived if sid not in first_answer]:
                        user_id = Session.browse(session_id).livechat_operator_id.user_ids[:1].id
                        if user_id != operator_of[session_id]:
                            expect_answer(session_id, user_id)
            for session_id in sorted(sid for sid, due in answer_due.items() if due <= now()):
                del answer_due[session_id]
                operator = env["res.users"].browse(operator_of[session_id])
                Session.with_user(operator).browse(session_id).message_post(
                    body="Hello, how can I help?", message_type="comment"
                )
                first_answer[session_id] = now()
                ends[session_id] = now() + handling_of[session_id]
                cr.commit()
            for session_id in sorted(sid for sid, end in ends.items() if end <= now()):
                del ends[session_id]
                Session.browse(session_id)._close_livechat_session()
                cr.commit()
        time.sleep(0.05)
    waits = sorted(first_answer[sid] - arrived[sid] for sid in first_answer)
    never = len(arrived) - len(first_answer)
    late = sum(1 for wait in waits if wait > TIMEOUT) + never
    return {
        "visitors": len(arrivals),
        "served": len(arrived),
        "turned_away": counts["turned_away"],
        "reassigned": counts["reassigned"],
        "never_answered": never,
        "late_share": round(late / len(arrived), 3) if arrived else None,
        "first_answer_p50_s": round(statistics.median(waits), 1) if waits else None,
        "first_answer_p95_s": round(waits[max(0, int(len(waits) * 0.95) - 1)], 1) if waits else None,
    }


def run(odoo_module, build_db, args):
    """Both runs on fresh databases (built by `build_db(db, module)`), the
    same arrivals and the same silent operator. Returns {run: figures}."""
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    arrivals = peak_hour.plan(args.seed, args.peak_visitors, args.peak_rate, args.peak_handling)
    results = {}
    for flavour, timeout in FLAVOURS:
        db = f"peak_{flavour}"
        build_db(db, "im_livechat_ext")
        registry = odoo_module.modules.registry.Registry(db)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            channel_id, operator_ids = peak_hour.prepare(
                env, args.peak_operators, args.peak_max_sessions, False, args.peak_handling
            )
            env["im_livechat.channel"].browse(channel_id).unanswered_timeout = timeout
            cr.commit()
        print(f"unanswered chats: replaying {len(arrivals)} arrivals through {flavour}...", flush=True)
        results[flavour] = replay(registry, channel_id, operator_ids, operator_ids[0], arrivals, timeout)
        odoo_module.sql_db.close_db(db)
    return results


def print_table(results, args):
    print()
    print(
        f"unanswered chats: {args.peak_visitors} visitors at {args.peak_rate}/s, {args.peak_operators} operators x "
        f"{args.peak_max_sessions} chats, one of them never answers; the others answer in {ANSWER_DELAY} s"
    )
    columns = [
        ("served", "served"),
        ("turned_away", "turned away"),
        ("reassigned", "reassigned"),
        ("never_answered", "never answ."),
        ("late_share", f"late >{TIMEOUT}s"),
        ("first_answer_p50_s", "answer p50 s"),
        ("first_answer_p95_s", "answer p95 s"),
    ]
    peak_hour.print_figures(results, columns, run_width=14)
