"""Routing benchmark: im_livechat_ext side by side with stock Odoo 18.

Builds two databases from the same seeded generator (stock ``im_livechat``
only, and ``im_livechat_ext``), times one operator selection in-process on
both, counts its SQL queries, and replays a day of arrivals through the
module, its tiers checked with the rules' own predicates over facts read
on their own. Three workloads: ``profiles`` (the default), ``spread`` and
``skewed`` (WORKLOADS).

Run it through ``./dev.sh bench [--workload spread|skewed] [--scale 1] [--visitors 1000] [--arrivals 2000]``.
"""

import argparse
import contextlib
import json
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta

import odoo_runner
import peak_hour
import peak_unanswered

LANGS = ["en_US", "fr_FR", "fr_BE", "es_ES", "de_DE", "it_IT", "nl_NL", "pt_PT"]
VISITOR_LANGS = LANGS + ["fr_CA", "es_MX", "ja_JP", None]
COUNTRIES = ["us", "fr", "be", "es", "de", "it", "nl", "pt", "mx", "ca"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--odoo-dir", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies operators and sessions")
    parser.add_argument("--visitors", type=int, default=1000, help="selections timed per channel")
    parser.add_argument("--arrivals", type=int, default=2000, help="arrivals of the simulated day")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument(
        "--workload",
        choices=["profiles", "spread", "skewed"],
        default="profiles",
        help="profiles: 40 operator profiles shared, 1 ongoing chat per operator on average, visitors asking "
        "0-2 expertises; spread: each operator drawn on their own (6 languages, 0-2 chat languages, 0-3 of 40 "
        "expertises), 80 %% online and the rest away, 4 ongoing chats per operator, visitors asking 1-2; "
        "skewed: as spread, but few operators know the expertises visitors ask most, a third of the visitors "
        "speak a language nobody speaks, and a few operators hold most ongoing chats (many at their limit)",
    )
    parser.add_argument("--output", default="bench-results.json")
    parser.add_argument("--keep", action="store_true", help="reuse existing benchmark databases")
    parser.add_argument("--no-peak", action="store_true", help="skip the peak-hour simulation")
    parser.add_argument("--only-peak", action="store_true", help="only the peak-hour simulation")
    parser.add_argument("--peak-visitors", type=int, default=60)
    parser.add_argument("--peak-rate", type=float, default=3.0, help="arrivals per second")
    parser.add_argument("--peak-operators", type=int, default=5)
    parser.add_argument("--peak-max-sessions", type=int, default=2)
    parser.add_argument("--peak-handling", type=float, default=4.0, help="seconds a chat lasts, on average")
    return parser.parse_args()


def odoo_bin(args, db, *extra):
    odoo = odoo_runner.Odoo(args.odoo_dir, args.addons_path)
    odoo.run("-d", db, "--stop-after-init", "--log-level=warn", "--without-demo=all", "--no-http", *extra, check=True)


# ----------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------
def draw_expertises(rng, how_many, expertise_count, skew):
    """`how_many` distinct expertise indexes; with `skew` > 0, expertise i is
    drawn with a weight of 1 / (i + 1) ** skew (< 0: the last ones first)."""
    if not skew:
        return sorted(rng.sample(range(expertise_count), how_many))
    weights = [1 / (i + 1) ** skew for i in range(expertise_count)]
    drawn = set()
    while len(drawn) < how_many:
        drawn.add(rng.choices(range(expertise_count), weights=weights)[0])
    return sorted(drawn)


def draw_profiles(rng, count, langs, expertise_count, skew=0):
    """`count` operator profiles: a main language and 0 to 2 chat languages
    of `langs`, a country, 0 to 3 of the expertises (`skew`: draw_expertises)."""
    result = []
    for _i in range(count):
        main = rng.choice(langs)
        chat = sorted(set(rng.sample(langs, rng.randint(0, 2))) - {main})
        expertises = draw_expertises(rng, rng.randint(0, 3), expertise_count, skew)
        result.append(
            {"lang": main, "chat_langs": chat, "country": rng.choice(COUNTRIES[:8]), "expertises": expertises}
        )
    return result


