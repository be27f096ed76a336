"""The routing's SQL: who can take a chat, ranking by the rules of
routing_rules.py, and claiming the winner. Each is one query (the claim a
few) whatever the number of operators, expertises and sessions: PostgreSQL
ranks and returns only the best few rows."""

from psycopg2.extensions import TransactionRollbackError

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


def _ongoing_sessions_sql(now, partners, at_least=None):
    """Ongoing chats per partner (of the query `partners`) as rows
    (partner_id, ongoing): sessions the operator takes part in, given directly
    or joined through a chatbot (which keeps the bot as livechat operator).
    With `at_least` (SQL of a number per member.partner_id), only partners
    with at least that many.

    Always driven from the ongoing sessions: `partners` is evaluated once,
    as an array, so that a poor estimate of its size never makes PostgreSQL
    walk every partner's memberships instead."""
    return SQL(
        """
        WITH ongoing_session AS MATERIALIZED (
            -- few, by the partial index: members are looked up from them
            SELECT id FROM discuss_channel
             WHERE channel_type = 'livechat' AND livechat_active
               AND GREATEST(create_date, last_interest_dt) >= %(ongoing_since)s
        )
        SELECT member.partner_id, COUNT(*) AS ongoing
          FROM ongoing_session session
          -- lateral: each session's members by index, never a scan of all members
          CROSS JOIN LATERAL (
              SELECT partner_id FROM discuss_channel_member WHERE channel_id = session.id
          ) member
         WHERE member.partner_id = ANY(ARRAY(%(partners)s))
         GROUP BY member.partner_id
        %(having)s""",
        partners=partners,
        ongoing_since=now - ONGOING_WINDOW,
        having=SQL("HAVING COUNT(*) >= %s", at_least) if at_least is not None else SQL(),
    )


def _in_a_call_sql(partners):
    """Partners (of the query `partners`) in a call."""
    return SQL(
        """
        SELECT DISTINCT member.partner_id
          FROM discuss_channel_rtc_session rtc
          JOIN discuss_channel_member member ON member.id = rtc.channel_member_id
         WHERE member.partner_id IN (%s)""",
        partners,
    )


def available_operator_ids(
    cr, now, inactive_before, max_sessions, block_call, channel_id=None, user_ids=None, own_limits=True
):
    """Ids of those of `user_ids` (else of the operators of `channel_id`) who
    can take a chat now: active internal users, online (not away) and active
    since `inactive_before` (None: any time), under their own limit (with
    `own_limits`) else `max_sessions` (None: no limit), not in a call when
    `block_call`. Load and calls are read only for operators a limit or the
    call rule applies to."""
    if user_ids is None:
        operators = SQL("IN (SELECT user_id FROM im_livechat_channel_im_user WHERE channel_id = %s)", channel_id)
    else:
        operators = SQL("= ANY(%s)", list(user_ids))
    conditions = [SQL("TRUE")]
    if max_sessions is not None or own_limits:
        # with no limit for anybody, the load query is never run
        limit_of_member = SQL("%s::int", max_sessions)
        if own_limits:
            limit_of_member = SQL(
                """(SELECT COALESCE(NULLIF(MIN(u.livechat_max_sessions), 0), %s::int)
                      FROM res_users u WHERE u.partner_id = member.partner_id)""",
                max_sessions,
            )
        full = _ongoing_sessions_sql(
            now, SQL("SELECT partner_id FROM candidate WHERE max_sessions IS NOT NULL"), at_least=limit_of_member
        )
        conditions.append(
            SQL(
                "(candidate.max_sessions IS NULL OR candidate.partner_id NOT IN (SELECT partner_id FROM (%s) full_))",
                full,
            )
        )
    if block_call:
        conditions.append(
            SQL("candidate.partner_id NOT IN (%s)", _in_a_call_sql(SQL("SELECT partner_id FROM candidate")))
        )
    cr.execute(
        SQL(
            """
            WITH candidate AS (
                SELECT u.id AS user_id, u.partner_id,
                       COALESCE(CASE WHEN %(own_limits)s THEN NULLIF(u.livechat_max_sessions, 0) END,
                                %(max_sessions)s::int) AS max_sessions
                  FROM res_users u
                  JOIN bus_presence presence ON presence.user_id = u.id
                 WHERE u.id %(operators)s
                   AND u.active AND NOT u.share
                   AND presence.status = 'online'
                   AND (%(inactive_before)s::timestamp IS NULL OR presence.last_presence >= %(inactive_before)s)
            )
            SELECT candidate.user_id
              FROM candidate
             WHERE %(can_take)s
             ORDER BY candidate.user_id
            """,
            operators=operators,
            inactive_before=inactive_before,
            own_limits=bool(own_limits),
            max_sessions=max_sessions,
            can_take=SQL(" AND ").join(conditions),
        )
    )
    return [user_id for (user_id,) in cr.fetchall()]


