from textwrap import shorten

from markupsafe import Markup

from odoo import models
from odoo.tools import SQL, html2plaintext

from odoo.addons.mail.tools.discuss import Store

from ..tools.unanswered import visitor_message_sql

# marks the context of a partner leaving a chat that is handed over (with the
# session and the partner): an object no client's JSON context can carry
QUIET_LEAVE = object()
QUIET_LEAVE_KEY = "livechat_quiet_leave"
# how much of the visitor's last message the expert's hand-over note quotes
QUOTED_CHARS = 300
# what the visitor's window reads of the operator it shows (as stock sends it)
OPERATOR_FIELDS = ["user_livechat_username", "write_date"]


class DiscussChannel(models.Model):
    """What people see around the routing (issue #30): in whose voice the
    visitor is told things, who the visitor's window says they talk to, a
    join after waiting and a transfer told to each side."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # The channel's voice
    # ------------------------------------------------------------------
    def _livechat_voice(self):
        """Who speaks for the channel in this chat: its chatbot when it has
        one, else OdooBot."""
        self.ensure_one()
        script = self.sudo().chatbot_current_step_id.chatbot_script_id
        return script.operator_partner_id or self.env.ref("base.partner_root")

    def _livechat_post_in_voice(self, body):
        """A message to the visitor, in the channel's voice, as the chat's
        other messages (not fine print)."""
        self.ensure_one()
        return (
            self.sudo()
            .with_context(mail_create_nosubscribe=True)
            .message_post(
                author_id=self._livechat_voice().id,
                body=body,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        )

    def _livechat_visitor_env(self):
        """An environment in the visitor's language."""
        self.ensure_one()
        return self.with_context(lang=self.sudo().livechat_lang_id.code or "en_US").env

    def _livechat_drop_line_message(self):
        """The visitor's place message goes, in their window too."""
        self.ensure_one()
        session = self.sudo()
        message = session.livechat_waiting_message_id
        if message and message.model == "discuss.channel" and message.res_id == self.id:
            session.livechat_waiting_message_id = False
            message_id = message.id
            message.unlink()
            session._bus_send("mail.message/delete", {"message_ids": [message_id]})

    def _livechat_announce_join(self, operator, body=None):
        """`operator` joined: a new message at the time of the join, below
        what the visitor wrote meanwhile, worded as stock's forward ("X has
        joined") unless `body` says more; the place message goes."""
        self.ensure_one()
        self._livechat_drop_line_message()
        if body is None:
            body = self._livechat_visitor_env()._("%s has joined", operator._livechat_chat_name())
        self._livechat_post_in_voice(Markup('<p class="o_livechat_joined">%s</p>') % body)
        self._livechat_send_shown_operator()

    # ------------------------------------------------------------------
    # Who the visitor's window says they talk to
    # ------------------------------------------------------------------
    def _livechat_shown_operator(self):
        """The operator the visitor's window shows: the session's operator,
        or, when a bot holds it (a chatbot's forward keeps the bot as its
        operator), the operator the routing gave it (never a colleague
        invited, nor someone logged in who opened the chat as a visitor)."""
        self.ensure_one()
        session = self.sudo()
        operator = session.livechat_operator_id
        if not session.chatbot_current_step_id and operator != self.env.ref("base.partner_root"):
            return operator  # a person holds it: no query for a chat without a bot
        if self._livechat_is_human(operator):
            return operator
        assigned = session.channel_member_ids.filtered("livechat_assigned")
        return assigned.sorted("id")[-1:].partner_id or operator

    def _livechat_bot_name(self, partner, for_visitor=False):
        """A bot's name as the visitor reads it: its script's title, in the
        reader's language (the visitor's for a visitor, `for_visitor`: for
        what the chat's members all receive)."""
        self.ensure_one()
        session = self.sudo()
        script = session.chatbot_current_step_id.chatbot_script_id
        if not script or script.operator_partner_id != partner:
            return None
        lang = self.env.context.get("lang")
        if for_visitor or not self.env.user._is_internal():
            lang = session.livechat_lang_id.code or lang
        return script.with_context(lang=lang).title

    def _livechat_store_operator(self, store, for_visitor=False, stock_sent=False):
        """Adds to `store` who this chat's window shows, under their chat name
        (where stock sends the session's operator; with `stock_sent`, stock's
        own _to_store did, and that is enough when they are the one shown)."""
        self.ensure_one()
        shown = self._livechat_shown_operator()
        if not (stock_sent and shown == self.sudo().livechat_operator_id):
            store.add(self, {"operator": Store.one(shown, fields=OPERATOR_FIELDS)})
        if bot_name := self._livechat_bot_name(shown, for_visitor=for_visitor):
            store.add(shown, {"user_livechat_username": bot_name})

    def _to_store(self, store):
        result = super()._to_store(store)
        for session in self.filtered(lambda channel: channel.channel_type == "livechat"):
            session._livechat_store_operator(store, stock_sent=True)
        return result

    def _livechat_send_shown_operator(self):
        """The visitor's window shows who joined, live."""
        self.ensure_one()
        store = Store()
        self._livechat_store_operator(store, for_visitor=True)
        self._bus_send_store(store)

    # ------------------------------------------------------------------
    # A transfer, told to each side
    # ------------------------------------------------------------------
    def _livechat_not_handed_over(self, partner):
        """`partner` is in this chat again, however they came back: their
        window tells them when they leave it, as stock does."""
        self.ensure_one()
        partner._bus_send_store(Store(self, {"livechat_handed_over": False}))

    def _livechat_leave_quietly(self, partners):
        """`partners` leave the chat with no "left the channel" notice: the
        visitor is told who takes over instead."""
        session = self.sudo()
        for partner in partners & session.channel_member_ids.partner_id:
            # their window: no "You unsubscribed from ...", the confirmation instead
            partner._bus_send_store(Store(self, {"livechat_handed_over": True}))
            session.with_context(**{QUIET_LEAVE_KEY: (QUIET_LEAVE, self.id, partner.id)})._action_unfollow(partner)

    def message_post(self, **kwargs):
        quiet = self.env.context.get(QUIET_LEAVE_KEY)
        if isinstance(quiet, tuple) and quiet[0] is QUIET_LEAVE and quiet[1:] == (self.id, kwargs.get("author_id")):
            return self.env["mail.message"]  # stock's "left the channel", silenced for a hand-over
        return super().message_post(**kwargs)

    def _livechat_visitor_last_words(self):
        """What the visitor wrote last (plain text, shortened), or "": a
        guest's message, or a portal user's posted as themselves (never an
        operator's, present or gone, nor a bot's)."""
        self.ensure_one()
        self.env["mail.message"].flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT message.body FROM mail_message message
                    WHERE message.model = 'discuss.channel' AND message.res_id = %s
                      AND message.message_type = 'comment'
                      AND message.body != ''  -- one the visitor deleted says nothing
                      AND %s
                    ORDER BY message.id DESC
                    LIMIT 1""",
                self.id,
                visitor_message_sql("message"),
            )
        )
        row = self.env.cr.fetchone()
        return shorten(html2plaintext(row[0] or "").strip(), QUOTED_CHARS) if row else ""

    def _livechat_transfer_notice(self, expert):
        """What the visitor is told of a transfer: who takes over, and why,
        in words of their own (visitors read nothing of the routing: not the
        expertise)."""
        self.ensure_one()
        return self._livechat_visitor_env()._(
            "%s, a specialist in your question, is taking over.", expert._livechat_chat_name()
        )

    def _livechat_tell_transfer(self, transferring, expert, expertise, last_words):
        """A transfer told to the operators, once the expert joined: the
        expert gets a note (who transferred, the expertise, `last_words`:
        the visitor's, read before the hand-over), the one who transferred
        a confirmation."""
        self.ensure_one()
        expert_env = self.with_context(lang=expert.lang or "en_US").env
        note = expert_env._(
            "%(operator)s transferred this chat to you (%(expertise)s).",
            operator=transferring._livechat_chat_name(),
            expertise=expertise.with_env(expert_env).name,
        )
        # names and the visitor's words are text: escaped in the note's HTML
        note = Markup("%s") % note
        if last_words:
            note += Markup("<br/>%s") % expert_env._("The visitor's last message: %s", last_words)
        expert._bus_send_transient_message(self, note)
        transferring._bus_send(
            "simple_notification",
            {
                "type": "success",
                "message": self.env._(
                    "%(operator)s (%(expertise)s) is taking over this chat.",
                    operator=expert._livechat_chat_name(),
                    expertise=expertise.name,
                ),
            },
        )