# the spread workload's languages
SPREAD_LANGS = LANGS[:6]

# what each workload draws: operators' languages, visitors' languages, shared
# profiles (None: one per operator), ongoing chats, presence weights (online,
# away, offline), how many expertises a visitor asks, the skew of the
# expertises operators know (visitors ask with the opposite skew), and the
# skew of the ongoing chats over operators (0: even)
WORKLOADS = {
    "profiles": {
        "langs": LANGS,
        "visitor_langs": VISITOR_LANGS,
        "profiles": 40,
        "ongoing": 2000,
        "presence": [80, 10, 10],
        "asks": [0, 1, 1, 2],
        "expertise_skew": 0,
        "load_skew": 0,
    },
    "spread": {
        "langs": SPREAD_LANGS,
        "visitor_langs": SPREAD_LANGS,
        "profiles": None,
        "ongoing": 8000,
        "presence": [80, 20, 0],
        "asks": [1, 2],
        "expertise_skew": 0,
        "load_skew": 0,
    },
    "skewed": {
        "langs": SPREAD_LANGS,
        # nobody speaks Japanese, Dutch or Portuguese: their tiers end up empty
        "visitor_langs": SPREAD_LANGS + ["fr_CA", "ja_JP", "nl_NL", "pt_PT", None],
        "profiles": None,
        "ongoing": 8000,
        "presence": [70, 20, 10],
        "asks": [0, 1, 2, 2],
        "expertise_skew": 1.2,
        "load_skew": 1.0,
    },
}


