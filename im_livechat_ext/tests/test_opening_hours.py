from datetime import datetime, timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged

from .common import call_as, ongoing_chat


@tagged("post_install", "-at_install")
class TestOpeningHours(HttpCase):
    """F21: outside its calendar's working time, and on its holidays, a
    channel is closed: nobody routed, no session for a human, the visitor
    told when it opens; waiting visitors are missed when it closes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.operator = new_test_user(
            cls.env, login="hours_operator", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        cls.manager = new_test_user(
            cls.env,
            login="hours_manager",
            password="hours_manager",
            groups="base.group_user,im_livechat.im_livechat_group_manager",
        )
        cls.env["bus.presence"].create({"user_id": cls.operator.id, "status": "online"})
        cls.livechat = cls.env["im_livechat.channel"].create(
            {"name": "Hours", "user_ids": [Command.set(cls.operator.ids)]}
        )

    def _calendar(self, days, hour_from=0.0, hour_to=24.0, tz="UTC"):
        """Open on these weekdays (0 = Monday), between these hours, in `tz`."""
        return self.env["resource.calendar"].create(
            {
                "name": "Support hours",
                "tz": tz,
                "attendance_ids": [
                    Command.clear(),
                    *(
                        Command.create(
                            {"name": str(day), "dayofweek": str(day), "hour_from": hour_from, "hour_to": hour_to}
                        )
                        for day in days
                    ),
                ],
            }
        )

    def _visitor_asks(self):
        self.opener.cookies.clear()
        return self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": "Late", "channel_id": self.livechat.id}
        )

    def test_open_every_day_routes_as_without_hours(self):
        self.livechat.resource_calendar_id = self._calendar(range(7))
        self.assertTrue(self.livechat._is_open())
        self.assertEqual(self.livechat.available_operator_ids, self.operator)
        self.assertFalse(self.livechat.get_livechat_info()["next_opening"])
        self.assertTrue(self._visitor_asks(), "open: the visitor gets a chat")

    def test_closed_today_routes_nobody_and_says_when_it_opens(self):
        today = fields.Datetime.now().weekday()
        tomorrow = (today + 1) % 7
        self.livechat.resource_calendar_id = self._calendar([tomorrow], 9.0, 17.0)
        self.assertFalse(self.livechat._is_open())
        self.assertFalse(self.livechat.available_operator_ids, "closed: nobody can take a chat")
        self.assertFalse(self.livechat._get_operator())
        info = self.livechat.get_livechat_info()
        self.assertFalse(info["available"])
        expected = (fields.Datetime.now() + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
        self.assertEqual(info["next_opening"], expected.isoformat() + "Z", "tomorrow at 9:00 UTC")
        self.assertFalse(self._visitor_asks(), "closed: no session for a human, as stock with nobody available")
        init = self.make_jsonrpc_request("/im_livechat/init", {"channel_id": self.livechat.id})
        self.assertFalse(init["available_for_me"])

    def test_a_holiday_closes_it_and_the_next_opening_skips_it(self):
        calendar = self._calendar(range(7))
        self.livechat.resource_calendar_id = calendar
        now = fields.Datetime.now()
        start = datetime(now.year, now.month, now.day)
        self.env["resource.calendar.leaves"].create(
            {"name": "Holiday", "calendar_id": calendar.id, "date_from": start, "date_to": start + timedelta(days=2)}
        )
        self.assertFalse(self.livechat._is_open(), "a holiday closes the team")
        self.assertEqual(self.livechat._next_opening(), start + timedelta(days=2), "opens after the holiday")

    def test_waiting_visitors_are_missed_when_it_closes(self):
        self.livechat.write({"waiting_line": True, "max_sessions_mode": "limited", "max_sessions": 1})
        ongoing_chat(self.env, self.livechat, self.operator)
        waiting = self.env["discuss.channel"].browse(self._visitor_asks()["discuss.channel"][0]["id"])
        self.env["bus.presence"].create({"guest_id": waiting.channel_member_ids.guest_id.id, "status": "online"})
        self.assertTrue(waiting.livechat_waiting_since)
        self.livechat.resource_calendar_id = self._calendar([(fields.Datetime.now().weekday() + 1) % 7])
        self.livechat._dispatch_waiting_visitors()
        self.env.invalidate_all()
        self.assertFalse(waiting.livechat_waiting_since, "out of the line")
        self.assertTrue(waiting.livechat_active, "the session is kept")
        self.assertIn("Nobody can answer", waiting.message_ids[0].body)

    def test_only_managers_choose_the_opening_hours(self):
        calendar = self._calendar(range(5))
        operator = new_test_user(
            self.env,
            login="hours_other_operator",
            password="hours_other_operator",
            groups="base.group_user,im_livechat.im_livechat_group_user",
        )
        error, _message = call_as(
            self, operator, "im_livechat.channel", "write", [[self.livechat.id], {"resource_calendar_id": calendar.id}]
        )
        self.assertEqual(error, "odoo.exceptions.AccessError")
        error, _message = call_as(
            self,
            self.manager,
            "im_livechat.channel",
            "write",
            [[self.livechat.id], {"resource_calendar_id": calendar.id}],
        )
        self.assertEqual(error, "ok")
        self.assertEqual(self.livechat.resource_calendar_id, calendar)
