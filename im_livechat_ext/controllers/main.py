from odoo import http
from odoo.http import request

from odoo.addons.im_livechat.controllers.chatbot import LivechatChatbotScriptController
from odoo.addons.im_livechat.controllers.main import LivechatController

from ..models.im_livechat_channel_routing import NO_CLAIM_KEY, VISITOR_LANG_KEY


class LivechatRoutingController(LivechatController):
    @http.route()
    def get_session(
        self, channel_id, anonymous_name, previous_operator_id=None, chatbot_script_id=None, persisted=True, **kwargs
    ):
        """Stock reads only the language cookie: detect the visitor's language
        here, where the request is, for the routing and the session. A visitor
        who only opens the chat window (not persisted) claims no operator."""
        visitor_lang_code = request.env["im_livechat.channel"]._detect_visitor_lang()
        request.update_context(**{VISITOR_LANG_KEY: visitor_lang_code, NO_CLAIM_KEY: not persisted})
        result = super().get_session(
            channel_id,
            anonymous_name,
            previous_operator_id=previous_operator_id,
            chatbot_script_id=chatbot_script_id,
            persisted=persisted,
            **kwargs,
        )
        if persisted and result and result.get("discuss.channel"):
            self._add_place_in_line(result)
        return result

    def _add_place_in_line(self, result):
        """A session opened in the waiting line: stock marks a new thread as
        loaded (nothing to fetch); this one has the line message, so the
        visitor's window fetches its messages and shows it at once."""
        # sudo: discuss.channel - the visitor's own new session, just created
        for values in result["discuss.channel"]:
            session = request.env["discuss.channel"].sudo().browse(values.get("id"))
            if session.livechat_waiting_since and "isLoaded" in values:
                values["isLoaded"] = False

    @http.route()
    def livechat_init(self, channel_id):
        """With a waiting line the chat button stays offered while an operator
        of the channel is present, even when all are full (F16)."""
        result = super().livechat_init(channel_id)
        rule = result.get("rule") or {}
        if not result.get("available_for_me") and rule.get("action") != "hide_button":
            channel = request.env["im_livechat.channel"].sudo().browse(channel_id).exists()
            if len(channel) == 1 and channel._can_wait_in_line():
                result["available_for_me"] = True
        return result


class LivechatChatbotRoutingController(LivechatChatbotScriptController):
    @http.route()
    def chatbot_trigger_step(self, channel_id, chatbot_script_id=None):
        """A forward step that put the visitor in the waiting line ends the
        script, as when an operator joins: the visitor's window lets them
        write while they wait instead of going on with the script."""
        result = super().chatbot_trigger_step(channel_id, chatbot_script_id=chatbot_script_id)
        if not result:
            return result
        session = request.env["discuss.channel"].search([("id", "=", channel_id)])
        if session._livechat_bot_forwarded_into_line():
            # sudo: discuss.channel - the visitor's own session's current step
            forward_step = [session.sudo().chatbot_current_step_id.id, session.id]
            for step in result.get("ChatbotStep", []):
                if list(step.get("id", ())) == forward_step:
                    step["operatorFound"] = True
        return result
