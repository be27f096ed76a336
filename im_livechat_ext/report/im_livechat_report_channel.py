from odoo import fields, models
from odoo.models import parse_read_group_spec
from odoo.tools import SQL

# the aggregate Odoo's pivot lacks: the fields declaring it get the median
MEDIAN = "median"


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
        "Wait in Line (seconds)",
        readonly=True,
        aggregator=MEDIAN,
        help="Empty: the visitor never waited. Grouped: the median wait of those who waited.",
    )
    livechat_line_estimate = fields.Integer(
        "Estimate Shown (seconds)",
        readonly=True,
        aggregator=MEDIAN,
        help="The wait shown on entering the line. Grouped: the median.",
    )
    livechat_estimate_error = fields.Float(
        "Estimate Error",
        readonly=True,
        aggregator=MEDIAN,
        help="How far the estimate shown was from the real wait in line, as a share of that wait "
        "(0.25: a quarter off); empty when the visitor did not wait or was shown none. Grouped: the median.",
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
                           NULLIF(session.livechat_line_wait, 0) AS livechat_line_wait,
                           NULLIF(session.livechat_line_estimate, 0) AS livechat_line_estimate,
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

    def _read_group_select(self, aggregate_spec, query):
        """Medians for the fields that declare them (the wait pivot): one
        long wait does not make an hour look slow, as an average would."""
        fname, property_name, func = parse_read_group_spec(aggregate_spec)
        if func == MEDIAN and not property_name and getattr(self._fields.get(fname), "aggregator", None) == MEDIAN:
            return SQL("percentile_cont(0.5) WITHIN GROUP (ORDER BY %s)", self._field_to_sql(self._table, fname, query))
        return super()._read_group_select(aggregate_spec, query)
