"""The routing's SQL: who can take a chat, and ranking by the rules of
routing_rules.py (operator_claim.py then claims the winner). Each is one
query whatever the number of operators, expertises and sessions: PostgreSQL
ranks and returns only the best few rows."""

from odoo.tools import SQL

from .routing_rules import (
    ALL_EXPERTISES,
    ASSIGNMENT_BUFFER,
    COUNTRY,
    LANGUAGE,
    ONE_EXPERTISE,
    ONGOING_WINDOW,
    PREVIOUS_OPERATOR_CALL_LIMIT,
    PREVIOUS_OPERATOR_TIER,
    ROUTING_TIERS,
    lang_base,
)

# the small per-operator row that a routing transaction locks while it gives
# that operator a chat (model im_livechat.operator.status)
STATUS_TABLE = "im_livechat_operator_status"
# operators ranked per selection: the best one and those the claim goes on to
# when the best ones are being given a chat by concurrent transactions
RANKED_LIMIT = 16


def int_array(ids):
    """`ids` as one int[] literal: PostgreSQL parses and plans one constant
    instead of one per id (ARRAY[...] of 2,000 ids costs milliseconds)."""
    return SQL("%s::int[]", "{%s}" % ",".join(map(str, map(int, ids))))


def ongoing_sessions_sql(now):
    """Ongoing chats per partner as rows (partner_id, ongoing): sessions the
    operator was given, directly (the session's operator) or through a
    chatbot's forward (which keeps the bot as livechat operator: the member
    row says the routing gave it). A colleague who was merely added to a
    session does not count it: nobody makes an operator look full by adding
    them to chats.

    Driven from the ongoing sessions (few, by the partial index), their
    members read by index: the cost follows the chats open now, never an
    operator's history of memberships nor the number of operators."""
    return SQL(
        """
        WITH ongoing_session AS MATERIALIZED (
            SELECT id, livechat_operator_id FROM discuss_channel
             WHERE channel_type = 'livechat' AND livechat_active
               AND GREATEST(create_date, last_interest_dt) >= %s
        )
        SELECT member.partner_id, COUNT(*) AS ongoing
          FROM ongoing_session session
          JOIN discuss_channel_member member ON member.channel_id = session.id AND member.partner_id IS NOT NULL
         WHERE member.partner_id = session.livechat_operator_id OR member.livechat_assigned
         GROUP BY member.partner_id""",
        now - ONGOING_WINDOW,
    )


def _in_a_call_sql(partner):
    """Whether `partner` (a column) is in a call: a hash of the partners of
    the few call sessions, built once, never a walk through all members.
    Guests in a call (no partner) stay out of it: with a NULL in the list,
    IN answers NULL instead of FALSE for everybody else."""
    return SQL(
        """%s IN (SELECT member.partner_id FROM discuss_channel_member member
                   WHERE member.id = ANY(ARRAY(SELECT channel_member_id FROM discuss_channel_rtc_session))
                     AND member.partner_id IS NOT NULL)""",
        partner,
    )


def _limit_of_user_sql(max_sessions, own_limits=True):
    """The most chats the operator `u` (a res_users row) may hold: their own
    limit (F19) with `own_limits`, else the channel's `max_sessions` (NULL:
    no limit)."""
    if not own_limits:
        return SQL("%s::int", max_sessions)
    return SQL("COALESCE(NULLIF(u.livechat_max_sessions, 0), %s::int)", max_sessions)


def available_operator_ids(
    cr, now, inactive_before, max_sessions, block_call, channel_id=None, user_ids=None, own_limits=True
):
    """Ids of those of `user_ids` and of the operators of `channel_id` (either
    may be None: no condition) who can take a chat now: active internal
    users, online (not away) and active since `inactive_before` (None: any
    time), under their own limit (with `own_limits`) else `max_sessions`
    (None: no limit), not in a call when `block_call`. Load and calls are
    read only for operators a limit or the call rule applies to."""
    operators = [SQL("TRUE")]
    if channel_id is not None:
        operators.append(
            SQL("u.id IN (SELECT user_id FROM im_livechat_channel_im_user WHERE channel_id = %s)", channel_id)
        )
    if user_ids is not None:
        operators.append(SQL("u.id = ANY(%s)", int_array(user_ids)))
    limit_of_user = _limit_of_user_sql(max_sessions, own_limits)
    conditions = [SQL("TRUE")]
    if max_sessions is not None or own_limits:
        # with no limit for anybody, the load query is never run
        full = SQL(
            """SELECT load.partner_id FROM (%s) load
                 JOIN res_users u ON u.partner_id = load.partner_id
                WHERE load.ongoing >= %s""",
            ongoing_sessions_sql(now),
            limit_of_user,
        )
        conditions.append(SQL("(candidate.max_sessions IS NULL OR candidate.partner_id NOT IN (%s))", full))
    if block_call:
        conditions.append(SQL("NOT %s", _in_a_call_sql(SQL("candidate.partner_id"))))
    cr.execute(
        SQL(
            """
            WITH candidate AS (
                SELECT u.id AS user_id, u.partner_id, %(limit_of_user)s AS max_sessions
                  FROM res_users u
                  JOIN bus_presence presence ON presence.user_id = u.id
                 WHERE %(operators)s
                   AND u.active AND NOT u.share
                   AND presence.status = 'online'
                   AND (%(inactive_before)s::timestamp IS NULL OR presence.last_presence >= %(inactive_before)s)
            )
            SELECT candidate.user_id
              FROM candidate
             WHERE %(can_take)s
             ORDER BY candidate.user_id
            """,
            operators=SQL(" AND ").join(operators),
            inactive_before=inactive_before,
            limit_of_user=limit_of_user,
            can_take=SQL(" AND ").join(conditions),
        )
    )
    return [user_id for (user_id,) in cr.fetchall()]


