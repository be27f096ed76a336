"""Data the measuring tools (stress, peak hour) set up the same way."""


def online_operators(env, count, name):
    """`count` internal Live Chat users named "`name` operator N", online now
    (the module never gives a chat to anybody else)."""
    from odoo import Command  # noqa: PLC0415 (Odoo comes from the tool's --odoo-dir)

    groups = env.ref("base.group_user") | env.ref("im_livechat.im_livechat_group_user")
    prefix = name.lower()
    users = (
        env["res.users"]
        .with_context(no_reset_password=True)
        .create(
            [
                {"name": f"{name} operator {i}", "login": f"{prefix}_op_{i}", "groups_id": [Command.set(groups.ids)]}
                for i in range(count)
            ]
        )
    )
    env["bus.presence"].create([{"user_id": user.id, "status": "online"} for user in users])
    return users
