from odoo import api, models
from odoo.exceptions import AccessError


class IrDefault(models.Model):
    _inherit = "ir.default"

    @api.model_create_multi
    def create(self, vals_list):
        defaults = super().create(vals_list)
        defaults._livechat_check_guarded()
        return defaults

    def write(self, vals):
        result = super().write(vals)
        self._livechat_check_guarded()
        return result

    def _livechat_check_guarded(self):
        """A saved default is a value chosen in advance: refused for the
        fields of the live chat routing the user may not choose."""
        for default in self:
            field = default.sudo().field_id
            model = self.env.get(field.model)
            if model is None or not hasattr(model, "_livechat_defaults_refused"):
                continue
            if why := model._livechat_defaults_refused().get(field.name):
                raise AccessError(why)
