"""The screenshots' scenes (tools/measure/screenshots.py), set up over
JSON-RPC on the demo database as its users would: a full line, a closed
channel, a routed visitor, an unanswered chat."""

import http.cookiejar
import json
import time
import urllib.request

MISSED_AFTER = 10  # seconds: the screenshot channel's maximum wait


def full_line_channel_id(args, session_id, max_wait=MISSED_AFTER, name="Busy line"):
    """A channel whose one operator (Claire, online) holds the one chat she
    may, with a waiting line and a short maximum wait (`max_wait`, 0: none)."""
    claire = rpc(
        args, session_id, "ir.model.data", "check_object_reference", "im_livechat_ext", "user_operator_claire"
    )[1]
    partner = rpc(args, session_id, "res.users", "read", [claire], ["partner_id"])[0]["partner_id"][0]
    channel = rpc(
        args,
        session_id,
        "im_livechat.channel",
        "create",
        {
            "name": name,
            "user_ids": [(6, 0, [claire])],
            "max_sessions_mode": "limited",
            "max_sessions": 1,
            "waiting_line": True,
            "max_wait_time": max_wait,
        },
    )
    rpc(
        args,
        session_id,
        "discuss.channel",
        "create",
        {
            "name": "Busy",
            "channel_type": "livechat",
            "livechat_active": True,
            "livechat_channel_id": channel,
            "livechat_operator_id": partner,
            "channel_member_ids": [(0, 0, {"partner_id": partner})],
        },
    )
    return channel


def closed_channel_id(args, session_id, user_id):
    """A channel whose team works two days from now only, 9:00-17:00 UTC."""
    weekday = (time.gmtime().tm_wday + 2) % 7
    attendance = {"name": "Open", "dayofweek": str(weekday), "hour_from": 9, "hour_to": 17}
    calendar = rpc(
        args,
        session_id,
        "resource.calendar",
        "create",
        {"name": "Screenshot hours", "tz": "UTC", "attendance_ids": [(5, 0, 0), (0, 0, attendance)]},
    )
    return rpc(
        args,
        session_id,
        "im_livechat.channel",
        "create",
        {"name": "After hours", "user_ids": [(6, 0, [user_id])], "resource_calendar_id": calendar},
    )


def rpc(args, session_id, model, method, *method_args, **kwargs):
    """One JSON-RPC call as the logged-in user."""
    body = json.dumps(
        {"jsonrpc": "2.0", "params": {"model": model, "method": method, "args": method_args, "kwargs": kwargs}}
    ).encode()
    request = urllib.request.Request(
        f"{args.url}/web/dataset/call_kw",
        data=body,
        headers={"Content-Type": "application/json", "Cookie": f"session_id={session_id}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise RuntimeError(answer["error"]["data"]["message"])
    return answer["result"]


def routing_channel_id(args, session_id):
    """Id of the demo channel that routes with the Routing Bot."""
    return rpc(
        args, session_id, "ir.model.data", "check_object_reference", "im_livechat_ext", "im_livechat_channel_routing"
    )[1]


def routed_session_id(args, session_id, channel, name="Visitor from Brussels", opener=None):
    """A real visitor session, routed by the module: the demo operators are
    put online, then an anonymous visitor whose browser asks for Belgian
    French opens a chat on the channel (with `opener`, keeping its guest
    cookie)."""
    users = rpc(args, session_id, "res.users", "search", [("login", "like", "livechat_")])
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    presences = rpc(args, session_id, "bus.presence", "search_read", [("user_id", "in", users)], ["user_id"])
    known = {presence["user_id"][0] for presence in presences}
    rpc(
        args,
        session_id,
        "bus.presence",
        "write",
        [p["id"] for p in presences],
        {"status": "online", "last_presence": now},
    )
    for user in set(users) - known:
        rpc(args, session_id, "bus.presence", "create", {"user_id": user, "status": "online", "last_presence": now})
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "params": {"channel_id": channel, "anonymous_name": name, "persisted": True},
        }
    ).encode()
    request = urllib.request.Request(
        f"{args.url}/im_livechat/get_session",
        data=body,
        headers={"Content-Type": "application/json", "Accept-Language": "fr-BE,fr;q=0.9,en;q=0.5"},
    )
    with (opener or urllib.request.build_opener()).open(request, timeout=30) as response:
        answer = json.loads(response.read())["result"]
    if not answer:
        raise RuntimeError("no operator available for the visitor")
    return answer["discuss.channel"][0]["id"]


def unanswered_session_id(args, session_id, channel, timeout=2):
    """A visitor writes and their operator stays silent: with the channel's
    unanswered timeout, the next operator takes the chat over (the demo
    server's cron, woken at the moment)."""
    rpc(args, session_id, "im_livechat.channel", "write", [channel], {"unanswered_timeout": timeout})
    visitor = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    session = routed_session_id(args, session_id, channel, name="Visitor left unanswered", opener=visitor)
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "params": {
                "thread_model": "discuss.channel",
                "thread_id": session,
                "post_data": {"body": "Hello, is anybody there?", "message_type": "comment"},
            },
        }
    ).encode()
    request = urllib.request.Request(
        f"{args.url}/mail/message/post", data=body, headers={"Content-Type": "application/json"}
    )
    visitor.open(request, timeout=30).close()
    for _i in range(30):
        time.sleep(1)
        reason = rpc(args, session_id, "discuss.channel", "read", [session], ["livechat_routing_reason"])
        if (reason[0]["livechat_routing_reason"] or "").startswith("Reassigned"):
            break
    else:
        raise RuntimeError("the unanswered chat was not reassigned")
    rpc(args, session_id, "im_livechat.channel", "write", [channel], {"unanswered_timeout": 0})
    return session
