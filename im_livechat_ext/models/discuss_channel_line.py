from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import waiting_line
from . import im_livechat_operator_status as operator_claim


class DiscussChannel(models.Model):
    """A session in the waiting line (SPEC F16): the visitor's place and
    its message, entering the line and being served from it."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

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
    livechat_waiting_address = fields.Char(
        "Waiting From",
        readonly=True,
        copy=False,
        groups="base.group_system",
        help="A digest of the network address the visitor asked from, kept while they wait: "
        "bounds how many visitors wait from one address.",
    )

    def _compute_livechat_queue(self):
        """Every place and estimate in a fixed number of queries."""
        self.flush_model(["livechat_waiting_since", "livechat_active"])
        livechats = self.sudo().livechat_channel_id
        places = self.env["im_livechat.waiting.line"]._places(livechats.ids)
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
        places = self.env["im_livechat.waiting.line"]._places(livechat_channels.ids)
        if only is not None:
            places = {session_id: place for session_id, place in places.items() if session_id in only.ids}
        else:
            # behind the first LIVE_PLACES the text does not move with the line
            places = {
                session_id: (channel_id, place)
                for session_id, (channel_id, place) in places.items()
                if place <= waiting_line.LIVE_PLACES
            }
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
            body = Markup('<p class="o_livechat_waiting_line">%s</p>') % (waiting_line.line_message(env, place, wait))
            if message_id:
                bodies[message_id] = (session, body)
            else:
                # entering the line: the estimate shown now is kept (F23)
                values = {"livechat_waiting_message_id": session._livechat_post_in_voice(body).id}
                if not session.livechat_line_estimate:
                    values["livechat_line_estimate"] = wait
                session.write(values)
        if not bodies:
            return
        # one UPDATE for the whole line, of the texts that changed only
        changed = operator_claim.try_in_savepoint(
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

    def _livechat_enter_waiting_line(self, expertises, visitor=None):
        """The visitor of this session (`visitor`: _line_visitor) waits in
        line with these expertises (keeping their place if they were already
        in it)."""
        self.ensure_one()
        self.sudo().write(
            {
                "livechat_waiting_since": self.livechat_waiting_since or fields.Datetime.now(),
                "livechat_waiting_address": (visitor or {}).get("address") or self.sudo().livechat_waiting_address,
                "livechat_expertise_ids": [fields.Command.set(expertises.ids)],
            }
        )
        self._notify_waiting_line(self.livechat_channel_id, only=self)
        self._livechat_schedule_line_end()

    def _livechat_bot_forwarded_into_line(self):
        """Those of these sessions whose chatbot forwarded the visitor into
        the waiting line: the script stops there, as when an operator joins
        (stock tells the visitor's window only by the members' count)."""
        # sudo: discuss.channel - the session's own line and step, not sent as such
        return self.sudo().filtered(
            lambda session: (
                session.livechat_waiting_since and session.chatbot_current_step_id.step_type == "forward_operator"
            )
        )

    def _livechat_join_waiting_operator(self, routing):
        """The operator chosen for a waiting visitor joins."""
        self.ensure_one()
        waited = int((fields.Datetime.now() - self.livechat_waiting_since).total_seconds())
        reason = routing.reason
        if self.livechat_skipped_operator_ids and self.sudo().livechat_routing_reason:
            # back in line after an unanswered chat (F18): "Reassigned after ..." stays first
            reason = f"{self.sudo().livechat_routing_reason}: {reason}"
        reason = (
            self.env["im_livechat.channel"]
            ._company_env()
            ._("%(reason)s (waited %(seconds)s s in line)", reason=reason, seconds=waited)
        )
        self._livechat_hand_over(routing.operator, reason)

    def _livechat_back_in_line(self, leaving, reason):
        """Back in the waiting line, at the place of the session's start:
        OdooBot holds the chat again and `leaving` leaves it; `reason` is kept
        to begin the next operator's routing reason."""
        self.ensure_one()
        odoobot = self.env.ref("base.partner_root")
        self.add_members(partner_ids=odoobot.ids, post_joined_message=False)
        self.write(
            {
                "livechat_operator_id": odoobot.id,
                "livechat_waiting_since": self.create_date,
                "livechat_routing_reason": reason,
            }
        )
        self._action_unfollow(leaving)
        self._notify_waiting_line(self.livechat_channel_id, only=self)

    def _send_new_body(self, message_id, body):
        """The members' windows show a message's new text, live."""
        self._bus_send("mail.record/insert", {"mail.message": [{"id": message_id, "body": body}]})
