from odoo import _, api, fields, models
from odoo.tools import SQL

from .discuss_channel import CREATING, CREATING_SESSIONS

# the members a chatbot's forward gave a chat to: the routing counts them
ASSIGNED_MEMBERS_INDEX = "discuss_channel_member_livechat_assigned_index"


class DiscussChannelMember(models.Model):
    _name = "discuss.channel.member"
    _inherit = ["discuss.channel.member", "im_livechat.routing.guard"]

    livechat_assigned = fields.Boolean(
        "Chat Given by the Routing",
        readonly=True,
        copy=False,
        groups="base.group_system",
        help="The routing gave this member the chat (a chatbot's forward): it counts against their "
        "limit, as the chats of which they are the operator do. Being added by a colleague does not.",
    )

    def init(self):
        result = super().init()
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS %s ON discuss_channel_member (channel_id) INCLUDE (partner_id)"
                " WHERE livechat_assigned",
                SQL.identifier(ASSIGNED_MEMBERS_INDEX),
            )
        )
        return result

    @api.model_create_multi
    def create(self, vals_list):
        self._livechat_check_created(vals_list)
        members = super().create(vals_list)
        joining = members.filtered(lambda m: m.partner_id and m.channel_id.channel_type == "livechat")
        for member in joining:
            member.channel_id._livechat_human_joined(member.partner_id)
        if self.env.context.get(CREATING_SESSIONS) is not CREATING:
            # (a new session has its operator among its first members) is
            # the operator of these sessions back in them? Only a member who
            # is its session's operator changes that (not the visitor's guest)
            operators_back = joining.filtered(lambda m: m.partner_id == m.channel_id.livechat_operator_id)
            operators_back.channel_id.sudo()._livechat_sync_operator_left()
            for member in joining:
                # back in a chat they handed over once: their window may say so again
                member.channel_id._livechat_not_handed_over(member.partner_id)
        return members

    def write(self, vals):
        self._livechat_check_written(vals)
        return super().write(vals)

    def _livechat_guarded_fields(self):
        if self.env.su:
            return {}
        return {"livechat_assigned": _("Only the routing itself gives a live chat to an operator.")}

    def _livechat_routing_only_fields(self):
        return {"livechat_assigned"}

    def unlink(self):
        """An operator leaving a live chat frees a slot: serve the line."""
        sessions = self.sudo().filtered(lambda m: m.channel_id.channel_type == "livechat").channel_id
        livechats = sessions.livechat_channel_id
        result = super().unlink()
        sessions.exists()._livechat_sync_operator_left()
        if waiting := livechats.filtered(lambda c: c.waiting_line or c._has_waiting_visitors(any_line=True)):
            waiting._dispatch_waiting_visitors()
        return result
