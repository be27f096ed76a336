import logging
from datetime import timedelta

from markupsafe import Markup
from psycopg2.extensions import TransactionRollbackError

from odoo import SUPERUSER_ID, Command, _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL, html2plaintext

from ..tools import cron_wakeup, operator_claim, rights, unanswered, waiting_line

_logger = logging.getLogger(__name__)

# the routing counts ongoing chats per operator at every selection; the
# uninstall hook drops this index, which Odoo would not
ONGOING_CHATS_INDEX = "discuss_channel_livechat_ongoing_since_index"
FORMER_ONGOING_CHATS_INDEX = "discuss_channel_livechat_ongoing_index"
# the waiting line sets these itself (as superuser), nobody else
WAITING_LINE_FIELDS = {"livechat_waiting_since", "livechat_waiting_message_id", "livechat_waiting_address"}
# the routing records these itself (as superuser), nobody else
ROUTING_FACT_FIELDS = {"livechat_skipped_operator_ids", "livechat_transferred"}
# who answers a chat and what the routing reads of it: the routing, or a Live Chat manager
ROUTED_BY_MANAGERS = {"livechat_operator_id", "livechat_expertise_ids", "livechat_lang_id"}
TRANSFER_COMMAND = "/transfer"
# at most this many expertises in the /transfer list
EXPERTISES_LISTED = 100
# unanswered sessions reassigned per cron transaction
REASSIGN_BATCH = 5
# a session someone is writing to right now is tried again this much later
BUSY_RETRY = timedelta(seconds=15)


