from datetime import timedelta

from pytz import utc

from odoo import _, fields, models

# the next opening is looked for this far ahead (SPEC F21)
NEXT_OPENING_WITHIN = timedelta(days=30)


class ImLivechatChannel(models.Model):
    """Opening hours (SPEC F21): outside its calendar's working time and on
    its holidays a channel is closed: nobody is routed to, no session opens
    for a human, and get_livechat_info says when it opens again."""

    _inherit = "im_livechat.channel"  # pylint: disable=consider-merging-classes-inherited

    resource_calendar_id = fields.Many2one(
        "resource.calendar",
        "Opening Hours",
        groups="base.group_user",
        help="When the team answers, in the calendar's time zone, its holidays excluded. Outside them "
        "nobody is routed to (as when nobody is available: a chatbot for that case still runs) and those "
        "waiting in line are told nobody can answer now. Empty: always open.",
    )

    def _work_intervals(self, start, end):
        """The calendar's working intervals between two UTC datetimes, its
        holidays (leaves without a resource) taken out."""
        self.ensure_one()
        calendar = self.sudo().resource_calendar_id
        intervals = calendar._work_intervals_batch(utc.localize(start), utc.localize(end))[False]
        return [
            (begin.astimezone(utc).replace(tzinfo=None), stop.astimezone(utc).replace(tzinfo=None))
            for begin, stop, _r in intervals
        ]

    def _is_open(self, at=None):
        """Whether the team answers at that moment (now by default)."""
        self.ensure_one()
        if not self.sudo().resource_calendar_id:
            return True
        at = at or fields.Datetime.now()
        return any(begin <= at < stop for begin, stop in self._work_intervals(at, at + timedelta(seconds=1)))

    def _next_opening(self, now=None):
        """The start of the next working time that is not a holiday, within
        NEXT_OPENING_WITHIN (naive UTC), or None."""
        self.ensure_one()
        if not self.sudo().resource_calendar_id:
            return None
        now = now or fields.Datetime.now()
        starts = [begin for begin, _stop in self._work_intervals(now, now + NEXT_OPENING_WITHIN) if begin > now]
        return min(starts, default=None)

    def _closing_time(self, now=None):
        """When the current working time ends (naive UTC; None: closed, or
        no calendar)."""
        self.ensure_one()
        if not self.sudo().resource_calendar_id:
            return None
        now = now or fields.Datetime.now()
        return next(
            (stop for begin, stop in self._work_intervals(now, now + NEXT_OPENING_WITHIN) if begin <= now < stop), None
        )

    def get_livechat_info(self, username=None):
        """Closed: stock's answer with nobody available, and when it opens."""
        info = super().get_livechat_info(username=username)
        if self.sudo().resource_calendar_id and not self._is_open():
            opening = self._next_opening()
            info["next_opening"] = opening.isoformat() + "Z" if opening else False
            if opening and "options" not in info:
                # the chat button stays, to tell a visitor when it opens
                info["options"] = {**self._get_channel_infos(), "default_username": username or _("Visitor")}
        else:
            info["next_opening"] = False
        return info
