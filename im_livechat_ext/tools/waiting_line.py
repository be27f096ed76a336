"""The waiting line (SPEC F16, F17): its rules with no database access, and
the few queries it needs, each one whatever the length of the line.

- A visitor waits when operators of the channel are present but none can
  take a chat; the line is served oldest first (waiting since, then session
  id), each visitor by the routing rules with their own language and
  expertises.
- Expected wait of the visitor at `place`: a slot frees up every
  `median handling time / (operators present x chats each can hold)`, so
  `place` slots take `place` times that. The handling time is the median,
  over the channel's latest RECENT_SESSIONS sessions finished in the last
  HISTORY, of the time from start to last message; unknown (0) with fewer
  than MIN_HISTORY_SESSIONS of them.
"""

import math
from datetime import timedelta

from odoo.tools import SQL

from .operator_claim import try_in_savepoint

# finished sessions of the channel this recent give the handling time
HISTORY = timedelta(days=14)
# fewer finished sessions than this: no estimate (0 = unknown)
MIN_HISTORY_SESSIONS = 3
# at most this many of the latest finished sessions make the median
RECENT_SESSIONS = 200


def expected_wait_seconds(place, median_handling_seconds, operators_present, chats_per_operator):
    """Seconds the visitor at `place` (1 = next) should wait; 0 = unknown."""
    if place <= 0 or not median_handling_seconds or operators_present <= 0:
        return 0
    slots = operators_present * max(chats_per_operator, 1)
    return max(int(math.ceil(place * median_handling_seconds / slots)), 1)


def line_message(env, place, wait_seconds):
    """The sentence the visitor reads in the chat window, in env's language."""
    if wait_seconds:
        minutes = max(1, round(wait_seconds / 60))
        if minutes == 1:
            return env._("You are number %(place)s in line, about 1 minute.", place=place)
        return env._("You are number %(place)s in line, about %(minutes)s minutes.", place=place, minutes=minutes)
    return env._("You are number %(place)s in line. An operator will join you as soon as one is free.", place=place)


def waiting_places(cr, channel_ids, limit=None):
    """{session id: (livechat channel id, place)} of every waiting visitor of
    these live chat channels (the first `limit` of each), in one query."""
    if not channel_ids:
        return {}
    cr.execute(
        SQL(
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
    )
    return {session_id: (channel_id, place) for session_id, channel_id, place in cr.fetchall()}


def median_handling_seconds(cr, channel_ids, now):
    """{channel id: median seconds from start to last message} of the
    channels' finished sessions of the last HISTORY, in one query."""
    if not channel_ids:
        return {}
    cr.execute(
        SQL(
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
    )
    return {
        channel_id: median for channel_id, median, count in cr.fetchall() if count >= MIN_HISTORY_SESSIONS and median
    }


def present_operator_counts(cr, channel_ids, now, timeouts):
    """{channel id: operators present} (online, active within the channel's
    inactivity timeout in minutes from `timeouts`, 0 = any time), in one query."""
    if not channel_ids:
        return {}
    cr.execute(
        SQL(
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
    )
    return dict(cr.fetchall())


def lock_next_waiting_session(cr, channel_id, skip_ids=(), look_ahead=20):
    """Id of the oldest waiting session of the channel, not in `skip_ids`,
    that no other transaction is serving right now, locked until ours ends
    (None: nobody). A session another worker served after our snapshot is
    skipped too (its lock fails to serialize inside a savepoint)."""
    cr.execute(
        SQL(
            """SELECT id FROM discuss_channel
                WHERE livechat_channel_id = %s AND livechat_waiting_since IS NOT NULL AND livechat_active
                  AND id != ALL(%s::int[])
                ORDER BY livechat_waiting_since, id
                LIMIT %s""",
            channel_id,
            list(skip_ids),
            look_ahead,
        )
    )
    for (session_id,) in cr.fetchall():
        locked = try_in_savepoint(
            cr,
            SQL(
                """SELECT id FROM discuss_channel
                    WHERE id = %s AND livechat_waiting_since IS NOT NULL AND livechat_active
                    FOR NO KEY UPDATE SKIP LOCKED""",
                session_id,
            ),
        )
        if not locked:
            continue
        # its line message too: a worker rewriting it right now is serving the line
        cr.execute(SQL("SELECT livechat_waiting_message_id FROM discuss_channel WHERE id = %s", session_id))
        message_id = cr.fetchone()[0]
        if not message_id or try_in_savepoint(
            cr, SQL("SELECT id FROM mail_message WHERE id = %s FOR NO KEY UPDATE SKIP LOCKED", message_id)
        ):
            return session_id
    return None