def _tier_sql(priority, requested):
    """CASE giving each operator their tier: the index of the first of
    ROUTING_TIERS[priority] they are in."""
    checks = {
        LANGUAGE: SQL("speaks"),
        COUNTRY: SQL("same_country"),
        None: SQL("TRUE"),
        ALL_EXPERTISES: SQL("matched >= %s", requested),
        ONE_EXPERTISE: SQL("(matched > 0 OR %s = 0)", requested),
    }
    whens = [
        SQL("WHEN %s AND %s THEN %s", checks[place], checks[expertise], index)
        for index, (place, expertise) in enumerate(ROUTING_TIERS[priority])
    ]
    return SQL("CASE %s END", SQL(" ").join(whens))


def _base_of_sql(code):
    """lang_base() in SQL."""
    return SQL("lower(split_part(split_part(%s, '@', 1), '_', 1))", code)


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
    chat_lang_relation=("res_lang_res_users_settings_rel", "res_users_settings_id", "res_lang_id"),
    limit=16,
):
    """The best `limit` of `user_ids` (operators who can take a chat now),
    best first, as dicts: user_id, partner_id, chat_name, tier, ongoing,
    in_call, lang_code (the language that matched), same_country,
    matched_ids, has_status, own_limit (F19; None: the channel's). `chat_lang_relation`: table and columns of the
    settings' chat languages.

    Tiers come first, from facts that cost little (languages, country,
    expertises); load, calls and last assignments are read only for the
    members of the best tier (and the previous operator)."""
    relation, settings_column, lang_column = chat_lang_relation
    cr.execute(
        SQL(
            """
            WITH candidate AS (
                SELECT u.id AS user_id, u.partner_id, p.lang AS main_lang, p.country_id,
                       COALESCE(NULLIF(settings.livechat_username, ''), p.name) AS chat_name,
                       settings.id AS settings_id, NULLIF(u.livechat_max_sessions, 0) AS own_limit
                  FROM unnest(%(user_ids)s::int[]) AS wanted(id)
                  JOIN res_users u ON u.id = wanted.id
                  JOIN res_partner p ON p.id = u.partner_id
                  LEFT JOIN res_users_settings settings ON settings.user_id = u.id
                 WHERE u.id != ALL(%(exclude_user_ids)s::int[])
                   AND u.active AND NOT u.share
            ), chat_lang AS (
                -- chat languages of the visitor's base language, per user settings
                SELECT %(settings_column)s AS settings_id,
                       bool_or(lang.code = %(lang)s) AS exact, min(lang.code) AS same_base_code
                  FROM %(relation)s rel
                  JOIN res_lang lang ON lang.id = %(lang_column)s AND lang.active
                 WHERE %(lang)s::varchar IS NOT NULL AND %(lang_code_base)s = %(lang_base)s
                 GROUP BY 1
            ), knows AS (
                SELECT rel.user_id, array_agg(rel.expertise_id ORDER BY rel.expertise_id) AS ids
                  FROM im_livechat_expertise_res_users_rel rel
                  JOIN im_livechat_expertise expertise ON expertise.id = rel.expertise_id AND expertise.active
                 WHERE rel.expertise_id = ANY(%(expertise_ids)s)
                 GROUP BY rel.user_id
            ), fact AS (
                SELECT candidate.user_id, candidate.partner_id, candidate.chat_name, candidate.own_limit,
                       %(lang)s::varchar IS NOT NULL
                           AND (candidate.main_lang = %(lang)s OR COALESCE(chat_lang.exact, FALSE)) AS speaks_exact,
                       CASE WHEN %(lang)s::varchar IS NOT NULL THEN
                           LEAST(CASE WHEN %(main_lang_base)s = %(lang_base)s THEN candidate.main_lang END,
                                 chat_lang.same_base_code)
                       END AS same_base_code,
                       COALESCE(candidate.country_id = %(country_id)s, FALSE) AS same_country,
                       COALESCE(knows.ids, '{}') AS matched_ids
                  FROM candidate
                  LEFT JOIN chat_lang ON chat_lang.settings_id = candidate.settings_id
                  LEFT JOIN knows ON knows.user_id = candidate.user_id
            ), judged AS (
                -- "language": exactly, or by base language when nobody has it exactly
                SELECT fact.*,
                       CASE WHEN bool_or(speaks_exact) OVER () THEN CASE WHEN speaks_exact THEN %(lang)s END
                            ELSE same_base_code END AS lang_code,
                       cardinality(matched_ids) AS matched
                  FROM fact
            ), tiered AS (
                SELECT judged.*, %(tier)s AS preference_tier
                  FROM (SELECT judged.*, lang_code IS NOT NULL AS speaks FROM judged) judged
            ), tier_size AS (
                SELECT preference_tier, COUNT(*) AS size FROM tiered GROUP BY preference_tier
            ), kept_tier AS (
                -- the best tiers holding `limit` operators: enough for the
                -- claim to go on to the next ones when the first are taken
                SELECT preference_tier FROM (
                    SELECT preference_tier,
                           SUM(size) OVER (ORDER BY preference_tier) - size AS in_better_tiers
                      FROM tier_size
                ) counted
                 WHERE in_better_tiers < %(limit)s
            ), best AS (
                SELECT * FROM tiered
                 WHERE preference_tier IN (SELECT preference_tier FROM kept_tier)
                    OR partner_id = %(previous_partner_id)s
            ), load AS (%(load)s
            ), calling AS (%(calling)s
            ), ranked AS (
                SELECT best.*, COALESCE(load.ongoing, 0) AS ongoing, calling.partner_id IS NOT NULL AS in_call,
                       status.id IS NOT NULL AS has_status, status.last_assignment_dt,
                       COALESCE(status.last_assignment_dt >= %(buffer_since)s, FALSE) AS recent
                  FROM best
                  LEFT JOIN load ON load.partner_id = best.partner_id
                  LEFT JOIN calling ON calling.partner_id = best.partner_id
                  LEFT JOIN %(status_table)s status ON status.user_id = best.user_id
            )
            SELECT user_id, partner_id, chat_name, ongoing, in_call, lang_code, same_country, matched_ids,
                   has_status, own_limit,
                   CASE WHEN partner_id = %(previous_partner_id)s AND NOT (in_call AND ongoing >= %(call_limit)s)
                        THEN %(previous_tier)s ELSE preference_tier END AS tier
              FROM ranked
             ORDER BY tier, ongoing, in_call, recent,
                      -- a burst: among operators all just given a chat, longest ago first
                      CASE WHEN recent THEN last_assignment_dt END NULLS FIRST,
                      random()
             LIMIT %(limit)s
            """,
            user_ids=sorted(set(user_ids)),
            relation=SQL.identifier(relation),
            settings_column=SQL.identifier("rel", settings_column),
            lang_column=SQL.identifier("rel", lang_column),
            lang_code_base=_base_of_sql(SQL("lang.code")),
            main_lang_base=_base_of_sql(SQL("candidate.main_lang")),
            exclude_user_ids=list(exclude_user_ids),
            load=_ongoing_sessions_sql(now, SQL("SELECT partner_id FROM best")),
            calling=_in_a_call_sql(SQL("SELECT partner_id FROM best")),
            lang=lang or None,
            lang_base=lang_base(lang),
            expertise_ids=list(expertise_ids),
            buffer_since=now - ASSIGNMENT_BUFFER,
            country_id=country_id or None,
            status_table=SQL.identifier(STATUS_TABLE),
            tier=_tier_sql(priority, len(expertise_ids)),
            previous_partner_id=previous_partner_id or 0,
            call_limit=PREVIOUS_OPERATOR_CALL_LIMIT,
            previous_tier=PREVIOUS_OPERATOR_TIER,
            limit=limit,
        )
    )
    return cr.dictfetchall()


