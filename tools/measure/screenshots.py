"""Screenshots of the module for its README, from a real headless Chromium.

Expects the demo database served by ``./dev.sh run`` (or any URL given with
``--url``), logs in as admin, opens each page and saves a PNG in
``im_livechat_ext/static/description/``.
"""

import argparse
import base64
import http.cookiejar
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket  # websocket-client, in requirements.txt

OUT = Path(__file__).resolve().parents[2] / "im_livechat_ext" / "static" / "description"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8069")
    parser.add_argument("--db", default="livechat_demo")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    return parser.parse_args()


def login(args):
    body = json.dumps(
        {"jsonrpc": "2.0", "params": {"db": args.db, "login": args.login, "password": args.password}}
    ).encode()
    request = urllib.request.Request(
        f"{args.url}/web/session/authenticate", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        cookie = response.headers.get("Set-Cookie")
    return cookie.split("session_id=")[1].split(";")[0]


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp()
        self.process = subprocess.Popen(
            [
                shutil.which("chromium") or "chromium",
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=9333",
                f"--user-data-dir={self.profile}",
                "--window-size=1400,900",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _i in range(50):
            try:
                with urllib.request.urlopen("http://127.0.0.1:9333/json", timeout=2) as response:
                    page = next(t for t in json.loads(response.read()) if t["type"] == "page")
                    break
            except (OSError, StopIteration):
                time.sleep(0.2)
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                return message.get("result", {})

    def close(self):
        self.ws.close()
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    args = parse_args()
    session_id = login(args)
    channel = routing_channel_id(args, session_id)
    session = routed_session_id(args, session_id, channel)
    user_id = 2  # the demo database's admin
    admin_partner = rpc(args, session_id, "res.users", "read", [user_id], ["partner_id"])[0]["partner_id"][0]
    # a chat the admin joins, to show /transfer in its composer
    to_transfer = routed_session_id(args, session_id, channel, name="Visitor asking about an invoice")
    rpc(args, session_id, "discuss.channel", "add_members", [to_transfer], partner_ids=[admin_partner])
    browser = Browser()
    try:
        browser.call("Network.enable")
        browser.call("Network.setCookie", name="session_id", value=session_id, url=args.url)
        shots = [
            ("expertise.png", "/odoo/action-im_livechat_ext.im_livechat_expertise_action", None),
            ("channels.png", "/odoo/livechat", None),
            ("routing_options.png", "/odoo/livechat/__CHANNEL__", "document.querySelector('a[name=routing]')?.click()"),
            ("preferences.png", "/odoo/action-base.action_res_users_my/__USER__", None),
            ("routed_session.png", "/odoo/action-im_livechat.discuss_channel_action/__SESSION__", None),
            (
                "transfer_command.png",
                f"/odoo/discuss?active_id=discuss.channel_{to_transfer}",
                "const input = document.querySelector('.o-mail-Composer-input'); input.focus();"
                "document.execCommand('insertText', false, '/transfer Bil')",
            ),
        ]
        take(browser, args, shots, channel, user_id, session)
        # the admin transfers that chat; another visitor is left unanswered and reassigned
        rpc(args, session_id, "discuss.channel", "execute_command_transfer", [to_transfer], body="/transfer Billing")
        reassigned = unanswered_session_id(args, session_id, channel)
        take(
            browser,
            args,
            [
                ("reassigned_session.png", "/odoo/action-im_livechat.discuss_channel_action/__SESSION__", None),
                ("outcome_report.png", "/odoo/action-im_livechat.im_livechat_report_channel_action", None),
            ],
            channel,
            user_id,
            reassigned,
        )
        # a channel closed by its opening hours: its support page's button says when it opens
        closed = closed_channel_id(args, session_id, user_id)
        click_button = (
            "document.querySelector('.o-livechat-root').shadowRoot.querySelector('.o-livechat-LivechatButton').click()"
        )
        take(
            browser, args, [("closed_notice.png", f"/im_livechat/support/{closed}", click_button)], channel, user_id, 0
        )
        # a visitor (no login) waits in a full channel's line past its maximum wait: missed
        busy_line = full_line_channel_id(args, session_id)
        browser.call("Network.clearBrowserCookies")
        write = (
            "const root = document.querySelector('.o-livechat-root').shadowRoot;"
            "const input = root.querySelector('.o-mail-Composer-input'); input.focus();"
            "document.execCommand('insertText', false, 'Hello, I have a question about my order');"
            "input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));"
        )
        browser.call("Page.navigate", url=f"{args.url}/im_livechat/support/{busy_line}")
        time.sleep(5)
        browser.call("Runtime.evaluate", expression=click_button)
        time.sleep(3)
        browser.call("Runtime.evaluate", expression=write)
        time.sleep(MISSED_AFTER + 12)  # the maximum wait, then the scheduled action woken to the second
        data = browser.call("Page.captureScreenshot", format="png")["data"]
        (OUT / "missed_notice.png").write_bytes(base64.b64decode(data))
        print(f"saved {OUT / 'missed_notice.png'}")
        # another visitor waits in line and writes; Claire's own limit is
        # raised (a freed slot): she joins, below what the visitor wrote
        joined_line = full_line_channel_id(args, session_id, max_wait=0, name="Support line")
        browser.call("Network.clearBrowserCookies")
        browser.call("Page.navigate", url=f"{args.url}/im_livechat/support/{joined_line}")
        time.sleep(8)  # a new visitor: the page and its chat button load from scratch
        browser.call("Runtime.evaluate", expression=click_button)
        time.sleep(3)
        browser.call("Runtime.evaluate", expression=write.replace("my order", "my invoice"))
        time.sleep(3)
        claire = rpc(
            args, session_id, "ir.model.data", "check_object_reference", "im_livechat_ext", "user_operator_claire"
        )[1]
        rpc(args, session_id, "res.users", "write", [claire], {"livechat_max_sessions": 10})
        time.sleep(4)
        data = browser.call("Page.captureScreenshot", format="png")["data"]
        (OUT / "line_joined.png").write_bytes(base64.b64decode(data))
        print(f"saved {OUT / 'line_joined.png'}")
    finally:
        browser.close()


def take(browser, args, shots, channel, user_id, session):
    """Open each page, run its script, save its screenshot."""
    for index, (name, path, script) in enumerate(shots):
        url = args.url + path.replace("__CHANNEL__", str(channel)).replace("__USER__", str(user_id))
        url = url.replace("__SESSION__", str(session))
        browser.call("Page.navigate", url=url)
        time.sleep(4 if index or name != "expertise.png" else 15)  # the first page compiles the assets
        if script:
            browser.call("Runtime.evaluate", expression=script)
            time.sleep(1.5)
        data = browser.call("Page.captureScreenshot", format="png")["data"]
        (OUT / name).write_bytes(base64.b64decode(data))
        print(f"saved {OUT / name}")


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


if __name__ == "__main__":
    main()
