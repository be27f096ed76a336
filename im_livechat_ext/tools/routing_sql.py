"""The routing's SQL, composed here and run by the models: who can take a
chat, and the ranking by the rules of routing_rules.py (the claim then
takes the winner). Each is one statement whatever the number of operators,
expertises and sessions: PostgreSQL ranks and returns only the best few
rows. Nothing here touches a cursor."""

import re
from dataclasses import dataclass, field
from datetime import timedelta

from odoo.tools import SQL

from .availability_sql import (
    available_operators_sql,
    in_a_call_sql,
    int_array,
    limit_of_user_sql,
    ongoing_sessions_sql,
)
from .claim_sql import STATUS_TABLE
from .routing_rules import ASSIGNMENT_BUFFER, PREVIOUS_OPERATOR_CALL_LIMIT, TIE_BREAKS, lang_base, tier_sql

# operators ranked per selection: the best one and those the claim goes on to
# when the best ones are being given a chat by concurrent transactions
RANKED_LIMIT = 16


def _base_of_sql(code):
    """lang_base() in SQL."""
    return SQL("lower(split_part(split_part(%s, '@', 1), '_', 1))", code)


def _chat_lang_sql(lang, chat_lang_relation, user_ids):
    """Per operator of `user_ids` (an int[]), their chat languages of
    `lang`'s base language (few rows): (user_id, exact, same_base_code)."""
    relation, settings_column, lang_column = chat_lang_relation
    return SQL(
        """
        SELECT settings.user_id, bool_or(lang.code = %(lang)s) AS exact, min(lang.code) AS same_base_code
          FROM res_lang lang
          JOIN %(relation)s rel ON %(lang_column)s = lang.id
          -- fence: the candidates' settings hashed once, not looked up row
          -- by row (PostgreSQL cannot estimate how many match the base language)
          JOIN (SELECT id, user_id FROM res_users_settings
                 WHERE user_id = ANY(%(user_ids)s) OFFSET 0) settings
            ON settings.id = %(settings_column)s
         WHERE lang.active AND %(lang_code_base)s = %(lang_base)s
         GROUP BY settings.user_id""",
        lang=lang,
        relation=SQL.identifier(relation),
        settings_column=SQL.identifier("rel", settings_column),
        lang_column=SQL.identifier("rel", lang_column),
        lang_code_base=_base_of_sql(SQL("lang.code")),
        lang_base=lang_base(lang),
        user_ids=user_ids,
    )


def _knows_sql(expertise_ids):
    """Per operator knowing some of `expertise_ids` (those not archived):
    (user_id, ids), the ids sorted."""
    return SQL(
        """
        SELECT rel.user_id, array_agg(rel.expertise_id ORDER BY rel.expertise_id) AS ids
          FROM im_livechat_expertise_res_users_rel rel
          JOIN im_livechat_expertise expertise ON expertise.id = rel.expertise_id AND expertise.active
         WHERE rel.expertise_id = ANY(%s::int[])
         GROUP BY rel.user_id""",
        list(expertise_ids),
    )


