"""Peak-hour simulation (SPEC "Measures": peak hour), part of ``./dev.sh bench``.

Arrivals exceed what the team can take at once. The same seeded arrivals
(language, arrival time, handling time) are replayed, in real time compressed
to seconds, through stock Odoo 18, the module without a waiting line and the
module with one. Each arrival and each end of chat is its own transaction, as
in requests; a chat ends `handling` seconds after its operator joined. An
independent checker (its own SQL, not the module's) says at every assignment
which operators could take the chat and which of them speak the visitor's
language (the best tier here: no expertise is asked).

Two more flavours of the module with its line show that nobody meets a dead
end (F22): the whole team goes offline half-way through the peak
(``ext_offline``), and the channel has a maximum wait (``ext_max_wait``).

Prints: visitors served, turned away (and of those, how many arrived while an
operator was present), missed (left the line unserved: told so, their session
kept), lost (none of these: must be 0), wait p50/p95, estimate error p50/p95
(the estimate shown at arrival against the real wait), best-tier share, chats
per operator.
"""

import random
import statistics
import time
from datetime import timedelta

import fixtures

LANGS = ["en_US", "fr_FR", "es_ES", "de_DE"]


def plan(seed, visitors, rate, handling):
    """[(arrival second, visitor lang, handling seconds)] of the peak."""
    rng = random.Random(seed)
    return [(i / rate, rng.choice(LANGS), rng.uniform(handling * 0.5, handling * 1.5)) for i in range(visitors)]


def prepare(env, operators, max_sessions, line, handling, max_wait=0, history=True):
    """Operators (two per language but one), a limited channel, and a
    history of finished chats of the usual length (the estimate reads it).
    Without `history` the channel is new: the estimate starts from its
    typical chat length, set to `handling` as an administrator would."""
    from odoo import Command, fields  # noqa: PLC0415

    for code in LANGS:
        env["res.lang"]._activate_lang(code)
    users = fixtures.online_operators(env, operators, "Peak")
    for i, user in enumerate(users):
        user.partner_id.lang = LANGS[i % len(LANGS)]
    values = {"name": "Peak", "user_ids": [Command.set(users.ids)]}
    if "max_sessions_mode" in env["im_livechat.channel"]._fields:  # stock Odoo 18 has no limit at all
        values.update(max_sessions_mode="limited", max_sessions=max_sessions)
    if line:
        # a peak longer than the line's default bounds: nobody is turned away by them here
        values.update(waiting_line=True, max_waiting=0, max_waiting_per_address=0, max_wait_time=max_wait)
        values.update(expected_chat_duration=round(handling))
    channel = env["im_livechat.channel"].create(values)
    now = fields.Datetime.now()
    for i in range(9 if history else 0):
        start = now - timedelta(hours=1, minutes=i)
        done = env["discuss.channel"].create(
            {
                "name": "History",
                "channel_type": "livechat",
                "livechat_active": False,
                "livechat_channel_id": channel.id,
                "livechat_operator_id": users[i % len(users)].partner_id.id,
                "channel_member_ids": [Command.create({"partner_id": users[i % len(users)].partner_id.id})],
            }
        )
        message = done.message_post(body="Bye", message_type="comment")
        env.cr.execute("UPDATE discuss_channel SET create_date = %s WHERE id = %s", [start, done.id])
        message.sudo().date = start + timedelta(seconds=handling * (0.8 + 0.05 * i))
    return channel.id, users.ids


def able_and_speaking(cr, channel_id, max_sessions, lang):
    """Checker: operators of the channel who can take a chat, and those of
    them whose main language is the visitor's."""
    cr.execute(
        """SELECT u.id, p.lang
             FROM im_livechat_channel_im_user cu
             JOIN res_users u ON u.id = cu.user_id
             JOIN res_partner p ON p.id = u.partner_id
             JOIN bus_presence b ON b.user_id = u.id AND b.status = 'online'
            WHERE cu.channel_id = %s
              AND (SELECT count(*) FROM discuss_channel_member m
                     JOIN discuss_channel c ON c.id = m.channel_id
                    WHERE m.partner_id = u.partner_id AND c.channel_type = 'livechat'
                      AND c.livechat_active AND c.livechat_operator_id = u.partner_id) < %s""",
        [channel_id, max_sessions],
    )
    rows = cr.fetchall()
    able = {user_id for user_id, _lang in rows}
    return able, {user_id for user_id, code in rows if code == lang} or able


