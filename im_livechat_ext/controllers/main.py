from odoo import http
from odoo.http import request

from odoo.addons.im_livechat.controllers.main import LivechatController

from ..models.im_livechat_channel import VISITOR_LANG_KEY


class LivechatRoutingController(LivechatController):
    @http.route()
    def get_session(self, channel_id, anonymous_name, previous_operator_id=None, chatbot_script_id=None, **kwargs):
        """Stock reads only the language cookie: detect the visitor's language
        here, where the request is, for the routing and the session."""
        visitor_lang = request.env["im_livechat.channel"]._detect_visitor_lang()
        request.update_context(**{VISITOR_LANG_KEY: visitor_lang.code or False})
        return super().get_session(
            channel_id,
            anonymous_name,
            previous_operator_id=previous_operator_id,
            chatbot_script_id=chatbot_script_id,
            **kwargs,
        )
