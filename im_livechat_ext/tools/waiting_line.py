"""The waiting line (SPEC F16, F17): its rules, and the statements of the
few queries it needs (each one whatever the length of the line), which
the im_livechat.waiting.line model runs. Nothing here touches a cursor.

- A visitor waits when operators of the channel are present but none can
  take a chat; the line is served oldest first (waiting since, then session
  id), each visitor by the routing rules with their own language and
  expertises.
- Expected wait of the visitor at `place`: `place` times the time a slot
  takes to free up (expected_wait_seconds, blended_handling_seconds).
"""

import math
from datetime import timedelta

from odoo.tools import SQL

from .unanswered import visitor_message_sql

# finished sessions of the channel this recent give the handling time
HISTORY = timedelta(days=14)
# fewer finished sessions than this: the channel's typical chat length fills in
MIN_HISTORY_SESSIONS = 3
# at most this many of the latest finished sessions make the median
RECENT_SESSIONS = 200
# the first this many of a line see their exact place, live; those behind read
# a text that does not move: a move rewrites at most this many line messages
LIVE_PLACES = 20
# a waiting visitor whose browser has not been seen for this long (no open
# bus connection, no message) leaves the line
GONE_AFTER = timedelta(minutes=5)


def expected_wait_seconds(place, median_handling_seconds, operators_present, chats_per_operator):
    """Seconds the visitor at `place` (1 = next) should wait; 0 = unknown. A
    slot frees up every handling time / (operators present x chats each);
    the handling time: the median, over the channel's latest RECENT_SESSIONS
    sessions finished in the last HISTORY, of the time from start to last
    message (blended_handling_seconds)."""
    if place <= 0 or not median_handling_seconds or operators_present <= 0:
        return 0
    slots = operators_present * max(chats_per_operator, 1)
    return max(int(math.ceil(place * median_handling_seconds / slots)), 1)


def wait_minutes(wait_seconds):
    """A wait as people say it: whole minutes, at least 1 (0: unknown)."""
    return max(1, round(wait_seconds / 60)) if wait_seconds else 0


def blended_handling_seconds(median, sessions, prior):
    """The handling time: the channel's `prior` (typical chat length) while
    it has no finished chat, its own median from MIN_HISTORY_SESSIONS on,
    a weighted mix in between (a young channel's first visitors get an
    estimate too)."""
    if sessions >= MIN_HISTORY_SESSIONS:
        return median
    if not prior:
        return 0
    return (sessions * median + (MIN_HISTORY_SESSIONS - sessions) * prior) / MIN_HISTORY_SESSIONS


def line_message(env, place, wait_seconds):
    """The sentence the visitor reads in the chat window, in env's language."""
    if place > LIVE_PLACES:
        return env._(
            "You are in line behind at least %(count)s visitors. Your place will show here once you are among "
            "the first %(count)s.",
            count=LIVE_PLACES,
        )
    if wait_seconds:
        minutes = wait_minutes(wait_seconds)
        if minutes == 1:
            return env._("You are number %(place)s in line, about 1 minute.", place=place)
        return env._("You are number %(place)s in line, about %(minutes)s minutes.", place=place, minutes=minutes)
    return env._("You are number %(place)s in line. An operator will join you as soon as one is free.", place=place)


def waiting_places_sql(channel_ids, limit=None):
    """Rows (session id, livechat channel id, place) of every waiting
    visitor of these live chat channels (the first `limit` of each)."""
    return SQL(
        """SELECT id, livechat_channel_id, place FROM (
                   SELECT id, livechat_channel_id,
                          ROW_NUMBER() OVER (PARTITION BY livechat_channel_id
                                             ORDER BY livechat_waiting_since, id) AS place
                     FROM discuss_channel
                    WHERE livechat_waiting_since IS NOT NULL AND livechat_active
                      AND livechat_channel_id = ANY(%s)
               ) line
               WHERE %s::int IS NULL OR place <= %s""",
        list(channel_ids),
        limit,
        limit,
    )


