from odoo import models


class DiscussChannelMember(models.Model):
    _inherit = "discuss.channel.member"

    def unlink(self):
        """An operator leaving a live chat frees a slot: serve the line."""
        livechats = (
            self.sudo().filtered(lambda m: m.channel_id.channel_type == "livechat").channel_id.livechat_channel_id
        )
        result = super().unlink()
        if waiting := livechats.filtered(lambda c: c.waiting_line or c._has_waiting_visitors(any_line=True)):
            waiting._dispatch_waiting_visitors()
        return result