def claim_first(cr, ranked, protect_capacity, wait=True):
    """Lock the status row of the best operator of `ranked` (rows of
    rank_operators, best first) that no other transaction is claiming, and
    return their id (None: nobody can take the chat).

    The lock lasts until the transaction ends: meanwhile, concurrent visitors
    skip this operator instead of waiting for them. An operator given a chat
    by a transaction that committed after ours began is skipped too (locking
    their updated row fails to serialize, inside a savepoint): our snapshot
    does not see that chat, so it would misjudge their load.

    When every ranked operator is being claimed, nobody is turned away: with
    no limit to protect (`protect_capacity` false and the best one has no
    limit of their own) the best one is shared, as
    stock Odoo does; with a limit, we wait for the best one's transaction and,
    if it gave them a chat, fail to serialize so that Odoo retries the whole
    request with a view that sees that chat. Without `wait` (serving the
    waiting line, which the next freed slot serves again), nobody is chosen
    then."""
    user_ids = [row["user_id"] for row in ranked]
    if not user_ids:
        return None
    if missing := sorted(row["user_id"] for row in ranked if not row["has_status"]):
        # operators never given a chat yet have no row to lock: add them (one
        # by one if a concurrent transaction is adding some of them)
        if try_in_savepoint(cr, _insert_status_sql(missing)) is None:
            for user_id in missing:
                try_in_savepoint(cr, _insert_status_sql([user_id]))
    # usually the first free one at once; one by one when some fail to serialize
    first_free = SQL(
        """SELECT user_id FROM %s WHERE user_id = ANY(%s)
            ORDER BY array_position(%s, user_id) LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED""",
        SQL.identifier(STATUS_TABLE),
        user_ids,
        user_ids,
    )
    rows = try_in_savepoint(cr, first_free)
    if rows:
        return rows[0][0]
    if rows is None:
        for user_id in user_ids:
            if try_in_savepoint(cr, _lock_sql(user_id, skip_locked=True)):
                return user_id
    if not (protect_capacity or ranked[0]["own_limit"]):
        return user_ids[0]
    if not wait:
        return None
    # a serialization failure here is the signal for Odoo to retry the
    # request (it logs the retry itself): not an error worth a line of its own
    cr.execute(_lock_sql(user_ids[0], skip_locked=False), log_exceptions=False)
    return user_ids[0] if cr.fetchone() else None