def replay(registry, channel_id, operator_ids, arrivals, max_sessions, line, offline_at=None):
    """Replays the arrivals (the team going offline at `offline_at` seconds,
    if given); returns the figures of one flavour."""
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    clock_start = time.monotonic()
    pending = list(enumerate(arrivals))
    arrived_at, joined_at, handling_of, estimates, served_by = {}, {}, {}, {}, {}
    ends = {}  # session id -> end time
    waiting = set()
    counts = {"turned_away": 0, "away_while_present": 0, "best": 0, "assignments": 0, "missed": 0, "lost": 0}

    def now():
        return time.monotonic() - clock_start

    def expectations(cr):
        return {code: able_and_speaking(cr, channel_id, max_sessions, code)[1] for code in LANGS}

    def served(session, best_for_lang):
        operator = session.livechat_operator_id.user_ids[:1]
        joined_at[session.id] = now()
        ends[session.id] = now() + handling_of[session.id]
        served_by[session.id] = operator.id
        counts["assignments"] += 1
        counts["best"] += operator.id in best_for_lang

    def record_line(env, expected):
        _record_line(env, expected, waiting, operator_ids, counts, served)

    deadline = (arrivals[-1][0] if arrivals else 0) + 120
    while (pending or ends or waiting) and now() < deadline:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            channel = env["im_livechat.channel"].browse(channel_id)
            if offline_at is not None and now() >= offline_at:
                # the whole team goes offline (F22: those waiting are missed)
                offline_at = None
                cr.execute("UPDATE bus_presence SET status = 'offline' WHERE user_id = ANY(%s)", [operator_ids])
                env.invalidate_all()
            # chats that end now: the operator says goodbye, the visitor leaves
            for session_id in sorted(sid for sid, end in ends.items() if end <= now()):
                del ends[session_id]
                session = env["discuss.channel"].browse(session_id)
                session.message_post(body="Bye", message_type="comment")
                # the checker's view once this chat is closed, before the line moves
                cr.execute("UPDATE discuss_channel SET livechat_active = FALSE WHERE id = %s", [session_id])
                expected = expectations(cr)
                cr.execute("UPDATE discuss_channel SET livechat_active = TRUE WHERE id = %s", [session_id])
                env.invalidate_all()
                session._close_livechat_session()
                if line:
                    record_line(env, expected)
                cr.commit()
            # arrivals due now
            while pending and pending[0][1][0] <= now():
                index, (_at, lang, handling) = pending.pop(0)
                able, speaking = able_and_speaking(cr, channel_id, max_sessions, lang)
                vals = channel.with_context(livechat_visitor_lang=lang)._get_livechat_discuss_channel_vals(
                    f"Visitor {index}", lang=lang
                )
                if not vals:
                    counts["turned_away"] += 1
                    cr.execute(
                        "SELECT count(*) FROM bus_presence b JOIN im_livechat_channel_im_user cu"
                        " ON cu.user_id = b.user_id WHERE cu.channel_id = %s AND b.status = 'online'",
                        [channel_id],
                    )
                    counts["away_while_present"] += bool(cr.fetchone()[0])
                    cr.commit()
                    continue
                session = env["discuss.channel"].create(vals)
                arrived_at[session.id] = now()
                handling_of[session.id] = handling
                if line and session.livechat_waiting_since:
                    waiting.add(session.id)
                    estimates[session.id] = session.livechat_expected_wait
                else:
                    served(session, speaking)
                cr.commit()
            if line and waiting:
                # the scheduled action's safety net, every second in real time
                expected = expectations(cr)
                channel._dispatch_waiting_visitors()
                record_line(env, expected)
                cr.commit()
        time.sleep(0.05)
    return _figures(arrivals, arrived_at, joined_at, estimates, served_by, operator_ids, counts, waiting)


def _record_line(env, expected, waiting, operator_ids, counts, served):
    """Those who left the line since last time: served (by an operator of
    the team), missed (told, their session kept), else lost."""
    for session_id in sorted(waiting):
        session = env["discuss.channel"].browse(session_id)
        if session.livechat_waiting_since:
            continue
        waiting.discard(session_id)
        if session.livechat_operator_id.user_ids.filtered(lambda user: user.id in operator_ids):
            served(session, expected.get(session.livechat_lang_id.code, set()))
        elif session.livechat_active and "o_livechat_missed" in "".join(session.message_ids.mapped("body")):
            counts["missed"] += 1
        else:
            counts["lost"] += 1


def _p95(values):
    return values[max(0, int(len(values) * 0.95) - 1)]