def generate(env, args, with_expertise):
    """Same operators, presence, channels and sessions for both databases."""
    rng = random.Random(args.seed)
    workload = WORKLOADS[args.workload]
    operators_count = int(2000 * args.scale)
    sessions_count = int(20000 * args.scale)
    ongoing_count = int(workload["ongoing"] * args.scale)
    expertise_count = 40
    cr = env.cr
    for code in LANGS:
        env["res.lang"]._activate_lang(code)
    countries = {c: env.ref(f"base.{c}").id for c in COUNTRIES}
    lang_ids = {code: env["res.lang"]._lang_get(code).id for code in LANGS}
    expertise_ids = []
    if with_expertise:
        expertise_ids = (
            env["im_livechat.expertise"].create([{"name": f"Expertise {i:02d}"} for i in range(expertise_count)]).ids
        )
    group_ids = [env.ref("base.group_user").id, env.ref("im_livechat.im_livechat_group_user").id]
    # profiles: 40 shared by equivalent operators; else one per operator
    plan = draw_profiles(
        rng, workload["profiles"] or operators_count, workload["langs"], expertise_count, workload["expertise_skew"]
    )
    users = env["res.users"].with_context(no_reset_password=True, tracking_disable=True, mail_create_nolog=True)
    operator_profiles = [plan[i % len(plan)] for i in range(operators_count)]
    created = users.create(
        [
            {
                "name": f"Operator {i:04d}",
                "login": f"bench_op_{i:04d}",
                "lang": "en_US",
                "groups_id": [(6, 0, group_ids)],
            }
            for i in range(operators_count)
        ]
    )
    for user, profile in zip(created, operator_profiles, strict=True):
        cr.execute(
            "UPDATE res_partner SET lang = %s, country_id = %s WHERE id = %s",
            [profile["lang"], countries[profile["country"]], user.partner_id.id],
        )
    Settings = env["res.users.settings"]
    for user, profile in zip(created, operator_profiles, strict=True):
        Settings._find_or_create_for_user(user).livechat_lang_ids = [
            (6, 0, [lang_ids[c] for c in profile["chat_langs"]])
        ]
    if with_expertise:
        cr.executemany(
            "INSERT INTO im_livechat_expertise_res_users_rel (user_id, expertise_id) VALUES (%s, %s)",
            [
                (user.id, expertise_ids[e])
                for user, profile in zip(created, operator_profiles, strict=True)
                for e in profile["expertises"]
            ],
        )
    statuses = rng.choices(["online", "away", "offline"], weights=workload["presence"], k=operators_count)
    now = datetime.utcnow()
    cr.executemany(
        "INSERT INTO bus_presence (user_id, status, last_poll, last_presence) VALUES (%s, %s, %s, %s)",
        [(user.id, status, now, now - timedelta(minutes=1)) for user, status in zip(created, statuses, strict=True)],
    )
    # 20 channels; three bench channels of 50, 500 and 2,000 operators (scaled)
    sizes = sorted({max(10, int(n * args.scale)) for n in (50, 500, 2000)})
    channels = env["im_livechat.channel"].create(
        [{"name": f"Bench {n}", "user_ids": [(6, 0, created[:n].ids)]} for n in sizes]
        + [
            {"name": f"Channel {i}", "user_ids": [(6, 0, rng.sample(created.ids, min(25, len(created))))]}
            for i in range(20 - len(sizes))
        ]
    )
    if with_expertise:
        channels.write({"max_sessions_mode": "limited", "max_sessions": 10})
    # sessions: `ongoing_count` open with recent activity, the rest old or closed
    partner_of = {user.id: user.partner_id.id for user in created}
    # who holds the ongoing chats: evenly, or a few operators (drawn at random) most of them
    holders = rng.sample(created.ids, len(created)) if workload["load_skew"] else None
    load_weights = holders and [1 / (rank + 1) ** workload["load_skew"] for rank in range(len(holders))]
    rows = []
    for i in range(sessions_count):
        ongoing = i < ongoing_count
        user_id = created[rng.randrange(len(created))].id
        if ongoing and holders:
            user_id = rng.choices(holders, weights=load_weights)[0]
        created_at = now - (
            timedelta(minutes=rng.randint(1, 25)) if ongoing else timedelta(hours=rng.randint(1, 24 * 60))
        )
        rows.append(
            (
                f"Visitor {i}",
                channels[rng.randrange(len(channels))].id,
                partner_of[user_id],
                ongoing,
                created_at,
                created_at,
            )
        )
    cr.execute("SELECT id FROM res_users WHERE login = '__system__'")
    cr.executemany(
        """INSERT INTO discuss_channel (name, channel_type, livechat_channel_id, livechat_operator_id,
                                        livechat_active, create_date, last_interest_dt, write_date)
           VALUES (%s, 'livechat', %s, %s, %s, %s, %s, %s)""",
        [(*row, row[-1]) for row in rows],
    )
    cr.execute(
        """INSERT INTO discuss_channel_member (channel_id, partner_id, new_message_separator, create_date)
           SELECT id, livechat_operator_id, 0, create_date FROM discuss_channel WHERE name LIKE 'Visitor %'"""
    )
    # some operators are in a call in one of their ongoing chats
    cr.execute(
        """INSERT INTO discuss_channel_rtc_session (channel_id, channel_member_id, create_date)
           SELECT DISTINCT ON (m.partner_id) m.channel_id, m.id, now()
             FROM discuss_channel_member m JOIN discuss_channel c ON c.id = m.channel_id
            WHERE c.livechat_active AND c.name LIKE 'Visitor %' AND m.partner_id % 17 = 0"""
    )
    env.invalidate_all()
    return channels[: len(sizes)], sizes, expertise_ids  # the bench channels


