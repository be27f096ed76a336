from datetime import timedelta

from odoo import api, fields, models

from ..tools import availability_sql

# who can take a chat, as this file computes it: the routing reads its own
# candidates unless another module overrides one of these
OWN_AVAILABILITY = ("_compute_available_operator_ids", "_get_available_operators")


class ImLivechatChannel(models.Model):
    """Who of a channel's operators can take a chat now (F8, F11, F13,
    F19, F21), read in one query whatever the team's size: the kanban
    count, the website's chat button, chatbot rules and the routing's
    candidates."""

    _inherit = "im_livechat.channel"  # pylint: disable=consider-merging-classes-inherited

    # the routing's SQL keeps active users only: no ORM pass over them again
    available_operator_ids = fields.Many2many(context={"active_test": False})
    available_operator_count = fields.Integer("Available Operators", compute="_compute_available_operator_count")

    @api.depends(
        "user_ids.im_status",
        "operator_inactivity_timeout",
        "max_sessions_mode",
        "max_sessions",
        "block_assignment_during_call",
    )
    def _compute_available_operator_ids(self):
        """Operators who can take a chat now: present (online, active within
        the inactivity timeout), under the limit, not blocked by a call. The
        kanban count, the website's chat button and chatbot rules "only if
        no operator" read this; another module overriding it decides the
        routing's candidates too (_get_routing_candidates), as in stock."""
        field = self._fields["available_operator_ids"]
        for channel in self:
            if isinstance(channel.id, int):
                # straight into the cache, as the ORM stores it (ids): the
                # assignment's relation bookkeeping (inverses, old and new
                # pairs) has nothing to do on a field neither stored nor
                # inverted, and costs milliseconds per thousand operators
                self.env.cache.set(channel, field, channel._get_available_operators()._ids)
            else:  # a new record not saved yet
                channel.available_operator_ids = channel.user_ids.filtered(lambda user: user._is_user_available())

    @api.depends("available_operator_ids")
    def _compute_available_operator_count(self):
        for channel in self:
            channel.available_operator_count = len(channel.available_operator_ids)

    def _get_available_operators(self, users=None):
        """Those of `users` (default: this channel's operators) who can take
        a chat of this channel now: present, under their limit, not blocked
        by a call. One query."""
        return self._read_operators(users, **self._get_capacity_limits())

    def _get_present_operators(self, users=None):
        """Those of `users` (default: this channel's operators) present now,
        full or not (F8): the waiting line's and the board's "someone is there"."""
        return self._read_operators(users, max_sessions=None, block_call=False, own_limits=False)

    def _get_routing_candidates(self, users=None):
        """The routing's candidates: those of `users` (default: this
        channel's operators) present and not blocked by a call, whatever
        their ongoing chats, for the ranking applies the limits (counting
        the chats once for the limits and the order alike). When another
        module decides who can take a chat (an override of
        available_operator_ids, stock's extension point, or of
        _get_available_operators), those it says, whom the ranking holds to
        the limits all the same."""
        if not self._availability_is_extended():
            capacity = {**self._get_capacity_limits(), "max_sessions": None, "own_limits": False}
            return self._read_operators(users, **capacity)
        # fresh: the chats given in this transaction count
        self.invalidate_recordset(["available_operator_ids"])
        if users is None:
            return self.with_prefetch().available_operator_ids
        candidates = self._get_available_operators(users)
        # those of them who are this channel's operators: as its extension point says
        return candidates - ((candidates & self.user_ids) - self.with_prefetch().available_operator_ids)

    def _availability_is_extended(self):
        """Whether a module loaded after this one overrides who can take a
        chat (the registry's class resolves one of these methods elsewhere,
        or the field is computed by another method)."""
        registry_class = type(self)
        return self._fields["available_operator_ids"].compute != "_compute_available_operator_ids" or any(
            getattr(registry_class, name) is not getattr(ImLivechatChannel, name) for name in OWN_AVAILABILITY
        )

    def _read_operators(self, users, max_sessions, block_call, own_limits=True):
        """The operators of availability_sql's statement, read in this transaction."""
        self.ensure_one()
        if (users is not None and not users) or not self._is_open():
            return self.env["res.users"]  # nobody asked for, or closed (F21)
        self.env.flush_all()
        now = fields.Datetime.now()
        timeout = self.operator_inactivity_timeout
        self.env.cr.execute(
            availability_sql.available_operators_sql(
                now,
                inactive_before=now - timedelta(minutes=timeout) if timeout else None,
                max_sessions=max_sessions,
                block_call=block_call,
                channel_id=self.id if users is None else None,
                user_ids=users.ids if users is not None else None,
                own_limits=own_limits,
            )
        )
        return self.env["res.users"].browse([user_id for (user_id,) in self.env.cr.fetchall()])

    def _get_capacity_limits(self):
        """Keyword arguments of routing_sql that say when an operator is full."""
        return {
            "max_sessions": self.max_sessions if self.max_sessions_mode == "limited" else None,
            "block_call": bool(self.block_assignment_during_call),
        }
