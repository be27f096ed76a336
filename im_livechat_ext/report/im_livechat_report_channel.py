from odoo import fields, models
from odoo.tools import SQL


class ImLivechatReportChannel(models.Model):
    _inherit = "im_livechat.report.channel"

    # The report's id is the session's id: the session's own expertise table serves it.
    livechat_expertise_ids = fields.Many2many(
        "im_livechat.expertise",
        "discuss_channel_im_livechat_expertise_rel",
        "discuss_channel_id",
        "im_livechat_expertise_id",
        string="Expertise",
        readonly=True,
    )
    livechat_lang_id = fields.Many2one("res.lang", "Visitor Language", readonly=True)
    livechat_reassigned = fields.Boolean(
        "Reassigned", readonly=True, help="An operator left this chat unanswered and it went to another one."
    )
    livechat_transferred = fields.Boolean(
        "Transferred", readonly=True, help="An operator transferred this chat to an expert with /transfer."
    )

    def init(self):
        """Add the visitor language, reassigned and transferred to the stock
        SQL view, whatever its body."""
        result = super().init()
        self.env.cr.execute("SELECT pg_get_viewdef('im_livechat_report_channel'::regclass, true)")
        stock_body = self.env.cr.fetchone()[0].strip().rstrip(";")
        self.env.cr.execute(
            SQL(
                """CREATE OR REPLACE VIEW im_livechat_report_channel AS (
                    SELECT report.*, session.livechat_lang_id,
                           EXISTS (SELECT 1 FROM discuss_channel_livechat_skipped_operator_rel skipped
                                    WHERE skipped.channel_id = session.id) AS livechat_reassigned,
                           COALESCE(session.livechat_transferred, FALSE) AS livechat_transferred
                      FROM (%s) report
                      JOIN discuss_channel session ON session.id = report.id
                )""",
                SQL(stock_body),  # the view's own definition, read from PostgreSQL
            )
        )
        return result
