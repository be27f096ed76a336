from datetime import timedelta

from markupsafe import Markup
from psycopg2.errors import LockNotAvailable

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, email_normalize

# missed visitors told per dispatch (each gets a message of their own)
MISSED_BATCH = 20
# sessions deleted per run of the autovacuum, as stock's empty ones
SILENT_SESSIONS_BATCH = 1000


class DiscussChannel(models.Model):
    """Visitors who leave the waiting line unserved (SPEC F16, F22): missed
    (maximum wait, nobody present, channel gone), gone (their browser), and
    what is left of those who wrote nothing."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    livechat_reply_email = fields.Char(
        "Answer by Email To",
        readonly=True,
        copy=False,
        groups="base.group_user",
        help="The visitor was missed and left this email address to a chatbot: what the operator who "
        "answered writes in the chat is sent there too, as the visitor may have left the page.",
    )

    def _livechat_leave_line(self):
        """Out of the line, without an operator: no place, no address kept."""
        self.sudo().write(
            {"livechat_waiting_since": False, "livechat_waiting_address": False, "livechat_waiting_message_id": False}
        )

    def _livechat_miss_waiting_visitors(self, go_on=True):
        """These waiting visitors cannot be served any more (their channel is
        deleted, the module uninstalled, their browser is gone): they leave the line, keep their
        session and everything written in it, and are told so in their
        language, below what they wrote (their place message goes). With
        `go_on`, what follows for those still there (F22): their chatbot, or
        the channel's script for when no operator is available."""
        waiting = self.sudo().filtered(lambda session: session.livechat_waiting_since and session.livechat_active)
        for session in waiting:
            env = session._livechat_visitor_env()
            session._livechat_post_in_voice(
                Markup('<p class="o_livechat_missed">%s</p>') % session._livechat_missed_notice(env)
            )
            session._livechat_drop_line_message()
        waiting._livechat_leave_line()
        for session in waiting if go_on else ():
            session._livechat_go_on_without_operator()
        return waiting

    def _livechat_go_on_without_operator(self):
        """After the notice, what a visitor with nobody to answer meets (F22):
        the chatbot that put them in line goes on after its forward step
        (its steps for "nobody available"); else the channel's script for
        when no operator is available starts in the session."""
        self.ensure_one()
        session = self.sudo()
        step = session.chatbot_current_step_id
        if step.step_type == "forward_operator" and not step._is_last_step(session):
            session._bus_send("im_livechat_ext/chatbot_resume", {"channel_id": session.id})
            return
        if step:
            return  # a script already spoke in this session: it is not started over
        rule = session.livechat_channel_id._get_offline_rule(session.country_id)
        if not rule:
            return
        script = rule.chatbot_script_id
        session.add_members(partner_ids=script.operator_partner_id.ids, post_joined_message=False)
        session.livechat_operator_id = script.operator_partner_id
        script.with_context(lang=session.livechat_lang_id.code or "en_US")._post_welcome_steps(session)
        session._bus_send_store(session)
        session._bus_send("im_livechat_ext/chatbot_resume", {"channel_id": session.id})

    def _livechat_missed_notice(self, env):
        """What a missed visitor reads, in env's language."""
        return env._(
            "Nobody can answer this chat now. Your messages are kept: our team will read them and "
            "come back to you as soon as possible."
        )

    def action_livechat_answer(self):
        """An operator of the chat's channel (or a Live Chat manager) takes a
        visitor nobody answered (missed, or still waiting in line) and opens
        the chat in Discuss: they join it as its operator, the visitor sees
        them join, the line moves on. Nobody else reads those chats."""
        self.ensure_one()
        session = self.sudo()
        user = self.env.user
        if not (
            user.has_group("im_livechat.im_livechat_group_manager")
            or (user.has_group("im_livechat.im_livechat_group_user") and user in session.livechat_channel_id.user_ids)
        ):
            raise AccessError(_("Only the operators of this chat's channel can answer its visitor."))
        if session.channel_type != "livechat" or not session.livechat_active:
            raise UserError(_("This chat is over: the visitor can no longer be answered here."))
        # another operator taking it at the same moment: one of them only
        try:
            with self.env.cr.savepoint():
                self.env.cr.execute(
                    SQL("SELECT id FROM discuss_channel WHERE id = %s FOR NO KEY UPDATE NOWAIT", session.id)
                )
        except LockNotAvailable:
            raise UserError(_("Another operator is taking this chat right now.")) from None
        session.invalidate_recordset()
        answering = session.channel_member_ids.partner_id.filtered(session._livechat_is_operator_person)
        if not (session.livechat_missed or session.livechat_waiting_since) or answering:
            raise UserError(_("An operator already took this chat."))
        was_waiting = session.livechat_waiting_since
        if session.livechat_missed:
            # a missed visitor may be gone: the address they left to a chatbot gets the answer too
            email = session._chatbot_find_customer_values_in_messages({"question_email": "email"}).get("email")
            session.livechat_reply_email = email_normalize(email or "") or False
        session._livechat_hand_over(self.env.user, _("Taken by %s", self.env.user.name))
        if was_waiting:
            # those behind move up
            session._notify_waiting_line(session.livechat_channel_id)
        action = self.env["ir.actions.actions"]._for_xml_id("mail.action_discuss")
        action["context"] = {"active_id": session.id}
        return action

    def _message_post_after_hook(self, message, msg_vals):
        result = super()._message_post_after_hook(message, msg_vals)
        if (
            self.channel_type == "livechat"
            and message.message_type == "comment"
            and self.sudo().livechat_reply_email
            and message.author_id in self.sudo().livechat_operator_id
        ):
            self._livechat_email_answer(message)
        return result

    def _livechat_email_answer(self, message):
        """The operator's answer to a missed visitor, by email too."""
        session = self.sudo()
        company = self.env.company
        env = self._livechat_visitor_env()
        self.env["mail.mail"].sudo().create(
            {
                "subject": env._("Your chat with %s", company.name),
                "body_html": message.body
                + Markup("<p>%s</p>")
                % env._("You wrote to us in our live chat and nobody could answer then: this is our answer."),
                "email_from": message.author_id.email_formatted or company.email_formatted,
                "email_to": session.livechat_reply_email,
                "auto_delete": True,
            }
        )

    @api.model
    def _livechat_release_gone_visitors(self, livechat_channels):
        """F16: waiting visitors of these channels whose browser has not been
        seen for a while leave the line, missed: their session is kept and
        tells them so, should they come back. Two queries to find and lock
        them, whatever their number; one another transaction holds is left
        to the next dispatch."""
        self.env.flush_all()
        gone = self.sudo().browse(
            self.env["im_livechat.waiting.line"]._gone_sessions(livechat_channels.ids, fields.Datetime.now())
        )
        # told, should they come back; no script for a browser that is gone
        # (a flood of them would leave chatbot sessions nobody deletes)
        return self._livechat_in_batches(gone)._livechat_miss_waiting_visitors(go_on=False)

    def _livechat_in_batches(self, sessions):
        """The first MISSED_BATCH of `sessions`: a request that frees a slot
        does a bounded amount of this work; the scheduled action does the
        rest, triggered at once."""
        if len(sessions) > MISSED_BATCH:
            self.env["im_livechat.channel"]._trigger_waiting_line_dispatch()
        return sessions[:MISSED_BATCH]

    def _livechat_schedule_line_end(self):
        """The line is served to the second when these visitors' maximum
        wait ends or their channel closes (F22)."""
        ends = [
            session.livechat_waiting_since + timedelta(seconds=session.livechat_channel_id.max_wait_time)
            for session in self.sudo()
            if session.livechat_waiting_since and session.livechat_channel_id.max_wait_time
        ]
        for channel in self.sudo().filtered("livechat_waiting_since").livechat_channel_id:
            if closing := channel._closing_time():
                ends.append(closing)
        if ends:
            self.env["im_livechat.channel"]._trigger_waiting_line_dispatch(at=min(ends))

    @api.model
    def _livechat_release_missed_visitors(self, livechat_channels):
        """F22: waiting visitors whom nobody will serve (their channel's
        maximum wait has passed, nobody of the channel is present any more,
        it closed) leave the line, missed: told, their session kept. Two
        queries find them whatever the length of the line; at most
        MISSED_BATCH are told per dispatch."""
        self.env.flush_all()
        present = livechat_channels._get_present_operator_counts()
        for channel in livechat_channels:
            if not channel._is_open():
                present.pop(channel.id, None)  # closed by its opening hours (F21): nobody is

        missed = self.sudo().browse(
            self.env["im_livechat.waiting.line"]._missed_sessions(livechat_channels, fields.Datetime.now(), present)
        )
        return self._livechat_in_batches(missed)._livechat_miss_waiting_visitors()

    @api.model
    def _livechat_delete_silent_sessions(self, limit=SILENT_SESSIONS_BATCH):
        """Delete up to `limit` sessions out of the line in which only
        OdooBot wrote, untouched for an hour (a visitor who waited and wrote
        nothing). Returns whether more are left."""
        older_than = fields.Datetime.now() - timedelta(hours=1)
        silent = self.env["im_livechat.waiting.line"]._silent_sessions(older_than, limit + 1)
        self.sudo().browse(silent[:limit]).unlink()
        return len(silent) > limit

    @api.autovacuum
    def _gc_empty_livechat_sessions(self):
        """Stock deletes sessions without a message after an hour; a visitor
        who only waited in line has OdooBot's notices in theirs and nothing
        else: deleted likewise (the line's scheduled action deletes them
        too, a batch a minute, so that a flood of them does not stay)."""
        result = super()._gc_empty_livechat_sessions()
        while self._livechat_delete_silent_sessions():
            pass
        return result
