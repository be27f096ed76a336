"""The benchmark's simulated day (./dev.sh bench): a day of arrivals
routed by the module, each checked against an independent reading of the
facts ranked by the module's own rules (predicates, tiers and tie-breaks)."""

import random

from bench_data import COUNTRIES, VISITOR_LANGS


def channel_rules(env):
    """The module's routing rules (importable once Odoo has loaded its addons)."""
    from odoo.addons.im_livechat_ext.tools import routing_rules  # noqa: PLC0415

    return routing_rules


def module_now():
    """The clock the routing reads (Odoo's, to the second)."""
    from odoo import fields  # noqa: PLC0415 (importable once Odoo is on the path)

    return fields.Datetime.now()


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
        {"channel": channel.id, "recent_since": module_now() - channel_rules(env).ASSIGNMENT_BUFFER},
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