class DiscussChannel(models.Model):
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
    livechat_skipped_operator_ids = fields.Many2many(
        "res.partner",
        "discuss_channel_livechat_skipped_operator_rel",
        "channel_id",
        "partner_id",
        string="Skipped Operators",
        readonly=True,
        copy=False,
        groups="base.group_user",
        help="Operators who left this chat unanswered: it is never given to them again.",
    )
    livechat_transferred = fields.Boolean(
        "Transferred",
        readonly=True,
        copy=False,
        groups="base.group_user",
        help="An operator transferred this chat to an expert with /transfer.",
    )

    def init(self):
        result = super().init()
        # the routing counts ongoing chats per operator at every selection, the
        # unanswered check reads ongoing sessions: only open sessions are
        # indexed, by their last activity, so that chats left open long ago
        # cost nothing (the index of 18.0.1.4.0 could not be searched by it)
        self.env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(FORMER_ONGOING_CHATS_INDEX)))
        self.env.cr.execute(
            SQL(
                """CREATE INDEX IF NOT EXISTS %s
                       ON discuss_channel ((GREATEST(create_date, last_interest_dt)))
                    WHERE channel_type = 'livechat' AND livechat_active""",
                SQL.identifier(ONGOING_CHATS_INDEX),
            )
        )
        return result

    @api.model_create_multi
    def create(self, vals_list):
        self._livechat_check_created(vals_list)
        self._check_livechat_operator_chosen(vals_list)
        channels = super().create(vals_list)
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
        return channels

    def write(self, vals):
        self._livechat_check_written(vals)
        if (
            ROUTED_BY_MANAGERS.intersection(vals)
            and any(c.channel_type == "livechat" for c in self)
            and not rights.is_livechat_manager(self.env)
        ):
            # a member must not pass a chat to a colleague behind the routing's
            # back (an unanswered chat would be held against them, F18), nor
            # steer where a reassignment sends it
            raise AccessError(_("Only the routing itself chooses the operator of a live chat."))
        return super().write(vals)

    @api.model
    def _check_livechat_operator_chosen(self, vals_list):
        """Stock lets an operator open a chat with a website visitor, as its
        operator; nobody else names someone the operator of a new chat."""
        if rights.is_livechat_manager(self.env):
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
            **dict.fromkeys(ROUTING_FACT_FIELDS, _("Only the routing itself records who was skipped or transferred.")),
        }
        if not rights.is_livechat_manager(self.env):
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
        if not rights.is_livechat_manager(self.env):
            refused.update(
                dict.fromkeys(ROUTED_BY_MANAGERS, _("Only the routing itself chooses the operator of a live chat."))
            )
        return refused

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

    def _to_store(self, store):
        result = super()._to_store(store)
        channels = store.data.get("discuss.channel", {})
        for session in self._livechat_bot_forwarded_into_line():
            # the visitor's window: the script is over, the visitor writes while waiting
            current_step = channels.get((session.id,), {}).get("chatbot", {}).get("currentStep")
            if current_step:
                current_step["operatorFound"] = True
        return result

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

    def _livechat_hand_over(self, operator, reason, leaving=None):
        """`operator` takes this chat over, as in chatbot forwarding: "X has
        joined", the session's operator and routing reason; then the
        `leaving` partners leave it. The waiting line, reassignment (F18) and
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
        env = self.with_context(lang=session.livechat_lang_id.code or "en_US").env
        joined = Markup('<div class="o_mail_notification">%s</div>') % env._("%s has joined", chat_name)
        message = session.livechat_waiting_message_id
        if message and message.model == "discuss.channel" and message.res_id == self.id:
            # the line message becomes the notice: the visitor sees it change live
            message.body = joined
            session._send_new_body(message.id, joined)
            session.livechat_waiting_message_id = False
        else:
            session._post_line_notice(joined)
        session._broadcast(operator.partner_id.ids)
        for partner in leaving & session.channel_member_ids.partner_id:
            session._action_unfollow(partner)
        operator_claim.mark_assigned(self.env.cr, operator.ids)
        if session.livechat_channel_id.unanswered_timeout:
            # the new operator's own time to answer starts now
            self._schedule_unanswered_check(self.ids)

    def _livechat_human_members(self):
        """Partners of the internal users in the chat, OdooBot aside."""
        self.ensure_one()
        return self.sudo().channel_member_ids.partner_id.filtered(
            lambda partner: any(user._is_internal() and user.id != SUPERUSER_ID for user in partner.user_ids)
        )

    def _livechat_visitor_name(self):
        """The visitor's name as operators see it."""
        self.ensure_one()
        if self.anonymous_name:
            return self.anonymous_name
        # a portal user or a guest; a chatbot's partner has no user at all
        members = self.channel_member_ids
        portal = members.partner_id.filtered(lambda p: p.user_ids and all(p.user_ids.mapped("share")))
        return portal[:1].name or members.guest_id[:1].name or self.name

    # ------------------------------------------------------------------
    # Unanswered chats (F18): which ones, in tools/unanswered.py
    # ------------------------------------------------------------------
    def message_post(self, **kwargs):
        if (
            self.channel_type == "livechat"
            and self.env.user._is_internal()
            and self.sudo().livechat_channel_id.unanswered_timeout
        ):
            # an operator answering holds the session from the start: the
            # reassignment skips it (never a deadlock on its members' rows)
            self.env.cr.execute(SQL("SELECT id FROM discuss_channel WHERE id = %s FOR NO KEY UPDATE", self.id))
        return super().message_post(**kwargs)

    def _message_post_after_hook(self, message, msg_vals):
        result = super()._message_post_after_hook(message, msg_vals)
        if (
            self.channel_type == "livechat"
            and message.message_type == "comment"
            and (message.author_guest_id or message.author_id.partner_share)
            and self.sudo().livechat_channel_id.unanswered_timeout
        ):
            # a visitor's first unanswered message starts the operator's clock
            self._schedule_unanswered_check(self.ids, first_message=message)
        return result

    @api.model
    def _schedule_unanswered_check(self, session_ids=None, first_message=None):
        """Check these sessions (None: all) to the second when their operator's
        time to answer runs out; with `first_message`, only if it is the
        visitor's first unanswered message (their next ones change nothing)."""
        self.env.flush_all()
        now = fields.Datetime.now()
        rows = unanswered.unanswered_sessions(self.env.cr, now, session_ids)
        if first_message:
            rows = [row for row in rows if row["first_message_id"] == first_message.id]
        self._trigger_unanswered_check(rows, now)

    @api.model
    def _trigger_unanswered_check(self, rows, now):
        """The reassignment runs when the first of these sessions (rows of
        unanswered_sessions) not yet due falls due."""
        if upcoming := [row["due"] for row in rows if row["due"] > now]:
            cron_wakeup.trigger_at(self._unanswered_cron(), min(upcoming))

    @api.model
    def _unanswered_cron(self):
        return self.env.ref("im_livechat_ext.ir_cron_reassign_unanswered_sessions").sudo()

    @api.model
    def _reassign_unanswered_sessions(self, limit=None):
        """F18: each session whose visitor has waited longer than the channel's
        unanswered timeout for their operator's answer goes to the next
        operator by the routing rules; the silent one leaves it and is told.
        An operator answering or opening the chat right now, or since this
        run began, wins: their session is locked or changed, and left for a
        later run. At most `limit` sessions (None: all). Returns how many
        moved."""
        return self._reassign_due_sessions(limit)[0]

    @api.model
    def _cron_reassign_unanswered_sessions(self):
        """A few moves per transaction: the cron commits between batches, so
        sessions and operators are never held long. Sessions that cannot move
        now do not count: they never keep the job running."""
        moved, more = self._reassign_due_sessions(REASSIGN_BATCH)
        self.env["ir.cron"]._notify_progress(done=moved, remaining=int(more))
        return moved

    @api.model
    def _reassign_due_sessions(self, limit):
        """Go through the due sessions, oldest due first, until `limit` moved
        (None: all). Returns (moved, whether due sessions were left untried)."""
        self.env.flush_all()
        now = fields.Datetime.now()
        # one read of the sessions waiting for an answer: those due now, and
        # the moment the next one falls due
        waiting = unanswered.unanswered_sessions(self.env.cr, now)
        due = [row for row in waiting if row["due"] <= now]
        moved, tried, busy = 0, 0, False
        for row in due:
            if limit and moved >= limit:
                break
            tried += 1
            outcome = self._reassign_in_savepoint(row, now)
            busy |= outcome is None
            moved += outcome or 0
        # those moved were scheduled by their hand-over
        self._trigger_unanswered_check(waiting, now)
        if busy:
            # once, a little later: never a run after run on the same session
            cron_wakeup.trigger_at(self._unanswered_cron(), now + BUSY_RETRY)
        return moved, tried < len(due)

    def _reassign_in_savepoint(self, row, now):
        """One session in a savepoint of its own, rolled back (its locks
        released at once) unless it moved: 1 moved, 0 stays, None busy."""
        outcome = None
        stamped = operator_claim.own_stamps(self.env.cr)
        try:
            with self.env.cr.savepoint() as savepoint:
                if unanswered.lock_session(self.env.cr, row["session_id"]):
                    outcome = self.sudo().browse(row["session_id"])._reassign_unanswered(row, now)
                if outcome != 1:
                    savepoint.rollback()
        except TransactionRollbackError:
            # answered or opened right now: busy, tried again a little later
            _logger.debug("Live chat session %s is busy: its reassignment waits", row["session_id"])
        except Exception:  # noqa: BLE001 - one odd session never stops the others
            _logger.exception("Live chat session %s: the unanswered chat could not be reassigned", row["session_id"])
            outcome = 0
        if outcome != 1:
            operator_claim.forget_stamps_since(self.env.cr, stamped)
            self.env.invalidate_all()
        return outcome

    def _reassign_unanswered(self, row, now):
        """The next operator takes this unanswered chat (or, with nobody and a
        waiting line, it goes back in line with its original time). Returns
        1 when it moved, 0 when it stays, None when the operators who could
        take it are all being given chats right now (try again)."""
        self.ensure_one()
        livechat = self.livechat_channel_id
        silent = self.env["res.partner"].browse(row["operator_partner_id"])
        excluded = (self.livechat_skipped_operator_ids | silent).user_ids
        seconds = int((now - row["waiting_since"]).total_seconds())
        routing = livechat._route_visitor(
            lang=self.livechat_lang_id.code,
            country_id=self.country_id.id,
            expertises=self.livechat_expertise_ids,
            exclude_users=excluded,
            wait_for_claimed=False,
        )
        if not routing.operator and livechat._get_available_operators() - excluded:
            return None  # free operators, but being given chats by others at this moment
        if not routing.operator and not livechat.waiting_line:
            return 0  # nobody else: the chat stays where it is
        self.livechat_skipped_operator_ids = [Command.link(silent.id)]
        visitor = self._livechat_visitor_name()
        # the operator's internal user, active first (a partner may also
        # have an archived one); an operator archived since has their chat name
        silent_user = (
            silent.with_context(active_test=False)
            .user_ids.filtered(lambda user: not user.share)
            .sorted(lambda user: not user.active)[:1]
        )
        reassigned = (
            self.env["im_livechat.channel"]
            ._company_env()
            ._(
                "Reassigned after %(seconds)s s without an answer from %(operator)s",
                seconds=seconds,
                operator=silent_user._livechat_chat_name() or silent.name,
            )
        )
        if routing.operator:
            self._livechat_hand_over(routing.operator, f"{reassigned}: {routing.reason}", leaving=silent)
            new_name = routing.operator._livechat_chat_name()
            livechat._tell_operator(
                silent_user,
                lambda env: env._(
                    "%(visitor)s waited %(seconds)s s for your answer in a live chat: %(operator)s took it over.",
                    visitor=visitor,
                    seconds=seconds,
                    operator=new_name,
                ),
            )
        else:
            self._livechat_back_in_line(silent, reassigned)
            livechat._tell_operator(
                silent_user,
                lambda env: env._(
                    "%(visitor)s waited %(seconds)s s for your answer in a live chat: "
                    "they are back in the waiting line for another operator.",
                    visitor=visitor,
                    seconds=seconds,
                ),
            )
        return 1

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

    # ------------------------------------------------------------------
    # /transfer <expertise> (F20), as stock's /lead
    # ------------------------------------------------------------------
    def execute_command_transfer(self, **kwargs):
        """/transfer <expertise>: the best operator of that expertise who can
        take a chat joins, the one typing leaves. /transfer alone lists the
        expertises. Nobody or an unknown expertise: a message, no change."""
        self.ensure_one()
        self._check_transfer_access()
        # the notices are for the operator who typed the command, in their language
        self = self.with_context(lang=self.env.context.get("lang") or self.env.user.lang)  # noqa: PLW0642
        session = self.sudo()
        name = html2plaintext(kwargs.get("body") or "").strip().removeprefix(TRANSFER_COMMAND).strip()
        if not session.livechat_active:
            return self._send_transfer_notice(_("This chat is over: there is nobody to transfer."))
        if not session.livechat_channel_id:
            return self._send_transfer_notice(_("This chat belongs to no live chat channel: it cannot be routed."))
        me = self.env.user
        # whoever answers the chat now (after a chatbot's forward, the bot stays its operator)
        humans = session._livechat_human_members() | me.partner_id
        excluded = me | (humans | session.livechat_skipped_operator_ids).user_ids
        if not name:
            return self._send_transfer_notice(self._transfer_help(excluded))
        expertise = self.env["im_livechat.expertise"]._find_by_name(name)
        if not expertise:
            return self._send_transfer_notice(
                _(
                    "There is no expertise named %(name)s. Type %(command)s alone to list them.",
                    name=name,
                    command=TRANSFER_COMMAND,
                )
            )
        routing = None
        # the chat's own channel's operators first, then those of another channel
        for operators in session._livechat_transfer_candidates(expertise):
            routing = session.livechat_channel_id._route_visitor(
                users=operators,
                exclude_users=excluded,
                lang=session.livechat_lang_id.code,
                country_id=session.country_id.id,
                expertises=expertise,
                wait_for_claimed=False,
            )
            if routing.operator:
                break
        if not (routing and routing.operator):
            return self._send_transfer_notice(
                _(
                    "Nobody with the expertise %(expertise)s can take a chat now: the chat stays with you.",
                    expertise=expertise.name,
                )
            )
        reason = (
            self.env["im_livechat.channel"]
            ._company_env()
            ._(
                "Transferred by %(operator)s: %(reason)s",
                operator=me._livechat_chat_name(),
                reason=routing.reason,
            )
        )
        session.write({"livechat_expertise_ids": [Command.set(expertise.ids)], "livechat_transferred": True})
        # the chat's operators leave, the one who typed it too: one operator stays
        session._livechat_hand_over(routing.operator, reason, leaving=humans)
        return True

    def _livechat_transfer_candidates(self, expertise):
        """Who /transfer may hand this chat to, in order: those with the
        expertise who are operators of its channel, then those who are
        operators of another channel. Someone who is nobody's operator (never
        joined, or left every channel) is never handed a chat."""
        self.ensure_one()
        experts = expertise.sudo().user_ids
        own = experts & self.sudo().livechat_channel_id.user_ids
        elsewhere = (
            self.env["im_livechat.channel"].sudo().search([("user_ids", "in", (experts - own).ids)]).user_ids & experts
        ) - own
        return [candidates for candidates in (own, elsewhere) if candidates]

    def _check_transfer_access(self):
        """Operators of the chat (and Live Chat managers) transfer it; never a
        visitor, whatever they send over RPC."""
        user = self.env.user
        if not (
            self.channel_type == "livechat"
            and user.has_group("im_livechat.im_livechat_group_user")
            and (self.is_member or rights.is_livechat_manager(self.env))
        ):
            raise AccessError(_("Only the operators of a live chat can transfer it."))
        if not self._livechat_has_visitor():
            # a chat someone opened with nobody to serve would only make the
            # expert it goes to look busy
            raise AccessError(_("Only a chat with a visitor can be transferred."))

    def _livechat_has_visitor(self):
        """A visitor is in this chat: a guest, or a partner who is no internal user."""
        self.ensure_one()
        members = self.sudo().channel_member_ids
        return bool(
            members.guest_id
            or members.partner_id.filtered(
                lambda partner: not partner.user_ids or all(user.share for user in partner.user_ids)
            )
            - self.sudo().livechat_operator_id
        )

    def _transfer_help(self, excluded):
        """Each expertise with how many of its operators can take a chat now."""
        Expertise = self.env["im_livechat.expertise"].sudo()
        # every active expertise is listed to the operator: tens of them, not thousands
        expertises = Expertise.search([], limit=EXPERTISES_LISTED)
        operators = self.env["im_livechat.channel"].sudo().search([]).user_ids
        available = self.sudo().livechat_channel_id._get_available_operators(
            (expertises.user_ids & operators) - excluded
        )
        lines = Markup("").join(
            Markup("<li>%s</li>")
            % self.env._(
                "%(expertise)s: %(count)s can take a chat now",
                expertise=expertise.name,
                count=len(expertise.user_ids & available),
            )
            for expertise in expertises
        )
        return Markup("%s<ul>%s</ul>") % (
            _("Transfer this chat to an expert: %(command)s expertise", command=TRANSFER_COMMAND),
            lines,
        )

    def _send_transfer_notice(self, body):
        """A message only the operator who typed the command sees."""
        self.env.user._bus_send_transient_message(self, body)
        return False

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
            session.write({"livechat_waiting_since": False, "livechat_waiting_address": False})
        livechat = session.livechat_channel_id
        if was_active and livechat and (livechat.waiting_line or livechat._has_waiting_visitors(any_line=True)):
            livechat._dispatch_waiting_visitors()
        return result