def refresh_clock(env):
    """Right before a measure: move the data to now, so that operators are
    still active and ongoing chats still ongoing, as when it was generated,
    and bring the planner statistics up to date."""
    cr = env.cr
    cr.execute("SELECT max(create_date) FROM discuss_channel WHERE name LIKE 'Visitor %'")
    latest = cr.fetchone()[0]
    if latest:
        cr.execute(
            """UPDATE discuss_channel
                  SET create_date = create_date + (now() at time zone 'utc' - %s),
                      last_interest_dt = last_interest_dt + (now() at time zone 'utc' - %s)
                WHERE name LIKE 'Visitor %%'""",
            [latest, latest],
        )
    cr.execute(
        "UPDATE bus_presence SET last_poll = now() at time zone 'utc', "
        "last_presence = now() at time zone 'utc' - interval '1 minute'"
    )
    cr.commit()
    # no dead rows left by the move (or an earlier run) in the indexes the
    # routing reads, statistics of the data as it is now
    subprocess.run(["vacuumdb", "--analyze", "--quiet", cr.dbname], check=True)


def visitors(args, expertise_ids, countries):
    rng = random.Random(args.seed + 1)
    workload = WORKLOADS[args.workload]
    result = []
    for _i in range(args.visitors):
        how_many = rng.choice(workload["asks"])
        # visitors ask most what operators know least
        drawn = draw_expertises(rng, how_many, len(expertise_ids), -workload["expertise_skew"])
        wanted = [expertise_ids[i] for i in drawn] if expertise_ids else []
        result.append(
            {
                "lang": rng.choice(workload["visitor_langs"]),
                "country_id": countries[rng.choice(COUNTRIES)],
                "expertises": wanted,
            }
        )
    return result


# ----------------------------------------------------------------------
# Measures
# ----------------------------------------------------------------------
def time_one_selection(env, channel, visitor, use_expertise):
    """(milliseconds, queries) of one operator selection, every cache emptied
    as at the start of a request."""
    env.invalidate_all()
    kwargs = {"lang": visitor["lang"], "country_id": visitor["country_id"]}
    if use_expertise:
        kwargs["expertises"] = env["im_livechat.expertise"].browse(visitor["expertises"])
    before = env.cr.sql_log_count
    start = time.perf_counter()
    channel._get_operator(**kwargs)
    return (time.perf_counter() - start) * 1000, env.cr.sql_log_count - before


def summarize(times, queries):
    times = sorted(times)
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
        "queries": int(statistics.median(queries)),
        "queries_max": max(queries),
    }


def time_selections(benches, visitor_list, seed):
    """Times every visitor's selection on every (flavour, size) of `benches`
    ({(flavour, size): (env, channel, visitor list, use_expertise)}) in turn,
    visitor after visitor, in an order shuffled each time (seeded): whatever
    this machine does meanwhile, and whatever a run leaves in the caches for
    the next one, weighs on all of them alike, as it would not if each ran
    for minutes after the other or always after the same one. Returns
    {(flavour, size): figures}."""
    runs = list(benches)
    for _env, channel, visitors_of_run, _use_expertise in benches.values():
        for warm in visitors_of_run[:20]:
            channel._get_operator(lang=warm["lang"], country_id=warm["country_id"])
    measured = {run: ([], []) for run in runs}
    order = random.Random(seed)
    for index in range(len(visitor_list)):
        for run in order.sample(runs, len(runs)):
            env, channel, visitors_of_run, use_expertise = benches[run]
            milliseconds, queries = time_one_selection(env, channel, visitors_of_run[index], use_expertise)
            measured[run][0].append(milliseconds)
            measured[run][1].append(queries)
    return {run: summarize(*measured[run]) for run in runs}


def selection_keys(result):
    """The keys bench-results.json promises, nothing more."""
    return {key: result[key] for key in ("median_ms", "p95_ms", "queries")}


def channel_rules(env):
    """The module's routing rules (importable once Odoo has loaded its addons)."""
    from odoo.addons.im_livechat_ext.tools import routing_rules  # noqa: PLC0415

    return routing_rules