def median_handling_seconds_sql(channel_ids, now):
    """Rows (channel id, median seconds from start to last message, sessions
    counted) of the channels' finished sessions of the last HISTORY (a
    median of fewer than MIN_HISTORY_SESSIONS is no estimate)."""
    return SQL(
        """SELECT session.livechat_channel_id,
                      percentile_cont(0.5) WITHIN GROUP (
                          ORDER BY EXTRACT(EPOCH FROM last_message.date - session.create_date)
                      ),
                      COUNT(*)
                 FROM unnest(%s::int[]) AS channel(id)
                 -- the channel's last RECENT_SESSIONS finished sessions at most: a bounded cost
                 CROSS JOIN LATERAL (
                     SELECT id, livechat_channel_id, create_date FROM discuss_channel
                      WHERE livechat_channel_id = channel.id
                        AND channel_type = 'livechat'
                        AND NOT livechat_active
                        AND livechat_waiting_since IS NULL
                        AND create_date >= %s
                      ORDER BY create_date DESC
                      LIMIT %s
                 ) session
                 JOIN LATERAL (
                     SELECT max(date) AS date FROM mail_message
                      WHERE model = 'discuss.channel' AND res_id = session.id
                 ) last_message ON last_message.date IS NOT NULL
                GROUP BY session.livechat_channel_id""",
        list(channel_ids),
        now - HISTORY,
        RECENT_SESSIONS,
    )


def present_operator_counts_sql(channel_ids, now, timeouts):
    """Rows (channel id, operators present): online, active within the
    channel's inactivity timeout in minutes from `timeouts` (0 = any time)."""
    return SQL(
        """SELECT rel.channel_id, COUNT(*)
                 FROM im_livechat_channel_im_user rel
                 JOIN res_users u ON u.id = rel.user_id AND u.active AND NOT u.share
                 JOIN bus_presence presence ON presence.user_id = rel.user_id AND presence.status = 'online'
                 JOIN unnest(%s::int[], %s::int[]) AS channel(id, timeout) ON channel.id = rel.channel_id
                WHERE channel.timeout = 0
                   OR presence.last_presence >= %s - make_interval(mins => channel.timeout)
                GROUP BY rel.channel_id""",
        list(channel_ids),
        [timeouts.get(channel_id, 0) for channel_id in channel_ids],
        now,
    )


def next_waiting_sql(channel_id, skip_ids=(), look_ahead=20):
    """Ids of the oldest waiting sessions of the channel, not in `skip_ids`."""
    return SQL(
        """SELECT id FROM discuss_channel
            WHERE livechat_channel_id = %s AND livechat_waiting_since IS NOT NULL AND livechat_active
              AND id != ALL(%s::int[])
            ORDER BY livechat_waiting_since, id
            LIMIT %s""",
        channel_id,
        list(skip_ids),
        look_ahead,
    )


def lock_waiting_sql(session_id):
    """Lock a session still waiting, unless another transaction holds it."""
    return SQL(
        """SELECT id, livechat_waiting_message_id FROM discuss_channel
            WHERE id = %s AND livechat_waiting_since IS NOT NULL AND livechat_active
            FOR NO KEY UPDATE SKIP LOCKED""",
        session_id,
    )


def lock_message_sql(message_id):
    """Lock a line message, unless another transaction is rewriting it."""
    return SQL("SELECT id FROM mail_message WHERE id = %s FOR NO KEY UPDATE SKIP LOCKED", message_id)


def line_counts_sql(channel_id, address=None, guest_id=None, partner_id=None):
    """One row: visitors waiting in the channel's line, of them from
    `address`, of them being this guest or partner."""
    return SQL(
        """SELECT COUNT(*),
                      COUNT(*) FILTER (WHERE session.livechat_waiting_address = %(address)s),
                      COUNT(*) FILTER (WHERE EXISTS (
                          SELECT 1 FROM discuss_channel_member member
                           WHERE member.channel_id = session.id
                             AND (member.guest_id = %(guest)s OR member.partner_id = %(partner)s)))
                 FROM discuss_channel session
                WHERE session.livechat_channel_id = %(channel)s
                  AND session.livechat_waiting_since IS NOT NULL AND session.livechat_active""",
        address=address or None,
        guest=guest_id or None,
        partner=partner_id or None,
        channel=channel_id,
    )


