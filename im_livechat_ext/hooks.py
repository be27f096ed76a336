from odoo.addons.im_livechat.report.im_livechat_report_channel import (
    ImLivechatReportChannel as StockReportChannel,
)


def uninstall_hook(env):
    """Put back stock Odoo's session report view before our columns go: ours
    reads discuss_channel.livechat_lang_id."""
    StockReportChannel.init(env["im_livechat.report.channel"])
