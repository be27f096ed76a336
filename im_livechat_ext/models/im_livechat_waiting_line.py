from odoo import api, fields, models, tools
from odoo.tools import SQL


class ImLivechatWaitingLine(models.Model):
    """The waiting line as operators read it: who waits in which channel,
    since when and for what, without access to the sessions themselves
    (their messages stay their members')."""

    _name = "im_livechat.waiting.line"
    _description = "Live Chat Waiting Line"
    _auto = False
    _order = "channel_id, place"

    visitor_name = fields.Char("Visitor", readonly=True)
    channel_id = fields.Many2one("im_livechat.channel", "Channel", readonly=True)
    waiting_since = fields.Datetime("Waiting Since", readonly=True)
    place = fields.Integer("Place in Line", readonly=True)
    lang_id = fields.Many2one("res.lang", "Visitor Language", readonly=True)
    expertise_ids = fields.Many2many("im_livechat.expertise", string="Expertise", compute="_compute_session_facts")
    expected_wait = fields.Integer("Expected Wait (seconds)", compute="_compute_session_facts")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """CREATE VIEW %s AS (
                       SELECT id, name AS visitor_name, livechat_channel_id AS channel_id,
                              livechat_waiting_since AS waiting_since, livechat_lang_id AS lang_id,
                              ROW_NUMBER() OVER (PARTITION BY livechat_channel_id
                                                 ORDER BY livechat_waiting_since, id)::int AS place
                         FROM discuss_channel
                        WHERE livechat_waiting_since IS NOT NULL AND livechat_active
                   )""",
                SQL.identifier(self._table),
            )
        )

    @api.depends("place")
    def _compute_session_facts(self):
        # sudo: discuss.channel - only these two facts of the waiting sessions are shown
        sessions = self.env["discuss.channel"].sudo().browse(self.ids)
        for line, session in zip(self, sessions, strict=True):
            line.expertise_ids = session.livechat_expertise_ids
            line.expected_wait = session.livechat_expected_wait
