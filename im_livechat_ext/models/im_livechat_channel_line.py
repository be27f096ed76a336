from datetime import timedelta

from psycopg2.extensions import TransactionRollbackError

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.http import request

from ..tools import visitor_address, waiting_line
from . import im_livechat_operator_status as operator_claim
from .im_livechat_channel_routing import RoutingDecision

# waiting visitors served at most per channel and dispatch
DISPATCH_BATCH = 200


class ImLivechatChannel(models.Model):
    """The waiting line (SPEC F16, F17): who may wait, serving it, its estimates."""

    _inherit = "im_livechat.channel"  # pylint: disable=consider-merging-classes-inherited

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

    expected_chat_duration = fields.Integer(
        "Typical Chat Length (seconds)",
        default=300,
        groups="base.group_user",
        help="What the waiting line's estimate starts from while the channel has finished fewer than "
        "3 chats; after that, the median length of its own recent chats. 0: no estimate until then.",
    )
    max_wait_time = fields.Integer(
        "Maximum Wait (seconds)",
        default=0,
        groups="base.group_user",
        help="A visitor who waited this long in line leaves it: they are told nobody can answer now and "
        "that their messages are kept, their session stays open. 0 = no maximum. Visitors also leave "
        "the line when nobody of the channel is present any more.",
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

    def _get_waiting_session_vals(self, anonymous_name, visitor, user_id=None, country_id=None, lang=None):
        """A session with no operator yet for `visitor` (_line_visitor, who
        _can_wait_in_line): OdooBot holds it (stock requires an operator on
        every session) and tells the visitor their place."""
        odoobot = self.env.ref("base.user_root")
        holder = self._with_routing_decision(self, RoutingDecision(odoobot))
        vals = holder._get_stock_session_vals(anonymous_name, user_id=user_id, country_id=country_id, lang=lang)
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
            "address": visitor_address.address_digest(secret, address),
            "guest_id": self.env["mail.guest"]._get_guest_from_context().id,
            "partner_id": user.partner_id.id if user and user.id != SUPERUSER_ID else False,
        }

    def _visitor_may_wait(self, visitor):
        """The line bounds (F16): one place per visitor, at most
        `max_waiting_per_address` from one address, at most `max_waiting` in
        all. Under concurrent arrivals a bound can be passed by the requests
        in flight at that moment, never more. One query."""
        self.ensure_one()
        waiting, from_address, theirs = self.env["im_livechat.waiting.line"]._counts(self.id, visitor)
        if theirs:
            return False
        if self.max_waiting and waiting >= self.max_waiting:
            return False
        return not (
            self.max_waiting_per_address and visitor["address"] and from_address >= self.max_waiting_per_address
        )

    def _compute_waiting_count(self):
        places = self.env["im_livechat.waiting.line"]._places(self.ids)
        for channel in self:
            channel.waiting_count = sum(1 for channel_id, _place in places.values() if channel_id == channel.id)

    def _has_waiting_visitors(self, any_line=False):
        """Someone of this channel waits in line (one indexed query); with
        `any_line`, even if the line was turned off since."""
        self.ensure_one()
        if not (self.waiting_line or any_line):
            return False
        return bool(self.env["im_livechat.waiting.line"]._places(self.ids, limit=1))

    def _can_wait_in_line(self, visitor=None):
        """The line is on, an operator of the channel is present and the line
        is not full; with `visitor` (_line_visitor), that visitor may wait."""
        self.ensure_one()
        if not (self.waiting_line and self._is_open() and self._get_present_operator_counts().get(self.id)):
            return False
        if visitor is None:
            visitor = {"address": False, "guest_id": False, "partner_id": False}
        return self._visitor_may_wait(visitor)

    def _get_present_operator_counts(self):
        return self.env["im_livechat.waiting.line"]._present_operator_counts(
            self.ids,
            fields.Datetime.now(),
            {channel.id: channel.operator_inactivity_timeout for channel in self},
        )

    def _get_waiting_estimates(self):
        """{channel id: (median handling seconds, operators present, chats each)}."""
        now = fields.Datetime.now()
        medians = self.env["im_livechat.waiting.line"]._median_handling_seconds(self.ids, now)
        present = self._get_present_operator_counts()
        return {
            channel.id: (
                waiting_line.blended_handling_seconds(*medians.get(channel.id, (0, 0)), channel.expected_chat_duration),
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
                self.env["discuss.channel"]._livechat_release_missed_visitors(channels)
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
        self.env.ref("im_livechat_ext.ir_cron_dispatch_waiting_visitors").sudo()._livechat_trigger_at(at)

    def _serve_waiting_visitors(self):
        """Oldest first, one locked visitor at a time, so that another worker
        serving the line at the same moment takes the next one."""
        self.ensure_one()
        Session = self.env["discuss.channel"].sudo()
        served, skipped, waits_for_expert = 0, [], {}
        for _i in range(DISPATCH_BATCH):
            self.env.flush_all()
            session = Session.browse(self.env["im_livechat.waiting.line"]._lock_next(self.id, skipped))
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
        return bool(self._get_present_operators() & experts)

    @api.model
    def _cron_dispatch_waiting_visitors(self):
        """Safety net: sessions going idle free slots with nobody acting;
        and what a flood of visitors who waited and wrote nothing left is
        deleted, a batch a run (the next run goes on)."""
        self._dispatch_waiting_visitors()
        if self.env["discuss.channel"]._livechat_delete_silent_sessions():
            self._trigger_waiting_line_dispatch()

    def _get_offline_rule(self, country=None):
        """The channel's rule whose chatbot runs when no operator is
        available, for a visitor from `country`, as stock matches a rule
        (sequence order); only rules for every page: the page the visitor
        was on is not known once they wait."""
        self.ensure_one()
        for rule in self.sudo().rule_ids.sorted("sequence"):
            script = rule.chatbot_script_id
            if not (rule.chatbot_only_if_no_operator and script.active and script.script_step_ids):
                continue
            if rule.regex_url or (rule.country_ids and country not in rule.country_ids):
                continue
            return rule
        return self.env["im_livechat.channel.rule"]
