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
    livechat_outcome = fields.Selection(
        [
            ("no_answer", "Never Answered"),
            ("no_agent", "No one Available"),
            ("no_failure", "Success"),
            ("escalated", "Escalated"),
        ],
        "Outcome",
        readonly=True,
    )
    livechat_line_wait = fields.Integer(
        "Wait in Line (seconds)", readonly=True, aggregator="avg", help="0: the visitor never waited."
    )
    livechat_line_estimate = fields.Integer(
        "Estimate Shown (seconds)", readonly=True, aggregator="avg", help="The wait shown on entering the line."
    )
    livechat_estimate_error = fields.Float(
        "Estimate Error",
        readonly=True,
        aggregator="avg",
        help="How far the estimate shown was from the real wait in line, as a share of that wait "
        "(0.25: a quarter off); empty when the visitor did not wait or was shown none.",
    )
    livechat_underestimated = fields.Integer(
        "Underestimated",
        readonly=True,
        aggregator="avg",
        help="1 when the visitor waited longer than shown: the average is the share of underestimates.",
    )

    def init(self):
        """Add the visitor language, reassigned, transferred, the outcome and
        the wait in line beside the estimate shown to the stock SQL view,
        whatever its body."""
        result = super().init()
        self.env.cr.execute("SELECT pg_get_viewdef('im_livechat_report_channel'::regclass, true)")
        stock_body = self.env.cr.fetchone()[0].strip().rstrip(";")
        self.env.cr.execute(
            SQL(
                """CREATE OR REPLACE VIEW im_livechat_report_channel AS (
                    SELECT report.*, session.livechat_lang_id, session.livechat_outcome,
                           session.livechat_line_wait, session.livechat_line_estimate,
                           CASE WHEN session.livechat_line_wait > 0 AND session.livechat_line_estimate > 0
                                THEN abs(session.livechat_line_estimate - session.livechat_line_wait)::float
                                     / session.livechat_line_wait END AS livechat_estimate_error,
                           CASE WHEN session.livechat_line_wait > 0 AND session.livechat_line_estimate > 0
                                THEN (session.livechat_line_wait > session.livechat_line_estimate)::int
                                END AS livechat_underestimated,
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
