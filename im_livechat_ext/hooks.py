from odoo.tools import SQL

from odoo.addons.im_livechat.report.im_livechat_report_channel import (
    ImLivechatReportChannel as StockReportChannel,
)

from .models.discuss_channel import FORMER_ONGOING_CHATS_INDEXES, ONGOING_CHATS_INDEX

# stock's context of the Sessions report action, which the module's data replaces
STOCK_REPORT_ACTION_CONTEXT = '{"search_default_last_week":1, "group_by": "start_date:day"}'


def pre_init_hook(env):
    """Channels that exist before the module keep their operators: their
    inactivity timeout starts at 0 (never remove) until an administrator
    chooses one; channels created afterwards get the default, 30 minutes."""
    env.cr.execute(
        "ALTER TABLE im_livechat_channel ADD COLUMN IF NOT EXISTS operator_inactivity_timeout integer DEFAULT 0"
    )
    env.cr.execute("ALTER TABLE im_livechat_channel ALTER COLUMN operator_inactivity_timeout DROP DEFAULT")


def post_init_hook(env):
    """Sessions that existed before the module say how they went (F23) and
    whether their operator is still in them."""
    mark_operators_who_left(env.cr)
    fill_outcomes(env.cr)
    mark_missed(env.cr)


def uninstall_hook(env):
    """Leave the database as stock Odoo had it: no visitor left in a line
    nobody serves any more (each is missed: told, out of the line, session
    kept for stock live chat), its session report view (ours reads
    discuss_channel.livechat_lang_id, a column about to go) and no index of
    ours on stock columns, which Odoo would not drop by itself."""
    env["discuss.channel"].sudo().search([("livechat_waiting_since", "!=", False)])._livechat_miss_waiting_visitors(
        go_on=False
    )
    StockReportChannel.init(env["im_livechat.report.channel"])
    # the Sessions report groups by day again, as stock's action does
    report_action = env.ref("im_livechat.im_livechat_report_channel_action", raise_if_not_found=False)
    if report_action:
        report_action.context = STOCK_REPORT_ACTION_CONTEXT
    for index in (ONGOING_CHATS_INDEX, *FORMER_ONGOING_CHATS_INDEXES):
        env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))


def mark_operators_who_left(cr):
    """Ongoing chats are now counted from the sessions alone: those whose
    operator is no longer in them say so."""
    cr.execute(
        """UPDATE discuss_channel session SET livechat_operator_left = TRUE
            WHERE session.channel_type = 'livechat' AND session.livechat_operator_id IS NOT NULL
              AND NOT EXISTS (SELECT FROM discuss_channel_member member
                               WHERE member.channel_id = session.id
                                 AND member.partner_id = session.livechat_operator_id)"""
    )


def mark_missed(cr):
    """Visitors missed before 18.0.1.7.0 (their notice is in the chat) and
    not answered since: the channel's operators find them as missed."""
    cr.execute(
        """UPDATE discuss_channel session SET livechat_missed = TRUE
            WHERE session.channel_type = 'livechat' AND session.livechat_failure = 'no_agent'
              AND session.livechat_waiting_since IS NULL AND session.livechat_active
              AND EXISTS (SELECT FROM mail_message message
                           WHERE message.model = 'discuss.channel' AND message.res_id = session.id
                             AND message.body LIKE '%%o_livechat_missed%%')"""
    )


def fill_outcomes(cr):
    """How existing sessions went (F23), as well as their messages and
    members tell: a human operator (an internal user, OdooBot aside) who
    wrote, answered; one who is a member, never answered; else nobody was
    available. Two humans who took part, a transfer or a reassignment:
    escalated. Waits in line and shown estimates were not recorded: 0."""
    cr.execute(
        """
        WITH human AS (
            SELECT partner_id FROM res_users WHERE NOT share AND id != 1 AND partner_id IS NOT NULL
        ), livechat AS (
            SELECT id FROM discuss_channel WHERE channel_type = 'livechat' AND livechat_failure IS NULL
        ), took_part AS (
            SELECT member.channel_id, count(DISTINCT member.partner_id) AS humans
              FROM discuss_channel_member member
              JOIN livechat ON livechat.id = member.channel_id
              JOIN human ON human.partner_id = member.partner_id
             GROUP BY member.channel_id
        ), answered AS (
            SELECT DISTINCT message.res_id AS channel_id
              FROM mail_message message
              JOIN livechat ON livechat.id = message.res_id
              JOIN human ON human.partner_id = message.author_id
             WHERE message.model = 'discuss.channel' AND message.message_type = 'comment'
        )
        UPDATE discuss_channel session
           SET livechat_failure = CASE
                   WHEN answered.channel_id IS NOT NULL THEN 'no_failure'
                   WHEN took_part.humans > 0 THEN 'no_answer'
                   ELSE 'no_agent' END,
               livechat_is_escalated = COALESCE(took_part.humans, 0) > 1
                   OR session.livechat_transferred IS TRUE
                   OR EXISTS (SELECT FROM discuss_channel_livechat_skipped_operator_rel skipped
                               WHERE skipped.channel_id = session.id)
          FROM discuss_channel target
          LEFT JOIN took_part ON took_part.channel_id = target.id
          LEFT JOIN answered ON answered.channel_id = target.id
         WHERE target.id = session.id AND session.channel_type = 'livechat' AND session.livechat_failure IS NULL
        """
    )
    cr.execute(
        """UPDATE discuss_channel
              SET livechat_outcome = CASE WHEN livechat_is_escalated THEN 'escalated' ELSE livechat_failure END
            WHERE channel_type = 'livechat'"""
    )