def rank_operators_sql(
    now,
    user_ids,
    tiers,
    checks,
    tie_breaks=None,
    lang=None,
    country_id=None,
    expertise_ids=(),
    previous_partner_id=None,
    exclude_user_ids=(),
    max_sessions=None,
    block_call=False,
    chat_lang_relation=("res_lang_res_users_settings_rel", "res_users_settings_id", "res_lang_id"),
    limit=RANKED_LIMIT,
):
    """The statement of the best `limit` of `user_ids` (operators present
    and free of calls that block them), best first, ranked by `tiers` of
    `checks` (routing_rules), as rows: user_id, partner_id, tier,
    ongoing, in_call, lang_code (the language that matched), same_country,
    matched_ids, has_status, own_limit (F19; None: the channel's).
    Operators at their own limit, else at `max_sessions` (the channel's;
    None: no limit), are left out here: the chats are counted once, for the
    limits and the ranking alike. With `block_call`, operators in a call
    are left out too (the candidates were read from an earlier snapshot
    when the claim ranks again). Archived expertises among `expertise_ids`
    are ignored. `chat_lang_relation`: table and columns of the settings'
    chat languages.

    One flat SELECT over the operators, each fact (languages, country,
    expertises, ongoing chats, calls, last assignment) looked up in a hash
    built once; PostgreSQL keeps only the best `limit`. It holds only what
    the visitor asks for (no language: no languages; no country: no
    partner; no expertise: no expertises) and no nested steps: with a small
    team, planning the query costs more than running it."""
    lang = lang or None
    tie_breaks = TIE_BREAKS if tie_breaks is None else tie_breaks
    ids = int_array(user_ids)
    joins = []
    if lang or country_id:
        joins.append(SQL("JOIN res_partner p ON p.id = u.partner_id"))
    ongoing = SQL("COALESCE(load.ongoing, 0)")
    in_call = in_a_call_sql(SQL("u.partner_id"))
    recent = SQL("COALESCE(status.last_assignment_dt >= %s, FALSE)", now - ASSIGNMENT_BUFFER)
    same_country = SQL("COALESCE(p.country_id = %s, FALSE)", country_id) if country_id else False
    if lang:
        joins.append(
            SQL(
                "LEFT JOIN (%s) chat_lang ON chat_lang.user_id = u.id",
                _chat_lang_sql(lang, chat_lang_relation, ids),
            )
        )
        speaks_exact = SQL("(p.lang = %s OR COALESCE(chat_lang.exact, FALSE))", lang)
        same_base_code = SQL(
            "LEAST(CASE WHEN %s = %s THEN p.lang END, chat_lang.same_base_code)",
            _base_of_sql(SQL("p.lang")),
            lang_base(lang),
        )
        # "language": exactly, or by base language when nobody who can take
        # the chat has it exactly
        lang_code = SQL(
            "(CASE WHEN bool_or(%(exact)s) OVER () THEN CASE WHEN %(exact)s THEN %(lang)s::varchar END"
            " ELSE %(same_base)s END)",
            exact=speaks_exact,
            lang=lang,
            same_base=same_base_code,
        )
        speaks = SQL("(%s IS NOT NULL)", lang_code)
    else:
        lang_code, speaks = SQL("NULL::varchar"), False
    if expertise_ids:
        joins.append(SQL("LEFT JOIN (%s) knows ON knows.user_id = u.id", _knows_sql(expertise_ids)))
        matched_ids = SQL("COALESCE(knows.ids, '{}')")
        matched = SQL("cardinality(%s)", matched_ids)
        # the expertises asked for that are not archived: knowing all that
        # is asked is knowing those (counted once, read by several tiers)
        joins.append(
            SQL(
                "CROSS JOIN (SELECT count(*) AS requested FROM im_livechat_expertise"
                " WHERE id = ANY(%s::int[]) AND active) asked",
                list(expertise_ids),
            )
        )
        requested = SQL("asked.requested")
    else:
        matched_ids, matched, requested = SQL("'{}'::int[]"), None, None
    previous = False
    if previous_partner_id:
        previous = SQL(
            "(u.partner_id = %s AND NOT (%s AND %s >= %s))",
            previous_partner_id,
            in_call,
            ongoing,
            PREVIOUS_OPERATOR_CALL_LIMIT,
        )
    facts = {
        "previous": previous,
        "speaks": speaks,
        "same_country": same_country,
        "matched": matched,
        "requested": requested,
        "ongoing": ongoing,
        "in_call": in_call,
        "recent": recent,
        "last_assignment": SQL("status.last_assignment_dt"),
    }
    tier = tier_sql(tiers, checks, facts)
    conditions = [
        SQL("u.id = ANY(%s)", ids),
        SQL("u.active AND NOT u.share"),
        SQL("%s < COALESCE(%s, %s + 1)", ongoing, limit_of_user_sql(max_sessions), ongoing),
    ]
    if exclude_user_ids:
        conditions.append(SQL("u.id != ALL(%s::int[])", list(exclude_user_ids)))
    if block_call:
        conditions.append(SQL("NOT %s", in_call))
    return SQL(
        """
            -- counted once, whatever plan the statistics of a young
            -- database lead to (a nested loop would count it per operator)
            WITH load AS MATERIALIZED (%(load)s)
            SELECT u.id AS user_id, u.partner_id, NULLIF(u.livechat_max_sessions, 0) AS own_limit,
                   %(ongoing)s AS ongoing, %(in_call)s AS in_call, %(lang_code)s AS lang_code,
                   %(same_country)s AS same_country, %(matched_ids)s AS matched_ids,
                   status.id IS NOT NULL AS has_status, %(tier)s AS tier
              FROM res_users u
              LEFT JOIN load ON load.partner_id = u.partner_id
              LEFT JOIN %(status_table)s status ON status.user_id = u.id
              %(joins)s
             WHERE %(conditions)s
             -- the best tier first, then the next ones, for the claim to go on
             -- to when the first are being given a chat; inside a tier the
             -- tie-breaks, then chance
             ORDER BY tier, %(tie_breaks)s, random()
             LIMIT %(limit)s
            """,
        ongoing=ongoing,
        in_call=in_call,
        lang_code=lang_code,
        same_country=same_country,
        matched_ids=matched_ids,
        tier=tier,
        load=ongoing_sessions_sql(now),
        status_table=SQL.identifier(STATUS_TABLE),
        joins=SQL(" ").join(joins),
        conditions=SQL(" AND ").join(conditions),
        tie_breaks=SQL(", ").join(
            SQL("%s /* %s */", tie_break.sql(facts), SQL(re.sub(r"[^\w]", "", name)))
            for name, tie_break in tie_breaks.items()
        ),
        limit=limit,
    )


@dataclass(frozen=True)
class RankingRequest:
    """A visitor's ranking, as data: the routing ranks with it, and the claim
    ranks again with it on a new snapshot (nothing calls back up)."""

    # the operators who could take the chat when the routing read them
    candidate_ids: tuple
    # the channel's inactivity timeout in minutes (0: any time)
    inactivity_minutes: int
    # the channel whose operators they must still be (None: any)
    channel_id: int | None
    # keyword arguments of rank_operators_sql but `now` and `user_ids`
    ranking: dict = field(default_factory=dict)

    def present_sql(self, now):
        """Those of the candidates present now, full or not."""
        minutes = self.inactivity_minutes
        return available_operators_sql(
            now,
            inactive_before=now - timedelta(minutes=minutes) if minutes else None,
            max_sessions=None,
            block_call=False,
            channel_id=self.channel_id,
            user_ids=list(self.candidate_ids),
            own_limits=False,
        )

    def rank_sql(self, now, user_ids):
        return rank_operators_sql(now, user_ids, **self.ranking)
