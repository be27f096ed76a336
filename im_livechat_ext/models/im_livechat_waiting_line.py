from odoo import api, fields, models, tools
from odoo.tools import SQL

from ..tools import waiting_line
from . import im_livechat_operator_status as operator_claim


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
    expected_wait_minutes = fields.Integer(
        "Expected Wait (minutes)", compute="_compute_session_facts", help="0: unknown."
    )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """CREATE VIEW %s AS (
                       SELECT id,
                              -- the visitor as they named themselves, else the logged-in
                              -- visitor's own name, not the session's (visitor + operator)
                              COALESCE(NULLIF(anonymous_name, ''),
                                       (SELECT partner.name FROM discuss_channel_member member
                                          JOIN res_partner partner ON partner.id = member.partner_id
                                          JOIN res_users users ON users.partner_id = partner.id AND users.share
                                         WHERE member.channel_id = discuss_channel.id
                                         ORDER BY member.id LIMIT 1),
                                       name) AS visitor_name,
                              livechat_channel_id AS channel_id,
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
            line.expected_wait_minutes = waiting_line.wait_minutes(line.expected_wait)

    def action_take(self):
        """Take this visitor now (as from a missed chat: an operator of the
        channel or a Live Chat manager); the line moves on."""
        self.ensure_one()
        return self.env["discuss.channel"].browse(self.id).action_livechat_answer()

    # ------------------------------------------------------------------
    # The line's queries (their statements: tools/waiting_line.py), each
    # one whatever the length of the line
    # ------------------------------------------------------------------
    @api.model
    def _places(self, channel_ids, limit=None):
        """{session id: (livechat channel id, place)} of every waiting
        visitor of these channels (the first `limit` of each)."""
        if not channel_ids:
            return {}
        self.env["discuss.channel"].flush_model(["livechat_waiting_since", "livechat_active"])
        self.env.cr.execute(waiting_line.waiting_places_sql(list(channel_ids), limit))
        return {session_id: (channel_id, place) for session_id, channel_id, place in self.env.cr.fetchall()}

    @api.model
    def _median_handling_seconds(self, channel_ids, now):
        """{channel id: (median seconds from start to last message, sessions
        counted)} of the channels' recent finished sessions."""
        if not channel_ids:
            return {}
        self.env.cr.execute(waiting_line.median_handling_seconds_sql(list(channel_ids), now))
        return {channel_id: (median or 0, count) for channel_id, median, count in self.env.cr.fetchall()}

    @api.model
    def _present_operator_counts(self, channel_ids, now, timeouts):
        """{channel id: operators present}."""
        if not channel_ids:
            return {}
        self.env["bus.presence"].flush_model()
        self.env.cr.execute(waiting_line.present_operator_counts_sql(list(channel_ids), now, timeouts))
        return dict(self.env.cr.fetchall())

    @api.model
    def _counts(self, channel_id, visitor):
        """(waiting in the channel's line, of them from the visitor's
        address, of them being the visitor): see _visitor_may_wait."""
        self.env["discuss.channel"].flush_model(
            ["livechat_waiting_since", "livechat_active", "livechat_waiting_address"]
        )
        self.env.cr.execute(
            waiting_line.line_counts_sql(channel_id, visitor["address"], visitor["guest_id"], visitor["partner_id"])
        )
        return self.env.cr.fetchone()

    @api.model
    def _lock_next(self, channel_id, skip_ids=()):
        """Id of the oldest waiting session of the channel, not in
        `skip_ids`, that no other transaction is serving right now, locked
        until ours ends (None: nobody). A session another worker served
        after our snapshot is skipped too (its lock fails to serialize inside
        a savepoint); so is one whose line message a worker is rewriting."""
        cr = self.env.cr
        cr.execute(waiting_line.next_waiting_sql(channel_id, skip_ids))
        for (session_id,) in cr.fetchall():
            locked = operator_claim.try_in_savepoint(cr, waiting_line.lock_waiting_sql(session_id))
            if not locked:
                continue
            message_id = locked[0][1]
            if not message_id or operator_claim.try_in_savepoint(cr, waiting_line.lock_message_sql(message_id)):
                return session_id
        return None

    @api.model
    def _gone_sessions(self, channel_ids, now):
        """Ids of the waiting sessions whose visitor is gone, locked."""
        self.env.cr.execute(waiting_line.gone_waiting_sql(list(channel_ids), now))
        return [session_id for (session_id,) in self.env.cr.fetchall()]

    @api.model
    def _missed_sessions(self, channels, now, present_counts):
        """Ids of the waiting sessions of `channels` nobody will serve
        (maximum wait passed, nobody present any more), locked."""
        self.env.cr.execute(
            waiting_line.missed_waiting_sql(
                channels.ids,
                now,
                [channel.max_wait_time for channel in channels],
                [channel.id for channel in channels if not present_counts.get(channel.id)],
            )
        )
        return [session_id for (session_id,) in self.env.cr.fetchall()]

    @api.model
    def _silent_sessions(self, older_than, limit):
        """Ids of sessions out of the line where only OdooBot wrote."""
        root = self.env.ref("base.partner_root")
        self.env.cr.execute(waiting_line.silent_line_sql(root.id, older_than, limit))
        return [session_id for (session_id,) in self.env.cr.fetchall()]
