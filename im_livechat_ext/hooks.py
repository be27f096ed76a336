from odoo.tools import SQL

from odoo.addons.im_livechat.report.im_livechat_report_channel import (
    ImLivechatReportChannel as StockReportChannel,
)

from .models.discuss_channel import ONGOING_CHATS_INDEX


def uninstall_hook(env):
    """Leave the database as stock Odoo had it: its session report view (ours
    reads discuss_channel.livechat_lang_id, a column about to go) and no index
    of ours on stock columns, which Odoo would not drop by itself."""
    StockReportChannel.init(env["im_livechat.report.channel"])
    env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(ONGOING_CHATS_INDEX)))
