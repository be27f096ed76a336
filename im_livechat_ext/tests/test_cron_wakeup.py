import calendar
import select
import time
import uuid
from contextlib import closing
from datetime import datetime, timedelta

from odoo import sql_db
from odoo.tests import tagged
from odoo.tests.common import BaseCase

from ..models import ir_cron as cron_wakeup


@tagged("post_install", "-at_install")
class TestCronWakeup(BaseCase):
    """Odoo 18's cron workers look at a future trigger only on their next poll
    (up to a minute later): the module wakes them at the moment itself."""

    def _notifications_until(self, cr, dbname, deadline):
        """Moments (unix time) at which `dbname`'s cron workers were woken."""
        seen = []
        while time.time() < deadline:
            select.select([cr._cnx], [], [], 0.1)
            cr._cnx.poll()
            seen += [time.time() for notify in cr._cnx.notifies if notify.payload == dbname]
            cr._cnx.notifies.clear()
        return seen

    def test_the_workers_are_woken_at_the_moment_once(self):
        dbname = f"im_livechat_ext_wakeup_{uuid.uuid4().hex}"  # other test runs may listen too
        with closing(sql_db.db_connect("postgres").cursor()) as cr:
            cr.execute("LISTEN cron_trigger")
            # LISTEN takes effect at commit
            cr.commit()  # pylint: disable=invalid-commit
            moment = datetime.utcnow() + timedelta(seconds=1)
            cron_wakeup.wake_at(dbname, moment)
            cron_wakeup.wake_at(dbname, moment + timedelta(milliseconds=300))  # the same second: one wake-up
            seen = self._notifications_until(cr, dbname, time.time() + 3)
        at = calendar.timegm(moment.utctimetuple()) + moment.microsecond / 1e6
        self.assertEqual(len(seen), 1, "woken once")
        self.assertGreaterEqual(seen[0], at, "not before the moment")
        self.assertLess(seen[0], at + 1.5, "within the second after it, not at the next poll")
