from odoo import models


class ChatbotScript(models.Model):
    _inherit = "chatbot.script"

    def _get_chatbot_language(self):
        """A language cookie left by a language since deactivated must not
        break the visitor's chat: fall back to an active language."""
        code = super()._get_chatbot_language()
        if self.env["res.lang"]._get_data(code=code).code:
            return code
        return self.env["res.lang"]._get_data(code=self.env.user.lang).code or "en_US"
