from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from . import im_livechat_operator_status as operator_claim

# the routing counts ongoing chats per operator at every selection; the
# uninstall hook drops this index, which Odoo would not
ONGOING_CHATS_INDEX = "discuss_channel_livechat_ongoing_operator_index"
FORMER_ONGOING_CHATS_INDEXES = (
    "discuss_channel_livechat_ongoing_index",
    "discuss_channel_livechat_ongoing_since_index",
)
# the waiting line sets these itself (as superuser), nobody else
WAITING_LINE_FIELDS = {"livechat_waiting_since", "livechat_waiting_message_id", "livechat_waiting_address"}
# the routing records these itself (as superuser), nobody else (and how a
# chat went: discuss_channel_outcome.py)
ROUTING_FACT_FIELDS = {"livechat_skipped_operator_ids", "livechat_transferred", "livechat_operator_left"}
# in the context while live chat sessions are created with their first members;
# its value is an object no request can carry (a client's context is JSON)
CREATING_SESSIONS = "livechat_creating_sessions"
CREATING = object()
# who answers a chat and what the routing reads of it: the routing, or a Live Chat manager
ROUTED_BY_MANAGERS = {"livechat_operator_id", "livechat_expertise_ids", "livechat_lang_id"}


class DiscussChannel(models.Model):
    """A live chat session: what the routing records on it, who may write
    it, and an operator taking it over. The waiting line, unanswered chats
    and /transfer are in their own files."""

    _name = "discuss.channel"
    _inherit = ["discuss.channel", "im_livechat.routing.guard"]

    livechat_lang_id = fields.Many2one(
        "res.lang",
        "Visitor Language",
        index="btree_not_null",
        readonly=True,
        groups="base.group_user",
        help="Language detected for the visitor when the session started.",
    )
    livechat_expertise_ids = fields.Many2many(
        "im_livechat.expertise",
        "discuss_channel_im_livechat_expertise_rel",
        "discuss_channel_id",
        "im_livechat_expertise_id",
        string="Expertises",
        groups="base.group_user",
        help="Subjects the visitor asked for, e.g. through a chatbot answer.",
    )
    livechat_routing_reason = fields.Char(
        "Routing Reason",
        readonly=True,
        groups="im_livechat.im_livechat_group_manager",
        help="Why this operator got the session.",
    )
    livechat_operator_left = fields.Boolean(
        "Operator Left",
        default=False,
        readonly=True,
        copy=False,
        groups="base.group_system",
        help="The session's operator is no longer in it: it no longer counts among their ongoing chats.",
    )

    def init(self):
        result = super().init()
        # the routing counts ongoing chats per operator at every selection, the
        # unanswered check reads ongoing sessions: only open sessions are
        # indexed, by their last activity, with what the count reads (who the
        # operator is, whether they are still in it), so that chats left open
        # long ago cost nothing and the count reads the index alone
        for former in FORMER_ONGOING_CHATS_INDEXES:
            self.env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(former)))
        self.env.cr.execute(
            SQL(
                """CREATE INDEX IF NOT EXISTS %s
                       ON discuss_channel ((GREATEST(create_date, last_interest_dt)))
                          INCLUDE (livechat_operator_id, livechat_operator_left)
                    WHERE channel_type = 'livechat' AND livechat_active""",
                SQL.identifier(ONGOING_CHATS_INDEX),
            )
        )
        return result

    @api.model_create_multi
    def create(self, vals_list):
        self._livechat_check_created(vals_list)
        self._check_livechat_operator_chosen(vals_list)
        self._livechat_set_initial_outcome(vals_list)
        creating = self
        if any(vals.get("channel_type") == "livechat" for vals in vals_list):
            creating = self.with_context(**{CREATING_SESSIONS: CREATING})
        channels = super(DiscussChannel, creating).create(vals_list).with_env(self.env)
        livechats = channels.filtered(lambda c: c.channel_type == "livechat" and c.livechat_channel_id)
        waiting = livechats.filtered("livechat_waiting_since")
        # the 120 s buffer and the burst order of the routing read this
        operator_claim.mark_assigned(self.env.cr, (livechats - waiting).livechat_operator_id.user_ids.ids)
        if waiting:
            # the others' places do not change: only the newcomers are told theirs
            self.sudo()._notify_waiting_line(waiting.livechat_channel_id, only=waiting)
            if waiting.livechat_channel_id.sudo().available_operator_ids:
                # someone can take a chat (e.g. those ahead wait for an expert): serve soon
                self.env["im_livechat.channel"]._trigger_waiting_line_dispatch()
            waiting._livechat_schedule_line_end()
        return channels

    def write(self, vals):
        self._livechat_check_written(vals)
        if (
            ROUTED_BY_MANAGERS.intersection(vals)
            and any(c.channel_type == "livechat" for c in self)
            and not self.env["im_livechat.routing.guard"]._livechat_is_manager()
        ):
            # a member must not pass a chat to a colleague behind the routing's
            # back (an unanswered chat would be held against them, F18), nor
            # steer where a reassignment sends it
            raise AccessError(_("Only the routing itself chooses the operator of a live chat."))
        result = super().write(vals)
        if "livechat_operator_id" in vals:
            self._livechat_sync_operator_left()
        return result

    def _livechat_sync_operator_left(self):
        """Whether each session's operator is still in it: a chat counts
        among its operator's ongoing chats only while they are. One UPDATE
        from the members as they are now: a transaction changing them or the
        operator at the same time conflicts on the row and is retried."""
        sessions = self.filtered(lambda c: c.channel_type == "livechat")
        if not sessions:
            return
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """UPDATE discuss_channel session
                      SET livechat_operator_left = session.livechat_operator_id IS NOT NULL AND NOT EXISTS (
                              SELECT FROM discuss_channel_member member
                               WHERE member.channel_id = session.id
                                 AND member.partner_id = session.livechat_operator_id)
                    WHERE session.id = ANY(%s)""",
                sessions.ids,
            )
        )
        sessions.invalidate_recordset(["livechat_operator_left"])

    def message_post(self, **kwargs):
        user = self.env.user  # who asks, also when stock's route posts as superuser
        if (
            self.channel_type == "livechat"
            and user.id != SUPERUSER_ID
            # the module's and stock's own notices post as superuser in another's name
            and not (self.env.su and kwargs.get("author_id") not in (None, False, user.partner_id.id))
            and user._is_internal()
            and user.partner_id not in self.sudo().channel_member_ids.partner_id
            and not user.has_group("im_livechat.im_livechat_group_manager")
        ):
            # reading a missed chat is not answering it: the one who answers
            # takes it (Answer), so that the visitor sees who and it is theirs
            raise AccessError(_("Take this chat with Answer before writing to the visitor."))
        return super().message_post(**kwargs)

    @api.model
    def _check_livechat_operator_chosen(self, vals_list):
        """Stock lets an operator open a chat with a website visitor, as its
        operator; nobody else names someone the operator of a new chat."""
        if self.env["im_livechat.routing.guard"]._livechat_is_manager():
            return
        for vals in vals_list:
            if vals.get("channel_type", self.env.context.get("default_channel_type")) != "livechat":
                continue
            chosen = vals.get("livechat_operator_id") or self.env.context.get("default_livechat_operator_id")
            if chosen and chosen != self.env.user.partner_id.id:
                bots = self.env["chatbot.script"].sudo().search([("operator_partner_id", "=", chosen)], limit=1)
                if not bots:
                    raise AccessError(_("Only the routing itself chooses the operator of a live chat."))

    def _livechat_guarded_fields(self):
        """Readonly in views is not enforced on RPC: a member of a session
        must not jump the line, point it at another visitor's message, nor
        choose who is skipped; the routing writes these as superuser. What
        the routing reads of a chat (expertise, language) is the routing's
        or a manager's to set."""
        if self.env.su:
            return {}
        guarded = {
            **dict.fromkeys(WAITING_LINE_FIELDS, _("Only the waiting line itself puts a visitor in line.")),
            **dict.fromkeys(
                ROUTING_FACT_FIELDS,
                _("Only the routing itself records how a chat went (who was skipped, transferred, answered)."),
            ),
        }
        if not self.env["im_livechat.routing.guard"]._livechat_is_manager():
            guarded.update(
                dict.fromkeys(
                    ROUTED_BY_MANAGERS - {"livechat_operator_id"},
                    _("Only the routing itself chooses the operator of a live chat."),
                )
            )
        return guarded

    def _livechat_routing_only_fields(self):
        return WAITING_LINE_FIELDS | ROUTING_FACT_FIELDS

    def _livechat_defaults_refused(self):
        refused = self._livechat_guarded_fields()
        if not self.env["im_livechat.routing.guard"]._livechat_is_manager():
            refused.update(
                dict.fromkeys(ROUTED_BY_MANAGERS, _("Only the routing itself chooses the operator of a live chat."))
            )
        return refused

    def _to_store(self, store):
        result = super()._to_store(store)
        channels = store.data.get("discuss.channel", {})
        for session in self._livechat_bot_forwarded_into_line():
            # the visitor's window: the script is over, the visitor writes while waiting
            current_step = channels.get((session.id,), {}).get("chatbot", {}).get("currentStep")
            if current_step:
                current_step["operatorFound"] = True
        return result

    def _livechat_hand_over(self, operator, reason, leaving=None, announce=None):
        """`operator` takes this chat over, as in chatbot forwarding: a new
        message says so (`announce`, else "X has joined"), the session's
        operator and routing reason change; then the `leaving` partners
        leave it, quietly. The waiting line, reassignment (F18) and
        /transfer (F20) all hand a chat over here."""
        self.ensure_one()
        session = self.sudo()
        leaving = leaving or self.env["res.partner"]
        chat_name = operator._livechat_chat_name()
        visitor_name = session._livechat_visitor_name()
        session.add_members(partner_ids=operator.partner_id.ids, open_chat_window=True, post_joined_message=False)
        session.write(
            {
                "livechat_operator_id": operator.partner_id.id,
                "name": f"{visitor_name} {chat_name}",
                "livechat_waiting_since": False,
                "livechat_waiting_address": False,
                # a chat that starts now: it counts as ongoing for the routing
                "last_interest_dt": fields.Datetime.now(),
                "livechat_routing_reason": reason,
            }
        )
        session._livechat_announce_join(operator, announce)
        session._broadcast(operator.partner_id.ids)
        session._livechat_leave_quietly(leaving)
        operator_claim.mark_assigned(self.env.cr, operator.ids)
        if session.livechat_channel_id.unanswered_timeout:
            # the new operator's own time to answer starts now
            self._schedule_unanswered_check(self.ids)

    def _livechat_human_members(self):
        """Partners of the internal users in the chat, OdooBot aside."""
        self.ensure_one()
        return self.sudo().channel_member_ids.partner_id.filtered(self._livechat_is_human)

    def _livechat_visitor_name(self):
        """The visitor's name as operators see it."""
        self.ensure_one()
        if self.anonymous_name:
            return self.anonymous_name
        # a portal user or a guest; a chatbot's partner has no user at all
        members = self.channel_member_ids
        portal = members.partner_id.filtered(lambda p: p.user_ids and all(p.user_ids.mapped("share")))
        return portal[:1].name or members.guest_id[:1].name or self.name

    def _close_livechat_session(self, **kwargs):
        """A visitor who leaves is out of the line; a closed chat frees a slot."""
        session = self.sudo()
        was_active, was_waiting = session.livechat_active, session.livechat_waiting_since
        result = super()._close_livechat_session(**kwargs)
        if was_waiting:
            session.write({"livechat_waiting_since": False, "livechat_waiting_address": False})
        livechat = session.livechat_channel_id
        if was_active and livechat and (livechat.waiting_line or livechat._has_waiting_visitors(any_line=True)):
            livechat._dispatch_waiting_visitors()
        return result