def best_tier_members(env, channel, visitor):
    """Independent checker: the SPEC tier list over facts read on their own."""
    cr = env.cr
    cr.execute(
        """WITH member AS (
               SELECT u.id, u.partner_id, p.lang, p.country_id
                 FROM im_livechat_channel_im_user cu
                 JOIN res_users u ON u.id = cu.user_id JOIN res_partner p ON p.id = u.partner_id
                 JOIN bus_presence b ON b.user_id = u.id AND b.status = 'online'
                      AND b.last_presence >= now() at time zone 'utc' - interval '30 minutes'
                WHERE cu.channel_id = %(channel)s
           ), spoken AS (
               SELECT s.user_id, array_agg(l.code) AS codes
                 FROM res_users_settings s
                 JOIN res_lang_res_users_settings_rel r ON r.res_users_settings_id = s.id
                 JOIN res_lang l ON l.id = r.res_lang_id
                WHERE s.user_id IN (SELECT id FROM member) GROUP BY s.user_id
           ), knows AS (
               SELECT user_id, array_agg(expertise_id) AS ids FROM im_livechat_expertise_res_users_rel
                WHERE user_id IN (SELECT id FROM member) GROUP BY user_id
           ), busy AS (
               SELECT m.partner_id, count(*) AS n
                 FROM discuss_channel_member m JOIN discuss_channel c ON c.id = m.channel_id
                WHERE m.partner_id IN (SELECT partner_id FROM member) AND c.channel_type = 'livechat'
                  AND c.livechat_active
                  AND greatest(c.create_date, c.last_interest_dt) > now() at time zone 'utc' - interval '30 minutes'
                GROUP BY m.partner_id
           ), calling AS (
               SELECT DISTINCT m.partner_id FROM discuss_channel_rtc_session r
                 JOIN discuss_channel_member m ON m.id = r.channel_member_id
           )
           SELECT member.id, member.lang, member.country_id, COALESCE(spoken.codes, '{}'),
                  COALESCE(knows.ids, '{}'), COALESCE(busy.n, 0), calling.partner_id IS NOT NULL,
                  COALESCE(status.last_assignment_dt >= %(recent_since)s, FALSE),
                  status.last_assignment_dt
             FROM member
             LEFT JOIN spoken ON spoken.user_id = member.id
             LEFT JOIN knows ON knows.user_id = member.id
             LEFT JOIN busy ON busy.partner_id = member.partner_id
             LEFT JOIN calling ON calling.partner_id = member.partner_id
             LEFT JOIN im_livechat_operator_status status ON status.user_id = member.id""",
        # the module's clock (the transaction's start would drift through the simulated day)
        {"channel": channel.id, "recent_since": datetime.utcnow() - channel_rules(env).ASSIGNMENT_BUFFER},
    )
    available = [
        row
        for row in cr.fetchall()
        if (channel.max_sessions_mode != "limited" or row[5] < channel.max_sessions)
        and not (channel.block_assignment_during_call and row[6])
    ]
    lang, country, wanted = visitor["lang"], visitor["country_id"], set(visitor["expertises"])

    def speaks(row, exact):
        spoken = [row[1], *row[3]]
        return any(code == lang if exact else code.split("_")[0] == (lang or "").split("_")[0] for code in spoken)

    # the facts are read here on their own; the rules are the module's own
    # predicates and tiers (routing_rules, through the channel)
    exact = bool(lang) and any(speaks(row, True) for row in available)
    tiers, checks = channel._get_routing_tiers(), channel._get_routing_checks()
    tier_of = channel_rules(env).tier_of
    ranked = {}
    tie_breaks = channel._get_routing_tie_breaks().values()
    for row in available:
        facts = {
            "speaks": bool(lang) and speaks(row, exact),
            "same_country": bool(country) and row[2] == country,
            "matched": len(wanted & set(row[4])),
            "requested": len(wanted),
            "ongoing": row[5],
            "in_call": row[6],
            "recent": row[7],
            "last_assignment": row[8],
        }
        # the row, then its place inside the tier by the module's tie-breaks
        order = tuple(tie_break.key(facts) for tie_break in tie_breaks)
        ranked.setdefault(tier_of(tiers, facts, checks), []).append((*row, order))
    if ranked:
        return ranked[min(ranked)]
    return []


