import logging
from datetime import timedelta

from psycopg2.extensions import TransactionRollbackError

from odoo import Command, api, fields, models
from odoo.tools import SQL

from ..tools import unanswered
from . import im_livechat_operator_status as operator_claim

_logger = logging.getLogger(__name__)

# unanswered sessions reassigned per cron transaction
REASSIGN_BATCH = 5
# a session someone is writing to right now is tried again this much later
BUSY_RETRY = timedelta(seconds=15)
# what became of an unanswered chat tried for reassignment: another
# operator took it (or it went back in line), it stays where it is, or the
# operators who could take it are all being given chats right now
MOVED, STAYS, BUSY = "moved", "stays", "busy"


class DiscussChannel(models.Model):
    """Unanswered chats (SPEC F18): a visitor left without an answer goes to the next operator."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

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
        rows = self._unanswered_sessions(now, session_ids)
        if first_message:
            rows = [row for row in rows if row["first_message_id"] == first_message.id]
        self._trigger_unanswered_check(rows, now)

    @api.model
    def _unanswered_sessions(self, now, session_ids=None):
        """Rows of tools/unanswered.py's sessions waiting for an answer."""
        self.env.cr.execute(unanswered.unanswered_sessions_sql(now, session_ids))
        return self.env.cr.dictfetchall()

    @api.model
    def _lock_unanswered_session(self, session_id):
        """Lock the session and its members' rows without waiting: False when
        another transaction is writing one of them (an operator answering or
        opening the chat right now) or wrote one since ours began (their
        answer, which our snapshot does not see: it fails to serialize)."""
        rows = operator_claim.try_in_savepoint(self.env.cr, unanswered.lock_session_sql(session_id))
        return bool(rows and rows[0][0])

    @api.model
    def _trigger_unanswered_check(self, rows, now):
        """The reassignment runs when the first of these sessions (rows of
        unanswered_sessions) not yet due falls due."""
        if upcoming := [row["due"] for row in rows if row["due"] > now]:
            self._unanswered_cron()._livechat_trigger_at(min(upcoming))

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
        waiting = self._unanswered_sessions(now)
        due = [row for row in waiting if row["due"] <= now]
        moved, tried, busy = 0, 0, False
        for row in due:
            if limit and moved >= limit:
                break
            tried += 1
            outcome = self._reassign_in_savepoint(row, now)
            busy |= outcome == BUSY
            moved += outcome == MOVED
        # those moved were scheduled by their hand-over
        self._trigger_unanswered_check(waiting, now)
        if busy:
            # once, a little later: never a run after run on the same session
            self._unanswered_cron()._livechat_trigger_at(now + BUSY_RETRY)
        return moved, tried < len(due)

    def _reassign_in_savepoint(self, row, now):
        """One session in a savepoint of its own, rolled back (its locks
        released at once) unless it moved: MOVED, STAYS or BUSY."""
        outcome = BUSY
        stamped = operator_claim.own_stamps(self.env.cr)
        try:
            with self.env.cr.savepoint() as savepoint:
                if self._lock_unanswered_session(row["session_id"]):
                    outcome = self.sudo().browse(row["session_id"])._reassign_unanswered(row, now)
                if outcome != MOVED:
                    savepoint.rollback()
        except TransactionRollbackError:
            # answered or opened right now: busy, tried again a little later
            _logger.debug("Live chat session %s is busy: its reassignment waits", row["session_id"])
        except Exception:  # noqa: BLE001 - one odd session never stops the others
            _logger.exception("Live chat session %s: the unanswered chat could not be reassigned", row["session_id"])
            outcome = STAYS
        if outcome != MOVED:
            operator_claim.forget_stamps_since(self.env.cr, stamped)
            self.env.invalidate_all()
        return outcome

    def _reassign_unanswered(self, row, now):
        """The next operator takes this unanswered chat (or, with nobody and a
        waiting line, it goes back in line with its original time): MOVED,
        STAYS, or BUSY when the operators who could take it are all being
        given chats right now (try again)."""
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
            return BUSY  # free operators, but being given chats by others at this moment
        if not routing.operator and not livechat.waiting_line:
            return STAYS  # nobody else: the chat stays where it is
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
        return MOVED
