from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..tools import routing_sql, waiting_line

# the routing counts ongoing chats per operator at every selection; the
# uninstall hook drops this index, which Odoo would not
ONGOING_CHATS_INDEX = "discuss_channel_livechat_ongoing_index"
# the waiting line sets these itself (as superuser), nobody else
WAITING_LINE_FIELDS = {"livechat_waiting_since", "livechat_waiting_message_id"}


class DiscussChannel(models.Model):
    _inherit = "discuss.channel"

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

    livechat_waiting_since = fields.Datetime(
        "Waiting Since",
        readonly=True,
        copy=False,
        index="btree_not_null",
        groups="base.group_user",
        help="The visitor waits in line for an operator since then (empty: not waiting).",
    )
    livechat_queue_position = fields.Integer(
        "Place in Line",
        compute="_compute_livechat_queue",
        groups="base.group_user",
        help="1 = next to be served, 0 = not waiting.",
    )
    livechat_expected_wait = fields.Integer(
        "Expected Wait (seconds)",
        compute="_compute_livechat_queue",
        groups="base.group_user",
        help="From the channel's recent sessions; 0 = unknown or not waiting.",
    )
    livechat_waiting_message_id = fields.Many2one(
        "mail.message", "Place in Line Message", readonly=True, copy=False, groups="base.group_system"
    )

    @api.model_create_multi
    def create(self, vals_list):
        defaults = {key.removeprefix("default_") for key in self.env.context if key.startswith("default_")}
        if not self.env.su and (
            WAITING_LINE_FIELDS & defaults or any(WAITING_LINE_FIELDS.intersection(vals) for vals in vals_list)
        ):
            raise AccessError(_("Only the waiting line itself puts a visitor in line."))
        channels = super().create(vals_list)
        livechats = channels.filtered(lambda c: c.channel_type == "livechat" and c.livechat_channel_id)
        waiting = livechats.filtered("livechat_waiting_since")
        # the 120 s buffer and the burst order of the routing read this
        routing_sql.mark_assigned(self.env.cr, (livechats - waiting).livechat_operator_id.user_ids.ids)
        if waiting:
            # the others' places do not change: only the newcomers are told theirs
            self.sudo()._notify_waiting_line(waiting.livechat_channel_id, only=waiting)
            if waiting.livechat_channel_id.sudo().available_operator_ids:
                # someone can take a chat (e.g. those ahead wait for an expert): serve soon
                self.env["im_livechat.channel"]._trigger_waiting_line_dispatch()
        return channels

    def write(self, vals):
        # readonly in views is not enforced on RPC: a member of a session must
        # not jump the line, nor point it at another visitor's message
        if not self.env.su and WAITING_LINE_FIELDS.intersection(vals):
            raise AccessError(_("Only the waiting line itself puts a visitor in line."))
        return super().write(vals)

    def _compute_livechat_queue(self):
        """Every place and estimate in a fixed number of queries."""
        self.flush_model(["livechat_waiting_since", "livechat_active"])
        livechats = self.sudo().livechat_channel_id
        places = waiting_line.waiting_places(self.env.cr, livechats.ids)
        estimates = livechats._get_waiting_estimates() if places else {}
        for session in self:
            channel_id, place = places.get(session.id, (None, 0))
            session.livechat_queue_position = place
            session.livechat_expected_wait = (
                waiting_line.expected_wait_seconds(place, *estimates[channel_id]) if place else 0
            )

    @api.model
    def _notify_waiting_line(self, livechat_channels, only=None):
        """Tell the waiting visitors of these channels (`only` these sessions)
        their place and wait, in their language, live: each one's own line
        message is rewritten and sent over the bus, when its text changed.
        Places and estimates: a fixed number of queries. A message another
        transaction is rewriting right now is left to it."""
        self.env.flush_all()
        self.env["discuss.channel"].invalidate_model(["livechat_queue_position", "livechat_expected_wait"])
        places = waiting_line.waiting_places(self.env.cr, livechat_channels.ids)
        if only is not None:
            places = {session_id: place for session_id, place in places.items() if session_id in only.ids}
        if not places:
            return
        estimates = livechat_channels._get_waiting_estimates()
        # language and line message of every one, in one query whatever their number
        self.env.cr.execute(
            SQL(
                """SELECT session.id, lang.code, session.livechat_waiting_message_id
                     FROM discuss_channel session
                     LEFT JOIN res_lang lang ON lang.id = session.livechat_lang_id
                    WHERE session.id = ANY(%s)
                    ORDER BY session.id""",
                sorted(places),
            )
        )
        bodies = {}
        envs = {}
        for session_id, lang_code, message_id in self.env.cr.fetchall():
            session = self.browse(session_id)
            channel_id, place = places[session_id]
            wait = waiting_line.expected_wait_seconds(place, *estimates[channel_id])
            lang_code = lang_code or "en_US"
            env = envs.setdefault(lang_code, self.with_context(lang=lang_code).env)
            body = Markup('<div class="o_mail_notification o_livechat_waiting_line">%s</div>') % (
                waiting_line.line_message(env, place, wait)
            )
            if message_id:
                bodies[message_id] = (session, body)
            else:
                session.livechat_waiting_message_id = session._post_line_notice(body)
        if not bodies:
            return
        # one UPDATE for the whole line, of the texts that changed only
        changed = routing_sql.try_in_savepoint(
            self.env.cr,
            SQL(
                """WITH new AS (
                            SELECT * FROM unnest(%s::int[], %s::text[], %s::int[]) AS new(id, body, session_id)
                        ),
                        free AS (
                            -- only the session's own line message, whatever its field says
                            SELECT message.id FROM mail_message message JOIN new ON new.id = message.id
                             WHERE message.body IS DISTINCT FROM new.body
                               AND message.model = 'discuss.channel' AND message.res_id = new.session_id
                             ORDER BY message.id FOR NO KEY UPDATE OF message SKIP LOCKED
                        )
                   UPDATE mail_message SET body = new.body, write_date = now() AT TIME ZONE 'UTC'
                     FROM new, free
                    WHERE mail_message.id = new.id AND free.id = new.id
                RETURNING mail_message.id""",
                list(bodies),
                [str(body) for _session, body in bodies.values()],
                [session.id for session, _body in bodies.values()],
            ),
        )
        self.env["mail.message"].invalidate_model(["body", "write_date"])
        if changed is None:
            # another transaction changed one of them first: try again soon
            self.env["im_livechat.channel"]._trigger_waiting_line_dispatch()
        for (message_id,) in changed or []:
            session, body = bodies[message_id]
            session._send_new_body(message_id, body)

    def _livechat_enter_waiting_line(self, expertises):
        """The visitor of this session waits in line with these expertises
        (keeping their place if they were already in it)."""
        self.ensure_one()
        self.sudo().write(
            {
                "livechat_waiting_since": self.livechat_waiting_since or fields.Datetime.now(),
                "livechat_expertise_ids": [fields.Command.set(expertises.ids)],
            }
        )
        self._notify_waiting_line(self.livechat_channel_id, only=self)

    def _livechat_join_waiting_operator(self, routing):
        """The operator chosen for a waiting visitor joins, as in chatbot
        forwarding: "X has joined", the session's operator and reason."""
        self.ensure_one()
        operator = routing.operator
        chat_name = operator.livechat_username or operator.partner_id.name
        waited = int((fields.Datetime.now() - self.livechat_waiting_since).total_seconds())
        self.add_members(partner_ids=operator.partner_id.ids, open_chat_window=True, post_joined_message=False)
        visitor = self.channel_member_ids.filtered(lambda m: m.partner_id and m.partner_id != self.livechat_operator_id)
        visitor_name = self.anonymous_name or (visitor.partner_id - operator.partner_id)[:1].name or self.name
        company_env = self.with_context(lang=self.env.company.partner_id.lang or "en_US").env
        self.sudo().write(
            {
                "livechat_operator_id": operator.partner_id.id,
                "name": f"{visitor_name} {chat_name}",
                "livechat_waiting_since": False,
                # a chat that starts now: it counts as ongoing for the routing
                "last_interest_dt": fields.Datetime.now(),
                "livechat_routing_reason": company_env._(
                    "%(reason)s (waited %(seconds)s s in line)", reason=routing.reason, seconds=waited
                ),
            }
        )
        env = self.with_context(lang=self.livechat_lang_id.code or "en_US").env
        joined = Markup('<div class="o_mail_notification">%s</div>') % env._("%s has joined", chat_name)
        message = self.livechat_waiting_message_id
        if message and message.model == "discuss.channel" and message.res_id == self.id:
            # the line message becomes the notice: the visitor sees it change live
            message.body = joined
            self._send_new_body(message.id, joined)
            self.sudo().livechat_waiting_message_id = False
        else:
            self._post_line_notice(joined)
        self._broadcast(operator.partner_id.ids)
        routing_sql.mark_assigned(self.env.cr, operator.ids)

    def _post_line_notice(self, body):
        """A notice of the waiting line in the chat, from OdooBot."""
        return self.message_post(
            author_id=self.env.ref("base.partner_root").id,
            body=body,
            message_type="notification",
            subtype_xmlid="mail.mt_comment",
        )

    def _send_new_body(self, message_id, body):
        """The members' windows show a message's new text, live."""
        self._bus_send("mail.record/insert", {"mail.message": [{"id": message_id, "body": body}]})

    def _close_livechat_session(self, **kwargs):
        """A visitor who leaves is out of the line; a closed chat frees a slot."""
        session = self.sudo()
        was_active, was_waiting = session.livechat_active, session.livechat_waiting_since
        result = super()._close_livechat_session(**kwargs)
        if was_waiting:
            session.write({"livechat_waiting_since": False})
        livechat = session.livechat_channel_id
        if was_active and livechat and (livechat.waiting_line or livechat._has_waiting_visitors(any_line=True)):
            livechat._dispatch_waiting_visitors()
        return result
