"""F18, unanswered chats: the statements (run by discuss.channel) of which
sessions wait for an operator's answer, and since when. One query, whatever the number of sessions and messages: each
session's messages are read by index, from its last answer on.

A visitor's message is one written by a guest or a portal user (and posted
by a public or portal user, never by an employee in their name); an answer
is one written by an internal user other than OdooBot (the operator or a
colleague they invited). The clock of the current operator starts at the
visitor's first unanswered message, or when that operator joined if later:
an operator who just took the chat over gets the whole timeout. The current
operator is the session's operator when a human of the chat, else the human
who joined it last (a chatbot's forward keeps the bot as the session's
operator); an operator archived since still counts: their visitor is not
left waiting for an answer that cannot come."""

from odoo import SUPERUSER_ID
from odoo.tools import SQL

from .routing_rules import ONGOING_WINDOW


def visitor_message_sql(message):
    """Whether the mail_message `message` (an alias) is the visitor's own:
    written by a guest or a portal user, and posted by a public or portal
    user, never by an employee in their name (nor by a chatbot or OdooBot,
    whose partners are no portal user's)."""
    return SQL(
        """(%(message)s.author_guest_id IS NOT NULL
              OR EXISTS (SELECT 1 FROM res_users visitor
                          WHERE visitor.partner_id = %(message)s.author_id AND visitor.share))
           AND EXISTS (SELECT 1 FROM res_users poster WHERE poster.id = %(message)s.create_uid AND poster.share)""",
        message=SQL.identifier(message),
    )


def unanswered_sessions_sql(now, session_ids=None):
    """Rows (session_id, livechat_channel_id, operator_partner_id,
    first_message_id, waiting_since, due) of the ongoing sessions of channels
    with an unanswered timeout whose visitor waits for an answer from their
    human operator, in the order they fall due (`due` <= `now`: due now).
    `session_ids` restricts them (None: all)."""
    return SQL(
        """
            WITH session AS (
                SELECT s.id, s.livechat_channel_id, operator.partner_id AS livechat_operator_id,
                       lc.unanswered_timeout, operator.create_date AS operator_since
                  FROM discuss_channel s
                  JOIN im_livechat_channel lc ON lc.id = s.livechat_channel_id AND lc.unanswered_timeout > 0
                  -- a human operator in the chat (not OdooBot holding a waiting visitor, not a chatbot),
                  -- archived or not: one archived since answers nobody
                  CROSS JOIN LATERAL (
                      SELECT member.partner_id, member.create_date
                        FROM discuss_channel_member member
                        JOIN res_users human ON human.partner_id = member.partner_id
                             AND NOT human.share AND human.id != %(odoobot)s
                       WHERE member.channel_id = s.id
                       ORDER BY member.partner_id = s.livechat_operator_id DESC, human.active DESC,
                                member.create_date DESC, member.id DESC
                       LIMIT 1
                  ) operator
                 WHERE s.channel_type = 'livechat' AND s.livechat_active
                   AND s.livechat_waiting_since IS NULL
                   AND GREATEST(s.create_date, s.last_interest_dt) >= %(ongoing_since)s
                   AND (%(all)s OR s.id = ANY(%(session_ids)s))
            ), waiting AS (
                SELECT session.*, first_question.id AS first_message_id,
                       GREATEST(first_question.create_date, session.operator_since) AS waiting_since
                  FROM session
                  CROSS JOIN LATERAL (
                      SELECT COALESCE(MAX(message.id), 0) AS id
                        FROM mail_message message
                        JOIN res_users author ON author.partner_id = message.author_id
                       WHERE message.model = 'discuss.channel' AND message.res_id = session.id
                         AND message.message_type = 'comment'
                         AND NOT author.share AND author.id != %(odoobot)s
                  ) last_answer
                  CROSS JOIN LATERAL (
                      SELECT message.id, message.create_date
                        FROM mail_message message
                       WHERE message.model = 'discuss.channel' AND message.res_id = session.id
                         AND message.message_type = 'comment' AND message.id > last_answer.id
                         AND %(visitor_message)s
                       ORDER BY message.id
                       LIMIT 1
                  ) first_question
            )
            SELECT id AS session_id, livechat_channel_id, livechat_operator_id AS operator_partner_id,
                   first_message_id, waiting_since,
                   waiting_since + make_interval(secs => unanswered_timeout) AS due
              FROM waiting
             ORDER BY due, id
            """,
        odoobot=SUPERUSER_ID,  # OdooBot
        visitor_message=visitor_message_sql("message"),
        ongoing_since=now - ONGOING_WINDOW,
        all=session_ids is None,
        session_ids=list(session_ids or []),
    )


def lock_session_sql(session_id):
    """Lock this session's row and its members' rows, without waiting: one
    row, False when another transaction is writing one of them (an operator
    answering or opening the chat right now)."""
    return SQL(
        """WITH session AS (
               SELECT id FROM discuss_channel WHERE id = %(id)s FOR NO KEY UPDATE SKIP LOCKED
           ), member AS (
               SELECT id FROM discuss_channel_member WHERE channel_id = %(id)s FOR NO KEY UPDATE SKIP LOCKED
           )
           SELECT (SELECT COUNT(*) FROM session) = 1
              AND (SELECT COUNT(*) FROM member)
                  = (SELECT COUNT(*) FROM discuss_channel_member WHERE channel_id = %(id)s)""",
        id=session_id,
    )
