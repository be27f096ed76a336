from odoo import _, api, models
from odoo.exceptions import ValidationError


class ResUsersSettings(models.Model):
    _inherit = "res.users.settings"

    @api.constrains("livechat_lang_ids")
    def _check_livechat_lang_ids_active(self):
        """A chat language nobody can select on the website routes nobody."""
        for settings in self:
            inactive = settings.livechat_lang_ids.filtered(lambda lang: not lang.active)
            if inactive:
                raise ValidationError(
                    _(
                        "Online chat languages must be active languages: %(langs)s is not active.",
                        langs=", ".join(inactive.mapped("name")),
                    )
                )
