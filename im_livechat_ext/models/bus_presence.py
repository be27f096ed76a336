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
        status = vals.get("status")
        # an operator coming online may take a waiting visitor; one leaving
        # may leave a line with nobody present, whose visitors are then missed
        changing = self.filtered(lambda p: p.status != status) if status else self.browse()
        result = super().write(vals)
        changing._serve_waiting_line()
        return result

    def _serve_waiting_line(self):
        """An operator coming online may take a waiting visitor, one going
        away may leave nobody present: the line is served in a transaction
        of its own (presence updates must never wait or fail because of it)."""
        if not self.user_id:
            return
        self.env.cr.execute(
            SQL("SELECT 1 FROM discuss_channel WHERE livechat_waiting_since IS NOT NULL AND livechat_active LIMIT 1")
        )
        if self.env.cr.fetchone():  # somebody waits somewhere: one indexed query otherwise
            self.env["im_livechat.channel"]._trigger_waiting_line_dispatch()
