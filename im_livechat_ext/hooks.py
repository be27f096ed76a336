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
