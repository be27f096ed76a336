from odoo import models
from odoo.http import request

from .im_livechat_channel_routing import VISITOR_LANG_KEY


class ChatbotScript(models.Model):
    _inherit = "chatbot.script"

    def _get_chatbot_language(self):
        """The chatbot speaks the visitor's language (SPEC F3): without a
        website language cookie, the one detected from the website visitor
        or the browser. A cookie left by a language since deactivated must
        not break the visitor's chat: fall back to an active language."""
        code = super()._get_chatbot_language()
        if request and not request.cookies.get("frontend_lang") and self.env.user._is_public():
            # detected already for this request by get_session; other public
            # routes copy the caller's context: only an active language counts
            detected = self.env.context.get(VISITOR_LANG_KEY)
            if VISITOR_LANG_KEY not in self.env.context:
                detected = self.env["im_livechat.channel"]._detect_visitor_lang()
            if isinstance(detected, str) and self.env["res.lang"]._get_data(code=detected).code:
                return detected
        if self.env["res.lang"]._get_data(code=code).code:
            return code
        return self.env["res.lang"]._get_data(code=self.env.user.lang).code or "en_US"