def _figures(arrivals, arrived_at, joined_at, estimates, served_by, operator_ids, counts, waiting):
    """What one flavour's replay gives."""
    waits = sorted(joined_at[sid] - arrived_at[sid] for sid in joined_at)
    shown = [
        (estimate, joined_at[sid] - arrived_at[sid])
        for sid, estimate in estimates.items()
        if estimate and sid in joined_at and joined_at[sid] > arrived_at[sid]
    ]
    errors = sorted(abs(estimate - waited) / waited for estimate, waited in shown)
    under = sum(1 for estimate, waited in shown if waited > estimate)
    per_operator = [sum(1 for op in served_by.values() if op == user_id) for user_id in operator_ids]
    return {
        "visitors": len(arrivals),
        "served": len(served_by),
        "turned_away": counts["turned_away"],
        "turned_away_while_present": counts["away_while_present"],
        "still_waiting": len(waiting),
        "missed": counts["missed"],
        "lost": counts["lost"] + len(waiting),
        "wait_p50_s": round(statistics.median(waits), 1) if waits else None,
        "wait_p95_s": round(_p95(waits), 1) if waits else None,
        "estimate_error_p50": round(statistics.median(errors), 2) if errors else None,
        "estimate_error_p95": round(_p95(errors), 2) if errors else None,
        "underestimated": round(under / len(shown), 2) if shown else None,
        "best_tier_share": round(counts["best"] / counts["assignments"], 3) if counts["assignments"] else None,
        "chats_per_operator": f"{min(per_operator)}-{max(per_operator)}" if per_operator else "-",
    }


# (flavour, module, waiting line, maximum wait in seconds, team offline at
# this share of the arrivals, history of finished chats)
FLAVOURS = (
    ("stock", "im_livechat", False, 0, None, True),
    ("ext_no_line", "im_livechat_ext", False, 0, None, True),
    ("ext_line", "im_livechat_ext", True, 0, None, True),
    ("ext_line_cold", "im_livechat_ext", True, 0, None, False),
    ("ext_offline", "im_livechat_ext", True, 0, 0.5, True),
    ("ext_max_wait", "im_livechat_ext", True, 3, None, True),
)


def run(odoo_module, build_db, args):
    """Each flavour on its own fresh database (built by `build_db(db,
    module)`), the same arrivals for all. Returns {flavour: figures}."""
    arrivals = plan(args.seed, args.peak_visitors, args.peak_rate, args.peak_handling)
    results = {}
    for flavour, module, line, max_wait, offline_share, history in FLAVOURS:
        db = f"peak_{flavour}"
        build_db(db, module)
        registry = odoo_module.modules.registry.Registry(db)
        with registry.cursor() as cr:
            from odoo import SUPERUSER_ID, api  # noqa: PLC0415

            env = api.Environment(cr, SUPERUSER_ID, {})
            channel_id, operator_ids = prepare(
                env, args.peak_operators, args.peak_max_sessions, line, args.peak_handling, max_wait, history
            )
            cr.commit()
        print(f"peak hour: replaying {len(arrivals)} arrivals through {flavour}...", flush=True)
        offline_at = arrivals[-1][0] * offline_share if offline_share is not None and arrivals else None
        results[flavour] = replay(
            registry, channel_id, operator_ids, arrivals, args.peak_max_sessions, line, offline_at
        )
        odoo_module.sql_db.close_db(db)
    return results


def print_table(results, args):
    print()
    print(
        f"peak hour: {args.peak_visitors} visitors at {args.peak_rate}/s, {args.peak_operators} operators x "
        f"{args.peak_max_sessions} chats, chats of about {args.peak_handling} s"
    )
    columns = [
        ("served", "served"),
        ("turned_away", "turned away"),
        ("turned_away_while_present", "away/present"),
        ("missed", "missed, told"),
        ("lost", "lost"),
        ("wait_p50_s", "wait p50 s"),
        ("wait_p95_s", "wait p95 s"),
        ("estimate_error_p50", "est.err p50"),
        ("estimate_error_p95", "est.err p95"),
        ("underestimated", "under"),
        ("best_tier_share", "best tier"),
        ("chats_per_operator", "chats/op"),
    ]
    print_figures(results, columns)


def print_figures(results, columns, run_width=12):
    """One row per run of `results` ({run: figures}), one column per (key, title)."""
    print(f"{'run':>{run_width}} | " + " | ".join(f"{title:>12}" for _key, title in columns))
    for flavour, figures in results.items():
        print(f"{flavour:>{run_width}} | " + " | ".join(f"{str(figures[key]):>12}" for key, _title in columns))
