import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property, partial

from psycopg2.extensions import TransactionRollbackError

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.http import request

from ..tools import cron_wakeup, operator_claim, rights, routing_rules, routing_sql, waiting_line

_logger = logging.getLogger(__name__)

# the context key that hands a routing decision to stock code asking _get_operator
ROUTING_DECISION_KEY = "livechat_routing_decision"
# the context keys the get_session controller sets: the visitor language it
# detected, and that the visitor only opens the chat window (no session yet,
# so no operator to claim)
VISITOR_LANG_KEY = "livechat_visitor_lang"
NO_CLAIM_KEY = "livechat_route_without_claim"
# the context key under which available_operator_ids leaves the limits out:
# the routing's ranking applies them, counting the ongoing chats only once.
# Its value is this object: no RPC caller can pass it.
LIMITS_IN_RANKING_KEY = "livechat_limits_in_ranking"
LIMITS_IN_RANKING = object()


@dataclass
class RoutingDecision:
    """The chosen operator (empty recordset when nobody) and why."""

    operator: models.BaseModel
    # says why, when asked: a caller that only wants the operator (stock's
    # _get_operator) does not pay for the sentence's names
    explain: Callable[[], str] | None = None
    # the winner knows at least one of the expertises asked for
    knows_the_subject: bool = False

    @cached_property
    def reason(self):
        return self.explain() if self.explain else ""


# who gets which chat: changed by Live Chat managers only
ROUTING_SETTINGS = {
    "routing_priority",
    "max_sessions_mode",
    "max_sessions",
    "block_assignment_during_call",
    "operator_inactivity_timeout",
    "waiting_line",
    "expert_wait_time",
    "unanswered_timeout",
    "max_waiting",
    "max_waiting_per_address",
}
# settings that change who can take a chat: the waiting line is served again
SLOT_SETTINGS = {"user_ids", "max_sessions_mode", "max_sessions", "block_assignment_during_call", "waiting_line"}
# waiting visitors served at most per channel and dispatch
DISPATCH_BATCH = 200


