from odoo import fields, models

from ..tools import routing_sql


class ChatbotScriptStep(models.Model):
    _inherit = "chatbot.script.step"

    operator_expertise_ids = fields.Many2many(
        "im_livechat.expertise",
        "chatbot_script_step_im_livechat_expertise_rel",
        "step_id",
        "expertise_id",
        string="Operator Expertise",
        help="Forward to an operator who knows these subjects; when none is available, to the next available operator.",
    )

    def _process_step_forward_operator(self, discuss_channel):
        """Forward with the step's expertises and the visitor language stored on
        the session; tag the session with the expertises and the reason."""
        livechat = discuss_channel.livechat_channel_id.sudo()
        if not livechat:
            return super()._process_step_forward_operator(discuss_channel)
        # sudo: discuss.channel, res.lang - the visitor reads their own session's language
        session_sudo = discuss_channel.sudo()
        if session_sudo.channel_member_ids.partner_id & livechat.user_ids.partner_id:
            # an operator already joined (a forward step reached twice): keep them
            return self.env["mail.message"]
        lang = session_sudo.livechat_lang_id.code
        if not lang and "livechat_visitor_id" in session_sudo._fields:
            lang = session_sudo.livechat_visitor_id.lang_id.code
        expertises = self.sudo().operator_expertise_ids.filtered("active")
        routing = livechat._route_visitor(lang=lang, country_id=session_sudo.country_id.id, expertises=expertises)
        result = super()._process_step_forward_operator(livechat._with_routing_decision(discuss_channel, routing))
        if routing.operator and routing.operator.partner_id in session_sudo.channel_member_ids.partner_id:
            session_sudo.write(
                {
                    "livechat_expertise_ids": [fields.Command.set(expertises.ids)],
                    "livechat_routing_reason": routing.reason,
                }
            )
            routing_sql.mark_assigned(self.env.cr, routing.operator.ids)
        return result
