from odoo import api, models
from odoo.tools import SQL


class BusPresence(models.Model):
    _inherit = "bus.presence"

    @api.model_create_multi
    def create(self, vals_list):
        presences = super().create(vals_list)
        presences.filtered(lambda p: p.status == "online")._serve_waiting_line()
        return presences

    def write(self, vals):
        coming_online = self.filtered(lambda p: p.status != "online") if vals.get("status") == "online" else self
        result = super().write(vals)
        if vals.get("status") == "online":
            coming_online._serve_waiting_line()
        return result

    def _serve_waiting_line(self):
        """An operator coming online may take a waiting visitor at once."""
        users = self.user_id
        if not users:
            return
        self.env.cr.execute(SQL("SELECT 1 FROM discuss_channel WHERE livechat_waiting_since IS NOT NULL LIMIT 1"))
        if not self.env.cr.fetchone():
            return  # nobody waits anywhere: the usual case costs one indexed query
        channels = self.env["im_livechat.channel"].sudo().search(
            [("user_ids", "in", users.ids), ("waiting_line", "=", True)]
        )
        if channels:
            channels._dispatch_waiting_visitors()
