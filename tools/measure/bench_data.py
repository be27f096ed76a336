"""The benchmark's data (./dev.sh bench): the same seeded operators,
presence, channels and sessions for stock Odoo and the module, by workload
(WORKLOADS), and the visitors who ask for a chat."""

import random
import subprocess
from datetime import datetime, timedelta

LANGS = ["en_US", "fr_FR", "fr_BE", "es_ES", "de_DE", "it_IT", "nl_NL", "pt_PT"]
VISITOR_LANGS = LANGS + ["fr_CA", "es_MX", "ja_JP", None]
COUNTRIES = ["us", "fr", "be", "es", "de", "it", "nl", "pt", "mx", "ca"]


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