def _tier_sql(priority, speaks, same_country, matched, requested):
    """The tier of each operator: the index of the first of
    ROUTING_TIERS[priority] they are in. Each fact is an SQL expression, or
    True / False where the visitor's request settles it for everybody (no
    language asked: nobody speaks it; no expertise asked: `matched` None,
    both expertise checks hold): those tiers are settled here, not left to
    PostgreSQL to fold in each query."""
    if matched is None:
        all_expertises = one_expertise = True
    else:
        all_expertises = SQL("%s >= %s", matched, requested)
        one_expertise = SQL("(%s > 0 OR %s = 0)", matched, requested)
    checks = {
        LANGUAGE: speaks,
        COUNTRY: same_country,
        None: True,
        ALL_EXPERTISES: all_expertises,
        ONE_EXPERTISE: one_expertise,
    }
    whens, seen = [], []
    for index, (place, expertise) in enumerate(ROUTING_TIERS[priority]):
        conditions = [checks[place], checks[expertise]]
        if any(condition is False for condition in conditions):
            continue  # nobody is in this tier
        unsettled = [condition for condition in conditions if condition is not True]
        if not unsettled:
            # everybody not in a tier before is in this one (the last tier,
            # anywhere and any expertise, always is)
            return SQL("CASE %s ELSE %s END", SQL(" ").join(whens), index) if whens else SQL("%s", index)
        condition = SQL(" AND ").join(unsettled)
        if condition in seen:
            continue  # the request made it the same as a tier before: nobody is left for it
        seen.append(condition)
        whens.append(SQL("WHEN %s THEN %s", condition, index))
    # a list of tiers whose last one does not hold everybody: those in none
    # of them rank after every tier
    return SQL("CASE %s ELSE %s END", SQL(" ").join(whens), len(ROUTING_TIERS[priority]))


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


def rank_operators(
    cr,
    now,
    user_ids,
    priority="language",
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
    """The best `limit` of `user_ids` (operators present and free of calls
    that block them), best first, as dicts: user_id, partner_id, tier,
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
    ids = int_array(user_ids)
    joins = []
    if lang or country_id:
        joins.append(SQL("JOIN res_partner p ON p.id = u.partner_id"))
    ongoing = SQL("COALESCE(load.ongoing, 0)")
    in_call = _in_a_call_sql(SQL("u.partner_id"))
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
    tier = _tier_sql(priority, speaks=speaks, same_country=same_country, matched=matched, requested=requested)
    if previous_partner_id:
        # rule 2: the visitor's previous operator first, unless in a call
        # with several chats going on
        tier = SQL(
            "CASE WHEN u.partner_id = %s AND NOT (%s AND %s >= %s) THEN %s ELSE %s END",
            previous_partner_id,
            in_call,
            ongoing,
            PREVIOUS_OPERATOR_CALL_LIMIT,
            PREVIOUS_OPERATOR_TIER,
            tier,
        )
    conditions = [
        SQL("u.id = ANY(%s)", ids),
        SQL("u.active AND NOT u.share"),
        SQL("%s < COALESCE(%s, %s + 1)", ongoing, _limit_of_user_sql(max_sessions), ongoing),
    ]
    if exclude_user_ids:
        conditions.append(SQL("u.id != ALL(%s::int[])", list(exclude_user_ids)))
    if block_call:
        conditions.append(SQL("NOT %s", in_call))
    cr.execute(
        SQL(
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
             -- to when the first are being given a chat
             ORDER BY tier, ongoing, in_call, %(recent)s,
                      -- a burst: among operators all just given a chat, longest ago first
                      CASE WHEN %(recent)s THEN status.last_assignment_dt END NULLS FIRST,
                      random()
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
            recent=recent,
            limit=limit,
        )
    )
    return cr.dictfetchall()