class ImLivechatChannel(models.Model):
    _name = "im_livechat.channel"
    _inherit = ["im_livechat.channel", "im_livechat.routing.guard"]

    routing_priority = fields.Selection(
        [("language", "Language first"), ("expertise", "Expertise first")],
        default="language",
        required=True,
        groups="base.group_user",
        help="Language first: an operator who speaks the visitor's language is preferred, "
        "then expertise decides among them. Expertise first: an operator who knows the "
        "subject is preferred, then language decides among them.",
    )
    max_sessions_mode = fields.Selection(
        [("unlimited", "Unlimited"), ("limited", "Limited")],
        string="Sessions per Operator",
        default="unlimited",
        required=True,
        groups="base.group_user",
    )
    max_sessions = fields.Integer(
        "Maximum Ongoing Sessions",
        default=10,
        groups="base.group_user",
        help="An operator with this many ongoing chats gets no new one.",
    )
    block_assignment_during_call = fields.Boolean(
        "No New Chat During a Call",
        groups="base.group_user",
        help="Operators in a call get no new chat until they hang up.",
    )
    operator_inactivity_timeout = fields.Integer(
        "Inactivity Timeout (minutes)",
        default=30,
        groups="base.group_user",
        help="Operators without any activity in Odoo for this long get no chat and are "
        "removed from the channel's operators. 0 never removes anybody.",
    )
    waiting_line = fields.Boolean(
        "Waiting Line",
        groups="base.group_user",
        help="When every present operator is at their limit, visitors still get a chat and wait "
        "in line, seeing their place and an estimated wait, until an operator is free.",
    )
    expert_wait_time = fields.Integer(
        "Wait for an Expert (seconds)",
        default=0,
        groups="base.group_user",
        help="With a waiting line: a visitor who asked for a subject waits up to this long for a "
        "present expert of it to be free before the other operators are considered. 0 routes at once.",
    )
    unanswered_timeout = fields.Integer(
        "Reassign Unanswered Chats After (seconds)",
        default=0,
        groups="base.group_user",
        help="When the visitor has written and their operator has not answered for this long, the chat "
        "goes to the next operator by the routing rules and the silent one leaves it. 0 never reassigns.",
    )
    max_waiting = fields.Integer(
        "Longest Line",
        default=100,
        groups="base.group_user",
        help="At most this many visitors wait in line; the next ones are told, as when nobody is "
        "available, that nobody can take their chat now. 0 = no bound.",
    )
    max_waiting_per_address = fields.Integer(
        "Waiting Visitors per Address",
        default=10,
        groups="base.group_user",
        help="At most this many visitors from one network address wait in line at once (a company "
        "behind one address counts once per visitor; a flood from one machine is held at this "
        "bound). 0 = no bound.",
    )
    waiting_count = fields.Integer("Waiting Visitors", compute="_compute_waiting_count", groups="base.group_user")
    # the routing's SQL keeps active users only: no ORM pass over them again
    available_operator_ids = fields.Many2many(context={"active_test": False})
    operator_count = fields.Integer("Operators Count", compute="_compute_operator_count")
    available_operator_count = fields.Integer("Available Operators", compute="_compute_available_operator_count")

    _sql_constraints = [
        (
            "max_sessions_positive",
            "CHECK(max_sessions > 0)",
            "The maximum number of ongoing sessions per operator must be greater than 0.",
        ),
        (
            "operator_inactivity_timeout_positive",
            "CHECK(operator_inactivity_timeout >= 0)",
            "The inactivity timeout cannot be negative (0 never removes operators).",
        ),
        (
            "expert_wait_time_positive",
            "CHECK(expert_wait_time >= 0)",
            "The wait for an expert cannot be negative (0 routes at once).",
        ),
        (
            "max_waiting_positive",
            "CHECK(max_waiting >= 0 AND max_waiting_per_address >= 0)",
            "The bounds of the waiting line cannot be negative (0 = no bound).",
        ),
        (
            "unanswered_timeout_positive",
            "CHECK(unanswered_timeout >= 0)",
            "The time before an unanswered chat is reassigned cannot be negative (0 never reassigns).",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        self._livechat_check_created(vals_list)
        channels = super().create(vals_list)
        channels._ensure_operator_status_rows()
        return channels

    def write(self, vals):
        self._livechat_check_written(vals)
        result = super().write(vals)
        if "user_ids" in vals:
            self._ensure_operator_status_rows()
        if SLOT_SETTINGS.intersection(vals):
            # an operator joined or a limit was raised: the line may move
            self._dispatch_waiting_visitors()
        return result

    def unlink(self):
        """Visitors waiting in a deleted channel's line are not stranded:
        missed, told so, their session kept (without a channel, as stock
        leaves the others)."""
        self.env["discuss.channel"].sudo().search(
            [("livechat_channel_id", "in", self.ids), ("livechat_waiting_since", "!=", False)]
        )._livechat_miss_waiting_visitors()
        return super().unlink()

    def _ensure_operator_status_rows(self):
        self.env["res.users"].flush_model()
        self.flush_recordset(["user_ids"])
        operator_claim.ensure_status_rows(self.env.cr, self.sudo().user_ids.ids)

    def _livechat_guarded_fields(self):
        """Stock lets operators edit and create channels (Join writes the
        channel); the routing settings decide who gets which chat, so only
        managers choose them."""
        if rights.is_livechat_manager(self.env):
            return {}
        why = _("Only Live Chat managers can change the routing settings of a channel.")
        return dict.fromkeys(ROUTING_SETTINGS, why)

    @api.constrains(
        "max_sessions",
        "operator_inactivity_timeout",
        "expert_wait_time",
        "unanswered_timeout",
        "max_waiting",
        "max_waiting_per_address",
    )
    def _check_routing_limits(self):
        # Same rules as the SQL constraints, with a message that names the field.
        for channel in self:
            if channel.max_sessions <= 0:
                raise ValidationError(_("The maximum number of ongoing sessions per operator must be greater than 0."))
            if channel.operator_inactivity_timeout < 0:
                raise ValidationError(_("The inactivity timeout cannot be negative (0 never removes operators)."))
            if channel.expert_wait_time < 0:
                raise ValidationError(_("The wait for an expert cannot be negative (0 routes at once)."))
            if channel.max_waiting < 0 or channel.max_waiting_per_address < 0:
                raise ValidationError(_("The bounds of the waiting line cannot be negative (0 = no bound)."))
            if channel.unanswered_timeout < 0:
                raise ValidationError(
                    _("The time before an unanswered chat is reassigned cannot be negative (0 never reassigns).")
                )

    @api.depends("user_ids")
    def _compute_operator_count(self):
        for channel in self:
            channel.operator_count = len(channel.user_ids)

    @api.depends(
        "user_ids.im_status",
        "operator_inactivity_timeout",
        "max_sessions_mode",
        "max_sessions",
        "block_assignment_during_call",
    )
    @api.depends_context(LIMITS_IN_RANKING_KEY)
    def _compute_available_operator_ids(self):
        """Operators who can take a chat now: present (online, active within
        the inactivity timeout), under the limit, not blocked by a call. The
        kanban count, the website's chat button and chatbot rules "only if no
        operator" read this, as the routing does (which applies the limits
        in its ranking: LIMITS_IN_RANKING_KEY)."""
        limits = self.env.context.get(LIMITS_IN_RANKING_KEY) is not LIMITS_IN_RANKING
        field = self._fields["available_operator_ids"]
        for channel in self:
            if isinstance(channel.id, int):
                # straight into the cache, as the ORM stores it (ids): the
                # assignment's relation bookkeeping (inverses, old and new
                # pairs) has nothing to do on a field neither stored nor
                # inverted, and costs milliseconds per thousand operators
                self.env.cache.set(channel, field, channel._get_available_operators(limits=limits)._ids)
            else:  # a new record not saved yet
                channel.available_operator_ids = channel.user_ids.filtered(lambda user: user._is_user_available())

    @api.depends("available_operator_ids")
    @api.depends_context(LIMITS_IN_RANKING_KEY)
    def _compute_available_operator_count(self):
        for channel in self:
            channel.available_operator_count = len(channel.available_operator_ids)

    def _get_available_operators(self, users=None, present_only=False, limits=True, cr=None, still_operators=False):
        """Those of `users` (default: this channel's operators) who can take a
        chat of this channel now, in one query; with `present_only`, those
        present, full or not (F8); without `limits`, whatever their ongoing
        chats (the caller applies the limits); with `still_operators`, those
        of `users` still operators of the channel. `cr`: read on that cursor
        (the claim's new snapshot, which sees nothing of this transaction's
        pending writes) instead of the environment's."""
        self.ensure_one()
        if users is not None and not users:
            return self.env["res.users"]
        capacity = self._get_capacity_limits()
        if present_only:
            capacity = {"max_sessions": None, "block_call": False, "own_limits": False}
        elif not limits:
            capacity = {**capacity, "max_sessions": None, "own_limits": False}
        if cr is None:
            self.env.flush_all()
        now = fields.Datetime.now()
        timeout = self.operator_inactivity_timeout
        user_ids = routing_sql.available_operator_ids(
            cr or self.env.cr,
            now,
            inactive_before=now - timedelta(minutes=timeout) if timeout else None,
            channel_id=self.id if users is None or still_operators else None,
            user_ids=users.ids if users is not None else None,
            **capacity,
        )
        return self.env["res.users"].browse(user_ids)

    def _get_capacity_limits(self):
        """Keyword arguments of routing_sql that say when an operator is full."""
        return {
            "max_sessions": self.max_sessions if self.max_sessions_mode == "limited" else None,
            "block_call": bool(self.block_assignment_during_call),
        }

    # ------------------------------------------------------------------
    # Join / Leave
    # ------------------------------------------------------------------
    def action_join(self):
        if not self.env.user.has_group("im_livechat.im_livechat_group_user"):
            raise AccessError(_("Only Live Chat users can join a live chat channel."))
        return super().action_join()

    def _to_store(self, store, /, *, fields=None):
        result = super()._to_store(store, fields=fields)
        if fields and "are_you_inside" in fields:
            # the kanban card shows these counts next to Join / Leave
            for channel in self:
                store.add(
                    self._name,
                    {
                        "id": channel.id,
                        "operator_count": channel.operator_count,
                        "available_operator_count": channel.available_operator_count,
                    },
                )
        return result

    # ------------------------------------------------------------------
    # Sessions
    # ------------------------------------------------------------------
    def _get_livechat_discuss_channel_vals(
        self, anonymous_name, previous_operator_id=None, chatbot_script=None, user_id=None, country_id=None, lang=None
    ):
        if len(self) != 1:
            # no such channel (channel_id 0, null): stock's answer, nobody
            return super()._get_livechat_discuss_channel_vals(
                anonymous_name, previous_operator_id, chatbot_script, user_id, country_id, lang
            )
        code = self.env.context.get(VISITOR_LANG_KEY, lang)
        # an active language's cached data (no query); False id and code otherwise
        visitor_lang = self.env["res.lang"]._get_data(code=code if isinstance(code, str) else "")
        routing = None
        channel = self
        if not chatbot_script:
            if self._has_waiting_visitors():
                # nobody overtakes the line: a free slot is theirs first
                routing = RoutingDecision(self.env["res.users"])
            else:
                routing = self._route_visitor(
                    previous_operator_id=previous_operator_id,
                    lang=visitor_lang.code,
                    country_id=country_id,
                    claim=not self.env.context.get(NO_CLAIM_KEY),
                )
            channel = self._with_routing_decision(self, routing)
        vals = super(ImLivechatChannel, channel)._get_livechat_discuss_channel_vals(
            anonymous_name,
            previous_operator_id=previous_operator_id,
            chatbot_script=chatbot_script,
            user_id=user_id,
            country_id=country_id,
            lang=visitor_lang.code or lang,
        )
        if not vals and routing is not None and self._can_wait_in_line():
            # nobody free but someone present: the visitor waits in line
            vals = self._get_waiting_session_vals(
                anonymous_name, user_id=user_id, country_id=country_id, lang=visitor_lang.code or lang
            )
        if vals:
            vals["livechat_lang_id"] = visitor_lang.id
            if routing and routing.operator:
                vals["livechat_routing_reason"] = routing.reason
        return vals

    def _get_waiting_session_vals(self, anonymous_name, user_id=None, country_id=None, lang=None):
        """A session with no operator yet: OdooBot holds it (stock requires an
        operator on every session) and tells the visitor their place. None
        when this visitor may not wait (the line's bounds): stock's answer."""
        visitor = self._line_visitor(user_id)
        if not self._visitor_may_wait(visitor):
            return {}
        odoobot = self.env.ref("base.user_root")
        vals = super(ImLivechatChannel, self._with_routing_decision(self, RoutingDecision(odoobot)))
        vals = vals._get_livechat_discuss_channel_vals(
            anonymous_name, user_id=user_id, country_id=country_id, lang=lang
        )
        if vals:
            visitor_user = self.env["res.users"].browse(user_id) if user_id else self.env["res.users"]
            vals["name"] = visitor_user.display_name if visitor_user else anonymous_name
            vals["livechat_waiting_since"] = fields.Datetime.now()
            vals["livechat_waiting_address"] = visitor["address"]
        return vals

    @api.model
    def _line_visitor(self, user_id=None):
        """Who asks to wait, as the line's bounds count them: a digest of the
        request's network address, the guest, the partner of a logged-in
        visitor."""
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret") or ""
        address = request.httprequest.remote_addr if request else None
        user = self.env["res.users"].browse(user_id) if user_id else self.env["res.users"]
        if not user and request and not self.env.user._is_public():
            user = self.env.user
        return {
            "address": waiting_line.address_digest(secret, address),
            "guest_id": self.env["mail.guest"]._get_guest_from_context().id,
            "partner_id": user.partner_id.id if user and user.id != SUPERUSER_ID else False,
        }

    def _visitor_may_wait(self, visitor):
        """The line bounds (F16): one place per visitor, at most
        `max_waiting_per_address` from one address, at most `max_waiting` in
        all. Under concurrent arrivals a bound can be passed by the requests
        in flight at that moment, never more. One query."""
        self.ensure_one()
        self.env["discuss.channel"].flush_model(
            ["livechat_waiting_since", "livechat_active", "livechat_waiting_address"]
        )
        waiting, from_address, theirs = waiting_line.line_counts(
            self.env.cr, self.id, visitor["address"], visitor["guest_id"], visitor["partner_id"]
        )
        if theirs:
            return False
        if self.max_waiting and waiting >= self.max_waiting:
            return False
        return not (
            self.max_waiting_per_address and visitor["address"] and from_address >= self.max_waiting_per_address
        )

    # ------------------------------------------------------------------
    # Waiting line (F16, F17): the rules and queries are in tools/waiting_line.py
    # ------------------------------------------------------------------
    def _compute_waiting_count(self):
        self.env["discuss.channel"].flush_model(["livechat_waiting_since", "livechat_active"])
        places = waiting_line.waiting_places(self.env.cr, self.ids) if self.ids else {}
        for channel in self:
            channel.waiting_count = sum(1 for channel_id, _place in places.values() if channel_id == channel.id)

    def _has_waiting_visitors(self, any_line=False):
        """Someone of this channel waits in line (one indexed query); with
        `any_line`, even if the line was turned off since."""
        self.ensure_one()
        if not (self.waiting_line or any_line):
            return False
        self.env["discuss.channel"].flush_model(["livechat_waiting_since", "livechat_active"])
        return bool(waiting_line.waiting_places(self.env.cr, self.ids, limit=1))

    def _can_wait_in_line(self, visitor=None):
        """The line is on, an operator of the channel is present and the line
        is not full; with `visitor` (_line_visitor), that visitor may wait."""
        self.ensure_one()
        if not (self.waiting_line and self._get_present_operator_counts().get(self.id)):
            return False
        if visitor is None:
            visitor = {"address": False, "guest_id": False, "partner_id": False}
        return self._visitor_may_wait(visitor)

    def _get_present_operator_counts(self):
        self.env["bus.presence"].flush_model()
        return waiting_line.present_operator_counts(
            self.env.cr,
            self.ids,
            fields.Datetime.now(),
            {channel.id: channel.operator_inactivity_timeout for channel in self},
        )

    def _get_waiting_estimates(self):
        """{channel id: (median handling seconds, operators present, chats each)}."""
        now = fields.Datetime.now()
        medians = waiting_line.median_handling_seconds(self.env.cr, self.ids, now)
        present = self._get_present_operator_counts()
        return {
            channel.id: (
                medians.get(channel.id, 0),
                present.get(channel.id, 0),
                channel.max_sessions if channel.max_sessions_mode == "limited" else 1,
            )
            for channel in self
        }

    def get_livechat_info(self, username=None):
        """With a waiting line the chat stays offered while someone is present."""
        info = super().get_livechat_info(username=username)
        if not info.get("available") and self.sudo()._can_wait_in_line():
            info["available"] = True
            info["options"] = dict(self._get_channel_infos(), default_username=username or _("Visitor"))
        return info

    @api.model
    def _dispatch_waiting_visitors(self):
        """Serve waiting visitors oldest first, each by the routing rules with
        their own language and expertises, while operators can take them; then
        tell those still waiting whose place changed. Never waits on another
        transaction: visitors and operators another worker is serving are
        skipped, and a conflict only rolls this dispatch back to a savepoint
        (the scheduled action is then triggered to try again), so the request
        that freed the slot never fails because of it."""
        channels = self.sudo() or self.sudo().search([("waiting_line", "=", True)])
        # a line turned off still serves those who were waiting in it
        channels = channels.filtered(
            lambda channel: channel.waiting_line or channel._has_waiting_visitors(any_line=True)
        )
        if not channels:
            return 0
        # the caller's own pending writes conflict (or not) outside of this
        self.env.cr.flush()
        served = 0
        stamped = operator_claim.own_stamps(self.env.cr)
        try:
            with self.env.cr.savepoint():
                self.env["discuss.channel"]._livechat_release_gone_visitors(channels)
                for channel in channels:
                    served += channel._serve_waiting_visitors()
                self.env["discuss.channel"].sudo()._notify_waiting_line(channels)
        except TransactionRollbackError:
            served = 0
            operator_claim.forget_stamps_since(self.env.cr, stamped)
            self.env.invalidate_all()
            self._trigger_waiting_line_dispatch()
        return served

    @api.model
    def _trigger_waiting_line_dispatch(self, at=None):
        """Serve the line soon (or `at` that moment), in a transaction of its
        own: the one-minute scheduled action, run then."""
        cron_wakeup.trigger_at(self.env.ref("im_livechat_ext.ir_cron_dispatch_waiting_visitors").sudo(), at)

    def _serve_waiting_visitors(self):
        """Oldest first, one locked visitor at a time, so that another worker
        serving the line at the same moment takes the next one."""
        self.ensure_one()
        Session = self.env["discuss.channel"].sudo()
        served, skipped, waits_for_expert = 0, [], {}
        for _i in range(DISPATCH_BATCH):
            self.env.flush_all()
            session = Session.browse(waiting_line.lock_next_waiting_session(self.env.cr, self.id, skipped))
            if not session:
                break
            expertises = session.livechat_expertise_ids
            expert_wait_ends = session.livechat_waiting_since + timedelta(seconds=self.expert_wait_time)
            if expertises and self.expert_wait_time and fields.Datetime.now() < expert_wait_ends:
                # F17, asked once per set of expertises in a dispatch
                key = tuple(expertises.ids)
                if key not in waits_for_expert:
                    waits_for_expert[key] = self._waits_for_expert(expertises)
                if waits_for_expert[key]:
                    skipped.append(session.id)  # does not block those behind
                    self._trigger_waiting_line_dispatch(at=expert_wait_ends)  # to the second
                    continue
            routing = self._route_visitor(
                lang=session.livechat_lang_id.code,
                country_id=session.country_id.id,
                expertises=expertises,
                # those who left this visitor unanswered never get them again (F18)
                exclude_users=session.livechat_skipped_operator_ids.user_ids,
                wait_for_claimed=False,
            )
            if not routing.operator and session.livechat_skipped_operator_ids:
                skipped.append(session.id)  # only those who left them unanswered are free
                continue
            if not routing.operator:
                if self.available_operator_ids:
                    # free operators being given chats by others right now
                    self._trigger_waiting_line_dispatch()
                break  # nobody can take a chat: the others wait too
            session._livechat_join_waiting_operator(routing)
            served += 1
        return served

    def _waits_for_expert(self, expertises, waiting_since=None):
        """F17: the visitor asked for these expertises, no operator who can
        take a chat now has any of them, but such an expert of the channel is
        present: wait for them while `expert_wait_time` has not passed since
        `waiting_since`."""
        self.ensure_one()
        expertises = expertises.filtered("active")
        if not (self.waiting_line and self.expert_wait_time > 0 and expertises):
            return False
        if waiting_since and fields.Datetime.now() - waiting_since >= timedelta(seconds=self.expert_wait_time):
            return False
        experts = expertises.sudo().user_ids
        self.invalidate_recordset(["available_operator_ids"])
        if self.available_operator_ids & experts:
            return False
        return bool(self._get_available_operators(present_only=True) & experts)

    @api.model
    def _cron_dispatch_waiting_visitors(self):
        """Safety net: sessions going idle free slots with nobody acting;
        and what a flood of visitors who waited and wrote nothing left is
        deleted, a batch a run (the next run goes on)."""
        self._dispatch_waiting_visitors()
        if self.env["discuss.channel"]._livechat_delete_silent_sessions():
            self._trigger_waiting_line_dispatch()

    @api.model
    def _detect_visitor_lang(self):
        """The code of the language of the visitor of the current request
        (an active language, else False): website language cookie, website
        visitor's language, browser's Accept-Language (exact code, then same
        base). Read from the languages' cache: no query per visitor."""
        Lang = self.env["res.lang"].sudo()
        if not request:
            return False
        if cookie_lang := Lang._get_code(request.cookies.get("frontend_lang") or ""):
            return cookie_lang
        if "website.visitor" in self.env:
            visitor = self.env["website.visitor"].sudo()._get_visitor_from_request()
            if visitor and (visitor_lang := Lang._get_data(id=visitor.lang_id.id).code):
                return visitor_lang
        active_codes = [code for code, _name in Lang.get_installed()]
        return routing_rules.best_accept_language(request.httprequest.accept_languages, active_codes) or False

    # ------------------------------------------------------------------
    # Routing: the rules are in tools/routing_rules.py, their SQL in
    # tools/routing_sql.py and tools/operator_claim.py; these methods only
    # bring them the channel.
    # ------------------------------------------------------------------
    def _get_operator(self, previous_operator_id=None, lang=None, country_id=None, expertises=None, users=None):
        """The operator for a new chat (empty recordset when nobody is
        available), following the routing rules. Stock code asking it while
        giving a session gets the decision this module took and claimed
        (_with_routing_decision); any other caller only asks."""
        if len(self) != 1:
            return self.env["res.users"]  # no such channel (channel_id 0, null): nobody, as stock
        decided = self.env.context.get(ROUTING_DECISION_KEY)
        if decided and decided[1] == self.id:
            return self.env["res.users"].browse(decided[0])
        return self._route_visitor(
            previous_operator_id=previous_operator_id,
            lang=lang,
            country_id=country_id,
            expertises=expertises,
            users=users,
            claim=False,
        ).operator

    def _with_routing_decision(self, records, decision):
        """`records` with a context that makes stock code asking this
        channel's _get_operator get this very decision."""
        self.ensure_one()
        return records.with_context(**{ROUTING_DECISION_KEY: (decision.operator.id, self.id)})

    def _route_visitor(
        self,
        previous_operator_id=None,
        lang=None,
        country_id=None,
        expertises=None,
        users=None,
        exclude_users=None,
        claim=True,
        wait_for_claimed=True,
    ):
        """The RoutingDecision for a visitor: the best operator who can take
        the chat, with the reason. With `claim` (giving a session), the best
        one nobody else is being given right now, locked until the transaction
        ends. `users` replaces the channel's operators as candidates;
        `exclude_users` are never chosen."""
        self.ensure_one()
        Users = self.env["res.users"]
        if users is not None:
            candidates = self._get_available_operators(users, limits=False)
        else:
            # the stock extension point, fresh: sessions given in this
            # transaction count; the limits are applied by the ranking
            channel = self.with_context(**{LIMITS_IN_RANKING_KEY: LIMITS_IN_RANKING})
            channel.invalidate_recordset(["available_operator_ids"])
            candidates = channel.available_operator_ids
        if not candidates:
            return RoutingDecision(Users)
        capacity = self._get_capacity_limits()
        ranking = partial(
            routing_sql.rank_operators,
            priority=self.routing_priority or "language",
            lang=lang,
            country_id=country_id,
            expertise_ids=expertises.ids if expertises else [],
            previous_partner_id=previous_operator_id,
            exclude_user_ids=exclude_users.ids if exclude_users else (),
            max_sessions=capacity["max_sessions"],
            block_call=capacity["block_call"],
            chat_lang_relation=self._get_chat_lang_relation(),
        )

        def rank(cr):
            """The ranking as of now, on `cr`. The claim ranks again on a new
            snapshot (another cursor): who is present (and, for the channel's
            operators, still one of them) is read there again."""
            present = candidates
            if cr is not self.env.cr:
                present = self._get_available_operators(
                    candidates, present_only=True, cr=cr, still_operators=users is None
                )
            return ranking(cr, now=fields.Datetime.now(), user_ids=present.ids) if present else []

        ranked = rank(self.env.cr)
        if claim:
            winner = operator_claim.claim_first(
                self.env.cr,
                ranked,
                capacity["max_sessions"],
                rank_again=rank,
                wait=wait_for_claimed,
            )
        else:
            winner = ranked[0] if ranked else None
        if not winner:
            return RoutingDecision(Users)
        winner_id = winner["user_id"]
        return RoutingDecision(
            Users.browse(winner_id),
            explain=lambda: self._routing_reason(winner, country_id),
            knows_the_subject=bool(winner["matched_ids"]),
        )

    @api.model
    def _get_chat_lang_relation(self):
        field = self.env["res.users.settings"]._fields["livechat_lang_ids"]
        return field.relation, field.column1, field.column2

    @api.model
    def _company_env(self):
        """Routing reasons are for managers: in the company's language. Only
        that language is read: the company partner's whole row would cost
        more than the rest of the sentence, on every chat given."""
        company_partner = self.env.company.partner_id
        company_partner.fetch(["lang"])
        return self.with_context(lang=company_partner.lang or "en_US").env

    def _routing_reason(self, winner, country_id):
        """The reason sentence, for managers: in the company's language."""
        env = self._company_env()
        lang_code = winner["lang_code"]
        operator = env["res.users"].sudo().browse(winner["user_id"])
        return routing_rules.routing_reason(
            env,
            self.routing_priority or "language",
            winner,
            operator._livechat_chat_name(),
            lang_name=lang_code and (env["res.lang"]._get_data(code=lang_code).name or lang_code),
            country_name=country_id and env["res.country"].sudo().browse(country_id).name,
            expertise_names=env["im_livechat.expertise"].sudo().browse(winner["matched_ids"]).mapped("name"),
        )

    # ------------------------------------------------------------------
    # Inactivity
    # ------------------------------------------------------------------
    @api.model
    def _cron_remove_inactive_operators(self):
        """Remove from each channel the operators without Odoo activity for
        longer than the channel's timeout; tell them and log it on the channel."""
        now = fields.Datetime.now()
        self.env["bus.presence"].flush_model()
        for channel in self.search([("operator_inactivity_timeout", ">", 0)]):
            inactive_before = now - timedelta(minutes=channel.operator_inactivity_timeout)
            self.env.cr.execute(
                """
                SELECT rel.user_id
                  FROM im_livechat_channel_im_user rel
                  LEFT JOIN bus_presence presence ON presence.user_id = rel.user_id
                 WHERE rel.channel_id = %s
                   AND (presence.id IS NULL OR presence.last_presence < %s)
                """,
                [channel.id, inactive_before],
            )
            inactive = self.env["res.users"].browse([row[0] for row in self.env.cr.fetchall()])
            if inactive:
                channel._remove_inactive_operators(inactive, channel.operator_inactivity_timeout)

    def _remove_inactive_operators(self, operators, timeout):
        self.ensure_one()
        self.user_ids -= operators
        _logger.info("Live chat channel %s: removed inactive operators %s", self.id, operators.ids)
        self.env["im_livechat.operator.removal"].sudo().create(
            [{"channel_id": self.id, "user_id": operator.id, "timeout": timeout} for operator in operators]
        )
        for operator in operators:
            self._tell_operator(
                operator,
                lambda env: env._(
                    "You were removed from the live chat channel %(channel)s after %(minutes)s minutes "
                    "without activity in Odoo. Join it again from Live Chat when you are back.",
                    channel=self.name,
                    minutes=timeout,
                ),
            )

    @api.model
    def _tell_operator(self, operator, text):
        """OdooBot tells an operator something in a direct chat in Discuss, in
        the operator's language: `text(env)` translates it with env._(). An
        archived operator can no longer read it: nothing is written."""
        if not operator.active:
            return
        odoobot = self.env.ref("base.user_root")
        # sudo: discuss.channel - OdooBot opens the direct chat with the operator
        chat = self.env["discuss.channel"].with_user(odoobot).sudo().channel_get([operator.partner_id.id])
        chat.message_post(
            author_id=odoobot.partner_id.id,
            body=text(self.with_context(lang=operator.lang or "en_US").env),
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
