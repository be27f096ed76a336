from odoo import models


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _get_translation_frontend_modules_name(cls):
        """The visitor's window says in their language when a closed team
        opens again (a website's pages load these)."""
        return [*super()._get_translation_frontend_modules_name(), "im_livechat_ext"]