def _lock_sql(user_id, skip_locked):
    return SQL(
        "SELECT user_id FROM %s WHERE user_id = %s FOR NO KEY UPDATE %s",
        SQL.identifier(STATUS_TABLE),
        user_id,
        SQL("SKIP LOCKED" if skip_locked else ""),
    )


def ensure_status_rows(cr, user_ids):
    """Give these operators their status row now, when they join a channel:
    inserting it at the moment of a burst would make visitors wait on each
    other's inserts. Rows that exist are left alone (no wait on a routing
    transaction that holds them)."""
    if user_ids:
        try_in_savepoint(
            cr,
            SQL(
                """INSERT INTO %(table)s (user_id)
                   SELECT new.user_id FROM unnest(%(ids)s::int[]) AS new(user_id)
                    WHERE NOT EXISTS (SELECT 1 FROM %(table)s WHERE user_id = new.user_id)
                   ON CONFLICT (user_id) DO NOTHING""",
                table=SQL.identifier(STATUS_TABLE),
                ids=sorted(user_ids),
            ),
        )


def _insert_status_sql(user_ids):
    return SQL(
        "INSERT INTO %s (user_id) SELECT unnest(%s::int[]) ON CONFLICT (user_id) DO NOTHING",
        SQL.identifier(STATUS_TABLE),
        user_ids,
    )


def try_in_savepoint(cr, query):
    """The rows of `query`, or None when it failed to serialize or deadlocked
    (rolled back to a savepoint: the transaction goes on)."""
    with cr.savepoint(flush=False) as savepoint:
        try:
            cr.execute(query, log_exceptions=False)
        except TransactionRollbackError:
            savepoint.rollback()
            return None
        return cr.fetchall() if cr.description else []


def mark_assigned(cr, user_ids):
    """Record that these operators just got a chat (the 120 s buffer and the
    burst order read it), to the microsecond. Never waits: the row of an
    operator another transaction is giving a chat right now is left to it,
    and ours, claimed by the routing, is already locked by us."""
    if user_ids:
        ensure_status_rows(cr, user_ids)
        try_in_savepoint(
            cr,
            SQL(
                """WITH free AS (
                       SELECT user_id FROM %(table)s WHERE user_id = ANY(%(ids)s)
                        ORDER BY user_id FOR NO KEY UPDATE SKIP LOCKED
                   )
                   UPDATE %(table)s status SET last_assignment_dt = (clock_timestamp() AT TIME ZONE 'UTC')
                     FROM free WHERE status.user_id = free.user_id""",
                table=SQL.identifier(STATUS_TABLE),
                ids=sorted(user_ids),
            ),
        )
