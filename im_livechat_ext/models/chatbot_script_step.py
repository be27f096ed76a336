from datetime import timedelta

from odoo import _, api, fields, models

from . import im_livechat_operator_status as operator_claim


class ChatbotScriptStep(models.Model):
    _name = "chatbot.script.step"
    _inherit = ["chatbot.script.step", "im_livechat.routing.guard"]

    operator_expertise_ids = fields.Many2many(
        "im_livechat.expertise",
        "chatbot_script_step_im_livechat_expertise_rel",
        "step_id",
        "expertise_id",
        string="Operator Expertise",
        help="Forward to an operator who knows these subjects; when none is available, to the next available operator.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        self._livechat_check_created(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._livechat_check_written(vals)
        return super().write(vals)

    def _livechat_guarded_fields(self):
        """Stock lets operators edit chatbot scripts; the expertises of a
        forward step decide who gets the chats it forwards."""
        if self.env["im_livechat.routing.guard"]._livechat_is_manager():
            return {}
        return {"operator_expertise_ids": _("Only Live Chat managers can choose the expertises of a chatbot step.")}

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
        if session_sudo.livechat_waiting_since:
            # already in line (a forward step reached twice): keep the place
            return self.env["mail.message"]
        lang = session_sudo.livechat_lang_id.code
        if not lang and "livechat_visitor_id" in session_sudo._fields:
            lang = session_sudo.livechat_visitor_id.lang_id.code
        expertises = self.sudo().operator_expertise_ids.filtered("active")
        visitor = livechat._line_visitor()
        if livechat._has_waiting_visitors():
            # nobody overtakes the line: behind those already waiting, or,
            # beyond its bounds, nobody available (the script goes on)
            if livechat._can_wait_in_line(visitor):
                session_sudo._livechat_enter_waiting_line(expertises, visitor)
                livechat._trigger_waiting_line_dispatch()
            return self.env["mail.message"]
        if livechat._waits_for_expert(expertises) and livechat._can_wait_in_line(visitor):
            # F17: an expert is present but busy: wait for them in line
            session_sudo._livechat_enter_waiting_line(expertises, visitor)
            livechat._trigger_waiting_line_dispatch(
                at=fields.Datetime.now() + timedelta(seconds=livechat.expert_wait_time)
            )
            return self.env["mail.message"]
        routing_args = {"lang": lang, "country_id": session_sudo.country_id.id, "expertises": expertises}
        if self.env.user in livechat.user_ids:
            # an operator trying the script: stock never forwards them to
            # themselves, so they are not claimed (nor stamped) for it
            routing = livechat._route_visitor(**routing_args, claim=False)
            if routing.operator == self.env.user:
                return super()._process_step_forward_operator(livechat._with_routing_decision(discuss_channel, routing))
            routing_args["exclude_users"] = self.env.user
        routing = livechat._route_visitor(**routing_args)
        if not routing.operator and livechat._can_wait_in_line(visitor):
            session_sudo._livechat_enter_waiting_line(expertises, visitor)
            return self.env["mail.message"]
        result = super()._process_step_forward_operator(livechat._with_routing_decision(discuss_channel, routing))
        if routing.operator and routing.operator.partner_id in session_sudo.channel_member_ids.partner_id:
            session_sudo.write(
                {
                    "livechat_expertise_ids": [fields.Command.set(expertises.ids)],
                    "livechat_routing_reason": routing.reason,
                }
            )
            # the forward gave them this chat: it counts against their limit
            session_sudo.channel_member_ids.filtered(
                lambda member: member.partner_id == routing.operator.partner_id
            ).livechat_assigned = True
            operator_claim.mark_assigned(self.env.cr, routing.operator.ids)
            # the visitor's window names who joined, no longer the bot
            session_sudo._livechat_send_shown_operator()
        return result