def simulate_day(env, channel, args, expertise_ids, countries):
    channel = env["im_livechat.channel"].browse(channel.id)
    rng = random.Random(args.seed + 2)
    Channel = env["discuss.channel"]
    # operators in a call get no new chat on this channel: the checker verifies that too
    channel.block_assignment_during_call = True
    good = in_order = total = 0
    # the day starts with the chats already ongoing with these operators; the
    # oldest end first, then the day's own
    env.cr.execute(
        """SELECT DISTINCT c.id, c.create_date FROM discuss_channel c
             JOIN discuss_channel_member m ON m.channel_id = c.id
             JOIN res_users u ON u.partner_id = m.partner_id
             JOIN im_livechat_channel_im_user cu ON cu.user_id = u.id AND cu.channel_id = %s
            WHERE c.channel_type = 'livechat' AND c.livechat_active
            ORDER BY c.create_date""",
        [channel.id],
    )
    open_sessions = [row[0] for row in env.cr.fetchall()]
    for _i in range(args.arrivals):
        visitor = {
            "lang": rng.choice(VISITOR_LANGS),
            "country_id": countries[rng.choice(COUNTRIES)],
            "expertises": rng.sample(expertise_ids, rng.choice([0, 1, 2])),
        }
        expected = best_tier_members(env, channel, visitor)
        decision = channel._route_visitor(
            lang=visitor["lang"],
            country_id=visitor["country_id"],
            expertises=env["im_livechat.expertise"].browse(visitor["expertises"]),
        )
        if not expected and not decision.operator:
            continue
        total += 1
        chosen = next((row for row in expected if row[0] == decision.operator.id), None)
        good += chosen is not None
        # inside the tier: the tie-breaks (fewest chats, not in a call, not given one recently, a burst's order)
        in_order += chosen is not None and rank_in_tier(chosen) == min(map(rank_in_tier, expected))
        if not decision.operator:
            continue  # a miss: the checker had someone available
        session = Channel.create(
            {
                "name": "Day visitor",
                "channel_type": "livechat",
                "livechat_active": True,
                "livechat_channel_id": channel.id,
                "livechat_operator_id": decision.operator.partner_id.id,
                "channel_member_ids": [(0, 0, {"partner_id": decision.operator.partner_id.id})],
            }
        )
        open_sessions.append(session.id)
        if rng.random() < 0.9:  # departures keep the load about steady
            leaving = open_sessions.pop(0)  # chats end roughly in the order they started
            env.cr.execute("UPDATE discuss_channel SET livechat_active = FALSE WHERE id = %s", [leaving])
        env.invalidate_all()
    # load spread among equivalent operators (same profile), available ones only
    env.cr.execute(
        """SELECT p.lang, p.country_id,
                  ARRAY(SELECT expertise_id FROM im_livechat_expertise_res_users_rel
                         WHERE user_id = u.id ORDER BY 1)::text,
                  ARRAY(SELECT r.res_lang_id FROM res_users_settings s
                          JOIN res_lang_res_users_settings_rel r ON r.res_users_settings_id = s.id
                         WHERE s.user_id = u.id ORDER BY 1)::text,
                  (SELECT count(*) FROM discuss_channel_member m JOIN discuss_channel c ON c.id = m.channel_id
                    WHERE m.partner_id = u.partner_id AND c.channel_type = 'livechat' AND c.livechat_active
                      AND greatest(c.create_date, c.last_interest_dt)
                          > now() at time zone 'utc' - interval '30 minutes')
             FROM im_livechat_channel_im_user cu JOIN res_users u ON u.id = cu.user_id
             JOIN res_partner p ON p.id = u.partner_id
             JOIN bus_presence b ON b.user_id = u.id AND b.status = 'online'
            WHERE cu.channel_id = %s
              -- operators in a call take no chat on this channel: not equivalent to the others
              AND NOT EXISTS (SELECT 1 FROM discuss_channel_rtc_session r
                                JOIN discuss_channel_member m ON m.id = r.channel_member_id
                               WHERE m.partner_id = u.partner_id)""",
        [channel.id],
    )
    groups = {}
    for *key, load in env.cr.fetchall():
        groups.setdefault(tuple(key), []).append(load)
    spread = max((max(loads) - min(loads) for loads in groups.values() if len(loads) > 1), default=0)
    return {
        "arrivals": total,
        "best_tier_share": round(good / total, 4) if total else None,
        "in_tier_order_share": round(in_order / total, 4) if total else None,
        "load_spread": spread,
    }