def gone_waiting_sql(channel_ids, now):
    """Ids of the waiting sessions of these channels whose visitor has not
    been seen for GONE_AFTER, locked for this transaction (one another
    transaction holds is left to a later dispatch): no bus connection of
    theirs open or polled since (their guest, or the user of a partner
    member other than the session's operator), no message of theirs since.
    One query; each presence is read by its unique index."""
    seen_after = now - GONE_AFTER
    return SQL(
        """SELECT session.id FROM discuss_channel session
                WHERE session.livechat_channel_id = ANY(%(channels)s)
                  AND session.livechat_waiting_since IS NOT NULL AND session.livechat_active
                  AND session.livechat_waiting_since < %(seen_after)s
                  -- a visitor there is, whose browser can be seen (stock gives every one a member)
                  AND EXISTS (
                      SELECT 1 FROM discuss_channel_member member
                       WHERE member.channel_id = session.id
                         AND (member.guest_id IS NOT NULL
                              OR member.partner_id IS DISTINCT FROM session.livechat_operator_id))
                  AND NOT EXISTS (
                      SELECT 1 FROM discuss_channel_member member
                        JOIN bus_presence presence ON presence.guest_id = member.guest_id
                       WHERE member.channel_id = session.id
                         AND (presence.status != 'offline' OR presence.last_poll >= %(seen_after)s))
                  AND NOT EXISTS (
                      SELECT 1 FROM discuss_channel_member member
                        JOIN res_users visitor ON visitor.partner_id = member.partner_id
                        JOIN bus_presence presence ON presence.user_id = visitor.id
                       WHERE member.channel_id = session.id
                         AND member.partner_id IS DISTINCT FROM session.livechat_operator_id
                         AND (presence.status != 'offline' OR presence.last_poll >= %(seen_after)s))
                  AND NOT EXISTS (
                      SELECT 1 FROM mail_message message
                       WHERE message.model = 'discuss.channel' AND message.res_id = session.id
                         AND message.message_type = 'comment' AND message.date >= %(seen_after)s
                         -- the visitor's own, not the line's notices in the channel's voice
                         AND %(visitor_message)s)
                ORDER BY session.id
                FOR NO KEY UPDATE OF session SKIP LOCKED""",
        channels=list(channel_ids),
        seen_after=seen_after,
        visitor_message=visitor_message_sql("message"),
    )


def silent_line_sql(root_partner_id, older_than, limit):
    """Ids of live chat sessions out of the line, untouched since
    `older_than`, with messages all of which are notices of OdooBot
    (`root_partner_id`): a visitor who waited in line and wrote nothing,
    as empty as the sessions stock deletes after an hour (those with no
    message at all are stock's)."""
    return SQL(
        """SELECT session.id FROM discuss_channel session
                WHERE session.channel_type = 'livechat' AND session.livechat_channel_id IS NOT NULL
                  AND session.livechat_waiting_since IS NULL
                  AND COALESCE(session.write_date, session.create_date) < %(older_than)s
                  AND EXISTS (SELECT 1 FROM mail_message message
                               WHERE message.model = 'discuss.channel' AND message.res_id = session.id
                                 AND message.author_id = %(root)s)
                  AND NOT EXISTS (
                      SELECT 1 FROM mail_message message
                       WHERE message.model = 'discuss.channel' AND message.res_id = session.id
                         AND (message.author_id IS DISTINCT FROM %(root)s
                              OR message.author_guest_id IS NOT NULL))
                ORDER BY session.id
                LIMIT %(limit)s""",
        older_than=older_than,
        root=root_partner_id,
        limit=limit,
    )


def missed_waiting_sql(channel_ids, now, max_waits, nobody_present_ids):
    """Ids of the waiting sessions nobody will serve (F22), locked for this
    transaction (one another transaction holds is left to a later
    dispatch): waiting their channel's maximum wait or longer (seconds
    in `max_waits`, 0: none), or in a channel of `nobody_present_ids`."""
    return SQL(
        """SELECT session.id FROM discuss_channel session
             JOIN unnest(%(channels)s::int[], %(max_waits)s::int[]) AS channel(id, max_wait)
               ON channel.id = session.livechat_channel_id
            WHERE session.livechat_waiting_since IS NOT NULL AND session.livechat_active
              AND (session.livechat_channel_id = ANY(%(nobody_present)s::int[])
                   OR (channel.max_wait > 0
                       AND session.livechat_waiting_since <= %(now)s - make_interval(secs => channel.max_wait)))
            ORDER BY session.id
            FOR NO KEY UPDATE OF session SKIP LOCKED""",
        channels=list(channel_ids),
        max_waits=list(max_waits),
        nobody_present=list(nobody_present_ids),
        now=now,
    )
