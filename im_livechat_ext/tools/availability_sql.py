"""Who can take a chat, as SQL (the models run it): the ongoing chats an
operator holds, who is in a call, each one's limit, and the operators
present and under their limit. Nothing here touches a cursor."""

from odoo.tools import SQL

from .routing_rules import ONGOING_WINDOW


def int_array(ids):
    """`ids` as one int[] literal: PostgreSQL parses and plans one constant
    instead of one per id (ARRAY[...] of 2,000 ids costs milliseconds)."""
    return SQL("%s::int[]", "{%s}" % ",".join(map(str, map(int, ids))))


def ongoing_sessions_sql(now):
    """Ongoing chats per partner as rows (partner_id, ongoing): sessions the
    operator was given and is still in (the session's operator), and those a
    chatbot's forward gave them (which keeps the bot as livechat operator:
    the member row says the routing gave it). A colleague who was merely
    added to a session does not count it: nobody makes an operator look
    full by adding them to chats.

    The first part reads only the partial index of ongoing sessions (it
    holds the operator and whether they left), the second the few members
    a forward gave a chat to: the cost follows the chats open now, never an
    operator's history of memberships nor the number of operators."""
    since = now - ONGOING_WINDOW
    return SQL(
        """
        SELECT partner_id, COUNT(*) AS ongoing FROM (
            SELECT session.livechat_operator_id AS partner_id
              FROM discuss_channel session
             WHERE session.channel_type = 'livechat' AND session.livechat_active
               AND GREATEST(session.create_date, session.last_interest_dt) >= %(since)s
               AND session.livechat_operator_id IS NOT NULL
               -- NULL (a row written by SQL that did not say): still in it
               AND session.livechat_operator_left IS NOT TRUE
            UNION ALL
            SELECT member.partner_id
              FROM discuss_channel_member member
              JOIN discuss_channel session ON session.id = member.channel_id
             WHERE member.livechat_assigned AND member.partner_id IS NOT NULL
               AND member.partner_id IS DISTINCT FROM session.livechat_operator_id
               AND session.channel_type = 'livechat' AND session.livechat_active
               AND GREATEST(session.create_date, session.last_interest_dt) >= %(since)s
        ) counted
        GROUP BY partner_id""",
        since=since,
    )


def in_a_call_sql(partner):
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


def limit_of_user_sql(max_sessions, own_limits=True):
    """The most chats the operator `u` (a res_users row) may hold: their own
    limit (F19) with `own_limits`, else the channel's `max_sessions` (NULL:
    no limit)."""
    if not own_limits:
        return SQL("%s::int", max_sessions)
    return SQL("COALESCE(NULLIF(u.livechat_max_sessions, 0), %s::int)", max_sessions)


def available_operators_sql(
    now, inactive_before, max_sessions, block_call, channel_id=None, user_ids=None, own_limits=True
):
    """The statement of the ids of those of `user_ids` and of the operators of `channel_id` (either
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
    limit_of_user = limit_of_user_sql(max_sessions, own_limits)
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
        conditions.append(SQL("NOT %s", in_a_call_sql(SQL("candidate.partner_id"))))
    return SQL(
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
