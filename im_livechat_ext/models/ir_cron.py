"""Wake Odoo's cron workers at a precise moment.

Odoo 18 writes a trigger set in the future (``ir.cron._trigger(at=...)``)
but its cron workers only look at it on their next poll, up to a minute
later: only a trigger due now wakes them. The unanswered-chat check (F18)
and the end of an expert wait (F17) must run to the second, so this keeps
one small daemon thread per server process with a heap of moments, and at
each one sends the same PostgreSQL notification Odoo sends for a trigger
due now. The trigger row stays the source of truth: a process that stops
before the moment only loses the precision, and the cron's regular poll
still runs the job.

Kept in the server process on purpose, measured by test_cron_wakeup (woken
within the second after the moment, where Odoo's poll takes up to a
minute). With prefork workers it survives recycling as far as it needs to:
a worker recycled after ``limit_request`` loses the moments it planned,
never a job, since the trigger rows stay and the next poll runs them.
"""

import calendar
import functools
import heapq
import logging
import threading
import time

from odoo import models, sql_db
from odoo.tools import SQL

from odoo.addons.base.models.ir_cron import ODOO_NOTIFY_FUNCTION

_logger = logging.getLogger(__name__)

# at most this many moments wait in one process (a burst of visitors cannot
# grow it without bound; beyond, the cron's own poll serves them)
MAX_PENDING = 10_000
# woken this long after the moment, so that the trigger is due when the cron looks
MARGIN = 0.5

_condition = threading.Condition()
_pending = []  # heap of (unix time, database name)
_planned = set()  # (database name, whole second) already in the heap
_thread = None
_warned = False


def wake_at(dbname, moment):
    """Wake the cron workers of `dbname` at `moment` (a naive UTC datetime)."""
    global _thread, _warned  # noqa: PLW0603 (one thread per process)
    at = (moment.timestamp() if moment.tzinfo else _utc_timestamp(moment)) + MARGIN
    with _condition:
        if (dbname, int(at)) in _planned:
            return
        if len(_pending) >= MAX_PENDING:
            if not _warned:
                _logger.warning(
                    "%s cron wake-ups already planned: the next ones wait for the cron's own poll", MAX_PENDING
                )
                _warned = True
            return
        _planned.add((dbname, int(at)))
        heapq.heappush(_pending, (at, dbname))
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="im_livechat_ext.cron_wakeup", daemon=True)
            _thread.start()
        _condition.notify()


def _utc_timestamp(naive_utc):
    return calendar.timegm(naive_utc.utctimetuple()) + naive_utc.microsecond / 1e6


def _run():
    while True:
        with _condition:
            while not _pending:
                _condition.wait()
            at, dbname = _pending[0]
            delay = at - time.time()
            if delay > 0:
                _condition.wait(delay)
                continue
            heapq.heappop(_pending)
            _planned.discard((dbname, int(at)))
            # moments of the same database within the next second need no wake-up of their own
            while _pending and _pending[0][1] == dbname and _pending[0][0] <= at + 1:
                _planned.discard((dbname, int(heapq.heappop(_pending)[0])))
        _notify(dbname)


def _notify(dbname):
    try:
        with sql_db.db_connect("postgres").cursor() as cr:
            cr.execute(SQL("SELECT %s('cron_trigger', %s)", SQL.identifier(ODOO_NOTIFY_FUNCTION), dbname))
    except Exception:  # noqa: BLE001 - the cron's own poll is the safety net
        _logger.warning("Could not wake the cron workers of %s", dbname, exc_info=True)


class IrCron(models.Model):
    _inherit = "ir.cron"

    def _livechat_trigger_at(self, at=None):
        """``_trigger(at=at)``, with the cron workers woken at that moment
        once the transaction commits (a rollback wakes nobody)."""
        self._trigger(at=at)
        if at:
            self.env.cr.postcommit.add(functools.partial(wake_at, self.env.cr.dbname, at))
