from datetime import datetime, time

from odoo import fields, models

from ..tools import availability_sql


class ImLivechatChannel(models.Model):
    """The channel's card as a live board (SPEC F23): operators present, free
    slots, visitors waiting, the longest wait, visitors missed today."""

    _inherit = "im_livechat.channel"  # pylint: disable=consider-merging-classes-inherited

    present_operator_count = fields.Integer("Operators Present", compute="_compute_board", groups="base.group_user")
    free_slot_count = fields.Integer(
        "Free Slots",
        compute="_compute_board",
        groups="base.group_user",
        help="Chats the present operators can still take under their limits (-1: no limit).",
    )
    longest_wait_minutes = fields.Integer("Longest Wait (minutes)", compute="_compute_board", groups="base.group_user")
    missed_today_count = fields.Integer(
        "Missed Today",
        compute="_compute_board",
        groups="base.group_user",
        help="Visitors who left the line unserved since midnight (UTC): told, their chat kept.",
    )

    def _compute_board(self):
        now = fields.Datetime.now()
        self.env.flush_all()
        self.env.cr.execute(availability_sql.ongoing_sessions_sql(now))
        ongoing = dict(self.env.cr.fetchall())
        midnight = datetime.combine(now.date(), time.min)
        Session = self.env["discuss.channel"].sudo()
        missed = dict(
            Session._read_group(
                [
                    ("livechat_channel_id", "in", self.ids),
                    ("livechat_failure", "=", "no_agent"),
                    ("livechat_line_wait", ">", 0),
                    ("livechat_waiting_since", "=", False),
                    ("create_date", ">=", midnight),
                ],
                ["livechat_channel_id"],
                ["__count"],
            )
        )
        oldest = dict(
            Session._read_group(
                [("livechat_channel_id", "in", self.ids), ("livechat_waiting_since", "!=", False)],
                ["livechat_channel_id"],
                ["livechat_waiting_since:min"],
            )
        )
        for channel in self:
            present = channel._get_present_operators().sudo() if isinstance(channel.id, int) else self.env["res.users"]
            channel.present_operator_count = len(present)
            if channel.max_sessions_mode == "limited" or any(present.mapped("livechat_max_sessions")):
                channel.free_slot_count = sum(
                    max((user.livechat_max_sessions or channel.max_sessions) - ongoing.get(user.partner_id.id, 0), 0)
                    for user in present
                )
            else:
                channel.free_slot_count = -1
            since = oldest.get(channel)
            channel.longest_wait_minutes = int((now - since).total_seconds() // 60) if since else 0
            channel.missed_today_count = missed.get(channel, 0)
