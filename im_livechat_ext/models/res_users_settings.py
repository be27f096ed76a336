from odoo import _, api, models
from odoo.exceptions import ValidationError

from ..tools.x2many_commands import linked_ids


class ResUsersSettings(models.Model):
    _inherit = "res.users.settings"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_livechat_langs_active(vals.get("livechat_lang_ids"))
        return super().create(vals_list)

    def write(self, vals):
        self._check_livechat_langs_active(vals.get("livechat_lang_ids"))
        return super().write(vals)

    @api.model
    def _check_livechat_langs_active(self, commands):
        """Refuse inactive chat languages loudly, from the commands written:
        once stored, reading the field hides them, so a constraint could not
        see them and they would be dropped without a word."""
        lang_ids = linked_ids(commands) or []
        inactive = (
            self.env["res.lang"].with_context(active_test=False).browse(lang_ids).filtered(lambda lang: not lang.active)
        )
        if inactive:
            raise ValidationError(
                _(
                    "Online chat languages must be active languages: %(langs)s is not active.",
                    langs=", ".join(inactive.mapped("name")),
                )
            )
