from odoo import fields, models, tools
from odoo.tools import SQL

from ..tools import waiting_line


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

    def _compute_session_facts(self):
        """Expertise and expected wait of the lines that are in the view, read
        through the view itself: an id of any other session gets nothing."""
        ids = [line_id for line_id in self.ids if isinstance(line_id, int)]
        facts = {}
        if ids:
            self.env.cr.execute(
                SQL(
                    """SELECT line.id, line.channel_id, line.place,
                              ARRAY(SELECT rel.im_livechat_expertise_id
                                      FROM discuss_channel_im_livechat_expertise_rel rel
                                     WHERE rel.discuss_channel_id = line.id ORDER BY 1)
                         FROM %s line WHERE line.id = ANY(%s)""",
                    SQL.identifier(self._table),
                    ids,
                )
            )
            facts = {
                line_id: (channel_id, place, expertise)
                for line_id, channel_id, place, expertise in self.env.cr.fetchall()
            }
        channels = self.env["im_livechat.channel"].browse({channel_id for channel_id, _p, _e in facts.values()})
        estimates = channels._get_waiting_estimates() if channels else {}
        Expertise = self.env["im_livechat.expertise"]
        for line in self:
            channel_id, place, expertise_ids = facts.get(line.id, (None, 0, []))
            line.expertise_ids = Expertise.browse(expertise_ids)
            line.expected_wait = waiting_line.expected_wait_seconds(place, *estimates[channel_id]) if place else 0
