from odoo import fields, models
from odoo.tools import SQL


class ImLivechatOperatorStatus(models.Model):
    """One small row per operator that the routing locks while it gives them
    a chat, so that concurrent visitors skip them instead of waiting, and
    that records when they last got one. Only the routing (superuser) reads
    or writes it: no access rule gives it to anybody."""

    _name = "im_livechat.operator.status"
    _description = "Live Chat Operator Routing Status"
    _log_access = False

    user_id = fields.Many2one("res.users", "Operator", required=True, ondelete="cascade")
    last_assignment_dt = fields.Datetime("Last Assignment", readonly=True)

    _sql_constraints = [("user_unique", "UNIQUE(user_id)", "An operator has one routing status.")]

    def init(self):
        # operators of channels that exist at install time
        self.env.cr.execute(
            SQL(
                """INSERT INTO %s (user_id) SELECT DISTINCT user_id FROM im_livechat_channel_im_user
                   ON CONFLICT (user_id) DO NOTHING""",
                SQL.identifier(self._table),
            )
        )