def rank_in_tier(row):
    """A checker row's place inside its tier, by the module's tie-breaks."""
    return row[-1]


def database_exists(db):
    found = subprocess.run(
        ["psql", "-d", "postgres", "-Atqc", "SELECT 1 FROM pg_database WHERE datname = %s" % f"'{db}'"],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip() == "1"


def main():
    args = parse_args()
    sys.path.insert(0, args.odoo_dir)
    import odoo  # noqa: PLC0415 (Odoo comes from --odoo-dir)

    odoo.tools.config.parse_config([f"--addons-path={args.addons_path}", "--log-level=warn"])
    output = {} if args.only_peak else selection(args, odoo)
    if not args.no_peak:

        def build_db(db, module):
            odoo_runner.drop_db(db, check=True)
            print(f"building {db} ({module}, no demo data)...", flush=True)
            odoo_bin(args, db, "-i", module)

        peak = peak_hour.run(odoo, build_db, args)
        peak_hour.print_table(peak, args)
        output["peak"] = peak
        line = peak["ext_line"]
        print(
            f"with the line: turned away while an operator was present {line['turned_away_while_present']} "
            f"(target 0), best-tier share {line['best_tier_share']} (target 1.0), "
            f"estimate median error {line['estimate_error_p50']} (target <= 0.3)"
        )
        unanswered = peak_unanswered.run(odoo, build_db, args)
        peak_unanswered.print_table(unanswered, args)
        output["unanswered"] = unanswered
    with open(args.output, "w") as handle:
        json.dump(output, handle, indent=2)
    print(f"written {args.output}")


def selection(args, odoo):
    """The selection benchmark and the simulated day; returns the figures."""
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    suffix = "" if args.workload == "profiles" else f"_{args.workload}"
    dbs = {"stock": (f"bench_stock{suffix}", "im_livechat"), "ext": (f"bench_ext{suffix}", "im_livechat_ext")}
    for db, module in dbs.values():
        if not args.keep or not database_exists(db):
            odoo_runner.drop_db(db, check=True)
            print(f"building {db} ({module}, no demo data)...", flush=True)
            odoo_bin(args, db, "-i", module)
        else:
            print(f"updating {module} in {db}...", flush=True)
            odoo_bin(args, db, "-u", module)
    results = {"stock": {}, "ext": {}}
    meta = {}
    with contextlib.ExitStack() as stack:
        benches = {}
        envs = {}
        for flavour, (db, _module) in dbs.items():
            registry = odoo.modules.registry.Registry(db)
            cr = stack.enter_context(registry.cursor())
            env = envs[flavour] = api.Environment(cr, SUPERUSER_ID, {})
            if args.keep and env["im_livechat.channel"].search_count([("name", "like", "Bench %")]):
                channels = env["im_livechat.channel"].search([("name", "like", "Bench %")], order="id")
                sizes = [len(c.user_ids) for c in channels]
                expertise_ids = env["im_livechat.expertise"].search([]).ids if flavour == "ext" else []
            else:
                print(f"generating data in {db}...", flush=True)
                channels, sizes, expertise_ids = generate(env, args, flavour == "ext")
                cr.commit()
            countries = {c: env.ref(f"base.{c}").id for c in COUNTRIES}
            visitor_list = visitors(args, list(range(1, 41)) if flavour == "stock" else expertise_ids, countries)
            for channel, size in zip(channels, sizes, strict=True):
                # alone, as in a request: no other channel in its prefetch set
                channel = env["im_livechat.channel"].browse(channel.id)
                benches[(flavour, size)] = (env, channel, visitor_list, flavour == "ext")
            if flavour == "ext":
                cr.execute("SELECT count(*) FROM discuss_channel WHERE channel_type = 'livechat'")
                meta = {"operators": max(sizes), "sessions": cr.fetchone()[0], "expertises": len(expertise_ids)}
                ext_day = (channels[len(channels) // 2], expertise_ids, countries)
        print(
            f"timing {len(visitor_list)} selections at {', '.join(map(str, sizes))} operators, "
            "stock and module in turn...",
            flush=True,
        )
        for env in envs.values():
            # the sessions' ages and the operators' last presence as generated,
            # whatever the time building and updating the databases took
            refresh_clock(env)
        for (flavour, size), figures in time_selections(benches, visitor_list, args.seed).items():
            results[flavour][size] = figures
        print("simulating a day of arrivals...", flush=True)
        refresh_clock(envs["ext"])
        middle, expertise_ids, countries = ext_day
        quality = simulate_day(envs["ext"], middle, args, expertise_ids, countries)
        for env in envs.values():
            env.cr.rollback()
    reference = sorted(results["ext"])[len(results["ext"]) // 2]
    output = {
        **meta,
        "selection": {flavour: selection_keys(results[flavour][reference]) for flavour in ("ext", "stock")},
        "scaling": [
            {
                "operators": size,
                "ext_median_ms": results["ext"][size]["median_ms"],
                "ext_queries": results["ext"][size]["queries"],
                "stock_median_ms": results["stock"][size]["median_ms"],
                "stock_queries": results["stock"][size]["queries"],
            }
            for size in sorted(results["ext"])
        ],
        "quality": quality,
    }
    print()
    print(
        f"{'operators':>10} | {'ext median':>10} | {'ext p95':>8} | {'ext q':>5} | "
        f"{'stock median':>12} | {'stock p95':>9} | {'stock q':>7} | speed-up"
    )
    for size in sorted(results["ext"]):
        ext, stock = results["ext"][size], results["stock"][size]
        print(
            f"{size:>10} | {ext['median_ms']:>8} ms | {ext['p95_ms']:>5} ms | {ext['queries']:>5} | "
            f"{stock['median_ms']:>9} ms | {stock['p95_ms']:>6} ms | {stock['queries']:>7} | "
            f"{stock['median_ms'] / ext['median_ms']:.1f}x"
        )
    smallest, largest = min(results["ext"]), max(results["ext"])
    ext_small, ext_large = results["ext"][smallest], results["ext"][largest]
    growth = ext_large["median_ms"] / ext_small["median_ms"]
    speed_up = results["stock"][largest]["median_ms"] / ext_large["median_ms"]
    print(
        f"\ngrowth {smallest} -> {largest} operators: module {growth:.2f}x (target <= 2), stock "
        f"{results['stock'][largest]['median_ms'] / results['stock'][smallest]['median_ms']:.2f}x; "
        f"speed-up at {largest}: {speed_up:.1f}x (target >= 10); module p95/median at {largest}: "
        f"{ext_large['p95_ms'] / ext_large['median_ms']:.2f} (target <= 2)"
    )
    print(
        f"simulated day at {reference} operators (operators in a call blocked): {quality['arrivals']} routed "
        f"arrivals, best-tier share {quality['best_tier_share']}, order inside the tier kept "
        f"{quality['in_tier_order_share']}, load spread among equivalent operators {quality['load_spread']}"
    )
    output["growth"] = round(growth, 2)
    output["speed_up"] = round(speed_up, 1)
    return output


if __name__ == "__main__":
    main()
